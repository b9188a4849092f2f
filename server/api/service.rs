//! The `vrrp.v1.Sidecar` RPCs. Each one checks its input, asks the router (the only owner of
//! protocol state) with a command and a oneshot reply, and turns the answer into a response
//! or a status whose message says what to change.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};

use crate::config::ConfigSource;
use crate::events::Next;
use crate::events::status::InstanceEvent;
use crate::net::Netlink;
use crate::router::control::{ControlError, RouterHandle};
use crate::router::{ReloadError, prepare_reload};
use crate::vrrp::{Priority, State};

use super::auth::MutationGuard;
use super::v1::{self, sidecar_server::Sidecar};
use super::{checks, convert};

/// What a `Reload` call rereads, the same as SIGHUP.
#[derive(Clone, Debug)]
pub struct Reloader {
    /// The configuration the daemon was started from.
    pub source: ConfigSource,
    /// For looking up the interfaces the new configuration names.
    pub netlink: Netlink,
}

/// The service behind one listener.
#[derive(Debug)]
pub struct SidecarService {
    router: RouterHandle,
    reloader: Reloader,
    guard: Arc<MutationGuard>,
}

impl SidecarService {
    /// A service asking `router`, letting callers mutate as `guard` says.
    pub fn new(router: RouterHandle, reloader: Reloader, guard: Arc<MutationGuard>) -> Self {
        SidecarService {
            router,
            reloader,
            guard,
        }
    }

    async fn instance(&self, name: &str) -> Result<v1::Instance, Status> {
        let statuses = self
            .router
            .statuses()
            .await
            .map_err(|error| control_status(&error))?;
        statuses
            .iter()
            .find(|status| status.name() == name)
            .map(convert::instance)
            .ok_or_else(|| control_status(&ControlError::NotFound(name.to_owned())))
    }
}

/// The status of a router refusal, with what to do about it.
pub fn control_status(error: &ControlError) -> Status {
    match error {
        ControlError::NotFound(_) => {
            Status::not_found(format!("{error}; ListInstances shows the configured names"))
        }
        ControlError::Owner(_) => Status::failed_precondition(format!(
            "{error}, whose priority never changes and which cannot hand over; lower its \
             priority in the configuration file and reload to make it an ordinary router"
        )),
        ControlError::NotMaster { .. } => Status::failed_precondition(format!(
            "{error}; only the master can resign: call Resign on the host that is master"
        )),
        ControlError::TooManyWatchers { .. } => {
            Status::resource_exhausted(format!("{error}; close an idle watcher or retry later"))
        }
        ControlError::Stopping => {
            Status::unavailable(format!("{error}; retry once it is running again"))
        }
        ControlError::Check(error) => checks::check_status(error),
    }
}

fn reload_status(error: &ReloadError) -> Status {
    match error {
        ReloadError::Invalid(problems) => {
            let listed: Vec<String> = problems
                .problems()
                .iter()
                .map(ToString::to_string)
                .collect();
            Status::invalid_argument(format!(
                "the configuration was not reloaded, fix these and call Reload again: {}",
                listed.join("; ")
            ))
        }
        ReloadError::Interfaces(_) => Status::invalid_argument(format!(
            "the configuration was not reloaded: {error}; check the interface names"
        )),
        ReloadError::ChecksAsRoot(_) | ReloadError::Vmac(_) => {
            Status::failed_precondition(format!("the configuration was not reloaded: {error}"))
        }
        ReloadError::Reader(_) => {
            Status::internal(format!("the configuration was not reloaded: {error}"))
        }
    }
}

#[tonic::async_trait]
impl Sidecar for SidecarService {
    type WatchStateStream = futures_util::stream::Empty<Result<v1::WatchStateResponse, Status>>;

    /// Never called: the listeners mount this service inside `WatchStateRoute`, which answers
    /// `WatchState` itself with each change encoded once for every stream.
    async fn watch_state(
        &self,
        _request: Request<v1::WatchStateRequest>,
    ) -> Result<Response<Self::WatchStateStream>, Status> {
        Err(Status::internal(
            "WatchState is served by WatchStateRoute, not the generated route",
        ))
    }

    async fn list_instances(
        &self,
        _request: Request<v1::ListInstancesRequest>,
    ) -> Result<Response<v1::ListInstancesResponse>, Status> {
        let statuses = self
            .router
            .statuses()
            .await
            .map_err(|error| control_status(&error))?;
        Ok(Response::new(v1::ListInstancesResponse {
            instances: statuses.iter().map(convert::instance).collect(),
        }))
    }

    async fn get_instance(
        &self,
        request: Request<v1::GetInstanceRequest>,
    ) -> Result<Response<v1::Instance>, Status> {
        self.instance(&request.into_inner().name)
            .await
            .map(Response::new)
    }

