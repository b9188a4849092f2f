//! The router task: the single owner of the [`Node`], and so of every instance's protocol
//! state.
//!
//! It waits on one `select!` over, in this order of precedence: the node's timer and the VIP
//! renewal tick (on the timerfd of [`super::timer`]), commands (shutdown, reload), link and
//! address events, interface look-ups it asked for, health-check results
//! ([`super::checks`]), and received packets. Each input goes to the node, whose outputs are
//! carried out before the next input: advertisements are sent on the spot (a non-blocking
//! send), VIP and announcement work is queued to the VIP worker, notifications to their
//! tasks, and nothing slow is ever awaited here. Every decision is the node's; the router
//! only reads the world and acts on it.
//!
//! After every input the router publishes what changed (state and priority changes) on its
//! [`EventBus`], which never waits for a watcher. API requests arrive as commands with a
//! oneshot for the reply, answered in the step that handles them: a `Watch` builds the
//! snapshot and subscribes to the bus in one step, so no change can fall between the two.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, error, info, warn};

use crate::config::{Family, InstanceSettings, LinkDebounceSettings, SyncGroupSettings};
use crate::effects::email_alert::AlertMailer;
use crate::effects::notify::{FifoReaders, Notifier};
use crate::effects::vips::{
    AnnouncementSent, PlacedVip, VIP_REFRESH_EVERY, VipWorker, micros, place,
};
use crate::events::status::{InstanceEvent, InstanceStatus};
use crate::events::{Epoch, EventBus, Subscription};
use crate::net::{Carrier, Interface, LinkEvent, LinkEvents, NetError, Netlink, ReceivedAdvert};
use crate::store::priorities::PriorityOverrides;
use crate::trace::Cause;
use crate::vrrp::node::output::Output;
use crate::vrrp::node::sync_group::SyncGroup;
use crate::vrrp::node::{InstanceId, Link, Node, Received};
use crate::vrrp::{Command, FaultCause, LinkVerdict, Priority, State};

use super::checks::{self, CheckCommand, HealthChecks, RouterView};
use super::control::{
    ControlError, ReloadOutcome, ResignStarted, ResumePoint, WatchBeginning, WatchStart,
};
use super::instance::{InstanceDriver, Io};
use super::link_debounce::LinkDebounce;
use super::reload::Reload;
use super::settings::{self, SettingsError};
use super::sockets::{Arrival, Sockets};
use super::timer::PreciseTimer;
use crate::effects::routing::{HeldRouting, Removal, StaticRouting};
use crate::effects::static_addresses::StaticAddresses;

/// What the rest of the daemon asks of the router.
#[derive(Debug)]
pub enum RouterCommand {
    /// Stop every instance. Graceful: a master hands over make-before-break (priority 0,
    /// keeping its addresses until the successor is heard or Master_Down_Interval passes);
    /// otherwise every instance stops at once (priority 0, addresses removed).
    Shutdown {
        /// Whether masters wait for their successor.
        graceful: bool,
    },
    /// Apply a configuration reread after SIGHUP or asked for over the API.
    Reload {
        /// The validated configuration and its interfaces.
        reload: Box<Reload>,
        /// Where the outcome goes, when someone waits for it.
        reply: Option<oneshot::Sender<ReloadOutcome>>,
    },
    /// Every instance's status, sorted by name.
    Statuses {
        /// Where the statuses go.
        reply: oneshot::Sender<Vec<InstanceStatus>>,
    },
    /// Start a watcher: take a snapshot (or the replay after `resume`) and subscribe in the
    /// same step.
    Watch {
        /// Where the watcher left off, if it reconnects.
        resume: Option<ResumePoint>,
        /// Where the start goes.
        reply: oneshot::Sender<Result<WatchStart, ControlError>>,
    },
    /// Subscribe a relay: a reader of every change that hands them on to watchers (the
    /// API's `WatchState` hub), not counted as a watcher itself.
    Relay {
        /// Where the epoch and the subscription go.
        reply: oneshot::Sender<(Epoch, Subscription<InstanceEvent>)>,
    },
    /// Set an instance's base priority.
    SetPriority {
        /// The instance.
        instance: String,
        /// The new priority, not the owner's.
        priority: Priority,
        /// The request's trace context, for the transition the change may bring about.
        cause: Cause,
        /// The instance after the change.
        reply: oneshot::Sender<Result<InstanceStatus, ControlError>>,
    },
    /// Make a master hand over (make-before-break).
    Resign {
        /// The instance.
        instance: String,
        /// How long it leaves its successor alone; `None`: until its priority changes.
        hold_down: Option<Duration>,
        /// The request's trace context, for the transition of the handover.
        cause: Cause,
        /// The handover under way.
        reply: oneshot::Sender<Result<ResignStarted, ControlError>>,
    },
    /// Register, remove or feed an application's health check.
    Checks(CheckCommand),
}

/// The channels and handles the router is built from.
pub struct RouterParts {
    /// Every interface the configured instances name, looked up.
    pub interfaces: HashMap<String, Interface>,
    /// Where VIP work goes.
    pub vips: VipWorker,
    /// The announcements the VIP worker sent, for the node's spacing.
    pub announcements_sent: mpsc::UnboundedReceiver<AnnouncementSent>,
    /// Link and address events of the daemon's namespace.
    pub link_events: LinkEvents,
    /// Commands from the signal handler.
    pub commands: mpsc::Receiver<RouterCommand>,
    /// For re-reading an interface after its link comes back.
    pub netlink: Netlink,
    /// The change history the router publishes on and watchers follow.
    pub events: EventBus<InstanceEvent>,
    /// How many watchers may follow the bus at once.
    pub watcher_limit: usize,
    /// Set to `true` once a shutdown begins, for the API's health service.
    pub stopping: watch::Sender<bool>,
    /// The instances that change state together.
    pub sync_groups: Vec<SyncGroupSettings>,
    /// Where e-mail alerts go.
    pub alerts: AlertMailer,
    /// How many health checks applications may register.
    pub registered_check_limit: usize,
    /// Priorities set over the API in an earlier run (`[api] priorities_file`), which the
    /// instances start with.
    pub priority_overrides: PriorityOverrides,
    /// The static routes and rules, added while the router runs.
    pub static_routing: StaticRouting,
    /// The static addresses, added while the router runs, before the static routes.
    pub static_addresses: StaticAddresses,
    /// How long no instance may become master from now (`[global] startup_delay`).
    pub startup_delay: Duration,
    /// The notify FIFOs and their programs, which a reload brings up to date.
    pub fifo_readers: FifoReaders,
    /// The delays before link changes are acted on (`[link_debounce]`).
    pub link_debounce: Vec<LinkDebounceSettings>,
}

