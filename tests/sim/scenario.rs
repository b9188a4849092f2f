//! Random scenarios and the properties every one of them must keep.
//!
//! One seed decides everything: node count (2..=5), version, family, interval (VRRPv3 down to
//! 10 ms), priorities (with ties and sometimes an owner), addresses, wire delay and jitter,
//! and whether the run opens with chaos (loss, a partition, staggered starts) that later heals.
//! The run then goes through phases, each checking one property from the design:
//! (a) after the network heals there is exactly one master;
//! (b) it has the highest priority (and, when nothing disturbed the election, the highest
//!     address among equals);
//! (c) a master that dies is replaced within Master_Down_Interval plus the wire delay;
//! (d) a master that shuts down (priority 0) is replaced within Skew_Time plus the delay;
//! (e) in steady state without loss or partition, exactly one node holds the addresses;
//! (f) a resigning master keeps the addresses until its successor has them
//!     (make-before-break), and the successor takes over within Skew_Time plus the delay;
//! (g) in steady state the client's traffic reaches the master: the last announcement it
//!     heard came from the master (or it heard none and resolves the addresses afresh).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrp_sidecar::vrrp::{
    AdvertInterval, Command, DownTimerAdverts, InstanceConfig, Priority, State, Version,
    master_down_interval, skew_time,
};

use super::lan::{Lan, WireModel};
use super::rng::Rng;

const VRID: u8 = 51;

/// How many trace lines a failure report shows; the run with `SIM_SEED` prints them all.
const TRACE_TAIL: usize = 300;

/// Mixed into the seed for the wire's loss and jitter draws, so they are not the same numbers
/// that generated the scenario.
const WIRE_STREAM: u64 = 0x5eed_0f3a_11d0_ca7e;

/// The opening disturbance of a run, healed at `heal_at`.
#[derive(Debug)]
pub struct Chaos {
    pub loss: f64,
    pub groups: Vec<u8>,
    pub start_offsets: Vec<Duration>,
    pub heal_at: Duration,
}

#[derive(Debug)]
pub struct Scenario {
    pub seed: u64,
    pub version: Version,
    pub interval: AdvertInterval,
    pub configs: Vec<InstanceConfig>,
    pub clean_wire: WireModel,
    pub chaos: Option<Chaos>,
}

