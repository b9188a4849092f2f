//! Chaos against three real daemons: a seeded random schedule of faults (SIGKILL and
//! restart, SIGSTOP/SIGCONT, link down/up, a partition that heals) while the kernel's address
//! events say who holds the VIP and a client pings it every 10 ms.
//!
//! Who holds the VIP is read from rtnetlink address events, one listener per namespace inside
//! this process, stamped with `Instant` the moment they are read: polling `ip -j addr` costs a
//! process per host per poll (milliseconds each on a loaded machine, so a 10 ms poll of three
//! hosts would really be 30 ms or worse), and `ip monitor` stamps lines with the wall clock in
//! another process; an event listener misses no change and shares the fault clock.
//!
//! Packet loss and delay with `tc netem` are not in the schedule: this kernel has no
//! `sch_netem` (nor tc actions), which `netem_available` checks and the report says.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nix::sys::signal::Signal;
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};

use crate::daemon_lab::{Daemon, DaemonLab, InstanceSpec, VIP, master_down_interval_100ms};
use crate::netns::{Lab, Netns, wait_until};

/// The daemons' hosts and priorities, highest first: the first is master when all is well.
const HOSTS: [(&str, u8); 3] = [("h1", 150), ("h2", 120), ("h3", 100)];
/// The client that pings the VIP.
const CLIENT: &str = "c";
/// The advert interval of every daemon.
const ADVERT_INTERVAL: Duration = Duration::from_millis(100);
/// What the brief allows beyond each protocol bound.
const SLACK: Duration = Duration::from_millis(50);
/// The kernel lifetime a master gives its VIPs: a killed or frozen master's VIP is gone by
/// then, which bounds how long it overlaps with its successor's.
const VIP_LIFETIME: Duration = Duration::from_secs(2);
/// How long one holder must stay unchanged before the cluster counts as settled: longer
/// than a returning higher-priority host takes to preempt (its Master_Down_Interval).
const SETTLED_FOR: Duration = Duration::from_millis(700);
/// The longest wait for the cluster to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the client pings the VIP.
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// One injected fault and how long it lasts before it is undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the daemon, start it again after the pause.
    Kill { host: usize, pause: Duration },
    /// SIGSTOP the daemon, SIGCONT after the pause.
    Freeze { host: usize, pause: Duration },
    /// Set the host's eth0 down, up again after the pause.
    LinkDown { host: usize, pause: Duration },
    /// Move the host's bridge port to a bridge of its own (its link stays up), back after
    /// the pause.
    Partition { host: usize, pause: Duration },
}

impl Fault {
    fn host(self) -> usize {
        match self {
            Fault::Kill { host, .. }
            | Fault::Freeze { host, .. }
            | Fault::LinkDown { host, .. }
            | Fault::Partition { host, .. } => host,
        }
    }

    fn pause(self) -> Duration {
        match self {
            Fault::Kill { pause, .. }
            | Fault::Freeze { pause, .. }
            | Fault::LinkDown { pause, .. }
            | Fault::Partition { pause, .. } => pause,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Freeze { .. } => "freeze",
            Fault::LinkDown { .. } => "link-down",
            Fault::Partition { .. } => "partition",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} for {} ms",
            self.kind(),
            HOSTS[self.host()].0,
            self.pause().as_millis()
        )
    }
}

/// SplitMix64: a few lines of well-known arithmetic, enough for a replayable schedule.
struct SeededRandom(u64);

