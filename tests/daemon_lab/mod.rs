//! The real `vrrp-sidecar` binary in a namespace lab: configs written per host, daemons
//! started with JSON logs, and questions asked of the kernel (who holds a VIP, what a
//! client's neighbour entry says).
//!
//! Each test binary uses a different part of this module, so unused items are expected.
#![allow(dead_code)]

pub mod announcements;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::netns::{Lab, Netns, still_listed, wait_until};

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_vrrp-sidecar");

/// The VIP most tests move around.
pub const VIP: &str = "192.0.2.100";
/// The IPv6 VIP.
pub const VIP6: &str = "2001:db8::100";

/// Master_Down_Interval of a VRRPv3 backup at priority `priority` with 100 ms adverts
/// (RFC 9568 §6.1: 3 × interval + Skew_Time, Skew_Time = (256 − priority) × interval / 256).
pub fn master_down_interval_100ms(priority: u32) -> Duration {
    Duration::from_micros(300_000 + u64::from(256 - priority) * 100_000 / 256)
}

/// Skew_Time at `priority` with 100 ms adverts.
pub fn skew_time_100ms(priority: u32) -> Duration {
    Duration::from_micros(u64::from(256 - priority) * 100_000 / 256)
}

/// Slack for process start-up, scheduling on a loaded two-core machine and the 10 ms
/// polling of `ip`, added to every protocol bound a test asserts.
pub const MARGIN: Duration = Duration::from_millis(500);

/// Time for a first election: a Master_Down_Interval after start, with room to spare.
pub const ELECTION: Duration = Duration::from_secs(3);

/// Where the seed's keepalived configurations are kept verbatim.
const SEED_DIRECTORY: &str = "tests/fixtures/keepalived-conf";

/// The seed keepalived.conf `name` (`seed-master.conf` or `seed-backup.conf`) with only its
/// addresses moved into the lab: the VIP becomes [`VIP`], the master's and the backup's
/// `mcast_src_ip` become `master` and `backup`, the SMTP server a documentation address.
/// Its interface is already the lab's `eth0`.
pub fn seed_in_lab(name: &str, master: Ipv4Addr, backup: Ipv4Addr) -> String {
    let path = PathBuf::from(SEED_DIRECTORY).join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .replace("172.16.1.101", VIP)
        .replace("172.16.1.102", &master.to_string())
        .replace("172.16.1.103", &backup.to_string())
        .replace("172.16.1.100", "192.0.2.254")
}

/// Three 100 ms advert intervals: long enough for a new backup to have heard the master.
const ADVERTS_HEARD: Duration = Duration::from_millis(300);

/// The discard port (RFC 863), where a datagram that only has to leave is sent.
const DISCARD_PORT: u16 = 9;

/// How often the kernel's state is polled.
pub const POLL: Duration = Duration::from_millis(10);

static NEXT_DIRECTORY: AtomicUsize = AtomicUsize::new(0);

/// One instance in a host's configuration.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// Its name (a TOML key).
    pub name: &'static str,
    /// Its VRID.
    pub vrid: u8,
    /// Its priority.
    pub priority: u8,
    /// Its advertisement interval, as the config writes it.
    pub advert_interval: &'static str,
    /// Its virtual addresses, with prefix length.
    pub addresses: Vec<String>,
    /// More `key = value` lines for the instance table.
    pub extra: Vec<String>,
}

impl InstanceSpec {
    /// A VRRPv3 instance on eth0 with 100 ms adverts holding `VIP/24`.
    pub fn v3(priority: u8) -> Self {
        InstanceSpec {
            name: "vi",
            vrid: 51,
            priority,
            advert_interval: "100ms",
            addresses: vec![format!("{VIP}/24")],
            extra: Vec::new(),
        }
    }

    /// The same instance holding `address` instead.
    pub fn holding(mut self, address: &str) -> Self {
        self.addresses = vec![address.to_owned()];
        self
    }