impl Scenario {
    pub fn generate(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let nodes = rng.between(2, 5) as usize;
        let version = if rng.chance(0.5) {
            Version::V2
        } else {
            Version::V3
        };
        let ipv6 = version == Version::V3 && rng.chance(0.5);
        let interval = match version {
            Version::V2 => AdvertInterval::from_secs(rng.between(1, 3) as u8),
            Version::V3 => AdvertInterval::from_centis(rng.pick(&[1, 2, 5, 10, 25, 50, 100, 200])),
        }
        .expect("the choices are non-zero");

        let mut priorities: Vec<u8> = (0..nodes)
            .map(|_| rng.pick(&[1, 50, 100, 100, 150, 200, 254]))
            .collect();
        if rng.chance(0.1) {
            let owner = rng.below(nodes as u64) as usize;
            priorities[owner] = 255;
        }
        let mut host_numbers: Vec<u16> = (10..250).collect();
        rng.shuffle(&mut host_numbers);
        let virtual_addresses = if ipv6 {
            vec![
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
            ]
        } else {
            vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))]
        };
        let configs = priorities
            .iter()
            .zip(&host_numbers)
            .map(|(&priority, &host)| {
                let primary_address = if ipv6 {
                    // Vary a high group too, so the comparison is over the whole 128 bits.
                    let high = rng.below(4) as u16;
                    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, high, 0, 0, host))
                } else {
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, host as u8))
                };
                let mut config = InstanceConfig::new(
                    VRID,
                    version,
                    primary_address,
                    Priority::new(priority).expect("the choices are non-zero"),
                    virtual_addresses.clone(),
                );
                config.advert_interval = interval;
                config
            })
            .collect();

        let max_delay = interval.as_duration() * rng.pick(&[0, 1, 5, 10, 20]) / 100;
        let delay_min = rng.duration_up_to(max_delay / 2);
        let clean_wire = WireModel {
            delay_min,
            jitter: max_delay - delay_min,
            loss: 0.0,
        };
        let chaos = rng.chance(0.5).then(|| {
            let longest =
                master_down_interval(version, Priority::MIN, interval, DownTimerAdverts::RFC);
            Chaos {
                loss: rng.pick(&[0.0, 0.1, 0.3, 0.6, 1.0]),
                groups: if rng.chance(0.5) {
                    (0..nodes).map(|_| rng.below(2) as u8).collect()
                } else {
                    vec![0; nodes]
                },
                start_offsets: (0..nodes)
                    .map(|_| rng.duration_up_to(interval.as_duration() * 2))
                    .collect(),
                heal_at: longest * rng.between(2, 6) as u32,
            }
        });
        Scenario {
            seed,
            version,
            interval,
            configs,
            clean_wire,
            chaos,
        }
    }

    fn master_down_interval(&self, priority: Priority) -> Duration {
        master_down_interval(self.version, priority, self.interval, DownTimerAdverts::RFC)
    }

    fn skew_time(&self, priority: Priority) -> Duration {
        skew_time(self.version, priority, self.interval)
    }

    /// How long after a disturbance the LAN must have settled: the slowest backup's
    /// Master_Down_Interval, plus three wire delays (the last advertisement still in flight,
    /// then a simultaneous takeover resolved by an advertisement and its immediate answer).
    pub fn settle_time(&self) -> Duration {
        let lowest = self
            .configs
            .iter()
            .map(|config| config.priority)
            .min()
            .expect("a scenario has nodes");
        self.master_down_interval(lowest) + self.clean_wire.max_delay() * 3
    }
}