impl SeededRandom {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

/// The schedule `seed` gives: `faults` faults, each on a random host (the master, h1, half
/// the time, since most faults that matter hit the master).
pub fn schedule(seed: u64, faults: usize) -> Vec<Fault> {
    let mut random = SeededRandom(seed);
    (0..faults)
        .map(|_| {
            let host = if random.below(2) == 0 {
                0
            } else {
                usize::try_from(random.below(3)).expect("below 3")
            };
            match random.below(4) {
                0 => Fault::Kill {
                    host,
                    pause: random.millis(0, 1000),
                },
                1 => Fault::Freeze {
                    host,
                    pause: random.millis(200, 2500),
                },
                2 => Fault::LinkDown {
                    host,
                    pause: random.millis(200, 1500),
                },
                _ => Fault::Partition {
                    host,
                    pause: random.millis(300, 1500),
                },
            }
        })
        .collect()
}

/// The seed from `CHAOS_SEED`, or one from the clock (printed, so a failure can be replayed).
pub fn seed_from_env() -> u64 {
    match std::env::var("CHAOS_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("CHAOS_SEED={text} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64),
    }
}

/// Whether `tc qdisc ... netem` works in a namespace of `lab`.
fn netem_available(ns: &Netns) -> bool {
    ns.run(&[
        "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
    ])
    .status
    .success()
}

/// A change of who holds the VIP, as the kernel reported it.
#[derive(Clone, Copy, Debug)]
struct HolderEvent {
    at: Instant,
    host: usize,
    holds: bool,
}

/// Listens to address events in `ns` until `stop`, recording adds and removals of `vip`.
fn watch_vip(
    ns: &Netns,
    host: usize,
    vip: Ipv4Addr,
    events: Arc<Mutex<Vec<HolderEvent>>>,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<()>,
) -> JoinHandle<()> {
    ns.spawn_inside(move || {
        crate::netns::runtime().block_on(async move {
            let (connection, _handle, mut messages) =
                rtnetlink::new_multicast_connection(&[MulticastGroup::Ipv4Ifaddr])
                    .expect("an rtnetlink multicast socket");
            tokio::spawn(connection);
            // The test waits for this before starting daemons, so no change is missed.
            let _ = ready.send(());
            let is_vip = |message: &AddressMessage| {
                message.attributes.iter().any(|attribute| {
                    matches!(attribute, AddressAttribute::Local(IpAddr::V4(address)) if *address == vip)
                })
            };
            // Bounded by `stop`, which the run sets when it ends (also on failure, by Drop).
            while !stop.load(Ordering::Relaxed) {
                let Ok(Some((message, _))) =
                    tokio::time::timeout(Duration::from_millis(100), messages.next()).await
                else {
                    continue;
                };
                let at = Instant::now();
                let holds = match message.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(ref address))
                        if is_vip(address) =>
                    {
                        true
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(ref address))
                        if is_vip(address) =>
                    {
                        false
                    }
                    _ => continue,
                };
                events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(HolderEvent { at, host, holds });
            }
        });
    })
}

/// Pings `vip` from `ns` every [`PROBE_EVERY`] until `stop`; returns when replies came.
fn probe(ns: &Netns, vip: Ipv4Addr, stop: Arc<AtomicBool>) -> JoinHandle<Vec<Instant>> {
    ns.spawn_inside(move || {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::ICMPV4),
        )
        .expect("a raw ICMP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(1)))
            .expect("a read timeout");
        let destination = SocketAddrV4::new(vip, 0).into();
        let identifier: u16 = 0x5eed;
        let mut replies = Vec::new();
        let mut sequence: u16 = 0;
        let mut next_send = Instant::now();
        let mut bytes = [0u8; 1500];
        while !stop.load(Ordering::Relaxed) {
            if Instant::now() >= next_send {
                sequence = sequence.wrapping_add(1);
                // A send fails while the client has no neighbour entry; the next one retries.
                let _ = socket.send_to(&echo_request(identifier, sequence), &destination);
                next_send += PROBE_EVERY;
            }
            let Ok(length) = std::io::Read::read(&mut &socket, &mut bytes) else {
                continue;
            };
            // IPv4 header (20 bytes, no options from Linux), then ICMP type 0 with our id.
            if length >= 28 && bytes[20] == 0 && bytes[24..26] == identifier.to_be_bytes() {
                replies.push(Instant::now());
            }
        }
        replies
    })
}