    /// Adds a `key = value` line.
    pub fn with(mut self, line: &str) -> Self {
        self.extra.push(line.to_owned());
        self
    }

    fn toml(&self) -> String {
        let addresses: Vec<String> = self
            .addresses
            .iter()
            .map(|address| format!("\"{address}\""))
            .collect();
        let mut text = format!(
            "[instances.{}]\ninterface = \"eth0\"\nvrid = {}\npriority = {}\n\
             advert_interval = \"{}\"\nvirtual_addresses = [{}]\n",
            self.name,
            self.vrid,
            self.priority,
            self.advert_interval,
            addresses.join(", ")
        );
        for line in &self.extra {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// A whole configuration file of `instances`, logging at info.
pub fn config_text(instances: &[InstanceSpec]) -> String {
    let mut text = String::from("[global]\nlog_level = \"info\"\n\n");
    for instance in instances {
        text.push_str(&instance.toml());
        text.push('\n');
    }
    text
}

/// A lab plus a scratch directory for configs and logs, removed with it.
pub struct DaemonLab {
    /// The namespaces; dropped first, which kills the daemons.
    pub lab: Lab,
    directory: PathBuf,
}

/// A daemon this lab started.
#[derive(Clone, Debug)]
pub struct Daemon {
    /// Its PID.
    pub pid: u32,
    /// Its log file (JSON lines).
    pub log: PathBuf,
}

impl DaemonLab {
    /// Wraps `lab` with a fresh scratch directory.
    pub fn new(lab: Lab) -> Self {
        let directory = std::env::temp_dir().join(format!(
            "vst-daemon-{}-{}",
            std::process::id(),
            NEXT_DIRECTORY.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&directory)
            .unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
        DaemonLab { lab, directory }
    }

    /// The namespace of `host`.
    pub fn ns(&self, host: &str) -> &Netns {
        &self.lab.host(host).ns
    }

    /// A path in the lab's scratch directory, removed with the lab.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.directory.join(name)
    }

    /// A FIFO named `name` in the scratch directory, already open for reading without
    /// blocking, so every line a daemon writes to it waits there until the test reads it.
    pub fn notify_fifo(&self, name: &str) -> (PathBuf, std::fs::File) {
        use std::os::unix::fs::OpenOptionsExt;
        let fifo = self.scratch(name);
        let created = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(created.success(), "mkfifo {}", fifo.display());
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap_or_else(|error| panic!("{}: {error}", fifo.display()));
        (fifo, reader)
    }

    /// An executable shell script `name` in the scratch directory that appends `words` and
    /// its arguments as one line to `record`; returns its path.
    pub fn recording_program(&self, name: &str, record: &Path, words: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.scratch(name);
        let text = format!("#!/bin/sh\necho \"{words}$*\" >> '{}'\n", record.display());
        std::fs::write(&path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        path
    }

    /// Writes `text` as `host`'s configuration and returns its path.
    pub fn write_config(&self, host: &str, text: &str) -> PathBuf {
        let path = self.directory.join(format!("{host}.toml"));
        std::fs::write(&path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        path
    }

    /// The API socket of the daemon on `host`. Namespaces share the file system, so each
    /// host gets its own socket in the lab's directory instead of the default path.
    pub fn api_socket(&self, host: &str) -> PathBuf {
        self.directory.join(format!("{host}.sock"))
    }

    /// Starts the daemon on `host` with `instances`, logging JSON at info.
    pub fn start(&self, host: &str, instances: &[InstanceSpec]) -> Daemon {
        self.start_logging(host, instances, "info")
    }

    /// Starts the daemon on `host` with `instances`, logging JSON as the `RUST_LOG` filter
    /// `filter` says (a test that counts every refused packet needs the debug lines).
    pub fn start_logging(&self, host: &str, instances: &[InstanceSpec], filter: &str) -> Daemon {
        let config = self.write_config(host, &config_text(instances));
        self.spawn_daemon(
            host,
            "--config",
            &config,
            filter,
            &self.api_socket(host),
            &[],
        )
    }

    /// Starts the daemon on `host` with `instances`, its API on `socket`.
    pub fn start_on_socket(&self, host: &str, instances: &[InstanceSpec], socket: &Path) -> Daemon {
        self.start_with_config(host, &config_text(instances), socket)
    }

    /// Starts the daemon on `host` with the configuration `text`, its API on `socket`.
    pub fn start_with_config(&self, host: &str, text: &str, socket: &Path) -> Daemon {
        self.start_with_environment(host, text, socket, &[])
    }

    /// Like [`DaemonLab::start_with_config`], with more environment variables (the
    /// `OTEL_*` ones of the telemetry tests).
    pub fn start_with_environment(
        &self,
        host: &str,
        text: &str,
        socket: &Path,
        environment: &[(&str, &str)],
    ) -> Daemon {
        let config = self.write_config(host, text);
        self.spawn_daemon(host, "--config", &config, "info", socket, environment)
    }

    /// Starts the daemon on `host` with `instances` and `environment` added to its own (a
    /// service manager's variables, say), logging JSON at info.
    pub fn start_instances_with_environment(
        &self,
        host: &str,
        instances: &[InstanceSpec],
        environment: &[(&str, &str)],
    ) -> Daemon {
        let config = self.write_config(host, &config_text(instances));
        self.spawn_daemon_with(
            host,
            "--config",
            &config,
            &self.api_socket(host),
            &[&[("RUST_LOG", "info")], environment].concat(),
        )
    }

    /// Writes `text` as `host`'s keepalived.conf and starts the daemon on `host` from it
    /// (`--keepalived-conf`), logging JSON at info; returns it with the file's path.
    pub fn start_keepalived_conf(&self, host: &str, text: &str) -> (Daemon, PathBuf) {
        self.start_keepalived_conf_with(host, text, &[])
    }

    /// Like [`DaemonLab::start_keepalived_conf`], with `arguments` added to the command line
    /// (`--config-id ID`, say).
    pub fn start_keepalived_conf_with(
        &self,
        host: &str,
        text: &str,
        arguments: &[&str],
    ) -> (Daemon, PathBuf) {
        let path = self.directory.join(format!("{host}.keepalived.conf"));
        std::fs::write(&path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let log = self.directory.join(format!("{host}.log"));
        let config_argument = path.display().to_string();
        let socket_argument = self.api_socket(host).display().to_string();
        let mut command = vec![
            BINARY,
            "--keepalived-conf",
            &config_argument,
            "--log-format",
            "json",
            "--api-socket",
            &socket_argument,
        ];
        command.extend_from_slice(arguments);
        let pid = self
            .lab
            .spawn_logged(self.ns(host), &command, &[("RUST_LOG", "info")], &log);
        (Daemon { pid, log }, path)
    }

    fn spawn_daemon(
        &self,
        host: &str,
        config_option: &str,
        config: &Path,
        filter: &str,
        socket: &Path,
        extra_environment: &[(&str, &str)],
    ) -> Daemon {
        // Whatever the calling environment says, the tests choose the lines they read.
        let environment = [&[("RUST_LOG", filter)], extra_environment].concat();
        self.spawn_daemon_with(host, config_option, config, socket, &environment)
    }

    fn spawn_daemon_with(
        &self,
        host: &str,
        config_option: &str,
        config: &Path,
        socket: &Path,
        environment: &[(&str, &str)],
    ) -> Daemon {
        let log = self.directory.join(format!("{host}.log"));
        let config_argument = config.display().to_string();
        let socket_argument = socket.display().to_string();
        let pid = self.lab.spawn_logged(
            self.ns(host),
            &[
                BINARY,
                config_option,
                &config_argument,
                "--log-format",
                "json",
                "--api-socket",
                &socket_argument,
            ],
            environment,
            &log,
        );
        Daemon { pid, log }
    }

    /// Starts `master` on `master_host` and waits until it holds its first address, then
    /// starts `backup` on `backup_host` and waits until it is backup and has heard a few of
    /// the master's adverts. Starting them one after the other removes the race of a
    /// simultaneous start, where a master whose process happened to start a few tens of
    /// milliseconds late is first preempted by the other's timer and then takes over.
    pub fn start_pair(
        &self,
        master_host: &str,
        master: InstanceSpec,
        backup_host: &str,
        backup: InstanceSpec,
    ) -> (Daemon, Daemon) {
        let address = master.addresses[0]
            .split('/')
            .next()
            .expect("split yields at least one piece")
            .to_owned();
        let master_daemon = self.start(master_host, &[master]);
        assert!(
            self.wait_holding(master_host, &address, true, ELECTION)
                .is_some(),
            "{master_host} never became master\n{}",
            master_daemon.log_text()
        );
        let backup_daemon = self.start(backup_host, &[backup]);
        assert!(
            backup_daemon.wait_state_count("BACKUP", 1, ELECTION),
            "{backup_host} never started\n{}",
            backup_daemon.log_text()
        );
        std::thread::sleep(ADVERTS_HEARD);
        (master_daemon, backup_daemon)
    }

    /// Sends `signal` to `daemon`.
    pub fn signal(&self, daemon: &Daemon, signal: Signal) {
        self.lab.signal(daemon.pid, signal);
    }

    /// Waits for `daemon` to exit.
    pub fn wait_exit(&self, daemon: &Daemon, timeout: Duration) -> Option<ExitStatus> {
        self.lab.wait_exit(daemon.pid, timeout)
    }

    /// Whether `host` holds `address` on eth0.
    pub fn holds(&self, host: &str, address: &str) -> bool {
        self.ns(host)
            .addresses("eth0")
            .iter()
            .any(|entry| entry["local"].as_str() == Some(address))
    }

    /// The `ip -j addr` entry of `address` on `host`'s eth0.
    pub fn address_entry(&self, host: &str, address: &str) -> Option<serde_json::Value> {
        self.ns(host)
            .addresses("eth0")
            .into_iter()
            .find(|entry| entry["local"].as_str() == Some(address))
    }

    /// Which of `hosts` hold `address`.
    pub fn holders(&self, hosts: &[&str], address: &str) -> Vec<String> {
        hosts
            .iter()
            .filter(|host| self.holds(host, address))
            .map(|host| (*host).to_owned())
            .collect()
    }

    /// Waits until `host` alone among `hosts` holds `address`; returns how long it took.
    pub fn wait_sole_holder(
        &self,
        hosts: &[&str],
        host: &str,
        address: &str,
        timeout: Duration,
    ) -> Option<Duration> {
        let started = Instant::now();
        wait_until(timeout, POLL, || {
            self.holders(hosts, address) == [host.to_owned()]
        })
        .then(|| started.elapsed())
    }

    /// Waits until `host` holds (`true`) or does not hold (`false`) `address`; returns how
    /// long it took.
    pub fn wait_holding(
        &self,
        host: &str,
        address: &str,
        holding: bool,
        timeout: Duration,
    ) -> Option<Duration> {
        let started = Instant::now();
        wait_until(timeout, POLL, || self.holds(host, address) == holding)
            .then(|| started.elapsed())
    }

    /// The MAC `client` has for `address` on its eth0, if it has an entry.
    pub fn neighbour_mac(&self, client: &str, address: &str) -> Option<[u8; 6]> {
        let entries = self
            .ns(client)
            .ip_json(&["neigh", "show", address, "dev", "eth0"]);
        let text = entries.as_array()?.first()?["lladdr"].as_str()?.to_owned();
        Some(crate::netns::parse_mac(&text))
    }

    /// Makes `client` resolve `address` (ARP or neighbour discovery) by sending it one UDP
    /// datagram, so it has a neighbour entry that an announcement must then move; returns
    /// the MAC it learned. UDP rather than ping keeps the tests to iproute2 alone.
    pub fn resolve(&self, client: &str, address: &str) -> [u8; 6] {
        let target: IpAddr = address.parse().expect("a test address");
        self.ns(client).enter(move || {
            let unspecified: IpAddr = match target {
                IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
                IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
            };
            let socket = UdpSocket::bind((unspecified, 0)).expect("a UDP socket");
            // Port 9 is the discard service; nothing needs to listen, the kernel only has
            // to resolve the address to send.
            socket
                .send_to(b"resolve", (target, DISCARD_PORT))
                .expect("send to the VIP");
        });
        let mut learned = None;
        wait_until(Duration::from_secs(2), POLL, || {
            learned = self.neighbour_mac(client, address);
            learned.is_some()
        });
        learned.unwrap_or_else(|| panic!("{client} did not resolve {address}"))
    }

    /// Tears everything down and checks no namespace is left.
    pub fn finish(self) {
        let names = self.lab.namespace_names();
        drop(self);
        let left = still_listed(&names);
        assert!(left.is_empty(), "namespaces left behind: {left:?}");
    }
}

impl Drop for DaemonLab {
    fn drop(&mut self) {
        // The lab field drops after this, killing the daemons and deleting the namespaces.
        // A failing test keeps its configs and logs, which are what explain the failure.
        if std::thread::panicking() {
            eprintln!(
                "daemon configs and logs kept in {}",
                self.directory.display()
            );
            return;
        }
        if let Err(error) = std::fs::remove_dir_all(&self.directory) {
            eprintln!("could not remove {}: {error}", self.directory.display());
        }
    }
}

impl Daemon {
    /// Every JSON log line so far.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The log lines whose message is `message`.
    pub fn logged(&self, message: &str) -> Vec<serde_json::Value> {
        self.log_lines()
            .into_iter()
            .filter(|line| line["message"].as_str() == Some(message))
            .collect()
    }

    /// The `to` state of every "state changed" line so far, in order.
    pub fn states(&self) -> Vec<String> {
        self.logged("state changed")
            .iter()
            .filter_map(|line| line["to"].as_str().map(str::to_owned))
            .collect()
    }

    /// Waits until the daemon logged entering `state` at least `count` times.
    pub fn wait_state_count(&self, state: &str, count: usize, timeout: Duration) -> bool {
        wait_until(timeout, POLL, || {
            self.states().iter().filter(|to| *to == state).count() >= count
        })
    }

    /// The whole log, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// The EtherType of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// Every EtherType, for a capture of ARP and IP together.
pub const ETH_P_ALL: u16 = 0x0003;

/// A frame seen on the wire and when.
pub struct SeenFrame {
    /// When the capture read it.
    pub at: Instant,
    /// The whole Ethernet frame.
    pub bytes: Vec<u8>,
}

impl SeenFrame {
    /// The Ethernet source address.
    pub fn source_mac(&self) -> [u8; 6] {
        let mut mac = [0; 6];
        mac.copy_from_slice(&self.bytes[6..12]);
        mac
    }
}

/// Captures, from inside `ns`, the frames of `ethertype` that `keep` accepts, with an
/// AF_PACKET socket: until `after_first` has passed since the first kept frame, or until
/// `at_most` has passed if none comes. Each frame is stamped with the kernel's receive time
/// (SO_TIMESTAMPNS), so a capture thread that a loaded machine runs late does not shift it.
pub fn capture(
    ns: &Netns,
    ethertype: u16,
    keep: impl Fn(&[u8]) -> bool + Send + 'static,
    after_first: Duration,
    at_most: Duration,
) -> std::thread::JoinHandle<Vec<SeenFrame>> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
    use std::os::fd::AsRawFd;
    ns.spawn_inside(move || {
        let protocol = socket2::Protocol::from(i32::from(ethertype.to_be()));
        let socket =
            socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, Some(protocol))
                .expect("AF_PACKET socket");
        socket.set_read_timeout(Some(POLL)).expect("a read timeout");
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).expect("SO_TIMESTAMPNS");
        let mut seen: Vec<SeenFrame> = Vec::new();
        let mut frame = [0u8; 1514];
        let mut control = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let mut deadline = Instant::now() + at_most;
        while Instant::now() < deadline {
            let mut iov = [std::io::IoSliceMut::new(&mut frame)];
            let Ok(message) = recvmsg::<()>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::empty(),
            ) else {
                continue;
            };
            let stamp = message.cmsgs().ok().and_then(|mut messages| {
                messages.find_map(|message| match message {
                    ControlMessageOwned::ScmTimestampns(stamp) => Some(Duration::from(stamp)),
                    _ => None,
                })
            });
            let length = message.bytes;
            if !keep(&frame[..length]) {
                continue;
            }
            // The stamp is wall-clock time: carried over to the monotonic clock by how long
            // ago it was.
            let now = Instant::now();
            let ago = stamp
                .and_then(|stamp| {
                    let wall = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?;
                    wall.checked_sub(stamp)
                })
                .unwrap_or_default();
            let at = now.checked_sub(ago).unwrap_or(now);
            if seen.is_empty() {
                deadline = now + after_first;
            }
            seen.push(SeenFrame {
                at,
                bytes: frame[..length].to_vec(),
            });
        }
        seen
    })
}

/// The MAC of `host`'s eth0.
pub fn mac_of(lab: &DaemonLab, host: &str) -> [u8; 6] {
    lab.ns(host).mac("eth0")
}

/// A client pinging an IPv4 address from inside a namespace every `every`, recording when
/// each request left and when its reply came, until it is stopped or dropped: what an
/// application on that client feels.
///
/// An outage is counted from the first request that got no reply until the reply to the
/// next one that did: time when the probe thread itself was not running (a loaded machine
/// starving it) sent no request, so it is not mistaken for the VIP not answering.
pub struct Probe {
    pings: Arc<Mutex<Pings>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Every request sent so far, by index (carried in the echo's payload), and its reply.
#[derive(Default)]
struct Pings {
    sent: Vec<Instant>,
    replied: Vec<Option<Instant>>,
}

impl Probe {
    /// Starts pinging `address` from `ns` every `every`.
    pub fn start(ns: &Netns, address: Ipv4Addr, every: Duration) -> Probe {
        let pings = Arc::new(Mutex::new(Pings::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let pings = Arc::clone(&pings);
            let stop = Arc::clone(&stop);
            ns.spawn_inside(move || ping(address, every, &pings, &stop))
        };
        Probe {
            pings,
            stop,
            thread: Some(thread),
        }
    }

    fn pings(&self) -> std::sync::MutexGuard<'_, Pings> {
        self.pings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a reply comes after `after`; whether one did within `timeout`.
    pub fn wait_reply_after(&self, after: Instant, timeout: Duration) -> bool {
        wait_until(timeout, Duration::from_millis(5), || {
            self.pings()
                .replied
                .iter()
                .rev()
                .flatten()
                .any(|at| *at > after)
        })
    }

    /// The outages that touch `from..to`, as (first unanswered request sent, next reply):
    /// one still running ends now.
    fn outages(&self, from: Instant, to: Instant) -> Vec<(Instant, Instant)> {
        let pings = self.pings();
        let mut outages = Vec::new();
        let mut began: Option<Instant> = None;
        for (sent, replied) in pings.sent.iter().zip(&pings.replied) {
            match (replied, began) {
                (None, None) => began = Some(*sent),
                (Some(reply), Some(start)) => {
                    if *reply >= from && start <= to {
                        outages.push((start, *reply));
                    }
                    began = None;
                }
                _ => {}
            }
        }
        if let Some(start) = began
            && start <= to
        {
            outages.push((start, Instant::now()));
        }
        outages
    }

    /// The longest outage over `from..to`, counted whole when it began before the window or
    /// outlasts it.
    pub fn longest_silence(&self, from: Instant, to: Instant) -> Duration {
        self.outages(from, to)
            .into_iter()
            .map(|(began, ended)| ended.saturating_duration_since(began))
            .max()
            .unwrap_or_default()
    }

    /// The longest outage over `from..to` counted from `from` only: how long after `from`
    /// the client still went without a reply.
    pub fn longest_silence_after(&self, from: Instant, to: Instant) -> Duration {
        self.outages(from, to)
            .into_iter()
            .map(|(began, ended)| ended.saturating_duration_since(began.max(from)))
            .max()
            .unwrap_or_default()
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the probe thread does not panic");
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The probe's loop: an ICMP echo request every `every` on a raw socket, its index in the
/// payload, replies matched by that index as they are read. Bounded by `stop`, which the
/// probe sets when stopped or dropped.
fn ping(address: Ipv4Addr, every: Duration, pings: &Mutex<Pings>, stop: &AtomicBool) {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::RAW,
        Some(socket2::Protocol::ICMPV4),
    )
    .expect("a raw ICMP socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(1)))
        .expect("a read timeout");
    let destination = std::net::SocketAddrV4::new(address, 0).into();
    let identifier: u16 = 0x5eed;
    let mut next_send = Instant::now();
    let mut bytes = [0u8; 1500];
    let lock = || pings.lock().unwrap_or_else(PoisonError::into_inner);
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next_send {
            let index = {
                let mut pings = lock();
                pings.sent.push(now);
                pings.replied.push(None);
                u32::try_from(pings.sent.len() - 1).expect("fewer than 4 billion pings")
            };
            // A send fails while the client has no neighbour entry; the request counts as
            // unanswered, as it is for an application.
            let _ = socket.send_to(&echo_request(identifier, index), &destination);
            // After a stall, carry on from now rather than send the missed ones in a burst.
            next_send = (next_send + every).max(now);
        }
        let Ok(length) = std::io::Read::read(&mut &socket, &mut bytes) else {
            continue;
        };
        // IPv4 header (20 bytes, no options from Linux), then ICMP type 0 with our id, the
        // sequence, and the index in the payload.
        if length >= 32 && bytes[20] == 0 && bytes[24..26] == identifier.to_be_bytes() {
            let index = u32::from_be_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]);
            let at = Instant::now();
            let Ok(index) = usize::try_from(index) else {
                continue;
            };
            if let Some(slot) = lock().replied.get_mut(index) {
                *slot = Some(at);
            }
        }
    }
}

/// An ICMP echo request with `identifier`, the low bits of `index` as its sequence, `index`
/// as its payload, and its checksum.
fn echo_request(identifier: u16, index: u32) -> Vec<u8> {
    let mut message = vec![8, 0, 0, 0];
    message.extend_from_slice(&identifier.to_be_bytes());
    message.extend_from_slice(&(index as u16).to_be_bytes());
    message.extend_from_slice(&index.to_be_bytes());
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

/// The time of day of a JSON log line of the daemon, in seconds: its timestamps are RFC 3339
/// in UTC.
pub fn logged_at(line: &serde_json::Value) -> f64 {
    let stamp = line["timestamp"]
        .as_str()
        .expect("every line has a timestamp");
    let time = stamp
        .split('T')
        .nth(1)
        .and_then(|time| time.strip_suffix('Z'))
        .expect("an RFC 3339 UTC timestamp");
    let parts: Vec<f64> = time
        .split(':')
        .map(|part| part.parse().expect("a number"))
        .collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}
