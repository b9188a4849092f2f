//! The daemon: every configured instance on the real network.
//!
//! - [`router`]: the task that owns all protocol state and carries out the core's actions.
//! - [`control`]: the API's requests to the router and its answers.
//! - [`status`]: the status and events the router reports to the API.
//! - [`instance_driver`]: one instance inside the router (codec options, schedules, logs).
//! - [`sockets`]: the raw VRRP sockets and their receiver tasks.
//! - [`timer`]: the router's timerfd, precise to microseconds.
//! - [`vips`]: the VIP worker (install with a lifetime, renew, remove, stale clean-up,
//!   announce).
//! - [`announce`]: when announcement bursts and refreshes are due.
//! - [`notify`]: the notify FIFO and programs of state changes, off the router.
//! - [`signals`]: SIGTERM/SIGINT (stop) and SIGHUP (reload).
//! - [`settings`]: from configuration to what the core and the sockets take.
//! - [`logging`]: human or JSON log lines.

pub mod announce;
pub mod control;
pub mod instance_driver;
pub mod logging;
pub mod notify;
pub mod router;
pub mod settings;
pub mod signals;
pub mod sockets;
pub mod status;
pub mod timer;
pub mod vips;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use crate::api::{ApiError, ApiServer, Reloader};
use crate::config::{Config, ConfigSource};
use crate::events::{Epoch, EventBus};
use crate::net::{Addresses, Interface, LinkEvents, NetError, Netlink};
use crate::telemetry::prometheus::{FigureSource, MetricsEndpointError};

use control::RouterHandle;

use router::{Router, RouterParts, StartError};
use vips::{VipWorker, place};

/// Commands waiting for the router: signals and API requests. When it is full, API
/// handlers wait their turn; the router never waits for them.
const COMMAND_QUEUE: usize = 64;

/// Changes kept for watchers that reconnect and resume.
const EVENT_HISTORY: usize = 4096;

/// Changes a watcher may fall behind before it lags and gets a `Reset`.
const WATCHER_QUEUE: usize = 256;

/// Concurrent `WatchState` streams (and resigns waiting for their successor) at most.
const WATCHER_LIMIT: usize = 16_384;

/// How long the daemon waits, once every instance stopped, for the VIP worker to finish its
/// last removals before exiting anyway (the addresses then expire by their lifetime).
const VIP_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the daemon waits, once every instance stopped, for their last notifications (the
/// FIFO line and programs of STOP) before exiting anyway.
const NOTIFY_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the daemon could not run.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// A netlink connection or an interface look-up failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The signal handlers could not be installed.
    #[error("installing the signal handlers: {0}")]
    Signals(std::io::Error),
    /// The router's timer could not be created.
    #[error("creating the router's timer: {0}")]
    Timer(std::io::Error),
    /// An instance could not be started.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The API could not start.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The metrics endpoint could not start.
    #[error(transparent)]
    Metrics(#[from] MetricsEndpointError),
}

/// Looks up every interface the instances of `config` name.
pub async fn lookup_interfaces(
    netlink: &Netlink,
    config: &Config,
) -> Result<HashMap<String, Interface>, NetError> {
    let names: BTreeSet<String> = config
        .instances
        .iter()
        .flat_map(settings::interface_names)
        .collect();
    let mut interfaces = HashMap::new();
    for name in names {
        let interface = Interface::lookup(netlink, &name).await?;
        interfaces.insert(name, interface);
    }
    Ok(interfaces)
}

/// Runs every instance of `config` until SIGTERM or SIGINT has stopped them all.
/// `config` was read from `source`, which SIGHUP rereads the same way. Must run inside a
/// tokio runtime with IO and timers.
pub async fn run(source: ConfigSource, config: Config) -> Result<(), DaemonError> {
    let netlink = Netlink::connect()?;
    // The API first: a daemon whose socket another one serves stops before it touches
    // the network.
    let (commands_sender, commands) = mpsc::channel(COMMAND_QUEUE);
    let (stopping, stopping_receiver) = watch::channel(false);
    let api = ApiServer::start(
        &config.api,
        RouterHandle::new(commands_sender.clone()),
        Reloader {
            source: source.clone(),
            netlink: netlink.clone(),
        },
        stopping_receiver,
    )
    .await?;
    // Subscribed before anything changes, so no link or address event is missed.
    let link_events = LinkEvents::subscribe()?;
    let interfaces = lookup_interfaces(&netlink, &config).await?;
    let addresses = Addresses::new(netlink.clone());
    // Before any instance enters Backup: a backup must not hold a VIP a killed run left.
    for instance in &config.instances {
        vips::remove_stale(&addresses, &instance.name, &place(instance, &interfaces)).await;
    }
    let (vips, vip_worker) = VipWorker::spawn(addresses);
    let events = EventBus::new(
        Epoch::generate(SystemTime::now()),
        EVENT_HISTORY,
        WATCHER_QUEUE,
    );
    let metrics = crate::telemetry::start_metrics(
        &config.telemetry,
        FigureSource {
            router: RouterHandle::new(commands_sender.clone()),
            watchers: events.watcher_gauge(),
        },
    )
    .await?;
    let signals =
        signals::spawn(source, netlink.clone(), commands_sender).map_err(DaemonError::Signals)?;
    let mut router = Router::new(RouterParts {
        interfaces,
        vips,
        link_events,
        commands,
        netlink,
        events,
        watcher_limit: WATCHER_LIMIT,
        stopping,
    })
    .map_err(DaemonError::Timer)?;
    let instances = config.instances.len();
    for instance in config.instances {
        router.start_instance(instance).await?;
    }
    info!(instances, "running");
    router.run().await;
    signals.abort();
    metrics.stop();
    api.stop().await;
    // The router held the worker's only handle; the worker ends once its queue is empty.
    match tokio::time::timeout(VIP_DRAIN_TIMEOUT, vip_worker).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => error!(%error, "the VIP worker failed"),
        Err(_) => error!("the VIP worker did not finish its removals in time"),
    }
    if !notify::drain(NOTIFY_DRAIN_TIMEOUT).await {
        error!("notifications of the last state changes did not finish in time");
    }
    info!("stopped");
    Ok(())
}