/// An ICMP echo request with `identifier` and `sequence` and its checksum.
fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    let mut message = vec![8, 0, 0, 0];
    message.extend_from_slice(&identifier.to_be_bytes());
    message.extend_from_slice(&sequence.to_be_bytes());
    let mut sum: u32 = message
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let checksum = !(u16::try_from(sum).expect("folded to 16 bits"));
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    message
}

/// What one fault did to the VIP.
#[derive(Clone, Debug)]
pub struct FaultOutcome {
    /// The fault.
    pub fault: Fault,
    /// The longest stretch with no holder, from the fault until the cluster settled.
    pub no_holder: Duration,
    /// The longest stretch with two or more holders while the fault lasted.
    pub two_holders_during: Duration,
    /// The longest stretch with two or more holders after the fault was undone.
    pub two_holders_after: Duration,
    /// From undoing the fault to a single holder.
    pub one_master_after: Duration,
    /// The longest gap between the client's ping replies in the window, less the interval.
    pub client_outage: Duration,
    /// From the fault to the cluster settling again.
    pub took: Duration,
}

/// Everything a run measured.
#[derive(Debug)]
pub struct ChaosReport {
    /// The seed of the schedule.
    pub seed: u64,
    /// One entry per fault run.
    pub outcomes: Vec<FaultOutcome>,
    /// The whole run, lab included.
    pub took: Duration,
}

impl ChaosReport {
    /// The largest of `field` over every fault, and the fault it came from.
    fn worst(&self, field: impl Fn(&FaultOutcome) -> Duration) -> (Duration, Option<Fault>) {
        self.outcomes
            .iter()
            .map(|outcome| (field(outcome), Some(outcome.fault)))
            .max_by_key(|(duration, _)| *duration)
            .unwrap_or((Duration::ZERO, None))
    }

    /// A summary for the test output and the note.
    pub fn summary(&self) -> String {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for outcome in &self.outcomes {
            *kinds.entry(outcome.fault.kind()).or_default() += 1;
        }
        let per_fault = self
            .outcomes
            .iter()
            .map(|outcome| outcome.took)
            .sum::<Duration>()
            .checked_div(u32::try_from(self.outcomes.len().max(1)).unwrap_or(u32::MAX))
            .unwrap_or_default();
        let line = |name: &str, (duration, fault): (Duration, Option<Fault>)| {
            let during = fault.map_or(String::new(), |fault| format!(" ({fault})"));
            format!("  {name}: {duration:?}{during}\n")
        };
        let mut text = format!(
            "chaos seed {}: {} faults {kinds:?} in {:?}, {per_fault:?} per fault\n",
            self.seed,
            self.outcomes.len(),
            self.took
        );
        text += &line("max no-holder time", self.worst(|o| o.no_holder));
        text += &line(
            "max two-holder time outside partitions (incl. stale VIP of a dead/frozen master)",
            self.worst(|o| match o.fault {
                Fault::Partition { .. } => o.two_holders_after,
                _ => o.two_holders_during.max(o.two_holders_after),
            }),
        );
        text += &line(
            "max two-holder time after the fault was undone",
            self.worst(|o| o.two_holders_after),
        );
        text += &line(
            "max time to one master after undoing",
            self.worst(|o| o.one_master_after),
        );
        text += &line("max client outage", self.worst(|o| o.client_outage));
        text
    }
}

/// The three daemons, their observers and the client.
struct ChaosLab {
    lab: DaemonLab,
    daemons: Vec<Daemon>,
    events: Arc<Mutex<Vec<HolderEvent>>>,
    stop: Arc<AtomicBool>,
    watchers: Vec<JoinHandle<()>>,
}

impl Drop for ChaosLab {
    fn drop(&mut self) {
        // Ends the listener threads, also when a failed assertion unwinds through here.
        self.stop.store(true, Ordering::Relaxed);
        for watcher in self.watchers.drain(..) {
            let _ = watcher.join();
        }
    }
}

