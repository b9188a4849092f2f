//! Hosts on simulated links: each host runs one sans-IO [`Node`] with several instances, as
//! the daemon does, and the links carry their adverts under one virtual clock.
//!
//! Where `sim/lan.rs` puts single instances on one wire, this puts whole nodes on several wires
//! (one per interface name), so what the node decides across instances (sync groups, the
//! handover grace, announcement schedules, a reload's addresses) runs exactly as in the
//! daemon, without root. The host carries out the node's outputs the way the router does:
//! adverts go on the wire to every other host on the link, address work changes what the
//! host holds, at once.
//!
//! A client on the `outside` link follows announcements as a neighbour cache does: its entry
//! for the addresses names the host whose announcement reached it last, and it is answered
//! only while that host holds them. A partition cuts hosts off from everyone else on every
//! link, the client included, until it heals.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_sidecar::vrrp::node::announce::GarpSettings;
use vrrp_sidecar::vrrp::node::output::Output;
use vrrp_sidecar::vrrp::node::sync_group::SyncGroup;
use vrrp_sidecar::vrrp::node::{InstanceId, Link, MemberConfig, Node, Received};
use vrrp_sidecar::vrrp::{
    AdvertInterval, Auth, Command, DecodeOptions, Family, HopLimits, InstanceConfig, Priority,
    State, TrackedCheck, V3Ipv4Checksum, Version,
};

use super::rng::Rng;

/// How the links treat a packet: delivered after `delay_min` plus up to `jitter`, unless lost.
#[derive(Clone, Copy, Debug)]
pub struct WireModel {
    pub delay_min: Duration,
    pub jitter: Duration,
    /// Probability that one copy (one sender to one receiver) is lost.
    pub loss: f64,
}

/// One instance as a test writes it; every host runs the same list with its own priorities.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    pub name: &'static str,
    /// The interface; hosts on the same one hear each other.
    pub interface: &'static str,
    pub vrid: u8,
    pub addresses: Vec<IpAddr>,
    pub interval: AdvertInterval,
}

/// The address host `host` sends from on `interface`: its own /24 per interface.
pub fn host_address(host: usize, interface: &str) -> IpAddr {
    let third = match interface {
        "outside" => 2,
        _ => 100,
    };
    let first = if third == 2 { 192 } else { 198 };
    let second = if third == 2 { 0 } else { 51 };
    IpAddr::V4(Ipv4Addr::new(first, second, third, 10 + host as u8))
}

pub fn garp() -> GarpSettings {
    GarpSettings {
        repeat: 5,
        second_burst_after: Some(Duration::from_secs(5)),
        refresh_every: None,
        lower_priority_repeat: 5,
        lower_priority_second_after: Some(Duration::from_secs(5)),
    }
}

