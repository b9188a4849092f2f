//! Accept mode and strict mode in the namespace lab, ours and keepalived 2.2.7 side by side:
//! the same keepalived.conf (only the priority differs between the two roles) on both
//! routers, and a client that pings the VIP, connects to it over TCP and sends it UDP. With
//! `accept` (keepalived's default outside strict mode) the master answers; with `no_accept`,
//! or strict mode's default for a router that does not own the address, it drops everything
//! sent to the VIP while ARP still resolves it. The same reachability must hold whichever
//! implementation is master, in both directions of each pair, over IPv4 and (accept and
//! no_accept) IPv6, where neighbour discovery must still pass; and ours must hold its nftables
//! rules exactly while master: gone when it steps down, at exit, and after a crash at the
//! next start. Ours' API reports the accept and strict modes it runs.
//!
//! Needs root, keepalived, nft and ping: `scripts/test` runs it; without them it fails
//! naming what to install.

mod api_lab;
mod daemon_lab;
mod netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use vrrp_sidecar_client::proto;

use daemon_lab::{Daemon, DaemonLab, MARGIN, POLL, VIP, VIP6};
use netns::{Lab, wait_until};

/// The host running our daemon: 192.0.2.1 on eth0.
const OURS: &str = "ours";
/// The host running keepalived: 192.0.2.2 on eth0.
const THEIRS: &str = "theirs";
/// The host that probes the VIP: 192.0.2.3.
const CLIENT: &str = "client";
const ROUTERS: [&str; 2] = [OURS, THEIRS];

const TOOLS: [(&str, &str); 3] = [
    ("keepalived", "keepalived"),
    ("nft", "nftables"),
    ("ping", "iputils-ping"),
];

/// The port of the TCP listener and of the UDP socket each router opens on every address.
const TCP_PORT: u16 = 8080;
const UDP_PORT: u16 = 8081;

/// Adverts every 100 ms; the priorities of the two roles.
const ADVERT_INTERVAL: Duration = Duration::from_millis(100);
const MASTER_PRIORITY: u8 = 150;
const BACKUP_PRIORITY: u8 = 100;
/// A first election (Master_Down_Interval, 0.36 s at priority 100) plus the time a process
/// takes to start on a loaded two-core machine.
const ELECTION: Duration = Duration::from_secs(3);
/// How long a stopped process may take to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// How long one probe waits for an answer: a TCP connect gets a SYN retransmission in it.
const PROBE_WAIT: Duration = Duration::from_millis(2500);

/// What the keepalived.conf says about accept mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Neither strict mode nor an accept keyword: keepalived's default, accept.
    Default,
    /// `no_accept`.
    NoAccept,
    /// `vrrp_strict`: accept off for a router that does not own the address.
    Strict,
    /// `vrrp_strict` with `accept`, which strict mode allows with VRRPv3.
    StrictAccept,
}

impl Mode {
    /// Whether a master that does not own the VIP answers on it.
    fn reachable(self) -> bool {
        matches!(self, Mode::Default | Mode::StrictAccept)
    }

    /// The keepalived.conf both implementations run, at `priority`, holding `vip`.
    fn conf(self, priority: u8, vip: &str) -> String {
        let strict = if matches!(self, Mode::Strict | Mode::StrictAccept) {
            "    vrrp_strict\n"
        } else {
            ""
        };
        let accept = match self {
            Mode::Default | Mode::Strict => "",
            Mode::NoAccept => "    no_accept\n",
            Mode::StrictAccept => "    accept\n",
        };
        format!(
            "global_defs {{\n    router_id vst_accept\n    vrrp_version 3\n{strict}}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id 51\n    priority {priority}\n    advert_int 0.1\n{accept}    \
             virtual_ipaddress {{\n        {vip}/{prefix}\n    }}\n}}\n",
            prefix = if vip.contains(':') { 64 } else { 24 },
        )
    }
}