/// How many received packets may wait for the router before the receivers wait too (and
/// the kernel's socket buffers take the excess).
const ARRIVALS_QUEUE: usize = 1024;

/// A timer whose adverts leave later than this after its deadline is logged.
const LATE_TIMER: Duration = Duration::from_millis(10);

/// How soon an interface is read again when the source address an instance needs is not
/// there yet after its link came up (IPv6 duplicate address detection takes about a second).
const LOOKUP_RETRY: Duration = Duration::from_millis(500);

/// The router; see the module documentation.
pub struct Router {
    /// Every instance's protocol state and the rules between them, sans-IO.
    node: Node,
    /// What carrying out the node's outputs needs, per instance.
    drivers: Vec<InstanceDriver>,
    io: Io,
    timer: PreciseTimer,
    arrivals: mpsc::Receiver<Arrival>,
    commands: mpsc::Receiver<RouterCommand>,
    link_events: LinkEvents,
    link_events_open: bool,
    netlink: Netlink,
    lookups_sender: mpsc::UnboundedSender<(String, Result<Interface, NetError>)>,
    lookups: mpsc::UnboundedReceiver<(String, Result<Interface, NetError>)>,
    /// The announcements the VIP worker sent (see [`AnnouncementSent`]).
    announcements_sent: mpsc::UnboundedReceiver<AnnouncementSent>,
    /// Interfaces whose last link event said down.
    links_down: HashSet<u32>,
    /// Interfaces read again after link events were lost (`LinkEvent::Overrun`): their
    /// look-up says what their link is, unless a link event about them came meanwhile.
    resyncing: HashSet<String>,
    /// Set once a shutdown began; the router ends when no instance is left.
    stopping: bool,
    /// Packets for a VRID no instance on that socket has.
    unknown_vrid_packets: u64,
    events: EventBus<InstanceEvent>,
    watcher_limit: usize,
    stopping_signal: watch::Sender<bool>,
    /// The sync groups, for their notify settings (the node applies their rules).
    sync_groups: Vec<SyncGroupSettings>,
    /// The notifications of each sync group, by name.
    group_notifiers: HashMap<String, Notifier>,
    checks: HealthChecks,
    /// Priorities set over the API, for the file that keeps them across restarts.
    priority_overrides: watch::Sender<PriorityOverrides>,
    /// When the VIPs of every master next have their kernel lifetime renewed: one tick for
    /// the whole daemon, so the renewals go to the kernel together (see [`crate::effects::vips`]).
    vip_renewal_at: Instant,
    /// The static routes and rules (see [`super::routing`]).
    static_routing: StaticRouting,
    /// The static addresses (see [`crate::effects::static_addresses`]).
    static_addresses: StaticAddresses,
    /// The end of `[global] startup_delay`: no instance, even one a reload adds, becomes
    /// master before it (keepalived's `vrrp_startup_delay` holds every instance, and a
    /// reload does not start it again).
    mastership_held_until: Option<Instant>,
    /// The notify FIFOs and their programs.
    fifo_readers: FifoReaders,
    /// The delays before link changes are acted on, as configured; fitted to the instances
    /// in [`Self::link_debounce`].
    link_debounce_settings: Vec<LinkDebounceSettings>,
    /// The debounced links.
    link_debounce: LinkDebounce,
}

/// Why an instance could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its interface was not looked up.
    #[error("instance `{instance}`: interface {interface} is unknown")]
    UnknownInterface {
        /// The instance.
        instance: String,
        /// Its interface.
        interface: String,
    },
    /// Its settings do not fit the interface.
    #[error("instance `{instance}`: {source}")]
    Settings {
        /// The instance.
        instance: String,
        /// Why.
        source: settings::SettingsError,
    },
    /// Its socket could not be opened.
    #[error("instance `{instance}`: {source}")]
    Socket {
        /// The instance.
        instance: String,
        /// Why (boxed: it is rare, and keeps every `Result` of this type small).
        source: Box<NetError>,
    },
}

impl Router {
    /// A router with no instances yet; fails only if its timer cannot be created.
    pub fn new(parts: RouterParts) -> std::io::Result<Self> {
        let (arrivals_sender, arrivals) = mpsc::channel(ARRIVALS_QUEUE);
        let (lookups_sender, lookups) = mpsc::unbounded_channel();
        let mut node = Node::new();
        node.set_sync_groups(Instant::now(), &node_groups(&parts.sync_groups));
        Ok(Router {
            timer: PreciseTimer::new()?,
            node,
            drivers: Vec::new(),
            io: Io {
                sockets: Sockets::new(arrivals_sender),
                interfaces: parts.interfaces,
                vips: parts.vips,
                alerts: parts.alerts,
            },
            arrivals,
            commands: parts.commands,
            link_events: parts.link_events,
            link_events_open: true,
            netlink: parts.netlink,
            lookups_sender,
            lookups,
            announcements_sent: parts.announcements_sent,
            links_down: HashSet::new(),
            resyncing: HashSet::new(),
            stopping: false,
            unknown_vrid_packets: 0,
            events: parts.events,
            watcher_limit: parts.watcher_limit,
            stopping_signal: parts.stopping,
            sync_groups: parts.sync_groups,
            group_notifiers: HashMap::new(),
            checks: HealthChecks::new(parts.registered_check_limit),
            priority_overrides: watch::Sender::new(parts.priority_overrides),
            vip_renewal_at: Instant::now() + VIP_REFRESH_EVERY,
            static_routing: parts.static_routing,
            static_addresses: parts.static_addresses,
            mastership_held_until: (!parts.startup_delay.is_zero())
                .then(|| Instant::now() + parts.startup_delay),
            fifo_readers: parts.fifo_readers,
            link_debounce_settings: parts.link_debounce,
            link_debounce: LinkDebounce::default(),
        })
    }