    async fn set_priority(
        &self,
        request: Request<v1::SetPriorityRequest>,
    ) -> Result<Response<v1::SetPriorityResponse>, Status> {
        self.guard.check(&request)?;
        let request = request.into_inner();
        let priority = u8::try_from(request.priority)
            .ok()
            .and_then(Priority::new)
            .filter(|priority| *priority <= Priority::MAX_BACKUP)
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "priority {} is outside 1..254; 0 is reserved for a stopping master and \
                     255 for the address owner",
                    request.priority
                ))
            })?;
        let status = self
            .router
            .set_priority(request.instance_name, priority)
            .await
            .map_err(|error| control_status(&error))?;
        Ok(Response::new(v1::SetPriorityResponse {
            instance: Some(convert::instance(&status)),
        }))
    }

    async fn resign(
        &self,
        request: Request<v1::ResignRequest>,
    ) -> Result<Response<v1::ResignResponse>, Status> {
        self.guard.check(&request)?;
        let request = request.into_inner();
        let hold_down = request.hold_down.map(parse_hold_down).transpose()?;
        let started = self
            .router
            .resign(request.instance_name.clone(), hold_down)
            .await
            .map_err(|error| control_status(&error))?;
        if !request.wait_for_successor {
            return Ok(Response::new(v1::ResignResponse {
                instance: Some(convert::instance(&started.status)),
                successor: None,
            }));
        }
        let successor = wait_for_successor(
            &request.instance_name,
            started.subscription,
            // The core leaves Master by itself when the bound passes; twice the bound only
            // guards against a lost event.
            started.bound * 2,
        )
        .await?;
        let instance = self.instance(&request.instance_name).await?;
        match successor {
            Some(successor) => Ok(Response::new(v1::ResignResponse {
                instance: Some(instance),
                successor: Some(successor),
            })),
            None => Err(Status::deadline_exceeded(format!(
                "no successor advertised within Master_Down_Interval ({:?}): `{}` is backup \
                 and its addresses are removed; check that a backup runs and hears this host",
                started.bound, request.instance_name
            ))),
        }
    }

    async fn register_health_check(
        &self,
        request: Request<v1::RegisterHealthCheckRequest>,
    ) -> Result<Response<v1::HealthCheck>, Status> {
        self.guard.check(&request)?;
        let owner = checks::owner(&request);
        let (spec, instances) = checks::parse_spec(request.into_inner().spec)?;
        let probe = checks::prepare_probe(&spec).await?;
        let status = self
            .router
            .register_check(spec, probe, instances, owner)
            .await
            .map_err(|error| control_status(&error))?;
        Ok(Response::new(convert::health_check(&status)))
    }

    type ReportHealthStream = checks::AckStream;

    async fn report_health(
        &self,
        request: Request<Streaming<v1::HealthReport>>,
    ) -> Result<Response<Self::ReportHealthStream>, Status> {
        self.guard.check(&request)?;
        Ok(Response::new(checks::report_stream(
            self.router.clone(),
            request.into_inner(),
        )))
    }

    async fn unregister_health_check(
        &self,
        request: Request<v1::UnregisterHealthCheckRequest>,
    ) -> Result<Response<v1::UnregisterHealthCheckResponse>, Status> {
        self.guard.check(&request)?;
        self.router
            .unregister_check(request.into_inner().name)
            .await
            .map_err(|error| control_status(&error))?;
        Ok(Response::new(v1::UnregisterHealthCheckResponse {}))
    }

    async fn reload(
        &self,
        request: Request<v1::ReloadRequest>,
    ) -> Result<Response<v1::ReloadResponse>, Status> {
        self.guard.check(&request)?;
        let (reload, warnings) = prepare_reload(&self.reloader.source, &self.reloader.netlink)
            .await
            .map_err(|error| reload_status(&error))?;
        let outcome = self
            .router
            .reload(reload)
            .await
            .map_err(|error| control_status(&error))?;
        Ok(Response::new(v1::ReloadResponse {
            added_instances: outcome.added,
            removed_instances: outcome.removed,
            changed_instances: outcome.changed,
            warnings,
        }))
    }
}

/// Follows `subscription` until `instance` leaves Master: `Some(successor)` when it heard one,
/// `None` when the core gave up after Master_Down_Interval (RFC 9568 §6.4.3 has no successor
/// then, so the instance reports no master).
async fn wait_for_successor(
    instance: &str,
    mut subscription: crate::events::Subscription<InstanceEvent>,
    bound: Duration,
) -> Result<Option<v1::MasterInfo>, Status> {
    let waited = tokio::time::timeout(bound, async {
        loop {
            match subscription.next().await {
                Next::Event(change) => {
                    if let InstanceEvent::Transition {
                        instance: name,
                        from: State::Master,
                        master,
                        ..
                    } = &change.event
                        && name == instance
                    {
                        return Ok(master.address.map(|_| convert::master(master)));
                    }
                }
                Next::Lagged { .. } => {
                    return Err(Status::aborted(
                        "too many changes to follow the handover; call GetInstance to see \
                         where it stands",
                    ));
                }
                Next::Closed => {
                    return Err(control_status(&ControlError::Stopping));
                }
            }
        }
    })
    .await;
    waited.unwrap_or(Ok(None))
}

/// The longest `hold_down` a `Resign` may ask for: a day. Longer is more likely a unit mistake
/// than a plan; leaving `hold_down` unset yields until the priority changes.
const MAX_HOLD_DOWN: Duration = Duration::from_secs(24 * 60 * 60);

/// Checks a `Resign`'s `hold_down`: INVALID_ARGUMENT when negative, malformed or over a day.
fn parse_hold_down(hold_down: prost_types::Duration) -> Result<Duration, Status> {
    Duration::try_from(hold_down)
        .ok()
        .filter(|duration| *duration <= MAX_HOLD_DOWN)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "hold_down is {}s {}ns; give 0 to 24h, or leave it unset to stay backup until \
                 the priority changes",
                hold_down.seconds, hold_down.nanos
            ))
        })
}
