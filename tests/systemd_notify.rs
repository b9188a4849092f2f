//! The real daemon under a service manager's notify socket, the way systemd runs a
//! `Type=notify` unit: the test plays systemd, holding the datagram socket named by
//! `$NOTIFY_SOCKET`, and checks that READY=1 comes only once the API answers, that the
//! watchdog is pinged when `$WATCHDOG_USEC` asks for it, that SIGHUP is bracketed by
//! RELOADING=1 and READY=1, and that SIGTERM says STOPPING=1. And the daemon as the unit
//! and the container run it: an unprivileged user with CAP_NET_ADMIN and CAP_NET_RAW alone
//! (root: network namespaces).

mod api_lab;
mod daemon_lab;
mod netns;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tonic_health::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use vrrp_sidecar_client::proto::{self, sidecar_client::SidecarClient};

use daemon_lab::{BINARY, Daemon, DaemonLab, ELECTION, InstanceSpec, VIP, config_text};
use netns::{Lab, require_root};

/// The watchdog timeout the test gives the daemon: it pings every half of it, 200 ms.
const WATCHDOG_USEC: &str = "400000";

/// Time for the daemon to start, with slack for a loaded two-core machine.
const START: Duration = Duration::from_secs(10);

/// One notification: its `KEY=VALUE` lines.
struct Notification {
    lines: Vec<String>,
}

impl Notification {
    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|own| own == line)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
    }
}

/// The service manager's end: a datagram socket the daemon sends to.
struct NotifyListener {
    socket: UnixDatagram,
}

impl NotifyListener {
    fn bind(path: &std::path::Path) -> Self {
        let socket = UnixDatagram::bind(path)
            .unwrap_or_else(|error| panic!("binding {}: {error}", path.display()));
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");
        NotifyListener { socket }
    }