    /// Creates and starts an instance (RFC 9568 §6.4.1 Startup: Backup, or Master for the
    /// address owner). Its socket is opened first, so an owner's first advertisement leaves.
    /// On a link that is down it starts in Fault instead, and the link's coming up starts
    /// it: link events only report changes, so a link already down would otherwise go
    /// unnoticed and the instance would take the VIP on a dead link. An interface with no
    /// address to advertise from yet (an IPv6 link-local address still in duplicate address
    /// detection) also puts it in Fault, and the interface is read again until it has one.
    pub async fn start_instance(&mut self, settings: InstanceSettings) -> Result<(), StartError> {
        let interface = self.io.interfaces.get(&settings.interface).ok_or_else(|| {
            StartError::UnknownInterface {
                instance: settings.name.clone(),
                interface: settings.interface.clone(),
            }
        })?;
        let (index, running, name) = (interface.index, interface.running, interface.name.clone());
        let settings_name = settings.name.clone();
        // keepalived's `dont_track_primary`: the instance's own link being down is no fault.
        let tracks_link = !settings.dont_track_primary;
        let without_peers = settings::without_peers(&settings);
        let source_missing = matches!(
            settings::primary_address(&settings, interface),
            Err(SettingsError::NoSourceAddress { .. })
        );
        let driver = if source_missing {
            awaiting_source(&mut self.node, settings)?
        } else {
            self.create_driver(settings)?
        };
        let id = driver.id();
        if !running {
            self.links_down.insert(index);
        }
        let command = if without_peers {
            // keepalived's unicast_fault_no_peer (keepalived/vrrp/vrrp.c: "Cannot use unicast
            // without any peers - going to fault state").
            warn!(instance = %driver.name(), "unicast without any peer: in Fault until a reload lists one");
            Command::EnterFault(FaultCause::NoUnicastPeers)
        } else if !running && tracks_link {
            Command::EnterFault(FaultCause::InterfaceDown)
        } else if source_missing {
            warn!(instance = %driver.name(), interface = %name, "no address to advertise from yet; in Fault until the interface has one");
            self.look_up(name, LOOKUP_RETRY);
            Command::EnterFault(FaultCause::NoSourceAddress)
        } else {
            Command::Startup
        };
        self.drivers.push(driver);
        let now = Instant::now();
        let stored = self
            .priority_overrides
            .borrow()
            .get(&settings_name)
            .copied();
        let owner = self
            .node
            .base_priority(id)
            .is_some_and(|priority| priority.is_owner());
        if let Some(priority) = stored.filter(|_| !owner) {
            info!(instance = %settings_name, %priority, "starting with the priority set over the API before the restart");
            self.node.set_base_priority(now, id, priority).ok();
        }
        if let Some(until) = self.mastership_held_until
            && until > now
        {
            self.node
                .command(now, id, Command::HoldMastership(until - now))
                .expect("the instance was just added, and HoldMastership is never refused");
        }
        if let Err(error) = self.node.command(now, id, command) {
            debug!(instance = %settings_name, %error, "start-up command not applied");
        }
        Ok(())
    }

    fn create_driver(&mut self, settings: InstanceSettings) -> Result<InstanceDriver, StartError> {
        let name = settings.name.clone();
        let interface = self.io.interfaces.get(&settings.interface).ok_or_else(|| {
            StartError::UnknownInterface {
                instance: name.clone(),
                interface: settings.interface.clone(),
            }
        })?;
        let key = settings::link(&settings);
        // The socket's interface: the virtual MAC interface, when the adverts leave by it.
        let socket_interface =
            self.io
                .interfaces
                .get(&key.interface)
                .ok_or_else(|| StartError::UnknownInterface {
                    instance: name.clone(),
                    interface: key.interface.clone(),
                })?;
        self.io
            .sockets
            .ensure(&key, settings::carrier(&settings), socket_interface)
            .map_err(|source| StartError::Socket {
                instance: name.clone(),
                source: Box::new(source),
            })?;
        InstanceDriver::new(&mut self.node, settings, interface).map_err(|source| {
            StartError::Settings {
                instance: name,
                source,
            }
        })
    }

