//! Chaos against three real daemons (see `chaos_lab` for the faults and the bounds).
//!
//! `bounded_chaos` is the CI run: [`CI_FAULTS`] faults of [`CI_SEED`] (or `CHAOS_SEED`).
//! `scripts/chaos.sh FAULTS [SEED]` runs the same test, lab and assertions with
//! `CHAOS_FAULTS` faults. It lives in this test binary rather than in an example so it shares
//! the namespace lab, its clean-up on failure and the binary cargo builds for the tests.

mod chaos_lab;
mod daemon_lab;
mod netns;

use netns::require_tools;

/// Faults in the CI run, as the hardening issue asks: about 1.6 s each, so the test takes
/// about five and a half minutes.
const CI_FAULTS: usize = 200;

/// The CI run's schedule, fixed so that a red CI run always means a change in behaviour; the
/// script draws a fresh seed each time to explore further.
const CI_SEED: u64 = 7;

/// What the faults need besides `ip`: nft drops packets, iptables queues them to the
/// delayer (as `(tool, Debian package)`).
const TOOLS: [(&str, &str); 2] = [("nft", "nftables"), ("iptables", "iptables")];

/// Every kind of fault a schedule can draw.
const FAULT_KINDS: [&str; 6] = ["delay", "freeze", "kill", "link-down", "loss", "partition"];

/// The same seed gives the same schedule, and the CI run's draws every kind of fault.
#[test]
fn schedule_is_replayable() {
    let schedule = chaos_lab::schedule(CI_SEED, CI_FAULTS);
    assert_eq!(schedule, chaos_lab::schedule(CI_SEED, CI_FAULTS));
    let kinds: std::collections::BTreeSet<&str> =
        schedule.iter().map(|fault| fault.kind()).collect();
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), FAULT_KINDS);
}

/// [`CI_FAULTS`] faults of [`CI_SEED`], or `CHAOS_FAULTS` faults of `CHAOS_SEED` (a fresh seed
/// when unset) as `scripts/chaos.sh` asks.
#[test]
#[ignore = "lab: needs root, nft, iptables; scripts/test runs it"]
fn bounded_chaos() {
    require_tools("bounded_chaos", &TOOLS);
    let faults = std::env::var("CHAOS_FAULTS").ok().map(|text| {
        text.parse()
            .unwrap_or_else(|_| panic!("CHAOS_FAULTS={text:?} is not a number of faults"))
    });
    let (seed, faults) = match faults {
        Some(faults) => (chaos_lab::seed_from_env(), faults),
        None => (
            std::env::var("CHAOS_SEED").map_or(CI_SEED, |_| chaos_lab::seed_from_env()),
            CI_FAULTS,
        ),
    };
    let report = chaos_lab::run(seed, faults);
    println!("{}", report.summary());
}