impl ChaosLab {
    fn instances(host: usize) -> Vec<InstanceSpec> {
        vec![InstanceSpec::v3(HOSTS[host].1)]
    }

    /// Who holds the VIP after every event up to `until`, as a set of hosts.
    fn holders_at(&self, until: Instant) -> [bool; 3] {
        let mut holders = [false; 3];
        for event in self.events().iter().filter(|event| event.at <= until) {
            holders[event.host] = event.holds;
        }
        holders
    }

    fn events(&self) -> Vec<HolderEvent> {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        events.sort_by_key(|event| event.at);
        events
    }

    /// When the set of holders last changed (refreshes of a held VIP are not changes).
    fn last_change(&self) -> Option<Instant> {
        let mut holders = [false; 3];
        let mut changed = None;
        for event in self.events() {
            if holders[event.host] != event.holds {
                holders[event.host] = event.holds;
                changed = Some(event.at);
            }
        }
        changed
    }

    /// Waits until one host alone has held the VIP for [`SETTLED_FOR`]; returns when that
    /// stretch began, or `None` after [`SETTLE_TIMEOUT`].
    fn settle(&self) -> Option<Instant> {
        let mut settled_since = None;
        wait_until(SETTLE_TIMEOUT, Duration::from_millis(20), || {
            let now = Instant::now();
            let holders = self.holders_at(now);
            if holders.iter().filter(|holds| **holds).count() != 1 {
                return false;
            }
            let last_change = self.last_change().unwrap_or(now);
            settled_since = Some(last_change);
            now.duration_since(last_change) >= SETTLED_FOR
        })
        .then_some(settled_since)
        .flatten()
    }

    /// Stretches of `from..to` with no holder and with two or more, as their longest
    /// lengths, and the first instant from `from` on with exactly one holder.
    fn stretches(&self, from: Instant, to: Instant) -> (Duration, Duration, Option<Instant>) {
        let mut holders = self.holders_at(from);
        let count = |holders: &[bool; 3]| holders.iter().filter(|holds| **holds).count();
        let mut state_since = from;
        let mut current = count(&holders);
        let (mut longest_none, mut longest_many) = (Duration::ZERO, Duration::ZERO);
        let mut first_single = (current == 1).then_some(from);
        let events: Vec<HolderEvent> = self
            .events()
            .into_iter()
            .filter(|event| event.at > from && event.at <= to)
            .collect();
        for event in events {
            holders[event.host] = event.holds;
            let next = count(&holders);
            if next == current {
                continue;
            }
            let length = event.at - state_since;
            match current {
                0 => longest_none = longest_none.max(length),
                1 => {}
                _ => longest_many = longest_many.max(length),
            }
            if next == 1 && first_single.is_none() {
                first_single = Some(event.at);
            }
            current = next;
            state_since = event.at;
        }
        let length = to - state_since;
        match current {
            0 => longest_none = longest_none.max(length),
            1 => {}
            _ => longest_many = longest_many.max(length),
        }
        (longest_none, longest_many, first_single)
    }

    fn port(&self, host: usize) -> &'static str {
        HOSTS[host].0
    }

    /// Applies `fault`, waits its pause, undoes it; returns when it was undone.
    fn inject(&mut self, fault: Fault) -> Instant {
        let host = fault.host();
        let name = HOSTS[host].0;
        let ns = self.lab.ns(name).clone();
        let bridge = self.lab.lab.bridge.clone();
        match fault {
            Fault::Kill { pause, .. } => {
                self.lab.signal(&self.daemons[host], Signal::SIGKILL);
                let _ = self
                    .lab
                    .wait_exit(&self.daemons[host], Duration::from_secs(2));
                std::thread::sleep(pause);
                self.daemons[host] = self.lab.start(name, &Self::instances(host));
            }
            Fault::Freeze { pause, .. } => {
                self.lab.signal(&self.daemons[host], Signal::SIGSTOP);
                std::thread::sleep(pause);
                self.lab.signal(&self.daemons[host], Signal::SIGCONT);
            }
            Fault::LinkDown { pause, .. } => {
                ns.ip(&["link", "set", "eth0", "down"]);
                std::thread::sleep(pause);
                ns.ip(&["link", "set", "eth0", "up"]);
            }
            Fault::Partition { pause, .. } => {
                let port = self.port(host);
                bridge.ip(&["link", "set", port, "nomaster"]);
                bridge.ip(&["link", "set", port, "master", "br9"]);
                std::thread::sleep(pause);
                bridge.ip(&["link", "set", port, "nomaster"]);
                bridge.ip(&["link", "set", port, "master", "br0"]);
            }
        }
        Instant::now()
    }
}

