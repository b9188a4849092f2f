//! The binary's wiring: starts every part in order (netlink, VIP worker, router, API,
//! metrics, signals, service manager), runs until the router stops, and stops the rest.
//! Nothing below imports this module; it is the one place that knows every layer.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use crate::api::{
    ApiError, ApiServer, CheckStoreError, Reloader, load_registered, spawn_store_writer,
};
use crate::config::{Config, ConfigSource};
use crate::events::{Epoch, EventBus};
use crate::net::{Addresses, LinkEvents, NetError, Netlink, Renewals, Routing};
use crate::telemetry::prometheus::{FigureSource, MetricsEndpointError};

use crate::effects::email_alert::AlertMailer;
use crate::effects::notify::FifoReaders;
use crate::effects::routing;
use crate::effects::static_addresses::StaticAddresses;
use crate::effects::vips::{VipWorker, place};
use crate::effects::vmac;
use crate::host::signals;
use crate::host::systemd::{self, Notifier};
use crate::router::control::RouterHandle;
use crate::router::reload::lookup_interfaces;
use crate::router::{Router, RouterParts, StartError};
use crate::store::priorities;

/// Commands waiting for the router: signals and API requests. When it is full, API
/// handlers wait their turn; the router never waits for them.
const COMMAND_QUEUE: usize = 64;

/// Changes kept for watchers that reconnect and resume.
const EVENT_HISTORY: usize = 4096;

/// Changes a watcher may fall behind before it lags and gets a `Reset`.
const WATCHER_QUEUE: usize = 256;

/// Concurrent `WatchState` streams (and resigns waiting for their successor) at most.
const WATCHER_LIMIT: usize = 16_384;

