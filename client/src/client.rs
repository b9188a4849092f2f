//! [`Client`]: a connection to the daemon and typed calls on it.

use std::time::Duration;

use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use vrrp_sidecar_proto::v1 as proto;
use vrrp_sidecar_proto::v1::sidecar_client::SidecarClient;

use crate::connect::{Authorization, ClientBuilder, Target};
use crate::watch::{Session, Watch, WatchOptions};
use crate::{Error, MasterState, master};

/// The generated gRPC client with this SDK's connection and credentials, for the calls that
/// [`Client`] does not wrap (the health-check RPCs, for instance).
///
/// ```no_run
/// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use vrrp_sidecar_client::{GrpcClient, proto};
///
/// let mut grpc: GrpcClient = client.grpc();
/// let instances = grpc.list_instances(proto::ListInstancesRequest {}).await?.into_inner();
/// # Ok(())
/// # }
/// ```
pub type GrpcClient = SidecarClient<InterceptedService<Channel, Authorization>>;

/// A connection to a vrrp-sidecar daemon. Cheap to clone: clones share the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
/// use vrrp_sidecar_client::{Client, Target};
///
/// let client = Client::connect(Target::default()).await?;
/// for instance in client.list_instances().await? {
///     println!("{} is {:?}", instance.name, instance.state());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    grpc: GrpcClient,
    health: HealthClient<InterceptedService<Channel, Authorization>>,
}

/// Options for [`Client::resign`].
///
/// ```
/// use std::time::Duration;
/// use vrrp_sidecar_client::ResignOptions;
///
/// let options = ResignOptions::default().wait_for_successor().hold_down(Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResignOptions {
    hold_down: Option<Duration>,
    wait_for_successor: bool,
}

impl ResignOptions {
    /// Stay backup this long before preempting again (the daemon's default is
    /// Master_Down_Interval).
    ///
    /// ```
    /// use std::time::Duration;
    /// use vrrp_sidecar_client::ResignOptions;
    ///
    /// let options = ResignOptions::default().hold_down(Duration::from_secs(60));
    /// ```
    pub fn hold_down(mut self, hold_down: Duration) -> Self {
        self.hold_down = Some(hold_down);
        self
    }

    /// Answer only once a successor has taken over (or with `DeadlineExceeded` when none did
    /// within Master_Down_Interval).
    ///
    /// ```
    /// use vrrp_sidecar_client::ResignOptions;
    ///
    /// let options = ResignOptions::default().wait_for_successor();
    /// ```
    pub fn wait_for_successor(mut self) -> Self {
        self.wait_for_successor = true;
        self
    }
}

/// The outcome of [`Client::resign`].
///
/// ```no_run
/// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
/// use vrrp_sidecar_client::ResignOptions;
///
/// let resigned = client.resign("vi_web", ResignOptions::default()).await?;
/// println!("now {:?}", resigned.instance.state());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Resigned {
    /// The instance after the call.
    pub instance: proto::Instance,
    /// The new master, when the call waited for one.
    pub successor: Option<proto::MasterInfo>,
}