/// A seed whose run broke a property.
pub struct Failure {
    pub seed: u64,
    pub message: String,
    pub scenario: String,
    pub trace: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {} failed: {}", self.seed, self.message)?;
        writeln!(
            f,
            "reproduce: SIM_SEED={} cargo test --test simulated_lan -- --nocapture",
            self.seed
        )?;
        writeln!(f, "scenario: {}", self.scenario)?;
        let lines: Vec<&str> = self.trace.lines().collect();
        let shown = &lines[lines.len().saturating_sub(TRACE_TAIL)..];
        writeln!(
            f,
            "trace (last {} of {} events; SIM_SEED prints all):",
            shown.len(),
            lines.len()
        )?;
        for line in shown {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// What a passing run reports.
pub struct Outcome {
    pub simulated: Duration,
    pub trace: String,
}

/// Runs `scenario` through its phases; the first broken property ends the run.
pub fn run(scenario: &Scenario) -> Result<Outcome, Failure> {
    let initial_wire = match &scenario.chaos {
        Some(chaos) => WireModel {
            loss: chaos.loss,
            ..scenario.clean_wire
        },
        None => scenario.clean_wire,
    };
    let mut lan = Lan::new(
        scenario.configs.clone(),
        initial_wire,
        Rng::new(scenario.seed ^ WIRE_STREAM),
    );
    let result = run_phases(scenario, &mut lan);
    let trace = lan.render_trace();
    match result {
        Ok(()) => Ok(Outcome {
            simulated: lan.now(),
            trace,
        }),
        Err(message) => Err(Failure {
            seed: scenario.seed,
            message,
            scenario: format!("{scenario:?}"),
            trace,
        }),
    }
}

fn run_phases(scenario: &Scenario, lan: &mut Lan) -> Result<(), String> {
    let delay = scenario.clean_wire.max_delay();
    let settle = scenario.settle_time();
    let window = scenario.interval.as_duration() * 5;

    // Phase 1, (a) (b) (e): election, possibly through chaos that then heals.
    let undisturbed = match &scenario.chaos {
        Some(chaos) => {
            lan.set_wire(lan.wire(), chaos.groups.clone());
            let mut order: Vec<usize> = (0..scenario.configs.len()).collect();
            order.sort_by_key(|&index| (chaos.start_offsets[index], index));
            for index in order {
                lan.run_until(chaos.start_offsets[index], |_| {});
                lan.command(index, Command::Startup);
            }
            lan.run_until(chaos.heal_at, |_| {});
            lan.set_wire(scenario.clean_wire, vec![0; scenario.configs.len()]);
            false
        }
        None => {
            for index in 0..scenario.configs.len() {
                lan.command(index, Command::Startup);
            }
            true
        }
    };
    lan.run_until(lan.now() + settle, |_| {});
    // (g) cannot be promised after a lossy opening: a backup that took over while the
    // master's adverts were lost draws the client, and if its takeover advert and the three
    // it sends as it steps down are all lost too, the master never learns it should
    // announce again (the loss rate to the fourth power per such takeover, 13 % at 60 %).
    let lossy_opening = scenario
        .chaos
        .as_ref()
        .is_some_and(|chaos| chaos.loss > 0.0);
    let master = steady_master(lan, window, "after the election", !lossy_opening)?;
    expect_best(lan, master, None, undisturbed)?;

    // Phase 2, (c): the master dies; the best backup must take over within its
    // Master_Down_Interval after the last advertisement could have arrived.
    let crashed = master;
    let start = lan.now();
    lan.crash(crashed);
    let best = best_running_priority(lan, None);
    let bound = start + delay + scenario.master_down_interval(best);
    first_master_by(lan, bound, None, "(c) a dead master is replaced")?;
    lan.run_until(start + settle, |_| {});
    let master = steady_master(lan, window, "after the master died", true)?;
    expect_best(lan, master, None, false)?;

    // Phase 3, (b): the dead host returns; with preempt on the best priority wins again.
    lan.restart(crashed);
    lan.run_until(lan.now() + settle, |_| {});
    let master = steady_master(lan, window, "after the dead master returned", true)?;
    expect_best(lan, master, None, false)?;

    // Phase 4, (d): the master shuts down and sends priority 0; the best backup must take
    // over within its Skew_Time after the priority 0 arrives.
    let stopped = master;
    let start = lan.now();
    lan.command(stopped, Command::Shutdown);
    let best = best_running_priority(lan, None);
    let bound = start + delay + scenario.skew_time(best);
    first_master_by(lan, bound, None, "(d) priority 0 hands over")?;
    lan.run_until(start + settle, |_| {});
    let master = steady_master(lan, window, "after the master shut down", true)?;
    expect_best(lan, master, None, false)?;
    lan.command(stopped, Command::Startup);
    lan.run_until(lan.now() + settle, |_| {});
    let master = steady_master(lan, window, "after the stopped node started again", true)?;
    expect_best(lan, master, None, false)?;

    // Phase 5, (f): the master resigns. Someone holds the addresses at every instant, the
    // successor takes over within its Skew_Time, and the resigner does not take them back.
    let resigner = master;
    let start = lan.now();
    lan.command(resigner, Command::Resign { hold_down: None });
    let best = best_running_priority(lan, Some(resigner));
    let bound = start + delay + scenario.skew_time(best);
    let mut gap = None;
    first_master_by(lan, bound, Some(resigner), "(f) resign hands over")?;
    lan.run_until(start + settle, |lan| {
        if gap.is_none() && lan.vip_holders().is_empty() {
            gap = Some(lan.now());
        }
    });
    if let Some(at) = gap {
        return Err(format!(
            "(f) nobody held the addresses at {at:?} during the resign handover"
        ));
    }
    let master = steady_master(lan, window, "after the master resigned", true)?;
    expect_best(lan, master, Some(resigner), false)?;
    Ok(())
}

/// Checks (a) and (e) at every step for `window`, one master and it alone holds the
/// addresses, and if `client_follows`, (g) at its end: the client reaches it. Returns the
/// master.
fn steady_master(
    lan: &mut Lan,
    window: Duration,
    when: &str,
    client_follows: bool,
) -> Result<usize, String> {
    let check = |lan: &Lan| -> Result<usize, String> {
        let masters = lan.in_state(State::Master);
        let holders = lan.vip_holders();
        match masters.as_slice() {
            [master] if holders == [*master] => Ok(*master),
            _ => Err(format!(
                "(a)/(e) {when}: at {:?} masters {masters:?}, address holders {holders:?}",
                lan.now()
            )),
        }
    };
    let master = check(lan)?;
    lan.note(format!("steady {when}: n{master} is the only master"));
    let mut broken = None;
    lan.run_until(lan.now() + window, |lan| {
        if broken.is_none() {
            broken = check(lan).err();
        }
    });
    if let Some(message) = broken {
        return Err(message);
    }
    let master = check(lan)?;
    // (g) at the end of the window, which lasts over an interval: a master announces again
    // at most twice per interval, so when several took over at one instant the one that
    // stays may answer the last of them with its next advert.
    if client_follows && !lan.client_reaches_a_holder() {
        return Err(format!(
            "(g) {when}: at {:?} the client still follows n{}'s announcement, n{master} \
             holds the addresses",
            lan.now(),
            lan.client.unwrap_or_default()
        ));
    }
    Ok(master)
}

/// Runs until `bound` and fails unless some running node other than `excluded` became master
/// by then.
fn first_master_by(
    lan: &mut Lan,
    bound: Duration,
    excluded: Option<usize>,
    what: &str,
) -> Result<(), String> {
    let mut taken_over = None;
    let is_new_master = |lan: &Lan| {
        lan.in_state(State::Master)
            .into_iter()
            .any(|index| Some(index) != excluded)
    };
    if is_new_master(lan) {
        taken_over = Some(lan.now());
    }
    lan.run_until(bound, |lan| {
        if taken_over.is_none() && is_new_master(lan) {
            taken_over = Some(lan.now());
        }
    });
    match taken_over {
        Some(at) => {
            lan.note(format!("{what}: new master at {at:?}, bound {bound:?}"));
            Ok(())
        }
        None => Err(format!("{what}: no new master by {bound:?}")),
    }
}

fn running(lan: &Lan, index: usize) -> bool {
    matches!(
        lan.nodes[index].state(),
        Some(State::Backup) | Some(State::Master)
    )
}

fn best_running_priority(lan: &Lan, excluded: Option<usize>) -> Priority {
    (0..lan.nodes.len())
        .filter(|&index| running(lan, index) && Some(index) != excluded)
        .map(|index| lan.nodes[index].config.priority)
        .max()
        .expect("every phase leaves at least one running node")
}

/// (b): the master has the best priority among running nodes (other than `excluded`); when
/// `by_address`, also the highest address among those of that priority.
fn expect_best(
    lan: &Lan,
    master: usize,
    excluded: Option<usize>,
    by_address: bool,
) -> Result<(), String> {
    if Some(master) == excluded {
        return Err(format!("(f) n{master} resigned but is master again"));
    }
    let best = best_running_priority(lan, excluded);
    let node = &lan.nodes[master];
    if node.config.priority != best {
        return Err(format!(
            "(b) master n{master} has priority {}, but {best} is running",
            node.config.priority
        ));
    }
    if by_address {
        let highest = (0..lan.nodes.len())
            .filter(|&index| running(lan, index) && lan.nodes[index].config.priority == best)
            .map(|index| lan.nodes[index].address())
            .max()
            .expect("the master itself has the best priority");
        if node.address() != highest {
            return Err(format!(
                "(b) master n{master} at {} lost the tie-break to {highest}",
                node.address()
            ));
        }
    }
    Ok(())
}