    /// The next notification within `timeout`.
    fn next(&self, timeout: Duration) -> Option<Notification> {
        let deadline = Instant::now() + timeout;
        let mut buffer = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(length) = self.socket.recv(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
                return Some(Notification {
                    lines: text.lines().map(str::to_owned).collect(),
                });
            }
        }
        None
    }

    /// Reads notifications until one has `line`; returns those before it and it.
    fn until(&self, line: &str, timeout: Duration) -> (Vec<Notification>, Option<Notification>) {
        let deadline = Instant::now() + timeout;
        let mut before = Vec::new();
        while let Some(notification) = self.next(deadline.saturating_duration_since(Instant::now()))
        {
            if notification.has(line) {
                return (before, Some(notification));
            }
            before.push(notification);
        }
        (before, None)
    }
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn ready_comes_once_the_api_answers_then_watchdog_reload_and_stop() {
    require_root("ready_comes_once_the_api_answers_then_watchdog_reload_and_stop");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let notify_path = lab.scratch("notify.sock");
    let listener = NotifyListener::bind(&notify_path);
    let notify_socket = notify_path.display().to_string();
    let api_socket = lab.api_socket("h1");
    let daemon = lab.start_instances_with_environment(
        "h1",
        &[InstanceSpec::v3(100)],
        &[
            ("NOTIFY_SOCKET", &notify_socket),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
        ],
    );

    let (before_ready, ready) = listener.until("READY=1", START);
    let ready = ready.unwrap_or_else(|| panic!("no READY=1\n{}", daemon.log_text()));
    // The moment READY=1 is read, the API must answer at the first attempt: the health
    // service says SERVING and the instance is listed, already past Initialize.
    let runtime = api_lab::runtime();
    let (health, instances) = runtime.block_on(async {
        let channel = api_lab::unix_channel(&api_socket).await;
        let health = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("the health service answers at READY")
            .into_inner()
            .status;
        let instances = SidecarClient::new(channel)
            .list_instances(proto::ListInstancesRequest {})
            .await
            .expect("ListInstances answers at READY")
            .into_inner()
            .instances;
        (health, instances)
    });
    assert_eq!(health, ServingStatus::Serving as i32);
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_ne!(instances[0].state(), proto::State::Init);
    assert!(
        before_ready.iter().all(|early| !early.has("WATCHDOG=1")),
        "watchdog pings before READY"
    );
    assert!(
        ready
            .value("STATUS")
            .is_some_and(|status| status.starts_with("running 1 instance(s)")),
        "{:?}",
        ready.lines
    );

    // Watchdog pings at half of WATCHDOG_USEC: at least three within 1.5 s (seven are due).
    let mut pings = 0;
    let watched = Instant::now();
    while pings < 3 && watched.elapsed() < Duration::from_millis(1500) {
        if listener
            .next(Duration::from_millis(1500))
            .is_some_and(|notification| notification.has("WATCHDOG=1"))
        {
            pings += 1;
        }
    }
    assert_eq!(pings, 3, "watchdog pings in 1.5 s");

    // SIGHUP: RELOADING=1 with the monotonic time of the request, then READY=1.
    lab.signal(&daemon, Signal::SIGHUP);
    let (_, reloading) = listener.until("RELOADING=1", START);
    let reloading = reloading.unwrap_or_else(|| panic!("no RELOADING=1\n{}", daemon.log_text()));
    let usec: u64 = reloading
        .value("MONOTONIC_USEC")
        .expect("MONOTONIC_USEC with RELOADING=1")
        .parse()
        .expect("a number");
    assert!(usec > 0);
    let (_, reloaded) = listener.until("READY=1", START);
    let reloaded = reloaded.unwrap_or_else(|| panic!("no READY=1 after reload"));
    assert_eq!(
        reloaded.value("STATUS"),
        Some("reloaded: 0 added, 0 removed, 0 changed")
    );

    // A file with problems: the reload ends at once, refused, and the daemon runs on.
    lab.write_config("h1", "[instances.vi]\nvrid = 300\n");
    lab.signal(&daemon, Signal::SIGHUP);
    let (_, reloading) = listener.until("RELOADING=1", START);
    assert!(reloading.is_some(), "no RELOADING=1 for the broken file");
    let (_, refused) = listener.until("READY=1", START);
    let refused = refused.unwrap_or_else(|| panic!("no READY=1 after a refused reload"));
    assert!(
        refused
            .value("STATUS")
            .is_some_and(|status| status.starts_with("reload refused")),
        "{:?}",
        refused.lines
    );

    // SIGTERM: STOPPING=1, then a clean exit.
    lab.signal(&daemon, Signal::SIGTERM);
    let (_, stopping) = listener.until("STOPPING=1", START);
    assert!(stopping.is_some(), "no STOPPING=1\n{}", daemon.log_text());
    let status = lab.wait_exit(&daemon, START).expect("the daemon exits");
    assert!(status.success(), "{status:?}");
    lab.finish();
}

/// The user the test runs the daemon as: `nobody`, which owns nothing.
const UNPRIVILEGED: &str = "65534";

/// CAP_NET_ADMIN (12) and CAP_NET_RAW (13), as a capability mask.
const NET_ADMIN_AND_NET_RAW: u64 = (1 << 12) | (1 << 13);

/// A capability set of `pid` from /proc (`CapEff`, `CapBnd`, ...).
fn capability_set(pid: u32, set: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the daemon runs");
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix(set)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {set} in /proc/{pid}/status"));
    u64::from_str_radix(hex.trim(), 16).expect("a hexadecimal mask")
}

/// How the daemon gets its two capabilities as an unprivileged user.
enum Granted {
    /// From its parent, as systemd's AmbientCapabilities= does.
    Ambient,
    /// From the binary's file capabilities (`setcap`), as in the container image, where the
    /// runtime only leaves the two in the bounding set (`--cap-drop ALL --cap-add ...`).
    FileCapabilities,
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn runs_as_an_unprivileged_user_with_only_net_admin_and_net_raw() {
    require_root("runs_as_an_unprivileged_user_with_only_net_admin_and_net_raw");
    run_unprivileged(Granted::Ambient);
}

#[test]
#[ignore = "lab: needs root, setcap; scripts/test runs it"]
fn runs_as_an_unprivileged_user_from_file_capabilities_like_the_image() {
    require_root("runs_as_an_unprivileged_user_from_file_capabilities_like_the_image");
    run_unprivileged(Granted::FileCapabilities);
}

/// The setcap program, from libcap2-bin; the test fails without it.
fn setcap() -> &'static str {
    const SETCAP: &str = "/usr/sbin/setcap";
    assert!(
        std::path::Path::new(SETCAP).exists(),
        "{SETCAP} is missing: scripts/install-test-deps.sh installs libcap2-bin"
    );
    SETCAP
}

