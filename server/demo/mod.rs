//! `vrrp-sidecar demo`: the README's first command. As root it builds a throwaway lab of
//! three hosts and a client in network namespaces, runs this binary as the daemon of each
//! host, and walks a newcomer through an election, a crash, a recovery with preemption and
//! a planned handover, measuring what the client felt each time. Everything is removed at
//! the end, also when it fails or is interrupted with Ctrl-C.
//!
//! - [`lab`]: namespaces, bridge, veths and addresses (with `ip`), the daemons, clean-up.
//! - [`probe`]: the client's echo requests to the VIP (its own, no `ping` needed) and the
//!   longest gap between replies.
//!
//! It needs root, a kernel with network namespaces and `ip` (iproute2), nothing else; what is
//! missing is named, with its fix, before anything is built.

mod lab;
mod probe;

use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use thiserror::Error;
use tokio::signal::unix::{SignalKind, signal};

use vrrp_sidecar::config::{Config, ConfigError};
use vrrp_sidecar::effects::vips::vip_lifetime;
use vrrp_sidecar::vrrp::{
    AdvertInterval, DownTimerAdverts, Priority, Version, master_down_interval, skew_time,
};

use lab::{CLIENT_ADDRESS, Lab, LabError, VIP};
use probe::{Gap, PROBE_INTERVAL, Probe, ProbeError};

/// Exit status without root: sysexits.h's EX_NOPERM.
const EXIT_NEEDS_ROOT: u8 = 77;
/// Exit status for an `--advert-interval` the configuration refuses: EX_USAGE.
const EXIT_BAD_ARGUMENT: u8 = 64;
/// Exit status when the machine lacks something the lab needs: sysexits.h's EX_UNAVAILABLE.
const EXIT_PREREQUISITE_MISSING: u8 = 69;
/// Exit status when the demo failed on the way (and cleaned up).
const EXIT_FAILED: u8 = 1;
/// Exit status after Ctrl-C (or SIGTERM) and clean-up: 128 + SIGINT, as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

/// How often the lab's state is polled while waiting for something.
const POLL: Duration = Duration::from_millis(10);
/// How long a daemon may take to start, on top of the protocol's own times; generous for a
/// loaded two-core machine.
const START_SLACK: Duration = Duration::from_secs(3);
/// How long the client pings the settled master before anything is broken.
const STEADY: Duration = Duration::from_secs(1);
/// How long after an event the client must have had a recent reply to count as served.
const RECENT_REPLY: Duration = Duration::from_millis(50);
/// How many lines of each daemon's log a failure report shows.
const LOG_LINES_ON_FAILURE: usize = 15;

/// The VRID every host uses.
const VRID: u8 = 51;

/// A host of the lab: its name and its priority.
struct DemoHost {
    name: &'static str,
    priority: u8,
}

/// The three hosts, highest priority first: h1 is master, h2 takes over when it fails.
const HOSTS: [DemoHost; 3] = [
    DemoHost {
        name: "h1",
        priority: 150,
    },
    DemoHost {
        name: "h2",
        priority: 100,
    },
    DemoHost {
        name: "h3",
        priority: 50,
    },
];

/// Options of `vrrp-sidecar demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How often the master advertises (VRRPv3, 10ms to 40.95s): for example 10ms, 100ms,
    /// 1s. Every wait of the demo scales with it.
    #[arg(long, value_name = "INTERVAL", default_value = "100ms")]
    advert_interval: String,
}

/// Why the demo stopped early.
#[derive(Debug, Error)]
enum DemoError {
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    /// The signal handlers could not be installed.
    #[error("installing the Ctrl-C handler: {0}")]
    Signals(io::Error),
    /// The lab could not be built or driven.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// The client's probe failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The configuration written for the hosts was refused (a bad `--advert-interval`).
    #[error("the demo's configuration was refused")]
    Config(ConfigError),
    /// Something the demo waits for did not happen in time.
    #[error("{what} did not happen within {}", millis(*waited))]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the demo waited.
        waited: Duration,
    },
    /// The client had no two replies to compare in a window.
    #[error("the client got no replies from {VIP} {during}")]
    NoReplies {
        /// Which part of the demo.
        during: &'static str,
    },
}