    /// Runs until a shutdown has stopped every instance.
    pub async fn run(mut self) {
        self.configure_link_debounce();
        // Addresses first: a static route may name one as its source.
        self.static_addresses.start(&self.io.vips);
        self.static_routing.start(&self.io.vips);
        // The start-up transitions of the instances started before the loop.
        self.carry_out_outputs(Instant::now()).await;
        self.publish_events();
        self.sync_checks().await;
        self.carry_out_outputs(Instant::now()).await;
        self.publish_events();
        while !(self.stopping && self.drivers.is_empty()) {
            let deadline = self.next_deadline();
            // Biased: timers first, so a flood of packets cannot delay a take-over; packets
            // last, for the same reason towards commands and link events.
            tokio::select! {
                biased;
                () = self.timer.sleep_until(deadline) => self.on_timeout(deadline).await,
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    // Every sender is gone: nothing can stop us gracefully any more.
                    None => self.begin_shutdown(false).await,
                },
                event = self.link_events.next(), if self.link_events_open => match event {
                    Some(event) => self.on_link_event(event).await,
                    None => {
                        error!("the link event stream ended; link changes are no longer seen");
                        self.link_events_open = false;
                    }
                },
                Some((name, looked_up)) = self.lookups.recv() => {
                    self.on_interface_looked_up(name, looked_up).await;
                }
                Some(sent) = self.announcements_sent.recv() => {
                    if let Some(id) = self.node.find(&sent.instance) {
                        self.node.announcement_sent(id, sent.address, sent.at);
                    }
                }
                Some((id, message)) = self.checks.next_message(), if !self.stopping => {
                    let (checks, mut view) = self.checks_and_view();
                    checks::on_message(checks, id, message, &mut view).await;
                }
                Some((key, packet)) = self.arrivals.recv() => self.on_packet(key, packet).await,
            }
            self.carry_out_outputs(Instant::now()).await;
            if self.stopping {
                self.retire_stopped().await;
            }
            self.publish_events();
        }
        self.static_routing.stop(&self.io.vips);
        self.static_addresses.stop(&self.io.vips);
        info!("every instance stopped");
    }

    /// Carries out every output of the node, in order: adverts are sent on the spot, the
    /// rest goes to the instance's driver (VIP work, notifications, events, logs) or, for a
    /// sync group's change, to the group's notifications. `now` is when the input that
    /// caused them was handled.
    async fn carry_out_outputs(&mut self, now: Instant) {
        while let Some(output) = self.node.poll_output() {
            match output {
                Output::Transmit {
                    instance,
                    advert,
                    ah_sequence,
                } => {
                    if let Some(driver) = driver_mut(&mut self.drivers, instance) {
                        driver.send(&advert, ah_sequence, &self.io).await;
                    }
                }
                Output::UnknownVrid { from, vrid } => {
                    self.unknown_vrid_packets += 1;
                    debug!(
                        %from,
                        ?vrid,
                        total = self.unknown_vrid_packets,
                        "packet for a VRID not configured here"
                    );
                }
                Output::GroupMoved {
                    instance,
                    group,
                    group_move,
                } => {
                    let name = self.node.name(instance).unwrap_or_default();
                    debug!(instance = %name, %group, ?group_move, "following the sync group");
                }
                Output::GroupStateChanged { group, from, to } => {
                    info!(%group, %from, %to, "sync group changed state");
                    if let Some(settings) = self.sync_groups.iter().find(|g| g.name == group) {
                        self.group_notifiers
                            .entry(group.clone())
                            .or_default()
                            .group_state_changed(&group, to, &settings.notify);
                    }
                }
                Output::GroupsUnsettled => {
                    warn!(
                        "sync group moves did not settle within one input; the rest follow the next one"
                    );
                }
                output => {
                    let driver = output
                        .instance()
                        .and_then(|instance| driver_mut(&mut self.drivers, instance));
                    if let Some(driver) = driver {
                        driver.carry_out(now, output, &self.node, &self.io);
                    }
                }
            }
        }
        for driver in &mut self.drivers {
            driver.end_input();
        }
    }

    /// Hands every driver's pending changes to the bus, driver by driver.
    fn publish_events(&mut self) {
        let now = SystemTime::now();
        for driver in &mut self.drivers {
            for event in driver.take_events() {
                self.events.publish(now, event);
            }
        }
    }

    /// Publishes the last changes of a driver that is being dropped.
    fn publish_last_events(&mut self, driver: &mut InstanceDriver) {
        let now = SystemTime::now();
        for event in driver.take_events() {
            self.events.publish(now, event);
        }
    }

    fn statuses(&self) -> Vec<InstanceStatus> {
        let now = Instant::now();
        let mut statuses: Vec<InstanceStatus> = self
            .drivers
            .iter()
            .map(|driver| {
                let mut status = driver.status(&self.node);
                status.health_checks = self.checks.statuses_for(driver.name());
                status.link_debounce = self.link_debounce.status(&driver.settings().interface, now);
                status.sync_group = self
                    .sync_groups
                    .iter()
                    .find(|group| group.instances.iter().any(|name| name == driver.name()))
                    .map(|group| group.name.clone());
                status
            })
            .collect();
        statuses.sort_by(|a, b| a.name().cmp(b.name()));
        statuses
    }

    fn start_watch(&self, resume: Option<ResumePoint>) -> Result<WatchStart, ControlError> {
        if self.events.watcher_count() >= self.watcher_limit {
            return Err(ControlError::TooManyWatchers {
                limit: self.watcher_limit,
            });
        }
        let refused = match resume {
            Some(point) => match self.events.resume(&point.epoch, point.after) {
                Ok(resumed) => {
                    return Ok(WatchStart {
                        epoch: self.events.epoch().clone(),
                        beginning: WatchBeginning::Resumed(resumed),
                    });
                }
                Err(refused) => Some(refused),
            },
            None => None,
        };
        Ok(WatchStart {
            epoch: self.events.epoch().clone(),
            beginning: WatchBeginning::Snapshot {
                refused,
                statuses: self.statuses(),
                subscription: self.events.subscribe(),
            },
        })
    }

    /// Starts and stops configured checks to match the instances, and hands every instance
    /// its checks' verdicts (an instance a reload restarted has none yet).
    async fn sync_checks(&mut self) {
        let settings: Vec<InstanceSettings> = self
            .drivers
            .iter()
            .map(|driver| driver.settings().clone())
            .collect();
        self.checks.sync_configured(&settings);
        let every: std::collections::BTreeSet<String> =
            settings.into_iter().map(|settings| settings.name).collect();
        let (checks, mut view) = self.checks_and_view();
        checks::apply_checks(checks, &every, None, &mut view).await;
    }

    /// The checks, and what acting on their results needs, borrowed apart.
    fn checks_and_view(&mut self) -> (&mut HealthChecks, RouterView<'_>) {
        let view = RouterView {
            node: &mut self.node,
            drivers: &mut self.drivers,
            io: &self.io,
            links_down: &self.links_down,
            events: &mut self.events,
        };
        (&mut self.checks, view)
    }

    /// Registers a check kept from an earlier run, before the router runs.
    pub fn restore_check(
        &mut self,
        spec: crate::health::CheckSpec,
        instances: Vec<String>,
        owner: String,
    ) -> Result<(), checks::CheckError> {
        self.checks.register(spec, None, instances, owner).map(drop)
    }

    /// The registered checks, each time the set changes.
    pub fn registered_checks(&self) -> watch::Receiver<Vec<crate::events::status::CheckStatus>> {
        self.checks.registrations()
    }

    async fn set_priority(
        &mut self,
        instance: &str,
        priority: Priority,
        cause: Cause,
    ) -> Result<InstanceStatus, ControlError> {
        let now = Instant::now();
        let position = self.position_of(instance)?;
        let driver = &mut self.drivers[position];
        let id = driver.id();
        if self
            .node
            .base_priority(id)
            .is_some_and(|base| base.is_owner())
        {
            return Err(ControlError::Owner(instance.to_owned()));
        }
        driver.expect_transition_from(cause, now, &self.node);
        self.node
            .set_base_priority(now, id, priority)
            .map_err(|_| ControlError::NotFound(instance.to_owned()))?;
        let configured = settings::priority(driver.settings()).ok();
        self.priority_overrides.send_if_modified(|overrides| {
            if configured == Some(priority) {
                overrides.remove(instance).is_some()
            } else {
                overrides.insert(instance.to_owned(), priority) != Some(priority)
            }
        });
        self.carry_out_outputs(now).await;
        Ok(self.drivers[position].status(&self.node))
    }

    /// After a reload: a priority set over the API outlasts a changed configured priority
    /// (the operator's last word), and the set forgets instances the reload removed.
    async fn keep_priority_overrides(&mut self, now: Instant) {
        let overrides = self.priority_overrides.borrow().clone();
        for driver in &self.drivers {
            let Some(base) = self.node.base_priority(driver.id()) else {
                continue;
            };
            if let Some(&priority) = overrides.get(driver.name())
                && base != priority
                && !base.is_owner()
            {
                info!(instance = driver.name(), %priority, "the priority set over the API stays; SetPriority to the configured one to drop it");
                self.node.set_base_priority(now, driver.id(), priority).ok();
            }
        }
        let drivers = &self.drivers;
        self.priority_overrides.send_if_modified(|overrides| {
            let before = overrides.len();
            overrides.retain(|name, _| drivers.iter().any(|driver| driver.name() == name));
            overrides.len() != before
        });
    }

    /// The priorities set over the API, as they change, for the file that keeps them.
    pub fn priority_overrides(&self) -> watch::Receiver<PriorityOverrides> {
        self.priority_overrides.subscribe()
    }

    async fn resign(
        &mut self,
        instance: &str,
        hold_down: Option<Duration>,
        cause: Cause,
    ) -> Result<ResignStarted, ControlError> {
        let now = Instant::now();
        let position = self.position_of(instance)?;
        let status = self.drivers[position].status(&self.node);
        if status.base_priority == Priority::OWNER.get() {
            return Err(ControlError::Owner(instance.to_owned()));
        }
        if status.state != State::Master {
            return Err(ControlError::NotMaster {
                instance: instance.to_owned(),
                state: status.state,
            });
        }
        let driver = &mut self.drivers[position];
        let id = driver.id();
        driver.expect_transition_from(cause, now, &self.node);
        if let Err(error) = self.node.command(now, id, Command::Resign { hold_down }) {
            debug!(instance, %error, "resign not applied");
        }
        let bound = self
            .node
            .instance(id)
            .map(|instance| instance.master_down_interval())
            .unwrap_or_default();
        // What the command itself changed goes out first, so the subscription holds only
        // what follows: the instance leaving Master once its successor speaks.
        self.carry_out_outputs(now).await;
        let status = self.drivers[position].status(&self.node);
        self.publish_events();
        Ok(ResignStarted {
            status,
            bound,
            subscription: self.events.subscribe(),
        })
    }

    fn position_of(&self, instance: &str) -> Result<usize, ControlError> {
        self.drivers
            .iter()
            .position(|driver| driver.name() == instance)
            .ok_or_else(|| ControlError::NotFound(instance.to_owned()))
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.node
            .poll_timeout()
            .into_iter()
            .chain([self.vip_renewal_at])
            .chain(self.link_debounce.poll_timeout())
            .min()
    }

    /// Runs whatever is due; `deadline` is the one the router slept until (nothing changed
    /// since it was computed), the earliest of them.
    async fn on_timeout(&mut self, deadline: Option<Instant>) {
        let now = Instant::now();
        if self.node.master_down_due(now) {
            self.take_queued_packets().await;
        }
        self.node.handle_timeout(now);
        for (name, up) in self.link_debounce.handle_timeout(now) {
            let Some(index) = self.io.interfaces.get(&name).map(|i| i.index) else {
                continue;
            };
            if up {
                self.link_up(index);
            } else {
                self.link_down(now, index).await;
            }
        }
        // Carried out before the renewal below, so an instance that just left Master is
        // not renewed.
        self.carry_out_outputs(now).await;
        if let Some(due) = deadline {
            warn_if_late(due, now);
        }
        // After the instances' own timers: one that just left Master is not renewed. A new
        // master's take-over install gave its VIPs a full lifetime, and the next tick comes
        // within VIP_REFRESH_EVERY of it, as the guarantee in `crate::effects::vips` needs.
        if self.vip_renewal_at <= now {
            let renewable: Vec<(String, PlacedVip)> = self
                .drivers
                .iter()
                .flat_map(|driver| {
                    driver
                        .renewable_vips(&self.node, &self.io)
                        .into_iter()
                        .map(|placed| (driver.name().to_owned(), placed))
                })
                .collect();
            if !renewable.is_empty() {
                self.io.vips.renew(renewable);
            }
            self.vip_renewal_at = now + VIP_REFRESH_EVERY;
        }
    }

    /// Handles the packets already received before a backup's master-down timer fires: an
    /// advert that arrived before the deadline but was not read yet (the router woke for
    /// the timer and the packet together, or the process was stalled, frozen or starved of
    /// CPU, with adverts piling up in the socket meanwhile) means the master is alive, and
    /// firing the timer first would make a takeover the next packet undoes, its gratuitous
    /// ARP drawing the clients away for nothing. The timer itself fires only when a master
    /// falls silent, so this costs nothing in steady state; the packets taken are those
    /// queued at this moment, so a flood delays a takeover by one queue's worth at most.
    async fn take_queued_packets(&mut self) {
        // The receivers run on the runtime's other threads: let them hand over what the
        // kernel has queued for them.
        tokio::task::yield_now().await;
        for _ in 0..self.arrivals.len() {
            let Ok((key, packet)) = self.arrivals.try_recv() else {
                break;
            };
            self.on_packet(key, packet).await;
        }
    }

    async fn on_packet(&mut self, link: Link, packet: ReceivedAdvert) {
        let now = Instant::now();
        self.node.handle_packet(
            now,
            &link,
            Received {
                source: packet.source,
                destination: packet.destination,
                hop_limit: packet.hop_limit,
                ip_header: &packet.ip_header,
                payload: &packet.payload,
            },
        );
        self.carry_out_outputs(now).await;
    }

    /// Handles one command. A reply whose asker went away is dropped: the router never
    /// waits for a client.
    async fn on_command(&mut self, command: RouterCommand) {
        match command {
            RouterCommand::Shutdown { graceful } => self.begin_shutdown(graceful).await,
            RouterCommand::Reload { reload, .. } if self.stopping => {
                info!(
                    instances = reload.config.instances.len(),
                    "reload ignored: shutting down"
                );
            }
            RouterCommand::Reload { reload, reply } => {
                let outcome = self.reload(*reload).await;
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
            }
            RouterCommand::Statuses { reply } => {
                let _ = reply.send(self.statuses());
            }
            RouterCommand::Watch { resume, reply } => {
                let _ = reply.send(self.start_watch(resume));
            }
            RouterCommand::Relay { reply } => {
                let _ = reply.send((self.events.epoch().clone(), self.events.subscribe_relay()));
            }
            RouterCommand::SetPriority {
                instance,
                priority,
                cause,
                reply,
            } => {
                let result = if self.stopping {
                    Err(ControlError::Stopping)
                } else {
                    self.set_priority(&instance, priority, cause).await
                };
                let _ = reply.send(result);
            }
            RouterCommand::Resign {
                instance,
                hold_down,
                cause,
                reply,
            } => {
                let result = if self.stopping {
                    Err(ControlError::Stopping)
                } else {
                    self.resign(&instance, hold_down, cause).await
                };
                let _ = reply.send(result);
            }
            // While stopping the replies are dropped: the caller sees the daemon stopping.
            RouterCommand::Checks(_) if self.stopping => {}
            RouterCommand::Checks(command) => {
                let (checks, mut view) = self.checks_and_view();
                checks::on_command(checks, command, &mut view).await;
            }
        }
    }

    /// Starts stopping. A graceful stop makes each master resign (RFC 9568 §6.4.3 priority
    /// 0) and keep its addresses until its successor speaks; [`Router::retire_stopped`] then
    /// shuts it down. A second, non-graceful request stops everything at once.
    async fn begin_shutdown(&mut self, graceful: bool) {
        info!(graceful, "shutting down");
        self.stopping = true;
        self.stopping_signal.send_replace(true);
        self.node.begin_stopping();
        let now = Instant::now();
        for driver in &self.drivers {
            let id = driver.id();
            let command = if graceful && self.node.state(id) == Some(State::Master) {
                Command::Resign { hold_down: None }
            } else {
                Command::Shutdown
            };
            self.node.command(now, id, command).ok();
        }
        self.carry_out_outputs(now).await;
    }

    /// While stopping: shuts down and drops every instance that is no longer master (a
    /// resigning master stays until its successor is heard or its bound passes, then until
    /// its release grace has passed).
    async fn retire_stopped(&mut self) {
        let now = Instant::now();
        for driver in &self.drivers {
            let id = driver.id();
            let state = self.node.state(id);
            if state != Some(State::Master)
                && state != Some(State::Initialize)
                && !self.node.is_releasing(id)
            {
                self.node.command(now, id, Command::Shutdown).ok();
            }
        }
        // Their shutdown transitions go out before the drivers do.
        self.carry_out_outputs(now).await;
        self.publish_events();
        let stopped: Vec<InstanceId> = self
            .drivers
            .iter()
            .map(InstanceDriver::id)
            .filter(|&id| self.node.state(id) == Some(State::Initialize))
            .collect();
        for id in stopped {
            self.node.remove(now, id);
            self.drivers.retain(|driver| driver.id() != id);
        }
        self.carry_out_outputs(now).await;
    }

    async fn on_link_event(&mut self, event: LinkEvent) {
        let now = Instant::now();
        match event {
            LinkEvent::LinkDown(index) => {
                self.stop_resync(index);
                if self.debounced(now, index, false) == LinkVerdict::Apply(false) {
                    self.link_down(now, index).await;
                }
            }
            LinkEvent::LinkUp(index) => {
                self.stop_resync(index);
                // Static addresses the kernel dropped with the link go back at once,
                // whatever the delay before the instances act on it.
                self.static_addresses.link_up(index, &self.io.vips);
                match self.debounced(now, index, true) {
                    LinkVerdict::Apply(_) => self.link_up(index),
                    // Down and up within the down delay: the instances never acted on
                    // it, but the IPv6 link-local address may still be new.
                    LinkVerdict::Cancelled | LinkVerdict::Unchanged => {
                        if let Some(name) = self.interface_name(index) {
                            self.look_up(name, Duration::ZERO);
                        }
                    }
                    LinkVerdict::Delayed(_) => {}
                }
            }
            LinkEvent::Overrun => {
                warn!(
                    "link events were lost (the kernel's event buffer overflowed); reading every interface again"
                );
                let names: Vec<String> = self.io.interfaces.keys().cloned().collect();
                for name in names {
                    self.resyncing.insert(name.clone());
                    self.look_up(name, Duration::ZERO);
                }
            }
            LinkEvent::AddressRemoved(index, address) => {
                for driver in &self.drivers {
                    driver.address_removed(index, address, &self.node, &self.io);
                }
                self.source_removed(index, address);
                self.static_addresses
                    .address_removed(index, address, &self.io.vips);
            }
            LinkEvent::RouteRemoved(removed) => {
                for driver in &self.drivers {
                    driver.route_removed(&removed, &self.node, &self.io);
                }
                self.static_routing.route_removed(&removed, &self.io.vips);
            }
            LinkEvent::RuleRemoved(removed) => {
                for driver in &self.drivers {
                    driver.rule_removed(&removed, &self.node, &self.io);
                }
                self.static_routing.rule_removed(&removed, &self.io.vips);
            }
        }
    }

    /// What the link of interface `index` going `up` (or down) at `now` means once
    /// debounced: links without delays are acted on at once.
    fn debounced(&mut self, now: Instant, index: u32, up: bool) -> LinkVerdict {
        match self.interface_name(index) {
            Some(name) => self.link_debounce.link_changed(now, &name, up),
            None => LinkVerdict::Apply(up),
        }
    }

    /// `address` left interface `index`: when an instance advertises from it, the interface
    /// is read again to find what it advertises from now (see
    /// [`Self::follow_source_changes`]).
    fn source_removed(&mut self, index: u32, address: IpAddr) {
        let Some(name) = self.interface_name(index) else {
            return;
        };
        let used = self.drivers.iter().any(|driver| {
            driver.settings().interface == name
                && driver.follows_interface_source()
                && driver.primary_address() == address
        });
        if used {
            info!(interface = %name, %address, "the address adverts come from was removed; reading the interface again");
            self.look_up(name, Duration::ZERO);
        }
    }

    /// What keepalived 2.2.7 does when an instance's source address leaves the interface
    /// (keepalived/core/keepalived_netlink.c, RTM_DELADDR), for the instances on `name` that
    /// follow the interface's address and are not in Fault: with another address there, it
    /// advertises from that one, without a transition; with none left, it enters Fault until
    /// one comes (measured with keepalived 2.2.7: "Deassigned address", "Entering FAULT
    /// STATE"). The interface's addresses held as virtual addresses do not count, as
    /// keepalived ignores its own. Returns whether an instance now waits for an address.
    fn follow_source_changes(&mut self, name: &str, interface: &Interface) -> bool {
        let now = Instant::now();
        let mut waiting = false;
        for position in 0..self.drivers.len() {
            let driver = &self.drivers[position];
            if driver.settings().interface != name
                || !driver.follows_interface_source()
                || matches!(
                    self.node.state(driver.id()),
                    Some(State::Fault | State::Initialize) | None
                )
            {
                continue;
            }
            let primary = settings::primary_address(driver.settings(), interface)
                .ok()
                .filter(|primary| !self.is_virtual_address(*primary));
            let (id, before) = (driver.id(), driver.primary_address());
            match primary {
                Some(primary) if primary == before => {}
                Some(primary) => {
                    let driver = &mut self.drivers[position];
                    match driver.move_source(&mut self.node, primary) {
                        Ok(()) => info!(
                            instance = %driver.name(),
                            from = %before,
                            to = %primary,
                            "source address removed; advertising from the interface's next address"
                        ),
                        Err(error) => {
                            warn!(instance = %driver.name(), %error, "source address not moved")
                        }
                    }
                }
                None => {
                    warn!(
                        instance = %driver.name(),
                        interface = %name,
                        address = %before,
                        "the interface's last address went; in Fault until it has one"
                    );
                    let fault = Command::EnterFault(FaultCause::NoSourceAddress);
                    self.node.command(now, id, fault).ok();
                    waiting = true;
                }
            }
        }
        waiting
    }

    /// Whether `address` is a virtual address of an instance.
    fn is_virtual_address(&self, address: IpAddr) -> bool {
        self.drivers.iter().any(|driver| {
            driver
                .settings()
                .virtual_addresses
                .iter()
                .any(|vip| vip.address == address)
        })
    }

    /// Fits the configured link delays to the instances running now.
    fn configure_link_debounce(&mut self) {
        self.link_debounce.configure(
            &self.link_debounce_settings,
            self.drivers.iter().map(InstanceDriver::settings),
            &self.io.interfaces,
        );
    }

    /// The link of interface `index` came up (and stayed up for its up delay): it is looked
    /// up again off the router, as after a flap its IPv6 link-local address may be new
    /// (keepalived-baseline.md, pitfall 4), and the look-up takes its instances out of
    /// Fault.
    fn link_up(&mut self, index: u32) {
        self.links_down.remove(&index);
        if let Some(name) = self.interface_name(index) {
            self.look_up(name, Duration::ZERO);
        }
    }

    /// Faults the instances on the interface with index `index`, whose link went down,
    /// except those that do not track it (`dont_track_primary`).
    async fn link_down(&mut self, now: Instant, index: u32) {
        self.links_down.insert(index);
        for driver in &self.drivers {
            let on_it = self
                .io
                .interfaces
                .get(&driver.settings().interface)
                .is_some_and(|interface| interface.index == index);
            if on_it && !driver.settings().dont_track_primary {
                let fault = Command::EnterFault(FaultCause::InterfaceDown);
                self.node.command(now, driver.id(), fault).ok();
            }
        }
        self.carry_out_outputs(now).await;
    }

    fn interface_name(&self, index: u32) -> Option<String> {
        self.io
            .interfaces
            .values()
            .find(|interface| interface.index == index)
            .map(|interface| interface.name.clone())
    }

    /// A link event about interface `index` is newer than any resync look-up of it.
    fn stop_resync(&mut self, index: u32) {
        if !self.resyncing.is_empty()
            && let Some(name) = self.interface_name(index)
        {
            self.resyncing.remove(&name);
        }
    }

    /// An interface read again, after its link came back or after link events were lost.
    /// Read after lost events (and no event about it since), its link state is taken as it
    /// is: down faults its instances. Up: reopen its sockets if it changed and take its
    /// instances out of Fault; an instance whose source address changed is replaced by a new
    /// one (the core's primary address is fixed), and one whose source is not there yet (a
    /// new IPv6 link-local address still in DAD) stays in Fault until a later look-up finds
    /// it.
    async fn on_interface_looked_up(
        &mut self,
        name: String,
        looked_up: Result<Interface, NetError>,
    ) {
        let interface = match looked_up {
            Ok(interface) => interface,
            Err(error) => {
                self.resyncing.remove(&name);
                warn!(%error, "interface not read after its link came up; its instances stay in Fault");
                return;
            }
        };
        self.io.interfaces.insert(name.clone(), interface.clone());
        if self.resyncing.remove(&name) {
            // Read after events were lost, and no event about it came since: what it says
            // is the link's state now.
            if !interface.running {
                if !self.links_down.contains(&interface.index) {
                    warn!(interface = %name, "its link went down while events were lost");
                    self.link_down(Instant::now(), interface.index).await;
                }
                return;
            }
            self.links_down.remove(&interface.index);
        }
        if self.links_down.contains(&interface.index) || !interface.running {
            // It went down again meanwhile; its next LinkUp looks it up again.
            return;
        }
        let mut source_missing = self.follow_source_changes(&name, &interface);
        self.carry_out_outputs(Instant::now()).await;
        let mut clear = Vec::new();
        let mut replace = Vec::new();
        for (position, driver) in self.drivers.iter().enumerate() {
            if driver.settings().interface != name
                || self.node.state(driver.id()) != Some(State::Fault)
                || self.node.held_by_check(driver.id())
            {
                continue;
            }
            match settings::primary_address(driver.settings(), &interface) {
                // A virtual address is no source (keepalived ignores its own addresses).
                Ok(primary) if self.is_virtual_address(primary) => source_missing = true,
                Ok(primary) if primary == driver.primary_address() => clear.push(position),
                Ok(_) => replace.push(position),
                Err(_) => source_missing = true,
            }
        }
        let keys: Vec<(Link, Carrier)> = self
            .drivers
            .iter()
            .map(|driver| (driver.link().clone(), driver.carrier()))
            .filter(|(key, _)| key.interface == name)
            .collect();
        for (key, carrier) in keys {
            if let Err(error) = self.io.sockets.ensure(&key, carrier, &interface) {
                warn!(%error, "VRRP socket not reopened after the link came up");
            }
        }
        let now = Instant::now();
        for &position in &clear {
            let id = self.drivers[position].id();
            self.node.command(now, id, Command::ClearFault).ok();
        }
        self.carry_out_outputs(now).await;
        // Highest position first, so the positions still to remove stay valid.
        for &position in replace.iter().rev() {
            let mut replaced = self.drivers.remove(position);
            self.node.remove(now, replaced.id());
            self.publish_last_events(&mut replaced);
            let settings = replaced.settings().clone();
            info!(instance = %settings.name, "source address changed while the link was down; instance restarted");
            if let Err(error) = self.start_instance(settings).await {
                error!(%error, "instance not restarted after the link came up");
            }
        }
        if source_missing {
            info!(interface = %name, "no source address yet; looking again shortly");
            self.look_up(name, LOOKUP_RETRY);
        }
    }

    /// Reads interface `name` again in a task of its own, after `delay`, and hands the
    /// result back to the router.
    fn look_up(&self, name: String, delay: Duration) {
        let netlink = self.netlink.clone();
        let answer = self.lookups_sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let looked_up = Interface::lookup(&netlink, &name).await;
            // The router is gone only when the daemon is stopping.
            let _ = answer.send((name, looked_up));
        });
    }

    /// Applies a reloaded configuration: unchanged instances are not touched; a changed
    /// priority or address list applies in place; other changes restart the instance; new
    /// instances start (after removing stale copies of their addresses) and removed ones
    /// stop (priority 0, addresses removed). Returns what changed, by name.
    async fn reload(&mut self, reload: Reload) -> ReloadOutcome {
        let now = Instant::now();
        // Before any instance writes a FIFO the reload adds.
        self.fifo_readers.reconcile(&reload.config);
        self.io.interfaces.extend(reload.interfaces);
        let static_addresses = StaticAddresses::new(&reload.config, &self.io.interfaces);
        self.static_addresses
            .reload(static_addresses, &self.io.vips);
        self.static_routing
            .reload(HeldRouting::static_of(&reload.config), &self.io.vips);
        // An instance the new groups no longer hold together leaves a group's Fault.
        self.node
            .set_sync_groups(now, &node_groups(&reload.config.sync_groups));
        self.sync_groups = reload.config.sync_groups;
        self.link_debounce_settings = reload.config.link_debounce;
        let groups = &self.sync_groups;
        self.group_notifiers
            .retain(|name, _| groups.iter().any(|group| group.name == *name));
        self.io
            .alerts
            .reconfigure(reload.config.email_alerts.clone());
        let (mut unchanged, mut in_place, mut restarted, mut added) = (0, 0, 0, 0);
        let mut outcome = ReloadOutcome::default();
        let mut to_start = Vec::new();
        let mut stopping = Vec::new();
        let mut kept = HashSet::new();
        for settings in reload.config.instances {
            let position = self
                .drivers
                .iter()
                .position(|driver| driver.name() == settings.name);
            let Some(position) = position else {
                added += 1;
                outcome.added.push(settings.name.clone());
                to_start.push((settings, true));
                continue;
            };
            let driver = &mut self.drivers[position];
            let id = driver.id();
            kept.insert(id);
            if *driver.settings() == settings {
                unchanged += 1;
            } else if !settings::restart_needed(driver.settings(), &settings) {
                in_place += 1;
                outcome.changed.push(settings.name.clone());
                let set_over_api = self
                    .priority_overrides
                    .borrow()
                    .get(&settings.name)
                    .copied();
                let configured = settings::priority(&settings);
                driver.reconfigure(settings, &mut self.node, &self.io);
                match configured {
                    Ok(configured) => {
                        // Applied in one step, so no advert and no event carries the
                        // configured priority when a priority set over the API is to stay.
                        let priority = set_over_api
                            .filter(|_| !configured.is_owner())
                            .unwrap_or(configured);
                        if let Some(before) = self.node.base_priority(id)
                            && before != priority
                        {
                            info!(instance = driver.name(), from = %before, to = %priority, "priority changed by reload");
                            self.node.set_base_priority(now, id, priority).ok();
                        }
                    }
                    Err(error) => error!(instance = driver.name(), %error, "priority not changed"),
                }
            } else {
                restarted += 1;
                info!(
                    instance = driver.name(),
                    "settings the protocol runs on changed; restarting the instance"
                );
                self.node.command(now, id, Command::Shutdown).ok();
                stopping.push(id);
                outcome.changed.push(settings.name.clone());
                to_start.push((settings, false));
            }
        }
        let removed: Vec<InstanceId> = self
            .drivers
            .iter()
            .map(InstanceDriver::id)
            .filter(|id| !kept.contains(id))
            .collect();
        for &id in &removed {
            info!(
                instance = self.node.name(id).unwrap_or_default(),
                "instance removed by reload"
            );
            if let Some(driver) = driver_mut(&mut self.drivers, id) {
                driver.mark_removed_by_reload();
            }
            self.node.command(now, id, Command::Shutdown).ok();
        }
        // The last changes of the instances that stop go out before their drivers do.
        self.carry_out_outputs(now).await;
        // Queued by now, those changes are written before a FIFO no longer used goes.
        self.fifo_readers.release_unused();
        for &id in stopping.iter().chain(&removed) {
            if let Some(position) = self.drivers.iter().position(|driver| driver.id() == id) {
                let mut driver = self.drivers.remove(position);
                self.node.remove(now, id);
                self.publish_last_events(&mut driver);
                if removed.contains(&id) {
                    self.events.publish(
                        SystemTime::now(),
                        InstanceEvent::Removed {
                            instance: driver.name().to_owned(),
                        },
                    );
                    outcome.removed.push(driver.name().to_owned());
                }
            }
        }
        for (settings, is_new) in to_start {
            if is_new {
                // Queued before the instance can ask for an install, so it runs first.
                let stale = place(&settings, &self.io.interfaces);
                self.io.vips.remove_stale(&settings.name, stale);
                self.io.vips.remove_routing(
                    &settings.name,
                    HeldRouting::of(&settings),
                    Removal::Stale,
                );
            }
            let name = settings.name.clone();
            if let Err(error) = self.start_instance(settings).await {
                error!(%error, "instance not started by reload");
                continue;
            }
            if is_new && let Some(driver) = self.drivers.iter().find(|d| d.name() == name) {
                // Announced before its start-up transition, which the loop publishes next.
                let status = driver.status(&self.node);
                self.events
                    .publish(SystemTime::now(), InstanceEvent::Added(Box::new(status)));
            }
        }
        self.configure_link_debounce();
        let drivers = &self.drivers;
        self.io.sockets.close_unused(|key, carrier| {
            drivers
                .iter()
                .any(|driver| driver.link() == key && driver.carrier() == carrier)
        });
        // Instances kept across the reload: reopen a socket whose interface changed.
        for driver in &self.drivers {
            let key = driver.link();
            if let Some(interface) = self.io.interfaces.get(&key.interface)
                && let Err(error) = self.io.sockets.ensure(key, driver.carrier(), interface)
            {
                warn!(%error, "VRRP socket not reopened after the reload");
            }
        }
        self.sync_checks().await;
        self.keep_priority_overrides(now).await;
        info!(
            unchanged,
            in_place,
            restarted,
            added,
            removed = removed.len(),
            "configuration reloaded"
        );
        outcome
    }
}