/// Starts the daemon as nobody with CAP_NET_ADMIN and CAP_NET_RAW granted as `granted`
/// says, and checks it holds exactly those two, becomes master, serves its API and stops
/// cleanly.
fn run_unprivileged(granted: Granted) {
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let config = lab.write_config("h1", &config_text(&[InstanceSpec::v3(100)]));
    // Like RuntimeDirectory= in the unit: a directory the daemon's user owns, for the socket.
    let runtime_directory = lab.scratch("run");
    std::fs::create_dir(&runtime_directory).expect("the runtime directory");
    let id: u32 = UNPRIVILEGED.parse().expect("a uid");
    std::os::unix::fs::chown(&runtime_directory, Some(id), Some(id)).expect("chown");
    let socket = runtime_directory.join("api.sock");
    let log = lab.scratch("h1.log");
    let (config, socket_argument) = (config.display().to_string(), socket.display().to_string());
    let user = [
        format!("--reuid={UNPRIVILEGED}"),
        format!("--regid={UNPRIVILEGED}"),
        "--clear-groups".to_owned(),
        "--bounding-set=-all,+net_admin,+net_raw".to_owned(),
    ];
    let (binary, granting) = match granted {
        // setpriv does what User=, AmbientCapabilities= and CapabilityBoundingSet= do.
        Granted::Ambient => (
            BINARY.to_owned(),
            vec![
                "--inh-caps=-all,+net_admin,+net_raw".to_owned(),
                "--ambient-caps=-all,+net_admin,+net_raw".to_owned(),
            ],
        ),
        // The image's build stage runs this same setcap on its copy of the binary.
        Granted::FileCapabilities => {
            let setcap = setcap();
            let copy = lab.scratch("vrrp-sidecar");
            std::fs::copy(BINARY, &copy).expect("copying the binary");
            let marked = std::process::Command::new(setcap)
                .args(["cap_net_admin,cap_net_raw=ep"])
                .arg(&copy)
                .status()
                .expect("running setcap");
            assert!(marked.success(), "setcap failed");
            (copy.display().to_string(), Vec::new())
        }
    };
    let mut command: Vec<&str> = vec!["setpriv"];
    command.extend(user.iter().map(String::as_str));
    command.extend(granting.iter().map(String::as_str));
    command.extend([
        binary.as_str(),
        "--config",
        &config,
        "--log-format",
        "json",
        "--api-socket",
        &socket_argument,
    ]);
    let pid = lab
        .lab
        .spawn_logged(lab.ns("h1"), &command, &[("RUST_LOG", "info")], &log);
    let daemon = Daemon { pid, log };

    // Alone on its LAN it becomes master: the raw socket (CAP_NET_RAW) and the VIP
    // (CAP_NET_ADMIN) both worked.
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION + START)
            .is_some(),
        "never became master\n{}",
        daemon.log_text()
    );
    assert_eq!(capability_set(pid, "CapEff"), NET_ADMIN_AND_NET_RAW);
    assert_eq!(capability_set(pid, "CapBnd"), NET_ADMIN_AND_NET_RAW);
    let runtime = api_lab::runtime();
    let health = runtime.block_on(async {
        HealthClient::new(api_lab::unix_channel(&socket).await)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("the API answers")
            .into_inner()
            .status
    });
    assert_eq!(health, ServingStatus::Serving as i32);

    lab.signal(&daemon, Signal::SIGTERM);
    let status = lab.wait_exit(&daemon, START).expect("the daemon exits");
    assert!(status.success(), "{status:?}\n{}", daemon.log_text());
    assert!(!lab.holds("h1", VIP), "the VIP stayed after SIGTERM");
    lab.finish();
}
