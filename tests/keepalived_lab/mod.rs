//! Our daemon beside a real keepalived (Debian's 2.2.7) in a namespace lab: two hosts on one
//! bridge (a second LAN for sync groups), keepalived started in the foreground and killed
//! with its whole process tree, and tshark capturing every VRRP frame on the bridge (bare or
//! under AH) for its dissector to judge. Shared by the interoperability tests.
//!
//! Each test binary uses a different part of this module, so unused items are expected.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::daemon_lab::{Daemon, DaemonLab, InstanceSpec, POLL};
use crate::netns::{self, Lab, still_listed, wait_until};

/// The host running our daemon: 192.0.2.1 and 2001:db8::1 on eth0.
pub const OURS: &str = "ours";
/// The host running keepalived: 192.0.2.2 and 2001:db8::2 on eth0.
pub const THEIRS: &str = "theirs";
pub const HOSTS: [&str; 2] = [OURS, THEIRS];
pub const OURS_IPV4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const THEIRS_IPV4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// The tools these tests run besides our binary, each with the Debian package giving it.
pub const TOOLS: [(&str, &str); 2] = [("keepalived", "keepalived"), ("tshark", "tshark")];

/// How long a process may take to start and get its sockets and first timer going on a
/// loaded two-core machine, added to the protocol's own time for a first election.
pub const START_SLACK: Duration = Duration::from_secs(1);
/// How long tshark may take to start capturing, and to write its file once interrupted.
pub const TSHARK_WAIT: Duration = Duration::from_secs(10);
/// The log filter of our daemons: info, plus the router's debug lines, which count the
/// packets of VRIDs not configured here (a wrong VRID is dropped without a warning).
pub const OUR_LOG_FILTER: &str = "info,vrrp_sidecar::router::event_loop=debug";
/// How long a killed or stopped process may take to be gone.
pub const EXIT_WAIT: Duration = Duration::from_secs(5);

/// Fails the test unless it runs as root with keepalived and tshark.
pub fn require_tools(test: &str) {
    netns::require_tools(test, &TOOLS)
}

/// The VRRP timing of one virtual router: the advert interval and both priorities.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub advert_interval: Duration,
    pub master_priority: u8,
    pub backup_priority: u8,
}

impl Timing {
    /// Skew_Time of a router at `priority` (RFC 9568 §6.1; RFC 3768 §6.1 in whole seconds).
    pub fn skew_time(&self, priority: u8) -> Duration {
        self.advert_interval * (256 - u32::from(priority)) / 256
    }

    /// Master_Down_Interval of a router at `priority`: 3 × interval + Skew_Time.
    pub fn master_down_interval(&self, priority: u8) -> Duration {
        self.advert_interval * 3 + self.skew_time(priority)
    }
}

/// What one host runs.
#[derive(Clone, Debug)]
pub enum Router {
    /// Our daemon from a native configuration.
    Ours(InstanceSpec),
    /// Our daemon from a keepalived.conf (`--keepalived-conf`).
    OursFromKeepalivedConf(String),
    /// keepalived with this keepalived.conf.
    Keepalived(String),
}

/// A running router.
pub enum Running {
    Ours(Daemon),
    Keepalived(KeepalivedProcess),
}

/// A keepalived started in the foreground: its parent process and where it logs.
pub struct KeepalivedProcess {
    pub parent: u32,
    pub log: PathBuf,
}

impl KeepalivedProcess {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Running {
    /// The process that signals go to: ours, or keepalived's parent.
    pub fn pid(&self) -> u32 {
        match self {
            Running::Ours(daemon) => daemon.pid,
            Running::Keepalived(keepalived) => keepalived.parent,
        }
    }