/// Runs the demo and returns the exit status; see the module docs.
pub fn run(args: &DemoArgs) -> ExitCode {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("demo needs root: it creates network namespaces; run with sudo");
        return ExitCode::from(EXIT_NEEDS_ROOT);
    }
    let missing = lab::missing_prerequisites();
    if !missing.is_empty() {
        eprintln!("vrrp-sidecar demo cannot build its lab on this machine:");
        for problem in &missing {
            eprintln!("  - {problem}");
        }
        return ExitCode::from(EXIT_PREREQUISITE_MISSING);
    }
    let waits = match Waits::install() {
        Ok(waits) => waits,
        Err(error) => {
            eprintln!("vrrp-sidecar demo: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let mut lab = match Lab::new() {
        Ok(lab) => lab,
        Err(error) => {
            eprintln!("vrrp-sidecar demo: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let outcome = walk_through(&mut lab, &waits, args);
    let status = match &outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(DemoError::Interrupted) => {
            println!("\nInterrupted: cleaning up.");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        Err(DemoError::Config(problems)) => {
            eprintln!(
                "vrrp-sidecar demo: --advert-interval {}:",
                args.advert_interval
            );
            for problem in problems.problems() {
                eprintln!("  {problem}");
            }
            ExitCode::from(EXIT_BAD_ARGUMENT)
        }
        Err(error) => {
            eprintln!("\nvrrp-sidecar demo failed: {error}");
            for host in &HOSTS {
                eprintln!(
                    "--- last lines of {}'s daemon log ---\n{}",
                    host.name,
                    lab.log_tail(host.name, LOG_LINES_ON_FAILURE)
                );
            }
            ExitCode::from(EXIT_FAILED)
        }
    };
    drop(lab);
    println!("Cleaned up: daemons stopped, namespaces and temporary files deleted.");
    status
}

/// What the demo measured, for the summary.
struct Figures {
    interval: AdvertInterval,
    crash: Gap,
    crash_bound: Duration,
    preemption: Gap,
    handover: Gap,
}

/// What every step of the demo works with.
struct Stage<'a> {
    lab: &'a mut Lab,
    waits: &'a Waits,
    /// This binary, run as each host's daemon.
    program: PathBuf,
    /// Each host's configuration file, in the order of [`HOSTS`].
    configs: Vec<PathBuf>,
    interval: AdvertInterval,
}

impl Stage<'_> {
    /// Master_Down_Interval of `host`.
    fn master_down(&self, host: &DemoHost) -> Duration {
        master_down_interval(
            Version::V3,
            priority_of(host),
            self.interval,
            DownTimerAdverts::RFC,
        )
    }

    /// Skew_Time of `host`.
    fn skew(&self, host: &DemoHost) -> Duration {
        skew_time(Version::V3, priority_of(host), self.interval)
    }

    /// Waits until `host` alone holds the VIP; returns how long that took.
    fn wait_sole_holder(&self, host: &DemoHost, what: &str) -> Result<Duration, DemoError> {
        let names = HOSTS.map(|host| host.name);
        self.waits
            .until(what, self.master_down(host) + START_SLACK, || {
                Ok(self.lab.vip_holders(&names)? == [host.name])
            })
    }
}

/// The demo itself; every early return unwinds to [`run`], which drops the lab.
fn walk_through(lab: &mut Lab, waits: &Waits, args: &DemoArgs) -> Result<(), DemoError> {
    let program = std::env::current_exe().map_err(|source| LabError::File {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let mut configs = Vec::new();
    for host in &HOSTS {
        let text = config_text(host, &args.advert_interval, lab.directory());
        configs.push(lab.write_config(host.name, &text)?);
    }
    // The loader checks the interval the way it checks any configuration, so a value the
    // daemons would refuse is refused here, before anything is built.
    let checked = Config::load(&configs[0]).map_err(DemoError::Config)?;
    let mut stage = Stage {
        lab,
        waits,
        program,
        configs,
        interval: checked.instances[0].advert_interval,
    };
    build_and_elect(&mut stage)?;
    let probe = start_probe(&stage)?;
    let crash = crash_the_master(&mut stage, &probe)?;
    let preemption = restart_the_master(&mut stage, &probe)?;
    let handover = stop_the_master(&mut stage, &probe)?;
    print_summary(&Figures {
        interval: stage.interval,
        crash,
        crash_bound: stage.master_down(&HOSTS[1]),
        preemption,
        handover,
    });
    Ok(())
}

/// Steps 1 and 2: the lab, the daemons, the first election.
fn build_and_elect(stage: &mut Stage) -> Result<(), DemoError> {
    let [first, second, third] = &HOSTS;
    println!(
        "vrrp-sidecar demo: three routers share {VIP} with VRRPv3, adverts every {}.\n",
        millis(stage.interval.as_duration())
    );
    println!("[1/6] Building a throwaway lab: network namespaces on one bridge.");
    stage.lab.build(&HOSTS.map(|host| host.name))?;
    for (host, number) in HOSTS.iter().zip(1..) {
        println!(
            "      {:<6} {:<15} priority {:>3}   namespace {}",
            host.name,
            format!("192.0.2.{number}"),
            host.priority,
            stage.lab.namespace(host.name)
        );
    }
    println!(
        "      {:<6} {CLIENT_ADDRESS:<15}                namespace {}",
        "client",
        stage.lab.namespace("client")
    );

    println!(
        "\n[2/6] Starting a vrrp-sidecar daemon on each host (configs and logs in {}).",
        stage.lab.directory().display()
    );
    let started = Instant::now();
    for (host, config) in HOSTS.iter().zip(&stage.configs) {
        stage.lab.start_daemon(host.name, &stage.program, config)?;
    }
    stage.wait_sole_holder(
        first,
        &format!("{} becoming the only holder of {VIP}", first.name),
    )?;
    println!(
        "      {} is master after {}: it holds {VIP}.\n      \
         {} and {} are backups: they listen to its adverts.",
        first.name,
        millis(started.elapsed()),
        second.name,
        third.name
    );
    Ok(())
}

/// Step 3: the client starts pinging the VIP.
fn start_probe(stage: &Stage) -> Result<Probe, DemoError> {
    println!(
        "\n[3/6] The client pings {VIP} every {} and times the gaps between replies.",
        millis(PROBE_INTERVAL)
    );
    let probe = Probe::start(stage.lab)?;
    stage
        .waits
        .until("the client's first reply", START_SLACK, || {
            Ok(probe.since_last_reply().is_some())
        })?;
    stage.waits.pause(STEADY)?;
    println!(
        "      {} answers: {} replies in the first {}.",
        HOSTS[0].name,
        probe.mark(),
        millis(STEADY)
    );
    Ok(probe)
}

/// Step 4: the master's host dies (link cut, daemon killed); the next backup takes over.
fn crash_the_master(stage: &mut Stage, probe: &Probe) -> Result<Gap, DemoError> {
    let [first, second, _] = &HOSTS;
    println!(
        "\n[4/6] Crash: {} loses its link and its daemon gets SIGKILL, at a random point\n      \
         of the advert cycle.",
        first.name
    );
    stage
        .waits
        .pause(random_phase(stage.interval.as_duration()))?;
    let mark = probe.mark();
    let crashed = Instant::now();
    stage.lab.signal_daemon(first.name, Signal::SIGKILL)?;
    stage.lab.set_link(first.name, false)?;
    stage.waits.until(
        &format!("{} taking over", second.name),
        stage.master_down(second) + START_SLACK,
        || stage.lab.holds_vip(second.name).map_err(DemoError::from),
    )?;
    let takeover = crashed.elapsed();
    stage.waits.until_served(probe)?;
    let crash = probe.gap_since(mark).ok_or(DemoError::NoReplies {
        during: "the crash",
    })?;
    println!(
        "      {} is master {} after the crash. The client went {} without a reply\n      \
         ({} probes lost).",
        second.name,
        millis(takeover),
        millis(crash.outage()),
        crash.lost,
    );
    println!(
        "      Bound: {}'s Master_Down_Interval, {} = 3 × {} + Skew_Time {}. A backup\n      \
         declares the master dead that long after the last advert it heard, so a crash\n      \
         costs between Master_Down_Interval − one interval and Master_Down_Interval.",
        second.name,
        millis(stage.master_down(second)),
        millis(stage.interval.as_duration()),
        millis(stage.skew(second)),
    );
    stage.waits.until(
        &format!("{}'s orphaned VIP expiring", first.name),
        vip_lifetime(Version::V3, stage.interval, DownTimerAdverts::RFC) + START_SLACK,
        || Ok(!stage.lab.holds_vip(first.name)?),
    )?;
    println!(
        "      {}'s stale copy of the VIP expired {} after the crash: the daemon installs\n      \
         it with a {} lifetime that only a living master renews.",
        first.name,
        millis(crashed.elapsed()),
        millis(vip_lifetime(
            Version::V3,
            stage.interval,
            DownTimerAdverts::RFC
        ))
    );
    Ok(crash)
}

/// Step 5: the crashed host comes back and, with the higher priority, preempts.
fn restart_the_master(stage: &mut Stage, probe: &Probe) -> Result<Gap, DemoError> {
    let [first, second, _] = &HOSTS;
    println!(
        "\n[5/6] Recovery: {}'s link comes back and its daemon restarts.",
        first.name
    );
    stage.lab.set_link(first.name, true)?;
    let mark = probe.mark();
    let restarted = Instant::now();
    stage
        .lab
        .start_daemon(first.name, &stage.program, &stage.configs[0])?;
    stage.wait_sole_holder(first, &format!("{} preempting {}", first.name, second.name))?;
    let preempted = restarted.elapsed();
    stage.waits.until_served(probe)?;
    let preemption = probe.gap_since(mark).ok_or(DemoError::NoReplies {
        during: "the preemption",
    })?;
    println!(
        "      {} (priority {}) preempts {} (priority {}) {} after its restart;\n      \
         client outage {} ({} probes lost).",
        first.name,
        first.priority,
        second.name,
        second.priority,
        millis(preempted),
        millis(preemption.outage()),
        preemption.lost
    );
    stage.waits.pause(STEADY)?;
    Ok(preemption)
}

/// Step 6: SIGTERM to the master, which hands over make-before-break and exits.
fn stop_the_master(stage: &mut Stage, probe: &Probe) -> Result<Gap, DemoError> {
    let [first, second, _] = &HOSTS;
    println!(
        "\n[6/6] Planned handover: SIGTERM to {}. It advertises priority 0 and keeps\n      \
         answering until it hears its successor (make-before-break).",
        first.name
    );
    let mark = probe.mark();
    let stopped = Instant::now();
    stage.lab.signal_daemon(first.name, Signal::SIGTERM)?;
    stage.wait_sole_holder(
        second,
        &format!(
            "{} taking over from the stopping {}",
            second.name, first.name
        ),
    )?;
    let handed_over = stopped.elapsed();
    stage.waits.until(
        &format!("{}'s daemon exiting", first.name),
        stage.master_down(second) + START_SLACK,
        || stage.lab.daemon_exited(first.name).map_err(DemoError::from),
    )?;
    stage.waits.until_served(probe)?;
    let handover = probe.gap_since(mark).ok_or(DemoError::NoReplies {
        during: "the planned handover",
    })?;
    println!(
        "      {} is master {} after the signal (Skew_Time {});\n      \
         client outage {} ({} probes lost); {} exited.",
        second.name,
        millis(handed_over),
        millis(stage.skew(second)),
        millis(handover.outage()),
        handover.lost,
        first.name
    );
    Ok(handover)
}

fn print_summary(figures: &Figures) {
    println!(
        "\nSummary: what the client felt (advert interval {}, one probe every {}).",
        millis(figures.interval.as_duration()),
        millis(PROBE_INTERVAL)
    );
    let rows = [
        (
            "crash (unplanned failover)",
            figures.crash,
            format!(
                "at most Master_Down_Interval, {}",
                millis(figures.crash_bound)
            ),
        ),
        (
            "restart (preemption)",
            figures.preemption,
            "none expected".to_owned(),
        ),
        (
            "SIGTERM (planned handover)",
            figures.handover,
            format!("at most 2 probes, {}", millis(PROBE_INTERVAL * 2)),
        ),
    ];
    println!(
        "      {:<28} {:>10} {:>7}   bound",
        "event", "outage", "lost"
    );
    for (event, gap, bound) in rows {
        println!(
            "      {event:<28} {:>10} {:>7}   {bound}",
            millis(gap.outage()),
            gap.lost
        );
    }
}

/// The configuration of `host`: one VRRPv3 instance on eth0 holding the VIP. The API
/// socket lives in the scratch directory, so the three daemons (which share the root
/// filesystem) never compete for the default path.
fn config_text(host: &DemoHost, advert_interval: &str, directory: &Path) -> String {
    let socket = directory.join(format!("{}.sock", host.name));
    // toml's own quoting, so whatever the user typed stays one string value.
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    format!(
        "# Written by `vrrp-sidecar demo`; deleted when the demo ends.\n\
         [global]\nrouter_id = {router_id}\nlog_level = \"info\"\n\n\
         [api]\nsocket = {socket}\n\n\
         [instances.demo]\ninterface = \"{interface}\"\nvrid = {VRID}\nversion = 3\n\
         priority = {priority}\nadvert_interval = {interval}\n\
         virtual_addresses = [\"{VIP}/24\"]\n",
        router_id = quoted(host.name),
        socket = quoted(&socket.display().to_string()),
        interface = lab::INTERFACE,
        priority = host.priority,
        interval = quoted(advert_interval),
    )
}

/// `host`'s priority as the timer arithmetic takes it.
fn priority_of(host: &DemoHost) -> Priority {
    Priority::new(host.priority).expect("the demo's priorities are constants above 0")
}

/// A random time within one advert interval, so the crash does not always land at the
/// same point of the master's advert cycle (which would always show the same outage).
/// std's `RandomState` is seeded randomly for each process, which is all the randomness
/// this needs.
fn random_phase(interval: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let micros = u64::try_from(interval.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_micros(random % micros)
}

/// A duration in milliseconds, with a decimal below 100 ms where it matters.
fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 100.0 && ms.fract() != 0.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Bounded waits that end early, with [`DemoError::Interrupted`], once Ctrl-C or SIGTERM
/// arrived.
struct Waits {
    interrupted: Arc<AtomicBool>,
}

impl Waits {
    /// Catches SIGINT and SIGTERM from now on: they set a flag that every wait checks, so
    /// the demo unwinds to its clean-up instead of dying with the lab still built.
    fn install() -> Result<Waits, DemoError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(DemoError::Signals)?;
        let (mut interrupt, mut terminate) = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt()).map_err(DemoError::Signals)?,
                signal(SignalKind::terminate()).map_err(DemoError::Signals)?,
            )
        };
        let interrupted = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&interrupted);
        // The handlers stay installed after the first signal, so a second Ctrl-C cannot cut
        // the clean-up short; the thread ends with the process.
        std::thread::spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
            flag.store(true, Ordering::SeqCst);
        });
        Ok(Waits { interrupted })
    }

    fn check(&self) -> Result<(), DemoError> {
        if self.interrupted.load(Ordering::SeqCst) {
            Err(DemoError::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Sleeps for `duration`, in steps of [`POLL`] so an interruption is noticed.
    fn pause(&self, duration: Duration) -> Result<(), DemoError> {
        let deadline = Instant::now() + duration;
        let steps = duration.as_millis() / POLL.as_millis() + 1;
        for _ in 0..steps {
            self.check()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(POLL));
        }
        self.check()
    }

    /// Polls `condition` every [`POLL`] until it holds (returning how long that took) or
    /// `timeout` passes; also stops after `timeout / POLL + 1` tries, so a slow condition
    /// cannot stretch the wait.
    fn until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut() -> Result<bool, DemoError>,
    ) -> Result<Duration, DemoError> {
        let started = Instant::now();
        let tries = timeout.as_millis() / POLL.as_millis() + 1;
        for _ in 0..tries {
            self.check()?;
            if condition()? {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= timeout {
                break;
            }
            std::thread::sleep(POLL);
        }
        Err(DemoError::Timeout {
            what: what.to_owned(),
            waited: started.elapsed(),
        })
    }

    /// Waits until the client gets replies again, so a gap measured next is closed.
    fn until_served(&self, probe: &Probe) -> Result<(), DemoError> {
        self.until("the client's replies resuming", START_SLACK, || {
            Ok(probe
                .since_last_reply()
                .is_some_and(|age| age < RECENT_REPLY))
        })?;
        Ok(())
    }
}
