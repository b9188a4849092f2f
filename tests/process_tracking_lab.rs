//! Process checks (keepalived's `vrrp_track_process`) with real daemons in a namespace lab:
//! the tracked process is a copy of `sleep` under a name of the test's own, started and
//! SIGKILLed by the test. Killing the master's process moves the VIP to the backup; starting
//! it again brings it back; `GetInstance` shows the processes counted. Beside keepalived 2.2.7,
//! the same keepalived.conf on both, both ways round, with the takeover time after the kill
//! printed for each side. And where the process events connector cannot be opened (no
//! CAP_SYS_ADMIN to reach the host's namespace from the lab's), the check fails and the log
//! names it, as keepalived's does.
//!
//! The daemons run in network namespaces; the processes they track run in the test's, which
//! is fine: processes are host-wide (one PID namespace), like the connector's events.

mod api_lab;
mod daemon_lab;
mod keepalived_lab;
mod netns;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use vrrp_sidecar_client::proto::watch_state_response::Kind;
use vrrp_sidecar_client::proto::{self, TransitionReason};

use api_lab::{connect, read_until, runtime, transition, watch, watch_request};
use daemon_lab::{BINARY, Daemon, DaemonLab, ELECTION, InstanceSpec, MARGIN, POLL, VIP};
use keepalived_lab::{HOSTS, InteropLab, KeepalivedProcess, OURS, Router, Running, THEIRS};
use netns::{Lab, require_root, wait_until};

/// The master's and the backup's priorities, and the weight the process check takes off the
/// master when its process is gone (150 - 60 = 90, below the backup's 100).
const MASTER_PRIORITY: u8 = 150;
const BACKUP_PRIORITY: u8 = 100;
const PROCESS_WEIGHT: i16 = -60;

/// The takeover bound with 100 ms adverts: the backup's Master_Down_Interval (3 × 100 ms plus
/// its skew, 61 ms) once the master stops counting, plus slack for a loaded machine. Not a
/// timing target: a bound that catches a check that never reacted.
const TAKEOVER_BOUND: Duration = Duration::from_secs(2);

/// A copy of `sleep` under `name` (at most 15 bytes, so the kernel's process name is the
/// whole of it) in `directory`, run with a long duration; killed when dropped.
struct TrackedProcess {
    child: Child,
    binary: PathBuf,
}