    pub fn log_text(&self) -> String {
        match self {
            Running::Ours(daemon) => daemon.log_text(),
            Running::Keepalived(keepalived) => keepalived.log_text(),
        }
    }
}

/// A daemon lab with keepalived processes and a tshark capture in it. Dropping it (also when
/// a test panics) kills every keepalived process tree it started and stops the capture
/// before the lab deletes the namespaces.
pub struct InteropLab {
    /// The test's name, starting each line it prints (tests run in parallel).
    pub test: &'static str,
    pub lab: DaemonLab,
    /// The parent PID of every keepalived started.
    pub keepalived_parents: Mutex<Vec<u32>>,
    pub capture: Option<Capture>,
    /// How many keepalived processes were started so far; numbers their files.
    pub keepalived_starts: AtomicUsize,
}

/// tshark writing the bridge's VRRP frames to `file`.
pub struct Capture {
    pub pid: u32,
    pub file: PathBuf,
}

impl InteropLab {
    /// The two hosts on one bridge, with tshark capturing VRRP on the bridge.
    pub fn new(test: &'static str) -> Self {
        Self::build(test, Lab::builder().host(OURS).host(THEIRS))
    }

    /// The same with a second LAN (`eth1`, 198.51.100.N), for sync groups.
    pub fn with_second_lan(test: &'static str) -> Self {
        Self::build(test, Lab::builder().host(OURS).host(THEIRS).second_lan())
    }

    pub fn build(test: &'static str, builder: netns::LabBuilder) -> Self {
        let lab = DaemonLab::new(builder.build());
        let file = lab.scratch("bridge.pcapng");
        let file_argument = file.display().to_string();
        let pid = lab.lab.spawn(
            &lab.lab.bridge,
            &[
                "tshark",
                "-q",
                "-i",
                "br0",
                "-f",
                // 51: adverts under an IPsec Authentication Header (auth_type AH).
                "ip proto 112 or ip proto 51 or ip6 proto 112",
                "-w",
                &file_argument,
            ],
        );
        let mut interop = InteropLab {
            test,
            lab,
            keepalived_parents: Mutex::new(Vec::new()),
            capture: Some(Capture { pid, file }),
            keepalived_starts: AtomicUsize::new(0),
        };
        // dumpcap writes the file's header once it captures; before that, adverts are lost.
        let capturing = wait_until(TSHARK_WAIT, POLL, || {
            interop
                .capture
                .as_ref()
                .and_then(|capture| std::fs::metadata(&capture.file).ok())
                .is_some_and(|metadata| metadata.len() > 0)
        });
        if !capturing {
            interop.capture = None;
            panic!("tshark did not start capturing on br0 within {TSHARK_WAIT:?}");
        }
        interop
    }

    pub fn start(&self, host: &str, router: &Router) -> Running {
        match router {
            Router::Ours(instance) => Running::Ours(self.lab.start_logging(
                host,
                std::slice::from_ref(instance),
                OUR_LOG_FILTER,
            )),
            Router::OursFromKeepalivedConf(text) => {
                Running::Ours(self.lab.start_keepalived_conf(host, text).0)
            }
            Router::Keepalived(text) => Running::Keepalived(self.start_keepalived(host, text)),
        }
    }

    /// Starts keepalived in the foreground (`-n`), VRRP only (`-P`), logging to its standard
    /// error (`-l`, `-D` for the reasons it drops adverts), with pid files of its own.
    pub fn start_keepalived(&self, host: &str, text: &str) -> KeepalivedProcess {
        self.start_keepalived_with(host, text, &[])
    }