/// Logs a timer whose work was done late: the router was busy or starved of CPU, and every
/// timer slipped by as much, a take-over included (keepalived-baseline.md: keepalived is
/// within 0.2 ms of Master_Down_Interval). Measured twice, because a loaded machine delays
/// both: `late_us` when the router woke for the timer due at `due` (it did so at `woke`),
/// `sent_late_us` when the adverts the timer caused had been handed to the kernel.
fn warn_if_late(due: Instant, woke: Instant) {
    let sent_late = due.elapsed();
    if sent_late > LATE_TIMER {
        warn!(
            late_us = micros(woke.saturating_duration_since(due)),
            sent_late_us = micros(sent_late),
            "a VRRP timer fired late"
        );
    }
}

/// The driver of instance `id`. Drivers are added in the order the node gives out ids, which
/// only grow, and removed without reordering, so the list is sorted by id: one binary search
/// per output, which 255 instances at 10 ms adverts make 25,500 times a second.
fn driver_mut(drivers: &mut [InstanceDriver], id: InstanceId) -> Option<&mut InstanceDriver> {
    let position = drivers.binary_search_by_key(&id, InstanceDriver::id).ok()?;
    Some(&mut drivers[position])
}

/// The node's view of the configured sync groups: each one's name and members.
pub fn node_groups(groups: &[SyncGroupSettings]) -> Vec<SyncGroup> {
    groups
        .iter()
        .map(|group| SyncGroup {
            name: group.name.clone(),
            instances: group.instances.clone(),
            tracking_weight: group.tracking_weight,
        })
        .collect()
}

/// A driver for an instance whose interface has no address to advertise from yet. It waits in
/// Fault, where it sends nothing, under an unspecified address of its family; no socket is
/// opened for it (an IPv6 socket needs the link-local source). Once a look-up finds the
/// address, `on_interface_looked_up` replaces it with one built on the real address.
fn awaiting_source(
    node: &mut Node,
    settings: InstanceSettings,
) -> Result<InstanceDriver, StartError> {
    let unspecified = match settings.family() {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let instance = settings.name.clone();
    InstanceDriver::with_primary(node, settings, unspecified)
        .map_err(|source| StartError::Settings { instance, source })
}