/// How many health checks applications may register: each is a task and a little memory,
/// and the bench shows 1,000 cost nothing the adverts notice; the cap bounds what a buggy
/// client that registers in a loop can take.
const REGISTERED_CHECK_LIMIT: usize = 4096;

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
    /// The registered checks kept from the last run could not be read.
    #[error(transparent)]
    CheckStore(#[from] CheckStoreError),
    /// The priorities kept from the last run could not be read.
    #[error(transparent)]
    PriorityStore(#[from] priorities::PriorityStoreError),
    /// The metrics endpoint could not start.
    #[error(transparent)]
    Metrics(#[from] MetricsEndpointError),
    /// A virtual MAC interface could not be made.
    #[error(transparent)]
    Vmac(#[from] vmac::VmacSetupError),
}

/// Registers the checks `path` kept from the last run, and starts the task that keeps the
/// file up to date. A check that cannot start again is logged and left out.
fn restore_checks(
    router: &mut Router,
    path: &std::path::Path,
) -> Result<tokio::task::JoinHandle<()>, CheckStoreError> {
    let stored = load_registered(path)?;
    let count = stored.len();
    for check in stored {
        let name = check.spec.name.clone();
        if let Err(error) = router.restore_check(check.spec, check.instances, check.owner) {
            error!(%error, check = %name, "registered check not restored");
        }
    }
    info!(checks = count, file = %path.display(), "registered checks restored");
    Ok(spawn_store_writer(
        path.to_owned(),
        router.registered_checks(),
    ))
}

/// Runs every instance of `config` until SIGTERM or SIGINT has stopped them all.
/// `config` was read from `source`, which SIGHUP rereads the same way. Must run inside a
/// tokio runtime with IO and timers. A service manager that set `$NOTIFY_SOCKET` hears
/// readiness, reloads, the stop and watchdog pings ([`systemd`]).
pub async fn run(source: ConfigSource, config: Config) -> Result<(), DaemonError> {
    let notifier = Notifier::from_env();
    let netlink = Netlink::connect()?;
    // The API first: a daemon whose socket another one serves stops before it touches
    // the network.
    let (commands_sender, commands) = mpsc::channel(COMMAND_QUEUE);
    let (stopping, stopping_receiver) = watch::channel(false);
    let stopping_notice = systemd::notify_stopping(notifier.clone(), stopping_receiver.clone());
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
    let link_events = LinkEvents::subscribe(&[crate::config::routes::PROTOCOL_KEEPALIVED])?;
    // A killed run's virtual MAC interfaces go first, with any VIP they still hold, so a
    // backup never holds one; then this run's are made, before their interfaces are read.
    vmac::remove_all(&netlink, "left by an earlier run").await;
    if let Err(error) = vmac::ensure_all(&config, &netlink).await {
        vmac::remove_all(&netlink, "start-up failed").await;
        return Err(error.into());
    }
    let interfaces = lookup_interfaces(&netlink, &config).await?;
    let addresses = Addresses::new(netlink.clone());
    // Before any instance enters Backup: a backup must not hold a VIP a killed run left.
    for instance in &config.instances {
        crate::effects::vips::remove_stale(
            &addresses,
            &instance.name,
            &place(instance, &interfaces),
        )
        .await;
    }
    crate::effects::vip_firewall::clean_stale(&config).await;
    let (vips, vip_worker, announcements_sent) = VipWorker::spawn(
        addresses,
        Renewals::connect()?,
        Routing::new(netlink.clone()),
    );
    for instance in &config.instances {
        vips.prepare(&instance.name, place(instance, &interfaces));
        // Queued before any install, so it runs first.
        vips.remove_routing(
            &instance.name,
            routing::HeldRouting::of(instance),
            routing::Removal::Stale,
        );
    }
    let router_handle = RouterHandle::new(commands_sender.clone());
    let alerts = AlertMailer::spawn(config.email_alerts.clone(), config.global.node_name());
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
    let vmac_netlink = netlink.clone();
    // The dumps go beside the API socket: the directory the daemon owns (under the systemd
    // unit, its RuntimeDirectory).
    let dump_directory = config
        .api
        .socket
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_owned);
    let signals = signals::spawn(
        source,
        netlink.clone(),
        commands_sender,
        notifier.clone(),
        dump_directory,
    )
    .map_err(DaemonError::Signals)?;
    // Before any instance starts: its first line waits in the FIFO for the program.
    let fifo_readers = FifoReaders::start(&config);
    let static_addresses = StaticAddresses::new(&config, &interfaces);
    let mut router = Router::new(RouterParts {
        interfaces,
        vips,
        announcements_sent,
        link_events,
        commands,
        netlink,
        events,
        watcher_limit: WATCHER_LIMIT,
        stopping,
        sync_groups: config.sync_groups.clone(),
        alerts: alerts.clone(),
        registered_check_limit: REGISTERED_CHECK_LIMIT,
        priority_overrides: match &config.api.priorities_file {
            Some(path) => priorities::load(path)?,
            None => priorities::PriorityOverrides::new(),
        },
        static_routing: routing::StaticRouting::new(routing::HeldRouting::static_of(&config)),
        static_addresses,
        startup_delay: config.global.startup_delay,
        fifo_readers: fifo_readers.clone(),
        link_debounce: config.link_debounce.clone(),
    })
    .map_err(DaemonError::Timer)?;
    let priority_writer = config
        .api
        .priorities_file
        .clone()
        .map(|path| priorities::spawn_writer(path, router.priority_overrides()));
    let instances = config.instances.len();
    if !config.global.startup_delay.is_zero() {
        info!(
            delay = ?config.global.startup_delay,
            "no instance becomes master before the startup delay ends"
        );
    }
    for instance in config.instances {
        if let Err(error) = router.start_instance(instance).await {
            vmac::remove_all(&vmac_netlink, "start-up failed").await;
            fifo_readers.stop().await;
            return Err(error.into());
        }
    }
    info!(instances, "running");
    let store = match &config.api.registered_checks_file {
        Some(path) => Some(restore_checks(&mut router, path)?),
        None => None,
    };
    // The API has been serving since it started, and the requests it queued are answered as
    // soon as the router runs, right below: a client told "ready" is never refused.
    notifier.ready(&format!(
        "running {instances} instance(s); API on {}",
        config.api.socket.display()
    ));
    let watchdog = systemd::spawn_watchdog(notifier, router_handle);
    router.run().await;
    if let Some(writer) = priority_writer {
        // The router dropped the sender: the writer saves the last set and ends.
        let _ = writer.await;
    }
    if let Some(store) = store {
        // The router dropped the sender: the writer saves the last list and ends.
        let _ = store.await;
    }
    signals.abort();
    stopping_notice.abort();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    metrics.stop();
    api.stop().await;
    // The router held the worker's only handle; the worker ends once its queue is empty.
    match tokio::time::timeout(VIP_DRAIN_TIMEOUT, vip_worker).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => error!(%error, "the VIP worker failed"),
        Err(_) => error!("the VIP worker did not finish its removals in time"),
    }
    // After the VIP worker: the instances' addresses are gone from them by now.
    vmac::remove_all(&vmac_netlink, "at exit").await;
    if !crate::effects::notify::drain(NOTIFY_DRAIN_TIMEOUT).await {
        error!("notifications of the last state changes did not finish in time");
    }
    // After the last lines, which the programs may still read.
    fifo_readers.stop().await;
    if !alerts.drain(NOTIFY_DRAIN_TIMEOUT).await {
        error!("e-mail alerts of the last state changes were not sent in time");
    }
    info!("stopped");
    Ok(())
}
