//! The router task: the single owner of every instance's protocol state.
//!
//! It waits on one `select!` over, in this order of precedence: the earliest deadline of
//! any instance (protocol timers, announcement bursts, VIP renewals; on the timerfd of
//! [`super::timer`]), commands (shutdown, reload), link and address events, interface
//! look-ups it asked for, and received packets.
//! Each input is handed to the instance it concerns, whose actions are carried out before the
//! next input: advertisements are sent on the spot (a non-blocking send), VIP and
//! announcement work is queued to the VIP worker, and nothing slow is ever awaited here.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::config::{Config, InstanceSettings};
use crate::net::{Interface, LinkEvent, LinkEvents, NetError, Netlink, ReceivedAdvert};
use crate::vrrp::{Command, FaultCause, State};

use super::instance_driver::{InstanceDriver, Io};
use super::settings::{self, SocketKey};
use super::sockets::{Arrival, Sockets};
use super::timer::PreciseTimer;
use super::vips::{VipWorker, micros, place};

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
    /// Apply a configuration reread after SIGHUP.
    Reload(Box<Reload>),
}

/// A validated configuration and every interface it names, looked up off the router.
#[derive(Debug)]
pub struct Reload {
    /// The new configuration.
    pub config: Config,
    /// Each interface the instances name, freshly looked up.
    pub interfaces: HashMap<String, Interface>,
}

/// The channels and handles the router is built from.
pub struct RouterParts {
    /// Every interface the configured instances name, looked up.
    pub interfaces: HashMap<String, Interface>,
    /// Where VIP work goes.
    pub vips: VipWorker,
    /// Link and address events of the daemon's namespace.
    pub link_events: LinkEvents,
    /// Commands from the signal handler.
    pub commands: mpsc::Receiver<RouterCommand>,
    /// For re-reading an interface after its link comes back.
    pub netlink: Netlink,
}

/// How many received packets may wait for the router before the receivers wait too (and
/// the kernel's socket buffers take the excess).
const ARRIVALS_QUEUE: usize = 1024;

/// A timer that fires later than this after its deadline is logged.
const LATE_TIMER: Duration = Duration::from_millis(10);

/// How soon an interface is read again when the source address an instance needs is not
/// there yet after its link came up (IPv6 duplicate address detection takes about a second).
const LOOKUP_RETRY: Duration = Duration::from_millis(500);