/// The lab, the sockets each router listens on, and the keepalived processes to stop.
struct AcceptLab {
    test: &'static str,
    /// The virtual address, IPv4 or IPv6.
    vip: &'static str,
    lab: DaemonLab,
    /// Kept open for the test: a connect to the VIP completes in the listener's backlog.
    _listeners: Vec<TcpListener>,
    /// Per router, the UDP socket probes are sent to.
    udp: Vec<(&'static str, UdpSocket)>,
    keepalived: Vec<u32>,
    keepalived_starts: usize,
}

impl AcceptLab {
    fn new(test: &'static str, vip: &'static str) -> Self {
        netns::require_tools(test, &TOOLS);
        let lab = DaemonLab::new(Lab::builder().host(OURS).host(THEIRS).host(CLIENT).build());
        let mut listeners = Vec::new();
        let mut udp = Vec::new();
        for host in ROUTERS {
            // [::] takes both families (IPV6_V6ONLY is off by default).
            let (listener, socket) = lab.ns(host).enter(|| {
                let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, TCP_PORT));
                let listener = TcpListener::bind(any).expect("a TCP listener in the lab");
                let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, UDP_PORT));
                let socket = UdpSocket::bind(any).expect("a UDP socket in the lab");
                socket
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .expect("a read timeout");
                (listener, socket)
            });
            listeners.push(listener);
            udp.push((host, socket));
        }
        AcceptLab {
            test,
            vip,
            lab,
            _listeners: listeners,
            udp,
            keepalived: Vec::new(),
            keepalived_starts: 0,
        }
    }

    fn start_ours(&self, conf: &str) -> Daemon {
        self.lab.start_keepalived_conf(OURS, conf).0
    }

    /// keepalived in the foreground, VRRP only, logging to a file of its own.
    fn start_keepalived(&mut self, conf: &str) -> u32 {
        self.keepalived_starts += 1;
        let file = |suffix: &str| {
            self.lab
                .scratch(&format!("theirs-{}.{suffix}", self.keepalived_starts))
                .display()
                .to_string()
        };
        let conf_path = file("keepalived.conf");
        std::fs::write(&conf_path, conf).unwrap_or_else(|error| panic!("{conf_path}: {error}"));
        let log = PathBuf::from(file("log"));
        let parent = self.lab.lab.spawn_logged(
            self.lab.ns(THEIRS),
            &[
                "keepalived",
                "-n",
                "-l",
                "-P",
                "-f",
                &conf_path,
                "-p",
                &file("pid"),
                "-r",
                &file("vrrp.pid"),
            ],
            &[],
            &log,
        );
        self.keepalived.push(parent);
        parent
    }

    /// SIGTERM and wait: keepalived's VRRP child stops gracefully and the parent exits.
    fn stop_keepalived(&self, parent: u32) {
        self.lab.lab.signal(parent, Signal::SIGTERM);
        assert!(
            self.lab.lab.wait_exit(parent, EXIT_WAIT).is_some(),
            "keepalived {parent} did not stop on SIGTERM"
        );
    }

    fn stop_ours(&self, daemon: &Daemon) {
        self.lab.signal(daemon, Signal::SIGTERM);
        assert!(
            self.lab.wait_exit(daemon, EXIT_WAIT).is_some(),
            "ours did not stop on SIGTERM\n{}",
            daemon.log_text()
        );
    }

    fn wait_sole_holder(&self, host: &str, what: &str) {
        assert!(
            self.lab
                .wait_sole_holder(&ROUTERS, host, self.vip, ELECTION)
                .is_some(),
            "{}: {host} is not the sole holder of {} within {ELECTION:?} ({what}); holders \
             {:?}",
            self.test,
            self.vip,
            self.lab.holders(&ROUTERS, self.vip)
        );
    }

    fn ipv6(&self) -> bool {
        self.vip.contains(':')
    }

    /// Whether ours has the VIP in its nftables set (the table may not exist at all).
    fn ours_blocks_vip(&self) -> bool {
        let set = if self.ipv6() { "vips6" } else { "vips4" };
        let output = self
            .lab
            .ns(OURS)
            .run(&["nft", "list", "set", "inet", "vrrp_sidecar", set]);
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains(self.vip)
    }

    /// What ours' API says of its instance: `(accept_mode, strict_mode)`.
    fn ours_api_modes(&self) -> (bool, bool) {
        let runtime = api_lab::runtime();
        let socket = self.lab.api_socket(OURS);
        let instances = runtime.block_on(async {
            let mut client = api_lab::connect(&socket).await;
            client
                .list_instances(proto::ListInstancesRequest {})
                .await
                .expect("ListInstances")
                .into_inner()
                .instances
        });
        let [instance] = instances.as_slice() else {
            panic!("{}: one instance expected: {instances:#?}", self.test);
        };
        (instance.accept_mode, instance.strict_mode)
    }

    /// Whether ours' table exists in its namespace.
    fn ours_table_exists(&self) -> bool {
        let output = self.lab.ns(OURS).run(&["nft", "list", "tables"]);
        String::from_utf8_lossy(&output.stdout).contains("vrrp_sidecar")
    }

    /// Whether keepalived has the VIP in its own nftables table (`ip keepalived` or
    /// `ip6 keepalived`).
    fn keepalived_blocks_vip(&self) -> bool {
        let family = if self.ipv6() { "ip6" } else { "ip" };
        let output = self
            .lab
            .ns(THEIRS)
            .run(&["nft", "list", "table", family, "keepalived"]);
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains(self.vip)
    }

    /// Pings, connects and sends to the VIP from the client, with `master` holding it;
    /// asserts that all three get through exactly when `reachable`, and that ARP resolves
    /// the VIP to the master's MAC in any case.
    fn assert_reachability(&self, master: &str, reachable: bool, when: &str) {
        let vip = self.vip;
        let master_mac = self.lab.ns(master).mac("eth0");
        let resolved = wait_until(Duration::from_secs(2), POLL, || {
            self.lab.resolve(CLIENT, vip) == master_mac
        });
        assert!(
            resolved,
            "{}: {when}: the client does not resolve {vip} to {master}'s MAC",
            self.test
        );
        let ping = self
            .lab
            .ns(CLIENT)
            .run(&["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", vip]);
        let target: IpAddr = vip.parse().expect("a test address");
        let tcp = self.lab.ns(CLIENT).enter(move || {
            TcpStream::connect_timeout(&SocketAddr::from((target, TCP_PORT)), PROBE_WAIT).is_ok()
        });
        let udp = self.udp_reaches(master);
        let seen = (ping.status.success(), tcp, udp);
        println!(
            "{}: {when}: {master} master: ping {}, tcp {}, udp {}",
            self.test, seen.0, seen.1, seen.2
        );
        assert_eq!(
            seen,
            (reachable, reachable, reachable),
            "{}: {when}: (ping, tcp, udp) with {master} master",
            self.test
        );
    }

    /// Sends three datagrams with a token to the VIP from the client and reads `master`'s
    /// socket for up to [`PROBE_WAIT`].
    fn udp_reaches(&self, master: &str) -> bool {
        let (_, socket) = self
            .udp
            .iter()
            .find(|(host, _)| *host == master)
            .expect("a socket per router");
        let mut buffer = [0u8; 64];
        // Whatever an earlier probe left.
        for _ in 0..16 {
            if socket.recv_from(&mut buffer).is_err() {
                break;
            }
        }
        let token = format!("probe-{}", std::process::id());
        let sent = token.clone();
        let target: IpAddr = self.vip.parse().expect("a test address");
        self.lab.ns(CLIENT).enter(move || {
            let any: IpAddr = match target {
                IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
                IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
            };
            let socket = UdpSocket::bind((any, 0)).expect("a UDP socket");
            for _ in 0..3 {
                // A send can fail while the client has no neighbour entry yet; the next may not.
                let _ = socket.send_to(sent.as_bytes(), (target, UDP_PORT));
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let tries = PROBE_WAIT.as_millis() / 100;
        for _ in 0..tries {
            if let Ok((length, _)) = socket.recv_from(&mut buffer)
                && &buffer[..length] == token.as_bytes()
            {
                return true;
            }
        }
        false
    }

    /// Stops what still runs and checks no namespace is left.
    fn finish(self) {
        for &parent in &self.keepalived {
            self.stop_keepalived_if_running(parent);
        }
        let names = self.lab.lab.namespace_names();
        drop(self);
        let left = netns::still_listed(&names);
        assert!(left.is_empty(), "namespaces left behind: {left:?}");
    }

    fn stop_keepalived_if_running(&self, parent: u32) {
        if self.lab.lab.wait_exit(parent, Duration::ZERO).is_none() {
            self.stop_keepalived(parent);
        }
    }
}

impl Drop for AcceptLab {
    /// On a failed test, keepalived's whole tree goes: the lab kills only the parent, whose
    /// VRRP child would otherwise live on in a deleted namespace.
    fn drop(&mut self) {
        for &parent in &self.keepalived {
            if self.lab.lab.wait_exit(parent, Duration::ZERO).is_some() {
                continue;
            }
            let target = Pid::from_raw(i32::try_from(parent).expect("PIDs fit in i32"));
            let _ = kill(target, Signal::SIGTERM);
            if self.lab.lab.wait_exit(parent, EXIT_WAIT).is_none() {
                let _ = kill(target, Signal::SIGKILL);
            }
        }
    }
}

/// Ours master, keepalived backup; then ours stops and keepalived takes over. The same
/// reachability both times; ours' rules are in while it is master and gone when it exits.
fn ours_master_first(test: &'static str, mode: Mode, vip: &'static str) {
    let mut lab = AcceptLab::new(test, vip);
    let ours = lab.start_ours(&mode.conf(MASTER_PRIORITY, vip));
    lab.wait_sole_holder(OURS, "ours started first");
    let theirs = lab.start_keepalived(&mode.conf(BACKUP_PRIORITY, vip));
    std::thread::sleep(ADVERT_INTERVAL * 4 + MARGIN);
    lab.wait_sole_holder(OURS, "keepalived started as backup");
    assert_eq!(
        lab.ours_blocks_vip(),
        !mode.reachable(),
        "{test}: ours as master: nftables set\n{}",
        ours.log_text()
    );
    lab.assert_reachability(OURS, mode.reachable(), "ours master");
    assert_eq!(
        lab.ours_api_modes(),
        (
            mode.reachable(),
            matches!(mode, Mode::Strict | Mode::StrictAccept)
        ),
        "{test}: (accept_mode, strict_mode) over the API"
    );

    lab.stop_ours(&ours);
    lab.wait_sole_holder(THEIRS, "ours stopped");
    assert!(
        !lab.ours_table_exists(),
        "{test}: ours left its nftables table at exit\n{}",
        ours.log_text()
    );
    assert_eq!(lab.keepalived_blocks_vip(), !mode.reachable(), "{test}");
    lab.assert_reachability(
        THEIRS,
        mode.reachable(),
        "keepalived master after ours stopped",
    );
    lab.stop_keepalived(theirs);
    lab.finish();
}

/// keepalived master, ours backup; keepalived stops and ours takes over; keepalived comes
/// back and preempts, so ours leaves mastership while it runs; then ours stops. The same
/// reachability throughout; ours' rules follow its mastership and are gone at exit.
fn keepalived_master_first(test: &'static str, mode: Mode, vip: &'static str) {
    let mut lab = AcceptLab::new(test, vip);
    let first = lab.start_keepalived(&mode.conf(MASTER_PRIORITY, vip));
    lab.wait_sole_holder(THEIRS, "keepalived started first");
    let ours = lab.start_ours(&mode.conf(BACKUP_PRIORITY, vip));
    std::thread::sleep(ADVERT_INTERVAL * 4 + MARGIN);
    lab.wait_sole_holder(THEIRS, "ours started as backup");
    assert!(!lab.ours_blocks_vip(), "{test}: ours blocks as backup");
    assert_eq!(lab.keepalived_blocks_vip(), !mode.reachable(), "{test}");
    lab.assert_reachability(THEIRS, mode.reachable(), "keepalived master");

    lab.stop_keepalived(first);
    lab.wait_sole_holder(OURS, "keepalived stopped");
    assert_eq!(
        lab.ours_blocks_vip(),
        !mode.reachable(),
        "{test}: ours took over: nftables set\n{}",
        ours.log_text()
    );
    lab.assert_reachability(
        OURS,
        mode.reachable(),
        "ours master after keepalived stopped",
    );

    let second = lab.start_keepalived(&mode.conf(MASTER_PRIORITY, vip));
    lab.wait_sole_holder(THEIRS, "keepalived restarted and preempted");
    // The removal is queued behind the VIP's: give the worker a moment.
    let released = wait_until(Duration::from_secs(2), POLL, || !lab.ours_blocks_vip());
    assert!(
        released,
        "{test}: ours still blocks the VIP after leaving mastership\n{}",
        ours.log_text()
    );
    lab.assert_reachability(THEIRS, mode.reachable(), "keepalived master again");
    lab.stop_ours(&ours);
    assert!(
        !lab.ours_table_exists(),
        "{test}: ours left its nftables table at exit\n{}",
        ours.log_text()
    );
    lab.stop_keepalived(second);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn default_accept_ours_master_keepalived_backup() {
    ours_master_first("default_accept_ours_master", Mode::Default, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn default_accept_keepalived_master_ours_backup() {
    keepalived_master_first("default_accept_keepalived_master", Mode::Default, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn no_accept_ours_master_keepalived_backup() {
    ours_master_first("no_accept_ours_master", Mode::NoAccept, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn no_accept_keepalived_master_ours_backup() {
    keepalived_master_first("no_accept_keepalived_master", Mode::NoAccept, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn strict_ours_master_keepalived_backup() {
    ours_master_first("strict_ours_master", Mode::Strict, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn strict_keepalived_master_ours_backup() {
    keepalived_master_first("strict_keepalived_master", Mode::Strict, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn strict_accept_ours_master_keepalived_backup() {
    ours_master_first("strict_accept_ours_master", Mode::StrictAccept, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn strict_accept_keepalived_master_ours_backup() {
    keepalived_master_first("strict_accept_keepalived_master", Mode::StrictAccept, VIP);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn ipv6_default_accept_ours_master_keepalived_backup() {
    ours_master_first("ipv6_default_accept_ours_master", Mode::Default, VIP6);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn ipv6_no_accept_ours_master_keepalived_backup() {
    ours_master_first("ipv6_no_accept_ours_master", Mode::NoAccept, VIP6);
}

#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn ipv6_no_accept_keepalived_master_ours_backup() {
    keepalived_master_first("ipv6_no_accept_keepalived_master", Mode::NoAccept, VIP6);
}

/// A run killed while master leaves its rules behind (nothing can remove them); the next
/// start deletes them before any instance runs, even when it no longer needs any.
#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn rules_left_by_a_killed_run_are_removed_at_the_next_start() {
    let test = "rules_left_by_a_killed_run";
    let lab = AcceptLab::new(test, VIP);
    let killed = lab.start_ours(&Mode::NoAccept.conf(MASTER_PRIORITY, VIP));
    lab.wait_sole_holder(OURS, "ours alone");
    assert!(
        wait_until(Duration::from_secs(2), POLL, || lab.ours_blocks_vip()),
        "{test}: no rule while master\n{}",
        killed.log_text()
    );
    lab.lab.signal(&killed, Signal::SIGKILL);
    assert!(lab.lab.wait_exit(&killed, EXIT_WAIT).is_some());
    assert!(lab.ours_blocks_vip(), "{test}: SIGKILL cannot remove rules");

    let restarted = lab.start_ours(&Mode::Default.conf(MASTER_PRIORITY, VIP));
    // The killed run's VIP outlives it for its lifetime, so holding it says nothing: the
    // "running" line comes after the clean-up (the second in the log both runs share).
    assert!(
        wait_until(ELECTION, POLL, || restarted.logged("running").len() >= 2),
        "{test}: the restarted daemon is not running
{}",
        restarted.log_text()
    );
    lab.wait_sole_holder(OURS, "ours restarted with accept");
    assert!(
        !lab.ours_table_exists(),
        "{test}: the killed run's table is still there\n{}",
        restarted.log_text()
    );
    lab.assert_reachability(OURS, true, "restarted with accept");
    lab.stop_ours(&restarted);
    lab.finish();
}
