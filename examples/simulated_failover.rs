//! Three routers on a simulated LAN: election, a master that dies, its return, a graceful
//! stop and a planned handover, all on a virtual clock, so it needs no root and runs in
//! milliseconds. The protocol code is the daemon's own; only the wire is simulated.
//!
//! ```sh
//! cargo run --example simulated_failover
//! ```

// The harness is shared with the simulated-LAN tests; this example uses part of it.
#[allow(dead_code)]
#[path = "../tests/sim/lan.rs"]
mod lan;
#[allow(dead_code)]
#[path = "../tests/sim/rng.rs"]
mod rng;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lan::{Lan, TraceEvent, WireModel};
use rng::Rng;
use vrrp_sidecar::vrrp::{AdvertInterval, Command, InstanceConfig, Priority, Version};

const VIRTUAL_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn router(host: u8, priority: u8) -> InstanceConfig {
    let mut config = InstanceConfig::new(
        51,
        Version::V3,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, host)),
        Priority::new(priority).expect("1..=255 is a valid priority"),
        vec![IpAddr::V4(VIRTUAL_ADDRESS)],
    );
    config.advert_interval = AdvertInterval::DEFAULT;
    config
}

/// Prints what happened since `from` (an index into the trace) and returns the new end.
fn narrate(lan: &Lan, from: usize) -> usize {
    for line in &lan.trace[from..] {
        let name = |node: &usize| lan.nodes[*node].address();
        let at = line.at.as_secs_f64();
        match &line.event {
            TraceEvent::Transition {
                node,
                from,
                to,
                reason,
            } => println!(
                "  t={at:8.3}s  {:<10} {from} -> {to}  ({reason})",
                name(node)
            ),
            TraceEvent::Crash { node } => println!("  t={at:8.3}s  {:<10} dies", name(node)),
            TraceEvent::Restart { node } => println!("  t={at:8.3}s  {:<10} restarts", name(node)),
            TraceEvent::Command { node, command } => {
                println!("  t={at:8.3}s  {:<10} is told {command:?}", name(node))
            }
            _ => {}
        }
    }
    lan.trace.len()
}

/// Runs until `until`, recording the longest time no router held the virtual address.
fn run_and_measure_gap(lan: &mut Lan, until: Duration) -> Duration {
    let mut unheld_since = lan.vip_holders().is_empty().then(|| lan.now());
    let mut longest = Duration::ZERO;
    lan.run_until(until, |lan| {
        let held = !lan.vip_holders().is_empty();
        match (held, unheld_since) {
            (false, None) => unheld_since = Some(lan.now()),
            (true, Some(since)) => {
                longest = longest.max(lan.now() - since);
                unheld_since = None;
            }
            _ => {}
        }
    });
    longest
}

fn holder(lan: &Lan) -> String {
    match lan.vip_holders().as_slice() {
        [] => "nobody".to_owned(),
        holders => holders
            .iter()
            .map(|&node| lan.nodes[node].address().to_string())
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

fn main() {
    let wire = WireModel {
        delay_min: Duration::from_micros(200),
        jitter: Duration::from_micros(100),
        loss: 0.0,
    };
    let mut lan = Lan::new(
        vec![router(1, 150), router(2, 100), router(3, 50)],
        wire,
        Rng::new(1),
    );
    let mut seen = 0;
    println!("VRRPv3, VRID 51, advert interval 1 s, virtual address {VIRTUAL_ADDRESS}");
    println!("routers: 192.0.2.1 (priority 150), 192.0.2.2 (100), 192.0.2.3 (50)\n");

    println!("1. All three start as backup; the highest priority wins after Master_Down_Interval.");
    for node in 0..3 {
        lan.command(node, Command::Startup);
    }
    lan.run_until(Duration::from_secs(5), |_| {});
    seen = narrate(&lan, seen);
    println!("  {VIRTUAL_ADDRESS} is held by {}\n", holder(&lan));

    println!("2. The master dies without a word (power cut) between two adverts.");
    lan.run_until(Duration::from_millis(10_300), |_| {});
    lan.crash(0);
    let bound = master_down_interval(&lan, 1);
    let gap = run_and_measure_gap(&mut lan, Duration::from_secs(15));
    seen = narrate(&lan, seen);
    println!(
        "  {VIRTUAL_ADDRESS} is held by {}; nobody held it for {:.1} ms \
         (Master_Down_Interval of the best backup: {:.1} ms)\n",
        holder(&lan),
        gap.as_secs_f64() * 1e3,
        bound.as_secs_f64() * 1e3
    );

    println!("3. It comes back, and preempts the lower-priority master.");
    lan.restart(0);
    let gap = run_and_measure_gap(&mut lan, Duration::from_secs(20));
    seen = narrate(&lan, seen);
    println!(
        "  {VIRTUAL_ADDRESS} is held by {}; longest time unheld: {:.1} ms\n",
        holder(&lan),
        gap.as_secs_f64() * 1e3
    );

    println!("4. It stops gracefully: it advertises priority 0 and the backup takes over.");
    let skew = skew_time(&lan, 1);
    lan.command(0, Command::Shutdown);
    let gap = run_and_measure_gap(&mut lan, Duration::from_secs(25));
    seen = narrate(&lan, seen);
    println!(
        "  {VIRTUAL_ADDRESS} is held by {}; nobody held it for {:.1} ms (Skew_Time: {:.1} ms)\n",
        holder(&lan),
        gap.as_secs_f64() * 1e3,
        skew.as_secs_f64() * 1e3
    );

    println!("5. The new master hands over on purpose (Resign): make-before-break.");
    lan.command(1, Command::Resign { hold_down: None });
    let gap = run_and_measure_gap(&mut lan, Duration::from_secs(30));
    narrate(&lan, seen);
    println!(
        "  {VIRTUAL_ADDRESS} is held by {}; longest time unheld: {:.1} ms",
        holder(&lan),
        gap.as_secs_f64() * 1e3
    );
}

fn master_down_interval(lan: &Lan, node: usize) -> Duration {
    lan.nodes[node]
        .instance
        .as_ref()
        .expect("the node is alive")
        .master_down_interval()
}

fn skew_time(lan: &Lan, node: usize) -> Duration {
    lan.nodes[node]
        .instance
        .as_ref()
        .expect("the node is alive")
        .skew_time()
}