/// One host.
pub struct Host {
    pub node: Node,
    pub ids: BTreeMap<&'static str, InstanceId>,
    /// The instances whose addresses the host holds now.
    pub holds: BTreeSet<&'static str>,
    /// Announcements sent: when, for which instance, how many messages.
    pub announced: Vec<(Duration, &'static str, u8)>,
    /// Adverts sent: when, for which instance, with which priority.
    pub advertised: Vec<(Duration, &'static str, u8)>,
    /// When this host last accepted an advert from a master, per instance.
    pub heard_master_at: BTreeMap<&'static str, Duration>,
    /// When the host let go of an instance's addresses, in order.
    pub removed_at: Vec<(Duration, &'static str)>,
    /// Sync group states reported, in order.
    pub group_states: Vec<(Duration, String, State)>,
}

impl Host {
    pub fn id(&self, name: &str) -> InstanceId {
        *self
            .ids
            .get(name)
            .unwrap_or_else(|| panic!("no instance {name} on this host"))
    }

    pub fn state(&self, name: &str) -> State {
        self.node.state(self.id(name)).expect("the instance runs")
    }

    pub fn address_list_mismatches(&self, name: &str) -> u64 {
        self.node
            .instance(self.id(name))
            .expect("the instance runs")
            .counters()
            .address_list_mismatches
    }
}

/// The interface the client is on.
pub const CLIENT_INTERFACE: &str = "outside";

/// A client on [`CLIENT_INTERFACE`]: which host its neighbour entry for the addresses names.
#[derive(Debug, Default)]
pub struct Client {
    /// The host whose announcement reached the client last.
    pub follows: Option<usize>,
    /// Every change of `follows`, in order.
    pub changes: Vec<(Duration, usize)>,
}

/// What is on its way, and to whom.
enum Delivery {
    /// An advert to host `to`.
    Advert {
        to: usize,
        link: Link,
        source: IpAddr,
        payload: Vec<u8>,
    },
    /// An announcement of host `from` to the client.
    Announcement { from: usize },
}

struct InFlight {
    at: Duration,
    sequence: u64,
    delivery: Delivery,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    /// Reversed, so the max-heap yields the earliest arrival; ties go in sending order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

/// Hosts and their links, under one virtual clock.
pub struct Hosts {
    base: Instant,
    pub now: Duration,
    pub hosts: Vec<Host>,
    specs: Vec<InstanceSpec>,
    wire: WireModel,
    in_flight: BinaryHeap<InFlight>,
    /// The latest arrival scheduled per (from, to, interface), to keep each link FIFO.
    last_arrival: BTreeMap<(usize, usize, String), Duration>,
    sequence: u64,
    rng: Rng,
    /// Hosts cut off from everyone else by a partition.
    cut_off: BTreeSet<usize>,
    pub client: Client,
    pub trace: String,
}

impl Hosts {
    /// `priorities[host][instance]` gives each host's priority for each spec; `groups` are
    /// the sync groups every host runs.
    pub fn new(
        seed: u64,
        wire: WireModel,
        specs: Vec<InstanceSpec>,
        priorities: &[Vec<u8>],
        groups: &[SyncGroup],
    ) -> Self {
        let base = Instant::now();
        let mut hosts = Vec::new();
        for (host, priorities) in priorities.iter().enumerate() {
            let mut node = Node::new();
            node.set_sync_groups(base, groups);
            let mut ids = BTreeMap::new();
            for (spec, &priority) in specs.iter().zip(priorities) {
                let mut instance = InstanceConfig::new(
                    spec.vrid,
                    Version::V3,
                    host_address(host, spec.interface),
                    Priority::new(priority).expect("a test priority is not 0"),
                    spec.addresses.clone(),
                );
                instance.advert_interval = spec.interval;
                let id = node
                    .add(MemberConfig {
                        name: spec.name.to_owned(),
                        link: link(spec.interface),
                        instance,
                        decode: DecodeOptions {
                            version: Some(Version::V3),
                            v3_ipv4_checksum: V3Ipv4Checksum::WithPseudoHeader,
                            v2_auth: Auth::None,
                            hop_limits: HopLimits::LINK_ONLY,
                        },
                        checked_peers: None,
                        garp: garp(),
                    })
                    .expect("a valid test instance");
                ids.insert(spec.name, id);
            }
            hosts.push(Host {
                node,
                ids,
                holds: BTreeSet::new(),
                announced: Vec::new(),
                advertised: Vec::new(),
                heard_master_at: BTreeMap::new(),
                removed_at: Vec::new(),
                group_states: Vec::new(),
            });
        }
        Hosts {
            base,
            now: Duration::ZERO,
            hosts,
            specs,
            wire,
            in_flight: BinaryHeap::new(),
            last_arrival: BTreeMap::new(),
            sequence: 0,
            rng: Rng::new(seed),
            cut_off: BTreeSet::new(),
            client: Client::default(),
            trace: String::new(),
        }
    }

    pub fn at(&self) -> Instant {
        self.base + self.now
    }

    fn name_of(&self, host: usize, id: InstanceId) -> &'static str {
        self.hosts[host]
            .ids
            .iter()
            .find(|(_, each)| **each == id)
            .map(|(name, _)| *name)
            .expect("an output names an instance of its host")
    }

    /// Applies `command` to instance `name` of `host` and carries out what follows.
    pub fn command(&mut self, host: usize, name: &str, command: Command) {
        let at = self.at();
        let id = self.hosts[host].id(name);
        let _ = writeln!(
            self.trace,
            "{:>10.3?} h{host} {name} command {command:?}",
            self.now
        );
        if let Err(error) = self.hosts[host].node.command(at, id, command) {
            let _ = writeln!(self.trace, "           refused: {error}");
        }
        self.carry_out(host);
    }

    /// Sets the base priority of instance `name` of `host`.
    pub fn set_priority(&mut self, host: usize, name: &str, priority: u8) {
        let at = self.at();
        let id = self.hosts[host].id(name);
        let _ = writeln!(
            self.trace,
            "{:>10.3?} h{host} {name} priority {priority}",
            self.now
        );
        self.hosts[host]
            .node
            .set_base_priority(at, id, Priority::new(priority).expect("not 0"))
            .expect("the instance runs");
        self.carry_out(host);
    }

    /// Gives instance `name` of `host` the verdicts of its health checks, as the router
    /// does after a check changes (its link up).
    pub fn set_checks(&mut self, host: usize, name: &str, checks: Vec<TrackedCheck>) {
        let at = self.at();
        let id = self.hosts[host].id(name);
        let _ = writeln!(
            self.trace,
            "{:>10.3?} h{host} {name} checks {checks:?}",
            self.now
        );
        self.hosts[host]
            .node
            .set_checks(at, id, checks, Some("check"), true)
            .expect("the instance runs");
        self.carry_out(host);
    }

    /// Gives `host` new sync groups, as a reload does.
    pub fn set_sync_groups(&mut self, host: usize, groups: &[SyncGroup]) {
        let at = self.at();
        let _ = writeln!(
            self.trace,
            "{:>10.3?} h{host} sync groups {groups:?}",
            self.now
        );
        self.hosts[host].node.set_sync_groups(at, groups);
        self.carry_out(host);
    }

    /// Reloads instance `name` of `host` with new addresses, as the router's driver does:
    /// the node takes them, and a master installs the new ones (here: holds them).
    pub fn reload_addresses(&mut self, host: usize, name: &str, addresses: Vec<IpAddr>) {
        let id = self.hosts[host].id(name);
        let _ = writeln!(
            self.trace,
            "{:>10.3?} h{host} {name} reload {addresses:?}",
            self.now
        );
        self.hosts[host]
            .node
            .reconfigure(
                id,
                addresses,
                DecodeOptions {
                    version: Some(Version::V3),
                    v3_ipv4_checksum: V3Ipv4Checksum::WithPseudoHeader,
                    v2_auth: Auth::None,
                    hop_limits: HopLimits::LINK_ONLY,
                },
                None,
                garp(),
            )
            .expect("valid addresses");
        self.carry_out(host);
    }

    /// Starts every instance of `host`.
    pub fn start(&mut self, host: usize) {
        for spec in self.specs.clone() {
            self.command(host, spec.name, Command::Startup);
        }
    }

    /// Runs until `until` (from the start), packets and timers in time order; timers first
    /// on a tie. Bounded: a run that schedules more events than a LAN of these sizes could is
    /// a bug, and panics.
    pub fn run_until(&mut self, until: Duration) {
        for _ in 0..1_000_000 {
            let timer = self
                .hosts
                .iter()
                .enumerate()
                .filter_map(|(host, each)| {
                    each.node
                        .poll_timeout()
                        .map(|at| (at.saturating_duration_since(self.base), host))
                })
                .min();
            let packet = self.in_flight.peek().map(|packet| packet.at);
            let next = match (timer, packet) {
                (Some((at, host)), Some(packet_at)) if at <= packet_at => Some((at, Some(host))),
                (_, Some(packet_at)) => Some((packet_at, None)),
                (Some((at, host)), None) => Some((at, Some(host))),
                (None, None) => None,
            };
            let Some((at, timer_host)) = next.filter(|(at, _)| *at <= until) else {
                self.now = until;
                return;
            };
            self.now = self.now.max(at);
            match timer_host {
                Some(host) => {
                    let now = self.at();
                    self.hosts[host].node.handle_timeout(now);
                    self.carry_out(host);
                }
                None => match self.in_flight.pop().expect("peeked").delivery {
                    Delivery::Advert {
                        to,
                        link,
                        source,
                        payload,
                    } => {
                        let now = self.at();
                        self.hosts[to].node.handle_packet(
                            now,
                            &link,
                            Received {
                                source,
                                destination: Family::Ipv4.vrrp_group(),
                                hop_limit: 255,
                                ip_header: &[],
                                payload: &payload,
                            },
                        );
                        self.carry_out(to);
                    }
                    Delivery::Announcement { from } => {
                        if self.client.follows != Some(from) {
                            self.client.follows = Some(from);
                            self.client.changes.push((self.now, from));
                            let _ =
                                writeln!(self.trace, "{:>10.3?} client follows h{from}", self.now);
                        }
                    }
                },
            }
        }
        panic!(
            "more than a million events before {until:?}:\n{}",
            self.trace
        );
    }

    /// Carries out every output of `host`'s node, as the router does.
    fn carry_out(&mut self, host: usize) {
        while let Some(output) = self.hosts[host].node.poll_output() {
            let now = self.now;
            match output {
                Output::Transmit {
                    instance, advert, ..
                } => {
                    let name = self.name_of(host, instance);
                    let spec = self.spec(name).clone();
                    let source = host_address(host, spec.interface);
                    let payload = advert
                        .encode(
                            source,
                            Family::Ipv4.vrrp_group(),
                            V3Ipv4Checksum::WithPseudoHeader,
                        )
                        .expect("the node's adverts encode");
                    let _ = writeln!(
                        self.trace,
                        "{now:>10.3?} h{host} {name} sends prio {}",
                        advert.priority
                    );
                    self.hosts[host]
                        .advertised
                        .push((now, name, advert.priority));
                    let interface = spec.interface;
                    for to in 0..self.hosts.len() {
                        if to == host || !self.connected(host, Some(to)) {
                            continue;
                        }
                        if self.rng.chance(self.wire.loss) {
                            let _ = writeln!(self.trace, "           to h{to} lost");
                            continue;
                        }
                        let arrival = self.arrival(host, to, interface);
                        self.push(
                            arrival,
                            Delivery::Advert {
                                to,
                                link: link(interface),
                                source,
                                payload: payload.clone(),
                            },
                        );
                    }
                }
                Output::InstallAddresses { instance } => {
                    let name = self.name_of(host, instance);
                    self.hosts[host].holds.insert(name);
                    let _ = writeln!(self.trace, "{now:>10.3?} h{host} {name} installs");
                }
                Output::RemoveAddresses {
                    instance,
                    after_grace,
                } => {
                    let name = self.name_of(host, instance);
                    self.hosts[host].holds.remove(name);
                    self.hosts[host].removed_at.push((now, name));
                    let _ = writeln!(
                        self.trace,
                        "{now:>10.3?} h{host} {name} removes (after grace: {after_grace})"
                    );
                }
                Output::AnnounceAddress { instance, .. } => {
                    // One message of a spaced burst: lost or delivered on its own.
                    let name = self.name_of(host, instance);
                    self.hosts[host].announced.push((now, name, 1));
                    let _ = writeln!(self.trace, "{now:>10.3?} h{host} {name} announces one");
                    let interface = self.spec(name).interface;
                    let delivered = !self.rng.chance(self.wire.loss);
                    if interface == CLIENT_INTERFACE && self.connected(host, None) && delivered {
                        let arrival = self.arrival(host, self.hosts.len(), interface);
                        self.push(arrival, Delivery::Announcement { from: host });
                    }
                }
                Output::Announce { instance, messages } => {
                    let name = self.name_of(host, instance);
                    self.hosts[host].announced.push((now, name, messages));
                    let _ = writeln!(self.trace, "{now:>10.3?} h{host} {name} announces");
                    let interface = self.spec(name).interface;
                    // Each of the burst's messages is lost on its own; the client follows
                    // the first that arrives.
                    let delivered = (0..messages).any(|_| !self.rng.chance(self.wire.loss));
                    if interface == CLIENT_INTERFACE && self.connected(host, None) && delivered {
                        let arrival = self.arrival(host, self.hosts.len(), interface);
                        self.push(arrival, Delivery::Announcement { from: host });
                    }
                }
                Output::Transition(transition) => {
                    let name = self.name_of(host, transition.instance);
                    let _ = writeln!(
                        self.trace,
                        "{now:>10.3?} h{host} {name} {} -> {} ({:?})",
                        transition.from, transition.to, transition.cause
                    );
                }
                Output::MasterHeard { instance } => {
                    let name = self.name_of(host, instance);
                    self.hosts[host].heard_master_at.insert(name, now);
                }
                Output::GroupStateChanged { group, to, .. } => {
                    let _ = writeln!(self.trace, "{now:>10.3?} h{host} group {group} -> {to}");
                    self.hosts[host].group_states.push((now, group, to));
                }
                Output::GroupMoved {
                    instance,
                    group_move,
                    ..
                } => {
                    let name = self.name_of(host, instance);
                    let _ = writeln!(
                        self.trace,
                        "{now:>10.3?} h{host} {name} group move {group_move:?}"
                    );
                }
                Output::Refused { .. }
                | Output::StillHeldByGroup { .. }
                | Output::PriorityChanged { .. }
                | Output::LowerPriorityHeard { .. }
                | Output::UnknownVrid { .. }
                | Output::GroupsUnsettled => {}
            }
        }
    }

    fn spec(&self, name: &str) -> &InstanceSpec {
        self.specs
            .iter()
            .find(|spec| spec.name == name)
            .expect("a spec per instance")
    }

    /// Cuts `host` off from every other host and the client, on every link.
    pub fn cut_off(&mut self, host: usize) {
        let _ = writeln!(self.trace, "{:>10.3?} h{host} cut off", self.now);
        self.cut_off.insert(host);
    }

    /// Ends every partition: what is sent from now on reaches everyone.
    pub fn heal(&mut self) {
        let _ = writeln!(self.trace, "{:>10.3?} partition heals", self.now);
        self.cut_off.clear();
    }

    /// Whether `from` reaches host `to` (`None`: the client) now: not when either side is
    /// cut off. What was sent before a cut is still delivered, as on a real wire.
    fn connected(&self, from: usize, to: Option<usize>) -> bool {
        !self.cut_off.contains(&from) && to.is_none_or(|to| !self.cut_off.contains(&to))
    }

    /// When what `from` sends now reaches `to` (the client is `hosts.len()`), in order after
    /// what it sent there before.
    fn arrival(&mut self, from: usize, to: usize, interface: &str) -> Duration {
        let delay = self.wire.delay_min + self.rng.duration_up_to(self.wire.jitter);
        let key = (from, to, interface.to_owned());
        let earliest = self.last_arrival.get(&key).copied().unwrap_or_default();
        let arrival = (self.now + delay).max(earliest);
        self.last_arrival.insert(key, arrival);
        arrival
    }

    fn push(&mut self, at: Duration, delivery: Delivery) {
        self.sequence += 1;
        self.in_flight.push(InFlight {
            at,
            sequence: self.sequence,
            delivery,
        });
    }

    /// Whether the client is answered now: the host its entry names holds `name`.
    pub fn client_answered(&self, name: &str) -> bool {
        self.client
            .follows
            .is_some_and(|host| self.hosts[host].holds.contains(name))
    }

    /// The hosts that hold instance `name`'s addresses now.
    pub fn holders(&self, name: &str) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&host| self.hosts[host].holds.contains(name))
            .collect()
    }
}

fn link(interface: &str) -> Link {
    Link {
        interface: interface.to_owned(),
        family: Family::Ipv4,
    }
}

/// Runs `scenario` on `seeds` seeds over the machine's threads; panics with the first
/// failure's seed, message and trace.
pub fn sweep(seeds: u64, scenario: fn(u64) -> Result<(), (String, String)>) {
    if let Some(seed) = std::env::var("SIM_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
    {
        if let Err((message, trace)) = scenario(seed) {
            panic!("seed {seed}: {message}\n{trace}");
        }
        return;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let failures: Vec<(u64, String, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    (worker..seeds)
                        .step_by(threads as usize)
                        .filter_map(|seed| scenario(seed).err().map(|(m, t)| (seed, m, t)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a worker only fails by panicking"))
            .collect()
    });
    if let Some((seed, message, trace)) = failures.iter().min_by_key(|(seed, ..)| *seed) {
        let failed: Vec<u64> = failures.iter().map(|(seed, ..)| *seed).collect();
        panic!(
            "{} of {seeds} seeds failed: {failed:?}; the first, seed {seed} (rerun with \
             SIM_SEED={seed}):\n{message}\n{trace}",
            failures.len()
        );
    }
}
