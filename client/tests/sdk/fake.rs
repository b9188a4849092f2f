//! An in-process daemon that serves `vrrp.v1.Sidecar` on a Unix socket in a temporary
//! directory. Unary calls answer from a list of instances; every `WatchState` call is handed to
//! the test, which scripts the stream message by message.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::{Request, Response, Status, Streaming};
use vrrp_sidecar_client::proto::sidecar_server::{Sidecar, SidecarServer};
use vrrp_sidecar_client::proto::watch_state_response::Kind;
use vrrp_sidecar_client::proto::*;

/// Every wait in these tests is bounded by this.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test after [`PATIENCE`].
pub async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .expect("timed out waiting")
}

pub struct FakeDaemon {
    // Held for its Drop: the socket's directory lives as long as the daemon.
    _directory: tempfile::TempDir,
    pub socket_path: PathBuf,
    state: Arc<FakeState>,
    watch_calls: mpsc::UnboundedReceiver<WatchCall>,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

/// One `WatchState` call as the daemon received it; its stream stays open while this lives.
pub struct WatchCall {
    pub request: WatchStateRequest,
    stream: mpsc::Sender<Result<WatchStateResponse, Status>>,
}

impl WatchCall {
    pub async fn send(&self, message: WatchStateResponse) {
        within(self.stream.send(Ok(message)))
            .await
            .expect("the client is still reading");
    }

    /// Ends the stream with an error status, as a daemon that is shutting down does.
    pub async fn fail(self, status: Status) {
        within(self.stream.send(Err(status)))
            .await
            .expect("the client is still reading");
    }
}

// Every lock is held for one statement and no test panics while holding one, so
// `lock().unwrap()` never meets a poisoned mutex.
struct FakeState {
    instances: Mutex<Vec<Instance>>,
    watch_calls: mpsc::UnboundedSender<WatchCall>,
    /// Statuses to answer the next WatchState calls with, instead of a stream.
    refuse_watch: Mutex<VecDeque<Status>>,
    /// The `authorization` metadata of every unary call, in order.
    authorizations: Mutex<Vec<Option<String>>>,
}

impl FakeDaemon {
    pub async fn start(instances: Vec<Instance>) -> FakeDaemon {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let socket_path = directory.path().join("api.sock");
        let (calls_sender, watch_calls) = mpsc::unbounded_channel();
        let mut daemon = FakeDaemon {
            _directory: directory,
            socket_path,
            state: Arc::new(FakeState {
                instances: Mutex::new(instances),
                watch_calls: calls_sender,
                refuse_watch: Mutex::new(VecDeque::new()),
                authorizations: Mutex::new(Vec::new()),
            }),
            watch_calls,
            server: None,
        };
        daemon.serve();
        daemon
    }

    fn serve(&mut self) {
        let listener = UnixListener::bind(&self.socket_path).expect("binding the fake's socket");
        let (stop, stopped) = oneshot::channel::<()>();
        let service = SidecarServer::from_arc(Arc::clone(&self.state));
        // The standard health service, as the daemon serves it: "" (the whole server) is
        // SERVING from the start; other names are unknown to the fake.
        let (_health, health_service) = tonic_health::server::health_reporter();
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .add_service(health_service)
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), async {
                    stopped.await.ok();
                })
                .await
                .expect("the fake daemon serves");
        });
        self.server = Some((stop, server));
    }

    /// Stops serving and removes the socket, as a daemon that exits does; open watch streams
    /// must have been dropped (ended) first, or the graceful shutdown waits for them.
    pub async fn stop(&mut self) {
        if let Some((stop, server)) = self.server.take() {
            stop.send(()).ok();
            within(server).await.expect("the fake daemon stops");
        }
        std::fs::remove_file(&self.socket_path).ok();
    }

    /// Serves again on the same path, as a restarted daemon does.
    pub fn restart(&mut self) {
        self.serve();
    }

    /// The next `WatchState` call the daemon receives.
    pub async fn next_watch(&mut self) -> WatchCall {
        within(self.watch_calls.recv())
            .await
            .expect("the fake daemon is running")
    }

    /// Answers the next `WatchState` call with `status`.
    pub fn refuse_next_watch(&self, status: Status) {
        self.state.refuse_watch.lock().unwrap().push_back(status);
    }

    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.state.authorizations.lock().unwrap().clone()
    }
}

pub fn instance(name: &str, state: State, priority: u32) -> Instance {
    Instance {
        name: name.to_owned(),
        interface: "eth0".to_owned(),
        vrid: 51,
        version: 3,
        family: AddressFamily::Ipv4 as i32,
        state: state as i32,
        base_priority: priority,
        effective_priority: priority,
        master: Some(MasterInfo {
            address: "192.0.2.1".to_owned(),
            priority,
            advert_interval: None,
        }),
        virtual_addresses: vec!["192.0.2.100/24".to_owned()],
        auth_type: AuthType::None as i32,
        ..Instance::default()
    }
}

fn message(epoch: &str, revision: u64, kind: Kind) -> WatchStateResponse {
    WatchStateResponse {
        epoch: epoch.to_owned(),
        revision,
        timestamp: None,
        kind: Some(kind),
    }
}

