//! `vrrp-sidecar demo` as a new user runs it: a subprocess of the real binary, judged by
//! its exit status, the lines it prints, and what it leaves behind (nothing: no `vsdemo-`
//! namespace, no daemon, no scratch directory), also when Ctrl-C stops it halfway.

mod netns;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use netns::require_root;

const BINARY: &str = env!("CARGO_BIN_EXE_vrrp-sidecar");

/// The demo takes 10–20 s at 100 ms adverts; this leaves room for a loaded machine.
const DEMO_TIMEOUT: Duration = Duration::from_secs(120);

/// How long clean-up may take after Ctrl-C.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The exit status the demo reports after Ctrl-C: 128 + SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

/// Starts `vrrp-sidecar demo` with both outputs piped.
fn start_demo() -> Child {
    Command::new(BINARY)
        .arg("demo")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {BINARY} demo: {error}"))
}

/// Sends every line of `output` to a channel from a thread of its own, so the test can wait
/// on lines with a timeout.
fn lines_of(output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Collects lines from `lines` until the sender is gone or `deadline` passes.
fn collect_until(lines: &mpsc::Receiver<String>, deadline: Instant, into: &mut Vec<String>) {
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => into.push(line),
            Err(_) => return,
        }
    }
}

/// Waits for `child` to exit within `timeout`; kills it and fails the test otherwise.
fn wait_bounded(child: &mut Child, timeout: Duration) -> ExitStatus {
    let exited = netns::wait_until(timeout, Duration::from_millis(50), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        // The demo hung: stop it so the test run ends, then report.
        let _ = child.kill();
        let _ = child.wait();
        panic!("vrrp-sidecar demo did not exit within {timeout:?}");
    }
    child
        .wait()
        .expect("the child has exited, so waiting returns at once")
}

/// The namespace identities (nsfs inodes) of the lab of the demo with PID `pid`, while it
/// exists: a process left inside one of them is a leftover, whatever its command line.
fn lab_namespaces(pid: u32) -> Vec<u64> {
    let prefix = format!("vsdemo-{pid}-");
    std::fs::read_dir("/run/netns")
        .expect("/run/netns exists while a lab does")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|entry| entry.metadata().ok())
        .map(|metadata| metadata.ino())
        .collect()
}

/// Everything the demo with PID `pid` could have left behind: namespaces named
/// `vsdemo-PID-…`, processes inside `namespaces` or whose command line names its scratch
/// directory (the daemons), and the directory itself.
fn leftovers(pid: u32, namespaces: &[u64]) -> Vec<String> {
    let base = format!("vsdemo-{pid}");
    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list runs");
    let mut left: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|line| line.starts_with(&format!("{base}-")))
        .map(|line| format!("namespace {line}"))
        .collect();
    let processes = std::fs::read_dir("/proc").expect("/proc is readable");
    for entry in processes.flatten() {
        let command_line = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
        let namespace = std::fs::read_link(entry.path().join("ns/net"))
            .map(|link| link.to_string_lossy().into_owned())
            .unwrap_or_default();
        let in_lab = namespaces
            .iter()
            .any(|inode| namespace == format!("net:[{inode}]"));
        if in_lab || command_line.contains(&base) {
            left.push(format!("process {command_line}"));
        }
    }
    let directory = std::env::temp_dir().join(&base);
    if directory.exists() {
        left.push(format!("directory {}", directory.display()));
    }
    left
}

/// Reads lines from `lines` into `printed` until one starts with `prefix`; kills `demo` and
/// fails the test if none does within [`DEMO_TIMEOUT`].
fn wait_for_line(
    demo: &mut Child,
    lines: &mpsc::Receiver<String>,
    prefix: &str,
    printed: &mut Vec<String>,
) {
    let deadline = Instant::now() + DEMO_TIMEOUT;
    while !printed.iter().any(|line| line.starts_with(prefix)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => printed.push(line),
            Err(_) => {
                // The demo is stuck or gone: stop it so the run ends, then report.
                let _ = demo.kill();
                let _ = demo.wait();
                panic!("the demo never printed {prefix:?}:\n{}", printed.join("\n"));
            }
        }
    }
}

/// The line the demo prints once the lab is built, every daemon runs and the client pings:
/// the moment with the most to clean up.
const PROBE_STARTED: &str = "[3/6]";

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_demo_walks_through_failover_and_leaves_nothing_behind() {
    require_root("the_demo_walks_through_failover_and_leaves_nothing_behind");
    let mut demo = start_demo();
    let pid = demo.id();
    let stdout = lines_of(demo.stdout.take().expect("stdout is piped"));
    let stderr = lines_of(demo.stderr.take().expect("stderr is piped"));
    let mut printed = Vec::new();
    wait_for_line(&mut demo, &stdout, PROBE_STARTED, &mut printed);
    let namespaces = lab_namespaces(pid);
    let status = wait_bounded(&mut demo, DEMO_TIMEOUT);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut errors = Vec::new();
    collect_until(&stdout, deadline, &mut printed);
    collect_until(&stderr, deadline, &mut errors);
    let printed = printed.join("\n");
    println!("{printed}");
    assert!(
        status.success(),
        "demo exited with {status}\n{printed}\n{}",
        errors.join("\n")
    );
    for expected in [
        "h1 is master after",
        "Crash: h1 loses its link",
        "h2 is master",
        "client outage",
        "Master_Down_Interval",
        "h1 (priority 150) preempts h2",
        "Planned handover: SIGTERM to h1",
        "h1 exited",
        "Summary",
        "Cleaned up",
    ] {
        assert!(printed.contains(expected), "no {expected:?} in\n{printed}");
    }
    let left = leftovers(pid, &namespaces);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn ctrl_c_halfway_stops_the_demo_and_removes_the_lab() {
    require_root("ctrl_c_halfway_stops_the_demo_and_removes_the_lab");
    let mut demo = start_demo();
    let pid = demo.id();
    let stdout = lines_of(demo.stdout.take().expect("stdout is piped"));
    let stderr = lines_of(demo.stderr.take().expect("stderr is piped"));
    let mut printed = Vec::new();
    wait_for_line(&mut demo, &stdout, PROBE_STARTED, &mut printed);
    let namespaces = lab_namespaces(pid);
    assert!(
        !namespaces.is_empty(),
        "the lab should exist while the demo runs"
    );
    let demo_pid = Pid::from_raw(i32::try_from(pid).expect("Linux PIDs fit in i32"));
    kill(demo_pid, Signal::SIGINT).expect("SIGINT to the demo");
    let status = wait_bounded(&mut demo, CLEANUP_TIMEOUT);
    let mut errors = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    collect_until(&stdout, deadline, &mut printed);
    collect_until(&stderr, deadline, &mut errors);
    let printed = printed.join("\n");
    assert_eq!(
        status.code(),
        Some(EXIT_INTERRUPTED),
        "{printed}\n{}",
        errors.join("\n")
    );
    assert!(printed.contains("Interrupted: cleaning up"), "{printed}");
    assert!(printed.contains("Cleaned up"), "{printed}");
    let left = leftovers(pid, &namespaces);
    assert!(left.is_empty(), "left behind after Ctrl-C: {left:?}");
}