/// Runs `faults` faults of the schedule `seed` gives, asserting the bounds after each; a
/// failure prints the seed and the schedule so `CHAOS_SEED` replays it.
pub fn run(seed: u64, faults: usize) -> ChaosReport {
    let started = Instant::now();
    let plan = schedule(seed, faults);
    let replay = format!(
        "replay with CHAOS_SEED={seed} (and CHAOS_FAULTS={faults} for the script); schedule:\n{}",
        plan.iter()
            .enumerate()
            .map(|(n, fault)| format!("  {n:4}: {fault}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!("chaos: seed {seed}, {faults} faults");
    let mut builder = Lab::builder();
    for (name, _) in HOSTS {
        builder = builder.host(name);
    }
    let lab = DaemonLab::new(builder.host(CLIENT).build());
    if netem_available(lab.ns(CLIENT)) {
        println!("chaos: tc netem works here, but loss/delay faults are not in this schedule");
    } else {
        println!("chaos: no sch_netem in this kernel: packet loss and delay faults skipped");
    }
    lab.lab.bridge.ip(&["link", "add", "br9", "type", "bridge"]);
    lab.lab.bridge.ip(&["link", "set", "br9", "up"]);
    let vip: Ipv4Addr = VIP.parse().expect("the lab's VIP");
    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut chaos = ChaosLab {
        daemons: Vec::new(),
        events: Arc::clone(&events),
        stop: Arc::clone(&stop),
        watchers: Vec::new(),
        lab,
    };
    for (host, (name, _)) in HOSTS.iter().enumerate() {
        let (ready_sender, ready) = std::sync::mpsc::channel();
        let ns = chaos.lab.ns(name).clone();
        chaos.watchers.push(watch_vip(
            &ns,
            host,
            vip,
            Arc::clone(&events),
            Arc::clone(&stop),
            ready_sender,
        ));
        ready
            .recv_timeout(Duration::from_secs(5))
            .expect("the address listener started");
    }
    // Highest priority first, so the first election is not a race between process starts.
    for (host, (name, _)) in HOSTS.iter().enumerate() {
        chaos
            .daemons
            .push(chaos.lab.start(name, &ChaosLab::instances(host)));
        std::thread::sleep(Duration::from_millis(500));
    }
    let pings = probe(chaos.lab.ns(CLIENT), vip, Arc::clone(&stop));
    assert!(chaos.settle().is_some(), "no single master at the start");

    // The first backup to take over has the lowest priority among the survivors; the bound
    // uses the lowest priority of all, which covers every case.
    let lowest = HOSTS
        .iter()
        .map(|(_, priority)| *priority)
        .min()
        .unwrap_or(1);
    let no_holder_bound = master_down_interval_100ms(lowest.into()) + SLACK;
    let overlap_bound = ADVERT_INTERVAL + SLACK;
    let stale_bound = VIP_LIFETIME + SLACK;
    let one_master_bound = master_down_interval_100ms(lowest.into()) + SLACK;
    let mut outcomes = Vec::new();
    let mut windows = Vec::new();
    for (n, fault) in plan.iter().copied().enumerate() {
        let fault_at = Instant::now();
        let undone_at = chaos.inject(fault);
        let Some(settled_at) = chaos.settle() else {
            panic!(
                "fault {n} ({fault}): no single master within {SETTLE_TIMEOUT:?}; holders {:?}\n{replay}",
                chaos.holders_at(Instant::now())
            );
        };
        let settled_seen = Instant::now();
        let (no_holder, two_holders_during, _) = chaos.stretches(fault_at, undone_at);
        let (no_holder_after, two_holders_after, single) = chaos.stretches(undone_at, settled_seen);
        let one_master_after = single.map_or(settled_at - undone_at, |at| at - undone_at);
        let outcome = FaultOutcome {
            fault,
            no_holder: no_holder.max(no_holder_after),
            two_holders_during,
            two_holders_after,
            one_master_after,
            client_outage: Duration::ZERO,
            took: settled_seen - fault_at,
        };
        let mut broken = Vec::new();
        if outcome.no_holder > no_holder_bound {
            broken.push(format!(
                "no holder for {:?} > {no_holder_bound:?}",
                outcome.no_holder
            ));
        }
        let during_bound = match fault {
            Fault::Partition { .. } => None,
            // A dead or frozen master cannot remove its VIP: the kernel lifetime does.
            Fault::Kill { .. } | Fault::Freeze { .. } => Some(stale_bound),
            Fault::LinkDown { .. } => Some(overlap_bound),
        };
        if let Some(bound) = during_bound
            && two_holders_during > bound
        {
            broken.push(format!(
                "two holders for {two_holders_during:?} during the fault > {bound:?}"
            ));
        }
        // After a kill or a freeze the stale VIP outlives the undo until the restarted
        // daemon removes it or its lifetime ends: the same stretch, under the same bound.
        let after_bound = match fault {
            Fault::Partition { .. } => None,
            Fault::Kill { .. } | Fault::Freeze { .. } => Some(stale_bound),
            Fault::LinkDown { .. } => Some(overlap_bound),
        };
        if let Some(bound) = after_bound
            && two_holders_after > bound
        {
            broken.push(format!(
                "two holders for {two_holders_after:?} after the fault > {bound:?}"
            ));
        }
        if one_master_after > one_master_bound {
            broken.push(format!(
                "one master only {one_master_after:?} after undoing > {one_master_bound:?}"
            ));
        }
        assert!(
            broken.is_empty(),
            "fault {n} ({fault}): {}\nevents: {:?}\n{replay}",
            broken.join("; "),
            chaos
                .events()
                .iter()
                .filter(|event| event.at >= fault_at)
                .map(|event| (
                    (event.at - fault_at).as_millis(),
                    HOSTS[event.host].0,
                    event.holds
                ))
                .collect::<Vec<_>>()
        );
        windows.push((fault_at, settled_seen));
        outcomes.push(outcome);
    }

    // Ends the probe and the address listeners; the end state is read from the kernel.
    stop.store(true, Ordering::Relaxed);
    let replies = pings.join().expect("the probe thread");
    for (outcome, (from, to)) in outcomes.iter_mut().zip(&windows) {
        let inside: Vec<Instant> = replies
            .iter()
            .copied()
            .filter(|at| at >= from && at <= to)
            .collect();
        let longest = inside
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .max()
            .unwrap_or(*to - *from);
        outcome.client_outage = longest.saturating_sub(PROBE_EVERY);
    }

    // At the end: the VIP only on the host whose daemon says it is master.
    for (host, (name, _)) in HOSTS.iter().enumerate() {
        let master = chaos.daemons[host].states().last().map(String::as_str) == Some("MASTER");
        let holds = chaos.lab.holds(name, VIP);
        assert_eq!(
            holds, master,
            "{name}: holds the VIP {holds}, master {master}\n{replay}"
        );
    }
    let report = ChaosReport {
        seed,
        outcomes,
        took: started.elapsed(),
    };
    drop(chaos);
    report
}