pub fn snapshot(epoch: &str, revision: u64, item: Instance) -> WatchStateResponse {
    message(
        epoch,
        revision,
        Kind::Snapshot(InstanceSnapshot {
            instance: Some(Box::new(item)),
        }),
    )
}

pub fn snapshot_complete(epoch: &str, revision: u64) -> WatchStateResponse {
    message(epoch, revision, Kind::SnapshotComplete(SnapshotComplete {}))
}

pub fn transition(
    epoch: &str,
    revision: u64,
    name: &str,
    from: State,
    to: State,
) -> WatchStateResponse {
    message(
        epoch,
        revision,
        Kind::Transition(Transition {
            instance_name: name.to_owned(),
            from: from as i32,
            to: to as i32,
            reason: TransitionReason::MasterDownTimer as i32,
            base_priority: 100,
            effective_priority: 100,
            ..Transition::default()
        }),
    )
}

pub fn heartbeat(epoch: &str, revision: u64) -> WatchStateResponse {
    message(epoch, revision, Kind::Heartbeat(Heartbeat {}))
}

pub fn reset(epoch: &str, revision: u64, cause: reset::Cause) -> WatchStateResponse {
    message(
        epoch,
        revision,
        Kind::Reset(Reset {
            cause: cause as i32,
        }),
    )
}

fn authorization<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

type BoxedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Sidecar for FakeState {
    type WatchStateStream = BoxedStream<WatchStateResponse>;
    type ReportHealthStream = BoxedStream<HealthReportAck>;

    async fn watch_state(
        &self,
        request: Request<WatchStateRequest>,
    ) -> Result<Response<Self::WatchStateStream>, Status> {
        if let Some(status) = self.refuse_watch.lock().unwrap().pop_front() {
            return Err(status);
        }
        let (stream, messages) = mpsc::channel(64);
        let call = WatchCall {
            request: request.into_inner(),
            stream,
        };
        self.watch_calls
            .send(call)
            .map_err(|_| Status::unavailable("the test has finished"))?;
        Ok(Response::new(Box::pin(ReceiverStream::new(messages))))
    }

    async fn list_instances(
        &self,
        request: Request<ListInstancesRequest>,
    ) -> Result<Response<ListInstancesResponse>, Status> {
        self.authorizations
            .lock()
            .unwrap()
            .push(authorization(&request));
        let instances = self.instances.lock().unwrap().clone();
        Ok(Response::new(ListInstancesResponse { instances }))
    }

    async fn get_instance(
        &self,
        request: Request<GetInstanceRequest>,
    ) -> Result<Response<Instance>, Status> {
        self.authorizations
            .lock()
            .unwrap()
            .push(authorization(&request));
        self.find(&request.get_ref().name).map(Response::new)
    }

    async fn set_priority(
        &self,
        request: Request<SetPriorityRequest>,
    ) -> Result<Response<SetPriorityResponse>, Status> {
        let SetPriorityRequest {
            instance_name,
            priority,
        } = request.into_inner();
        self.find(&instance_name)?;
        if !(1..=254).contains(&priority) {
            return Err(Status::invalid_argument(format!(
                "priority {priority} is outside 1..254: 0 and 255 are reserved"
            )));
        }
        let mut instances = self.instances.lock().unwrap();
        let instance = instances
            .iter_mut()
            .find(|instance| instance.name == instance_name)
            .ok_or_else(|| Status::not_found("the instance went away"))?;
        instance.base_priority = priority;
        instance.effective_priority = priority;
        Ok(Response::new(SetPriorityResponse {
            instance: Some(instance.clone()),
        }))
    }

    async fn resign(
        &self,
        request: Request<ResignRequest>,
    ) -> Result<Response<ResignResponse>, Status> {
        let instance = self.find(&request.get_ref().instance_name)?;
        if instance.state() != State::Master {
            return Err(Status::failed_precondition(format!(
                "{} is not master: only a master can resign",
                instance.name
            )));
        }
        Ok(Response::new(ResignResponse {
            instance: Some(Instance {
                state: State::Backup as i32,
                ..instance
            }),
            successor: None,
        }))
    }

    async fn register_health_check(
        &self,
        _request: Request<RegisterHealthCheckRequest>,
    ) -> Result<Response<HealthCheck>, Status> {
        Err(Status::unimplemented("not in the fake daemon"))
    }

    async fn report_health(
        &self,
        _request: Request<Streaming<HealthReport>>,
    ) -> Result<Response<Self::ReportHealthStream>, Status> {
        Err(Status::unimplemented("not in the fake daemon"))
    }

    async fn unregister_health_check(
        &self,
        _request: Request<UnregisterHealthCheckRequest>,
    ) -> Result<Response<UnregisterHealthCheckResponse>, Status> {
        Err(Status::unimplemented("not in the fake daemon"))
    }

    async fn reload(
        &self,
        _request: Request<ReloadRequest>,
    ) -> Result<Response<ReloadResponse>, Status> {
        Ok(Response::new(ReloadResponse {
            changed_instances: vec!["vi_web".to_owned()],
            ..ReloadResponse::default()
        }))
    }
}

impl FakeState {
    fn find(&self, name: &str) -> Result<Instance, Status> {
        self.instances
            .lock()
            .unwrap()
            .iter()
            .find(|instance| instance.name == name)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no instance is named {name:?}")))
    }
}