impl Client {
    /// Connects to the daemon at `target` without credentials; see [`Client::builder`] for
    /// TLS and tokens.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
    /// use vrrp_sidecar_client::{Client, Target};
    ///
    /// let client = Client::connect(Target::UnixSocket("/run/vrrp-sidecar/api.sock".into())).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(target: Target) -> Result<Client, Error> {
        ClientBuilder::new(target).connect().await
    }

    /// Starts configuring a connection to `target`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
    /// use vrrp_sidecar_client::{Client, Target};
    ///
    /// let client = Client::builder(Target::Url("http://127.0.0.1:50051".into()))
    ///     .bearer_token("s3cret")
    ///     .connect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(target: Target) -> ClientBuilder {
        ClientBuilder::new(target)
    }

    pub(crate) fn from_channel(channel: Channel, authorization: Authorization) -> Self {
        Client {
            grpc: SidecarClient::with_interceptor(channel.clone(), authorization.clone()),
            health: HealthClient::with_interceptor(channel, authorization),
        }
    }

    /// The generated client on the same connection, for RPCs without a wrapper here.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use vrrp_sidecar_client::proto;
    ///
    /// let request = proto::UnregisterHealthCheckRequest { name: "app-ready".into() };
    /// client.grpc().unregister_health_check(request).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn grpc(&self) -> GrpcClient {
        self.grpc.clone()
    }

    /// The daemon's own health from the standard `grpc.health.v1.Health` service: `Serving`
    /// while it runs, `NotServing` once it is stopping. It says nothing about mastership.
    /// `service` is `""` for the whole daemon or `"vrrp.v1.Sidecar"`.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// use vrrp_sidecar_client::ServingStatus;
    ///
    /// let serving = client.health("").await? == ServingStatus::Serving;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn health(&self, service: &str) -> Result<ServingStatus, Error> {
        let response = self
            .health
            .clone()
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await?;
        Ok(match response.into_inner().status() {
            tonic_health::pb::health_check_response::ServingStatus::Serving => {
                ServingStatus::Serving
            }
            tonic_health::pb::health_check_response::ServingStatus::NotServing => {
                ServingStatus::NotServing
            }
            _ => ServingStatus::Unknown,
        })
    }

    /// Every instance with its full status.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// let names: Vec<String> = client.list_instances().await?.into_iter().map(|i| i.name).collect();
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_instances(&self) -> Result<Vec<proto::Instance>, Error> {
        let response = self
            .grpc
            .clone()
            .list_instances(proto::ListInstancesRequest {})
            .await?;
        Ok(response.into_inner().instances)
    }

    /// One instance's full status; `Error::Rpc` with `Code::NotFound` when there is none.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// let web = client.get_instance("vi_web").await?;
    /// println!("priority {} (base {})", web.effective_priority, web.base_priority);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_instance(&self, name: &str) -> Result<proto::Instance, Error> {
        let request = proto::GetInstanceRequest {
            name: name.to_owned(),
        };
        Ok(self.grpc.clone().get_instance(request).await?.into_inner())
    }

    /// Sets an instance's base priority (1..254) and returns the instance after the change.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// let web = client.set_priority("vi_web", 150).await?;
    /// assert_eq!(web.base_priority, 150);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_priority(&self, name: &str, priority: u8) -> Result<proto::Instance, Error> {
        let request = proto::SetPriorityRequest {
            instance_name: name.to_owned(),
            priority: u32::from(priority),
        };
        let response = self.grpc.clone().set_priority(request).await?.into_inner();
        response.instance.ok_or_else(|| {
            Error::InvalidResponse("SetPriority answered without the instance".into())
        })
    }

    /// Hands mastership over on purpose (make-before-break); see [`ResignOptions`].
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// use vrrp_sidecar_client::ResignOptions;
    ///
    /// let resigned = client.resign("vi_web", ResignOptions::default().wait_for_successor()).await?;
    /// if let Some(successor) = resigned.successor {
    ///     println!("{} took over", successor.address);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn resign(&self, name: &str, options: ResignOptions) -> Result<Resigned, Error> {
        let hold_down = options
            .hold_down
            .map(prost_types::Duration::try_from)
            .transpose()
            .map_err(|error| Error::InvalidSettings(format!("hold-down: {error}")))?;
        let request = proto::ResignRequest {
            instance_name: name.to_owned(),
            hold_down,
            wait_for_successor: options.wait_for_successor,
        };
        let response = self.grpc.clone().resign(request).await?.into_inner();
        let instance = response
            .instance
            .ok_or_else(|| Error::InvalidResponse("Resign answered without the instance".into()))?;
        Ok(Resigned {
            instance,
            successor: response.successor,
        })
    }

    /// Rereads the daemon's configuration file, as SIGHUP does.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// let reloaded = client.reload().await?;
    /// println!("added {:?}, removed {:?}", reloaded.added_instances, reloaded.removed_instances);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reload(&self) -> Result<proto::ReloadResponse, Error> {
        Ok(self
            .grpc
            .clone()
            .reload(proto::ReloadRequest {})
            .await?
            .into_inner())
    }

    /// Follows the instances' state: a snapshot, then every change. The stream reconnects with
    /// backoff when the daemon goes away and resumes after the last revision seen; when that is
    /// impossible it says so with [`Event::Reset`](crate::Event::Reset) and a fresh snapshot.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// use tokio_stream::StreamExt;
    /// use vrrp_sidecar_client::{Event, WatchOptions};
    ///
    /// let mut events = client.watch(WatchOptions::default().instance("vi_web"));
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         Event::Transition(transition) => println!("now {:?}", transition.to()),
    ///         Event::Reset { cause } => println!("resynchronising: {cause:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch(&self, options: WatchOptions) -> Watch {
        Watch::new(Session::new(self.grpc.clone(), options))
    }

    /// Whether `instance_name` is master, kept up to date in the background. It asks for 1 s
    /// heartbeats (the daemon's minimum) rather than the default 10 s, so that a silent daemon
    /// shows as `Unknown` after 3 s, about one Master_Down_Interval at 1 s adverts, instead of
    /// 30 s during which a backup may already have taken over. Must be called inside a tokio
    /// runtime; the task stops when the last receiver is dropped.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) {
    /// let mut role = client.is_master("vi_web");
    /// while role.changed().await.is_ok() {
    ///     println!("master: {}", role.borrow().is_master());
    /// }
    /// # }
    /// ```
    pub fn is_master(&self, instance_name: &str) -> watch::Receiver<MasterState> {
        let options = WatchOptions::default().heartbeat_interval(Duration::from_secs(1));
        self.is_master_with(instance_name, options)
    }

    /// [`Client::is_master`] with other heartbeat and backoff settings (the instance filter in
    /// `options` is replaced by `instance_name`).
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) {
    /// use std::time::Duration;
    /// use vrrp_sidecar_client::WatchOptions;
    ///
    /// // Trust what was heard for at most 6 s, for a pair advertising every 2 s.
    /// let options = WatchOptions::default().heartbeat_interval(Duration::from_secs(2));
    /// let role = client.is_master_with("vi_web", options);
    /// # }
    /// ```
    pub fn is_master_with(
        &self,
        instance_name: &str,
        options: WatchOptions,
    ) -> watch::Receiver<MasterState> {
        master::spawn(self.grpc.clone(), instance_name, options)
    }
}