/// The router; see the module documentation.
pub struct Router {
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
    /// Interfaces whose last link event said down.
    links_down: HashSet<u32>,
    /// Set once a shutdown began; the router ends when no instance is left.
    stopping: bool,
    /// Packets for a VRID no instance on that socket has.
    unknown_vrid_packets: u64,
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
        Ok(Router {
            timer: PreciseTimer::new()?,
            drivers: Vec::new(),
            io: Io {
                sockets: Sockets::new(arrivals_sender),
                interfaces: parts.interfaces,
                vips: parts.vips,
            },
            arrivals,
            commands: parts.commands,
            link_events: parts.link_events,
            link_events_open: true,
            netlink: parts.netlink,
            lookups_sender,
            lookups,
            links_down: HashSet::new(),
            stopping: false,
            unknown_vrid_packets: 0,
        })
    }

    /// Creates and starts an instance (RFC 9568 §6.4.1 Startup: Backup, or Master for the
    /// address owner). Its socket is opened first, so an owner's first advertisement leaves.
    /// On a link that is down it starts in Fault instead, and the link's coming up starts
    /// it: link events only report changes, so a link already down would otherwise go
    /// unnoticed and the instance would take the VIP on a dead link.
    pub async fn start_instance(&mut self, settings: InstanceSettings) -> Result<(), StartError> {
        let driver = self.create_driver(settings)?;
        let link = self
            .io
            .interfaces
            .get(&driver.settings().interface)
            .map(|interface| (interface.index, interface.running));
        let command = match link {
            Some((index, false)) => {
                self.links_down.insert(index);
                Command::EnterFault(FaultCause::InterfaceDown)
            }
            _ => Command::Startup,
        };
        self.drivers.push(driver);
        let now = Instant::now();
        if let Some(driver) = self.drivers.last_mut() {
            driver.command(now, command, &self.io).await;
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
        let key = settings::socket_key(&settings);
        let driver =
            InstanceDriver::new(settings, interface).map_err(|source| StartError::Settings {
                instance: name.clone(),
                source,
            })?;
        self.io
            .sockets
            .ensure(&key, interface)
            .map_err(|source| StartError::Socket {
                instance: name,
                source: Box::new(source),
            })?;
        Ok(driver)
    }

    /// Runs until a shutdown has stopped every instance.
    pub async fn run(mut self) {
        while !(self.stopping && self.drivers.is_empty()) {
            let deadline = self.next_deadline();
            // Biased: timers first, so a flood of packets cannot delay a take-over; packets
            // last, for the same reason towards commands and link events.
            tokio::select! {
                biased;
                () = self.timer.sleep_until(deadline) => self.on_timeout().await,
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
                Some((key, packet)) = self.arrivals.recv() => self.on_packet(key, packet).await,
            }
            if self.stopping {
                self.retire_stopped().await;
            }
        }
        info!("every instance stopped");
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.drivers
            .iter()
            .filter_map(InstanceDriver::next_deadline)
            .min()
    }

    async fn on_timeout(&mut self) {
        let now = Instant::now();
        if let Some(due) = self.next_deadline() {
            let late = now.saturating_duration_since(due);
            if late > LATE_TIMER {
                // The router was busy or starved of CPU: every timer slips by this much,
                // and a take-over by as much (keepalived-baseline.md: keepalived is within
                // 0.2 ms of Master_Down_Interval).
                warn!(late_us = micros(late), "a VRRP timer fired late");
            }
        }
        for driver in &mut self.drivers {
            if driver.next_deadline().is_some_and(|due| due <= now) {
                driver.on_timeout(now, &self.io).await;
            }
        }
    }

    async fn on_packet(&mut self, key: SocketKey, packet: ReceivedAdvert) {
        let now = Instant::now();
        // The VRID is the second byte of both versions' header (RFC 9568 §5.1, RFC 3768
        // §5.1); the instance's own options are needed to decode the rest.
        let vrid = packet.payload.get(1).copied();
        let driver = self
            .drivers
            .iter_mut()
            .find(|driver| *driver.socket_key() == key && Some(driver.vrid()) == vrid);
        match driver {
            Some(driver) => driver.receive(now, &packet, &self.io).await,
            None => {
                self.unknown_vrid_packets += 1;
                debug!(
                    socket = %key,
                    from = %packet.source,
                    ?vrid,
                    total = self.unknown_vrid_packets,
                    "packet for a VRID not configured here"
                );
            }
        }
    }

    async fn on_command(&mut self, command: RouterCommand) {
        match command {
            RouterCommand::Shutdown { graceful } => self.begin_shutdown(graceful).await,
            RouterCommand::Reload(reload) if self.stopping => {
                info!(
                    instances = reload.config.instances.len(),
                    "reload ignored: shutting down"
                );
            }
            RouterCommand::Reload(reload) => self.reload(*reload).await,
        }
    }

    /// Starts stopping. A graceful stop makes each master resign (RFC 9568 §6.4.3 priority
    /// 0) and keep its addresses until its successor speaks; [`Router::retire_stopped`] then
    /// shuts it down. A second, non-graceful request stops everything at once.
    async fn begin_shutdown(&mut self, graceful: bool) {
        info!(graceful, "shutting down");
        self.stopping = true;
        let now = Instant::now();
        for driver in &mut self.drivers {
            let command = if graceful && driver.state() == State::Master {
                Command::Resign
            } else {
                Command::Shutdown
            };
            driver.command(now, command, &self.io).await;
        }
    }

    /// While stopping: shuts down and drops every instance that is no longer master (a
    /// resigning master stays until its successor is heard or its bound passes).
    async fn retire_stopped(&mut self) {
        let now = Instant::now();
        for driver in &mut self.drivers {
            if driver.state() != State::Master && driver.state() != State::Initialize {
                driver.command(now, Command::Shutdown, &self.io).await;
            }
        }
        self.drivers
            .retain(|driver| driver.state() != State::Initialize);
    }

    async fn on_link_event(&mut self, event: LinkEvent) {
        let now = Instant::now();
        match event {
            LinkEvent::LinkDown(index) => {
                self.links_down.insert(index);
                for driver in &mut self.drivers {
                    let on_it = self
                        .io
                        .interfaces
                        .get(&driver.settings().interface)
                        .is_some_and(|interface| interface.index == index);
                    if on_it {
                        driver
                            .command(
                                now,
                                Command::EnterFault(FaultCause::InterfaceDown),
                                &self.io,
                            )
                            .await;
                    }
                }
            }
            LinkEvent::LinkUp(index) => {
                // Look the interface up again off the router: after a flap its IPv6
                // link-local address may be new (keepalived-baseline.md, pitfall 4).
                self.links_down.remove(&index);
                let name = self
                    .io
                    .interfaces
                    .values()
                    .find(|interface| interface.index == index)
                    .map(|interface| interface.name.clone());
                if let Some(name) = name {
                    self.look_up(name, Duration::ZERO);
                }
            }
            LinkEvent::AddressRemoved(index, address) => {
                for driver in &mut self.drivers {
                    driver.address_removed(index, address, &self.io);
                }
            }
        }
    }

    /// An interface whose link came back, read again: reopen its sockets if it changed and
    /// take its instances out of Fault; an instance whose source address changed is
    /// replaced by a new one (the core's primary address is fixed), and one whose source is
    /// not there yet (a new IPv6 link-local address still in DAD) stays in Fault until a
    /// later look-up finds it.
    async fn on_interface_looked_up(
        &mut self,
        name: String,
        looked_up: Result<Interface, NetError>,
    ) {
        let interface = match looked_up {
            Ok(interface) => interface,
            Err(error) => {
                warn!(%error, "interface not read after its link came up; its instances stay in Fault");
                return;
            }
        };
        self.io.interfaces.insert(name.clone(), interface.clone());
        if self.links_down.contains(&interface.index) || !interface.running {
            // It went down again meanwhile; its next LinkUp looks it up again.
            return;
        }
        let mut clear = Vec::new();
        let mut replace = Vec::new();
        let mut source_missing = false;
        for (position, driver) in self.drivers.iter().enumerate() {
            if driver.settings().interface != name || driver.state() != State::Fault {
                continue;
            }
            match settings::primary_address(driver.settings(), &interface) {
                Ok(primary) if primary == driver.primary_address() => clear.push(position),
                Ok(_) => replace.push(position),
                Err(_) => source_missing = true,
            }
        }
        let keys: Vec<SocketKey> = self
            .drivers
            .iter()
            .map(|driver| driver.socket_key().clone())
            .filter(|key| key.interface == name)
            .collect();
        for key in keys {
            if let Err(error) = self.io.sockets.ensure(&key, &interface) {
                warn!(%error, "VRRP socket not reopened after the link came up");
            }
        }
        let now = Instant::now();
        for &position in &clear {
            self.drivers[position]
                .command(now, Command::ClearFault, &self.io)
                .await;
        }
        // Highest position first, so the positions still to remove stay valid.
        for &position in replace.iter().rev() {
            let settings = self.drivers.remove(position).settings().clone();
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
    /// stop (priority 0, addresses removed).
    async fn reload(&mut self, reload: Reload) {
        let now = Instant::now();
        self.io.interfaces.extend(reload.interfaces);
        let mut previous: Vec<InstanceDriver> = std::mem::take(&mut self.drivers);
        let (mut unchanged, mut in_place, mut restarted, mut added) = (0, 0, 0, 0);
        let mut to_start = Vec::new();
        for settings in reload.config.instances {
            let position = previous
                .iter()
                .position(|driver| driver.name() == settings.name);
            match position.map(|position| previous.swap_remove(position)) {
                Some(driver) if *driver.settings() == settings => {
                    unchanged += 1;
                    self.drivers.push(driver);
                }
                Some(mut driver) if !settings::restart_needed(driver.settings(), &settings) => {
                    in_place += 1;
                    driver.reconfigure(now, settings, &self.io).await;
                    self.drivers.push(driver);
                }
                Some(mut driver) => {
                    restarted += 1;
                    info!(
                        instance = driver.name(),
                        "settings the protocol runs on changed; restarting the instance"
                    );
                    driver.command(now, Command::Shutdown, &self.io).await;
                    to_start.push((settings, false));
                }
                None => {
                    added += 1;
                    to_start.push((settings, true));
                }
            }
        }
        let removed = previous.len();
        {
            for driver in &mut previous {
                info!(instance = driver.name(), "instance removed by reload");
                driver.command(now, Command::Shutdown, &self.io).await;
            }
        }
        for (settings, is_new) in to_start {
            if is_new {
                // Queued before the instance can ask for an install, so it runs first.
                let stale = place(&settings, &self.io.interfaces);
                self.io.vips.remove_stale(&settings.name, stale);
            }
            if let Err(error) = self.start_instance(settings).await {
                error!(%error, "instance not started by reload");
            }
        }
        let drivers = &self.drivers;
        self.io
            .sockets
            .close_unused(|key| drivers.iter().any(|driver| driver.socket_key() == key));
        // Instances kept across the reload: reopen a socket whose interface changed.
        for key in self.drivers.iter().map(InstanceDriver::socket_key) {
            if let Some(interface) = self.io.interfaces.get(&key.interface)
                && let Err(error) = self.io.sockets.ensure(key, interface)
            {
                warn!(%error, "VRRP socket not reopened after the reload");
            }
        }
        info!(
            unchanged,
            in_place, restarted, added, removed, "configuration reloaded"
        );
    }
}