impl TrackedProcess {
    fn start(directory: &Path, name: &str) -> Self {
        assert!(name.len() <= 15, "{name} would be cut short by the kernel");
        let binary = directory.join(name);
        // A symbolic link, not a copy: the kernel names the process after the path it ran
        // (its comm), and a copy being written is an open file that a fork in a parallel test
        // can inherit, which makes running it fail with ETXTBSY ("Text file busy").
        if !binary.exists() {
            std::os::unix::fs::symlink("/bin/sleep", &binary)
                .expect("linking to /bin/sleep from the scratch");
        }
        let child = Command::new(&binary)
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        TrackedProcess { child, binary }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, reaped; returns when it was sent.
    fn kill(mut self) -> Instant {
        let killed = Instant::now();
        self.child
            .kill()
            .expect("the tracked process is ours to kill");
        self.child.wait().expect("reaping the tracked process");
        killed
    }

    fn again(&self) -> Self {
        let directory = self.binary.parent().expect("the link is in a directory");
        let name = self.binary.file_name().and_then(|name| name.to_str());
        TrackedProcess::start(directory, name.expect("the copy has a UTF-8 name"))
    }
}

impl Drop for TrackedProcess {
    fn drop(&mut self) {
        // Already killed and reaped by `kill` when that was called.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process name unique to this run and `tag`: `vtp` + tag + the test binary's PID.
fn process_name(tag: &str) -> String {
    let mut name = format!("vtp{tag}{}", std::process::id());
    name.truncate(15);
    name
}

fn process_check(name: &str, weight: i16) -> String {
    format!(
        "health_checks.proc = {{ kind = \"process\", process = \"{name}\", weight = {weight} }}"
    )
}

/// How long after `killed_at` the daemon logged the check's verdict change: the time the
/// connector's exit event took to count. Log timestamps are RFC 3339 in UTC; both sides are
/// compared as times of day.
fn detection_delay(daemon: &Daemon, killed_at: SystemTime) -> Duration {
    let lines = daemon.logged("process check verdict changed");
    let line = lines
        .iter()
        .rfind(|line| line["passing"] == false)
        .unwrap_or_else(|| panic!("no failing verdict logged\n{}", daemon.log_text()));
    let logged = daemon_lab::logged_at(line);
    let since_epoch = killed_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    let killed = since_epoch % 86_400.0;
    Duration::from_secs_f64((logged - killed).max(0.0))
}

fn get_instance(lab: &DaemonLab, host: &str) -> proto::Instance {
    let rt = runtime();
    rt.block_on(async {
        let mut client = connect(&lab.api_socket(host)).await;
        client
            .get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .expect("GetInstance")
            .into_inner()
    })
}

fn process_status(instance: &proto::Instance) -> proto::HealthCheck {
    instance
        .health_checks
        .iter()
        .find(|check| check.spec.as_ref().is_some_and(|spec| spec.name == "proc"))
        .cloned()
        .unwrap_or_else(|| panic!("no process check in {instance:#?}"))
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn killing_the_tracked_process_moves_the_vip_to_the_backup_and_back() {
    require_root("killing_the_tracked_process_moves_the_vip_to_the_backup_and_back");
    let lab = DaemonLab::new(Lab::builder().host("h1").host("h2").build());
    let hosts = ["h1", "h2"];
    let name = process_name("m");
    let tracked = TrackedProcess::start(&lab.scratch(""), &name);
    let (master, backup) = lab.start_pair(
        "h1",
        InstanceSpec::v3(MASTER_PRIORITY).with(&process_check(&name, PROCESS_WEIGHT)),
        "h2",
        InstanceSpec::v3(BACKUP_PRIORITY),
    );
    let instance = get_instance(&lab, "h1");
    let check = process_status(&instance);
    assert!(check.passing, "{check:#?}\n{}", master.log_text());
    assert_eq!(check.process_count, 1, "{check:#?}");
    assert_eq!(check.process_ids, vec![tracked.pid()]);
    assert_eq!(instance.effective_priority, u32::from(MASTER_PRIORITY));
    match check.spec.and_then(|spec| spec.kind) {
        Some(proto::health_check_spec::Kind::Process(process)) => {
            assert_eq!(process.process, name);
            assert_eq!((process.quorum, process.quorum_max), (1, 65_535));
        }
        other => panic!("not a process check: {other:?}"),
    }

    let rt = runtime();
    let client = rt.block_on(connect(&lab.api_socket("h1")));
    let mut events = rt.block_on(watch(&client, watch_request("vi")));
    rt.block_on(read_until(
        &mut events,
        Duration::from_secs(2),
        api_lab::is_snapshot_complete,
    ));

    let restart = tracked.again();
    let killed_first = tracked.kill();
    // Another copy still runs: quorum 1 holds, nothing moves.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lab.holders(&hosts, VIP), ["h1"]);
    assert_eq!(process_status(&get_instance(&lab, "h1")).process_count, 1);
    let killed_at = SystemTime::now();
    let killed = restart.kill();
    let moved = lab
        .wait_sole_holder(&hosts, "h2", VIP, TAKEOVER_BOUND)
        .map(|_| killed.elapsed())
        .unwrap_or_else(|| {
            panic!(
                "the VIP did not move within {TAKEOVER_BOUND:?} of the kill\nmaster:\n{}\nbackup:\n{}",
                master.log_text(),
                backup.log_text()
            )
        });
    let instance = get_instance(&lab, "h1");
    let check = process_status(&instance);
    assert!(!check.passing);
    assert_eq!(check.process_count, 0);
    assert!(check.process_ids.is_empty());
    assert_eq!(
        instance.effective_priority,
        u32::from(MASTER_PRIORITY) - 60,
        "{instance:#?}"
    );
    // What an application watching the instance sees: the check failing with no process,
    // the priority it costs, and the transition it causes, named after it.
    let seen = rt.block_on(read_until(&mut events, Duration::from_secs(2), |message| {
        transition(message).is_some_and(|change| change.to == proto::State::Backup as i32)
    }));
    let change = transition(seen.last().expect("read_until returns what it accepted"))
        .expect("a transition");
    assert_eq!(
        change.reason,
        TransitionReason::HealthCheck as i32,
        "{seen:#?}"
    );
    assert_eq!(change.health_check_name, "proc", "{seen:#?}");
    assert!(
        seen.iter().any(|message| matches!(&message.kind,
            Some(Kind::HealthCheckResult(result)) if result.check.as_ref().is_some_and(|check|
                !check.passing && check.process_count == 0 && check.process_ids.is_empty()))),
        "no failing process check result: {seen:#?}"
    );
    assert!(
        seen.iter().any(|message| matches!(&message.kind,
            Some(Kind::PriorityChange(priority))
                if priority.effective_priority == 90 && priority.health_check_name == "proc")),
        "no priority change to 90 by the check: {seen:#?}"
    );
    drop(client);
    let detected = detection_delay(&master, killed_at);
    println!(
        "process check: verdict changed {detected:?} after the kill (daemon log), VIP on the \
         backup {moved:?} after it (first copy killed {:?} earlier changed nothing)",
        killed.duration_since(killed_first)
    );

    // The process back: the master's priority returns and it preempts.
    let back = TrackedProcess::start(&lab.scratch(""), &name);
    let returned = lab
        .wait_sole_holder(&hosts, "h1", VIP, TAKEOVER_BOUND)
        .unwrap_or_else(|| panic!("the VIP never came back\n{}", master.log_text()));
    println!("process check: VIP back on the master {returned:?} after the restart");
    assert_eq!(
        process_status(&get_instance(&lab, "h1")).process_ids,
        vec![back.pid()]
    );
    drop(back);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root and setpriv; scripts/test runs it"]
fn without_the_connector_the_process_check_fails_and_the_log_says_why() {
    let test = "without_the_connector_the_process_check_fails_and_the_log_says_why";
    netns::require_tools(test, &[("setpriv", "util-linux")]);
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let name = process_name("c");
    // The process runs: only the connector is missing.
    let _tracked = TrackedProcess::start(&lab.scratch(""), &name);
    let config = lab.write_config(
        "h1",
        &daemon_lab::config_text(&[
            InstanceSpec::v3(MASTER_PRIORITY).with(&process_check(&name, 0))
        ]),
    );
    let log = lab.scratch("h1.log");
    let (config_argument, socket_argument) = (
        config.display().to_string(),
        lab.api_socket("h1").display().to_string(),
    );
    // Without CAP_SYS_ADMIN the daemon cannot make its socket in the host's namespace, and
    // in the lab's the kernel refuses the subscription: a container's situation.
    let pid = lab.lab.spawn_logged(
        lab.ns("h1"),
        &[
            "setpriv",
            "--bounding-set=-sys_admin",
            "--inh-caps=-sys_admin",
            BINARY,
            "--config",
            &config_argument,
            "--log-format",
            "json",
            "--api-socket",
            &socket_argument,
        ],
        &[("RUST_LOG", "info")],
        &log,
    );
    let daemon = Daemon { pid, log };
    assert!(
        daemon.wait_state_count("FAULT", 1, ELECTION),
        "weight 0 and no process seen: FAULT\n{}",
        daemon.log_text()
    );
    let warnings = daemon.logged(
        "process check cannot follow processes and counts none, so it fails (as keepalived's \
         track_process does)",
    );
    let warning = warnings
        .first()
        .unwrap_or_else(|| panic!("no warning naming the check\n{}", daemon.log_text()));
    assert_eq!(warning["check"], "proc", "{warning}");
    let reason = warning["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("initial network namespace"), "{reason}");
    let check = process_status(&get_instance(&lab, "h1"));
    assert!(!check.passing && check.process_count == 0, "{check:#?}");
    assert!(!lab.holds("h1", VIP));
    lab.finish();
}

/// The keepalived.conf of one role: VRRPv3 at 100 ms, tracking `process` with weight -60.
fn keepalived_conf(priority: u8, process: &str) -> String {
    format!(
        "global_defs {{\n    router_id vst_trackproc\n    vrrp_version 3\n}}\n\
         vrrp_track_process tracked {{\n    process {process}\n    weight {PROCESS_WEIGHT}\n}}\n\
         vrrp_instance VI_71 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 71\n    priority {priority}\n    advert_int 0.1\n    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n    \
         track_process {{\n        tracked\n    }}\n}}\n"
    )
}

/// keepalived started as [`InteropLab::start_keepalived`] starts it, with the connector shim
/// preloaded (see `tests/keepalived_lab/connector_shim.c`).
fn start_keepalived_with_shim(
    interop: &InteropLab,
    host: &str,
    text: &str,
    shim: &Path,
) -> Running {
    // Files of their own for each start, as InteropLab's: a pid file left by the previous
    // keepalived on this host would stop this one.
    let start = interop
        .keepalived_starts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = |suffix: &str| interop.lab.scratch(&format!("{host}-{start}.{suffix}"));
    let conf = file("keepalived.conf");
    std::fs::write(&conf, text).expect("scratch is writable");
    let log = file("keepalived.log");
    let (pid_file, vrrp_pid_file) = (file("pid"), file("vrrp.pid"));
    let arguments = [conf, pid_file, vrrp_pid_file].map(|path| path.display().to_string());
    let preload = shim.display().to_string();
    // The test runs in the host's initial network namespace, where the connector answers.
    let namespace = format!("/proc/{}/ns/net", std::process::id());
    let parent = interop.lab.lab.spawn_logged(
        interop.lab.ns(host),
        &[
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            &arguments[0],
            "-p",
            &arguments[1],
            "-r",
            &arguments[2],
        ],
        &[
            ("LD_PRELOAD", preload.as_str()),
            ("VST_CONNECTOR_NETNS", namespace.as_str()),
        ],
        &log,
    );
    interop
        .keepalived_parents
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(parent);
    Running::Keepalived(KeepalivedProcess { parent, log })
}

/// Builds the connector shim with the C compiler the Rust toolchain links with.
fn build_shim(interop: &InteropLab) -> PathBuf {
    let shim = interop.lab.scratch("connector_shim.so");
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keepalived_lab/connector_shim.c");
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&shim)
        .arg(&source)
        .arg("-ldl")
        .output()
        .expect("cc runs");
    assert!(
        output.status.success(),
        "building the shim failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    shim
}

/// One direction: `master` on `master_host` tracking a process it loses; returns the time
/// from the kill to the backup alone holding the VIP.
fn takeover_after_kill(
    interop: &InteropLab,
    shim: &Path,
    master_host: &str,
    master_is_ours: bool,
) -> Duration {
    let lab = &interop.lab;
    let backup_host = keepalived_lab::other(master_host);
    let (master_name, backup_name) = (
        process_name(&format!("{}m", &master_host[..1])),
        process_name(&format!("{}b", &master_host[..1])),
    );
    let master_process = TrackedProcess::start(&lab.scratch(""), &master_name);
    let _backup_process = TrackedProcess::start(&lab.scratch(""), &backup_name);
    let master_text = keepalived_conf(MASTER_PRIORITY, &master_name);
    let backup_text = keepalived_conf(BACKUP_PRIORITY, &backup_name);
    let start = |host: &str, text: &str, ours: bool| {
        if ours {
            interop.start(host, &Router::OursFromKeepalivedConf(text.to_owned()))
        } else {
            start_keepalived_with_shim(interop, host, text, shim)
        }
    };
    let master = start(master_host, &master_text, master_is_ours);
    assert!(
        lab.wait_sole_holder(&HOSTS, master_host, VIP, ELECTION)
            .is_some(),
        "{master_host} was not elected\n{}",
        master.log_text()
    );
    let backup = start(backup_host, &backup_text, !master_is_ours);
    std::thread::sleep(Duration::from_millis(400) + MARGIN);
    assert_eq!(
        lab.holders(&HOSTS, VIP),
        [master_host],
        "not a single holder before the kill\nmaster:\n{}\nbackup:\n{}",
        master.log_text(),
        backup.log_text()
    );
    let killed = master_process.kill();
    let moved = wait_until(TAKEOVER_BOUND, POLL, || {
        lab.holders(&HOSTS, VIP) == [backup_host.to_owned()]
    });
    let elapsed = killed.elapsed();
    assert!(
        moved,
        "the VIP did not move within {TAKEOVER_BOUND:?} of the kill\nmaster:\n{}\nbackup:\n{}",
        master.log_text(),
        backup.log_text()
    );
    interop.crash(&backup);
    interop.crash(&master);
    elapsed
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark and cc; scripts/test runs it"]
fn beside_keepalived_a_killed_process_moves_the_vip_both_ways() {
    let test = "beside_keepalived_a_killed_process_moves_the_vip_both_ways";
    keepalived_lab::require_tools(test);
    netns::require_tools(test, &[("cc", "gcc")]);
    let interop = InteropLab::new(test);
    let shim = build_shim(&interop);
    let ours = takeover_after_kill(&interop, &shim, OURS, true);
    let theirs = takeover_after_kill(&interop, &shim, THEIRS, false);
    println!(
        "{test}: VIP on the backup after SIGKILL of the master's tracked process: ours as \
         master {ours:?}, keepalived 2.2.7 as master {theirs:?} (100 ms adverts, weight -60)"
    );
    interop.finish();
}