    /// Like [`InteropLab::start_keepalived`], with `arguments` added to the command line
    /// (`-i ID`, say).
    pub fn start_keepalived_with(
        &self,
        host: &str,
        text: &str,
        arguments: &[&str],
    ) -> KeepalivedProcess {
        let start = self.keepalived_starts.fetch_add(1, Ordering::Relaxed);
        let file = |suffix: &str| {
            self.lab
                .scratch(&format!("{host}-{start}.{suffix}"))
                .display()
                .to_string()
        };
        let conf = file("keepalived.conf");
        std::fs::write(&conf, text).unwrap_or_else(|error| panic!("{conf}: {error}"));
        let log = PathBuf::from(file("keepalived.log"));
        let (pid_file, vrrp_pid_file) = (file("pid"), file("vrrp.pid"));
        let mut command = vec![
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            &conf,
            "-p",
            &pid_file,
            "-r",
            &vrrp_pid_file,
        ];
        command.extend_from_slice(arguments);
        let parent = self
            .lab
            .lab
            .spawn_logged(self.lab.ns(host), &command, &[], &log);
        self.keepalived_parents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(parent);
        KeepalivedProcess { parent, log }
    }

    /// Kills a router the way a crash does: SIGKILL for ours; for keepalived, its whole tree
    /// (baseline pitfall 1: a parent killed alone lets the VRRP child stop gracefully, a
    /// child killed alone is respawned).
    pub fn crash(&self, running: &Running) {
        match running {
            Running::Ours(daemon) => {
                self.lab.signal(daemon, Signal::SIGKILL);
                assert!(
                    self.lab.wait_exit(daemon, EXIT_WAIT).is_some(),
                    "ours survived SIGKILL"
                );
            }
            Running::Keepalived(keepalived) => self.kill_keepalived_tree(keepalived.parent),
        }
    }

    /// Stops a router gracefully and waits for it to exit: as master it sends priority 0.
    pub fn stop(&self, running: &Running) {
        self.request_stop(running);
        self.wait_stopped(running);
    }

    /// Sends SIGTERM, which stops both daemons gracefully.
    pub fn request_stop(&self, running: &Running) {
        self.lab.lab.signal(running.pid(), Signal::SIGTERM);
    }

    pub fn wait_stopped(&self, running: &Running) {
        let pid = running.pid();
        assert!(
            self.lab.lab.wait_exit(pid, EXIT_WAIT).is_some(),
            "{pid} did not stop on SIGTERM\n{}",
            running.log_text()
        );
    }

    /// SIGSTOP to the parent so it cannot respawn, SIGKILL to its children, then to it.
    pub fn kill_keepalived_tree(&self, parent: u32) {
        if self.lab.lab.wait_exit(parent, Duration::ZERO).is_some() {
            return;
        }
        self.lab.lab.signal(parent, Signal::SIGSTOP);
        for child in children_of(parent) {
            // The child may have exited since the listing; nothing is left to kill then.
            let _ = kill(pid(child), Signal::SIGKILL);
        }
        self.lab.lab.signal(parent, Signal::SIGKILL);
        assert!(
            self.lab.lab.wait_exit(parent, EXIT_WAIT).is_some(),
            "keepalived {parent} survived SIGKILL"
        );
    }

    /// Stops the capture and returns every VRRP advert in it, as tshark decoded them.
    pub fn adverts(&mut self) -> Vec<DecodedAdvert> {
        let capture = self
            .capture
            .take()
            .expect("the capture runs until read once");
        stop_capture(&self.lab, &capture);
        decode(&capture.file)
    }

    /// Tears everything down; asserts no namespace and no keepalived is left.
    pub fn finish(self) {
        let names = self.lab.lab.namespace_names();
        let parents = self
            .keepalived_parents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        drop(self);
        let left = still_listed(&names);
        assert!(left.is_empty(), "namespaces left behind: {left:?}");
        for parent in parents {
            assert!(
                !Path::new(&format!("/proc/{parent}")).exists() || children_of(parent).is_empty(),
                "keepalived {parent} or its children still run"
            );
        }
    }
}

impl Drop for InteropLab {
    fn drop(&mut self) {
        let parents = self
            .keepalived_parents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for parent in parents {
            self.kill_keepalived_tree(parent);
        }
        if let Some(capture) = self.capture.take() {
            stop_capture(&self.lab, &capture);
        }
    }
}

pub fn pid(number: u32) -> Pid {
    Pid::from_raw(i32::try_from(number).expect("PIDs fit in i32"))
}

/// The PIDs whose parent is `parent`, from `/proc/*/stat`.
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|candidate| {
            let stat =
                std::fs::read_to_string(format!("/proc/{candidate}/stat")).unwrap_or_default();
            // The command name may hold spaces and parentheses; the fields after its last
            // ')' are "state ppid ...".
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}

/// SIGINT lets tshark finish its file; the lab kills it if it does not stop.
pub fn stop_capture(lab: &DaemonLab, capture: &Capture) {
    lab.lab.signal(capture.pid, Signal::SIGINT);
    if lab.lab.wait_exit(capture.pid, TSHARK_WAIT).is_none() {
        eprintln!("tshark did not stop on SIGINT; the lab kills it");
    }
}

/// One advert as tshark's VRRP dissector decoded it.
#[derive(Debug)]
pub struct DecodedAdvert {
    pub source: IpAddr,
    pub hop_limit: u8,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// `vrrp.checksum.status`: 1 Good, 0 Bad, 2 Unverified.
    pub checksum_status: u8,
}

/// The fields asked of tshark, in the order [`decode`] reads them.
pub const FIELDS: [&str; 8] = [
    "ip.src",
    "ipv6.src",
    "ip.ttl",
    "ipv6.hlim",
    "vrrp.version",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.checksum.status",
];

pub fn decode(file: &Path) -> Vec<DecodedAdvert> {
    let mut command = Command::new("tshark");
    command
        .arg("-r")
        .arg(file)
        .args(["-Y", "vrrp", "-T", "fields"]);
    for field in FIELDS {
        command.args(["-e", field]);
    }
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run tshark: {error}"));
    assert!(
        output.status.success(),
        "tshark -r {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), FIELDS.len(), "tshark printed {line:?}");
            let number = |index: usize| -> u8 {
                columns[index].parse().unwrap_or_else(|_| {
                    panic!("{} is {:?} in {line:?}", FIELDS[index], columns[index])
                })
            };
            let (source, hop_limit) = if columns[0].is_empty() {
                (columns[1], 3)
            } else {
                (columns[0], 2)
            };
            DecodedAdvert {
                source: source
                    .parse()
                    .unwrap_or_else(|_| panic!("no source address in {line:?}")),
                hop_limit: number(hop_limit),
                version: number(4),
                vrid: number(5),
                priority: number(6),
                checksum_status: number(7),
            }
        })
        .collect()
}

/// Asserts that both sides sent adverts and that tshark decoded every one of them as a
/// VRRP `version` advert with a good checksum and hop limit 255; prints the counts.
pub fn assert_adverts(
    test: &str,
    adverts: &[DecodedAdvert],
    sources: [(&str, IpAddr); 2],
    version: u8,
) {
    for advert in adverts {
        assert_eq!(advert.checksum_status, 1, "checksum not Good: {advert:?}");
        assert_eq!(advert.hop_limit, 255, "{advert:?}");
        assert_eq!(advert.version, version, "{advert:?}");
        assert!(
            sources.iter().any(|(_, source)| *source == advert.source),
            "an advert from neither side: {advert:?}"
        );
    }
    for (side, source) in sources {
        let count = adverts
            .iter()
            .filter(|advert| advert.source == source)
            .count();
        let priority_zero = adverts
            .iter()
            .filter(|advert| advert.source == source && advert.priority == 0)
            .count();
        println!(
            "{test}: tshark: {side} ({source}): {count} VRRPv{version} adverts ({priority_zero} of \
             priority 0), every checksum Good, hop limit 255"
        );
        assert!(count > 0, "no advert from {side} ({source}) on the wire");
    }
}

/// The host that is not `host`.
pub fn other(host: &str) -> &'static str {
    if host == OURS { THEIRS } else { OURS }
}
