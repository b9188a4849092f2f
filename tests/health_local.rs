//! Health checks of local things: exec checks against real programs (exit status, output,
//! timeouts that must leave no process behind, no second run while one is going, the user a
//! program runs as) and file checks (keepalived's track_file) against real files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vrrp_sidecar::health::runner::Probe;
use vrrp_sidecar::health::{
    CheckReport, CheckSpec, ExecSpec, HealthError, OUTPUT_LIMIT, ProbeSpec, Reporting, Verdict,
    spawn_check,
};
use vrrp_sidecar::vrrp::TrackedCheck;

/// Upper bound for any single wait in these tests.
const WAIT: Duration = Duration::from_secs(5);

/// A directory of its own for one test, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("vst-health-{}-{test}", std::process::id()));
        // A leftover from a killed earlier run of the same pid is harmless to remove.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a scratch directory in the temp dir");
        Self { path }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn shell(script: &str) -> ExecSpec {
    ExecSpec {
        program: "sh".to_owned(),
        args: vec!["-c".to_owned(), script.to_owned()],
        user: None,
        kill_grace: Duration::from_secs(2),
    }
}

fn check(name: &str, probe: ProbeSpec, interval: Duration, timeout: Duration) -> CheckSpec {
    CheckSpec {
        name: name.to_owned(),
        probe,
        interval,
        timeout,
        rise: 1,
        fall: 1,
        weight: 0,
        init_fail: false,
    }
}

async fn next_report(reports: &mut mpsc::Receiver<CheckReport>) -> CheckReport {
    tokio::time::timeout(WAIT, reports.recv())
        .await
        .expect("a report within the wait")
        .expect("the check is still running")
}

/// Runs `spec`'s probe once, outside any runner.
async fn run_once(spec: &CheckSpec) -> vrrp_sidecar::health::RunResult {
    Probe::new(spec)
        .expect("the probe sets up")
        .run(spec.timeout)
        .await
}

/// Whether the process is gone: no /proc entry, or a zombie waiting for a reaper that is not
/// ours (a grandchild reparented to init).
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

async fn wait_until_gone(pids: &[i32]) {
    let deadline = Instant::now() + WAIT;
    while !pids.iter().all(|&pid| process_gone(pid)) {
        assert!(
            Instant::now() < deadline,
            "processes {pids:?} still alive after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The process ids the test scripts write, one per line.
fn read_pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[tokio::test]
async fn exit_status_zero_passes_and_nonzero_fails() {
    let (sender, mut reports) = mpsc::channel(8);
    let interval = Duration::from_secs(60);
    let _passing = spawn_check(
        check("true", ProbeSpec::Exec(shell("exit 0")), interval, WAIT),
        sender.clone(),
        Reporting::Changes,
    )
    .expect("spawn");
    let first = next_report(&mut reports).await;
    assert_eq!(first.check_name, "true");
    assert_eq!(first.verdict, Verdict::Passing);
    assert!(
        first
            .transition
            .is_some_and(|transition| transition.passing)
    );

    let _failing = spawn_check(
        check(
            "false",
            ProbeSpec::Exec(shell("echo broken; exit 3")),
            interval,
            WAIT,
        ),
        sender,
        Reporting::Changes,
    )
    .expect("spawn");
    let second = next_report(&mut reports).await;
    assert_eq!(second.check_name, "false");
    assert_eq!(second.verdict, Verdict::Failing);
    assert!(!second.last_run.passed);
    assert!(second.last_run.summary.contains('3'), "{second:?}");
    assert_eq!(second.last_run.output, "broken\n");
}

#[tokio::test]
async fn stdout_and_stderr_are_captured_and_cut_to_one_kib() {
    let both = check(
        "both",
        ProbeSpec::Exec(shell("echo out; echo err >&2")),
        WAIT,
        WAIT,
    );
    let result = run_once(&both).await;
    assert!(result.output.contains("out\n") && result.output.contains("err\n"));

    let chatty = check(
        "chatty",
        ProbeSpec::Exec(shell("head -c 100000 /dev/zero | tr '\\0' x; exit 1")),
        WAIT,
        WAIT,
    );
    let result = run_once(&chatty).await;
    assert!(!result.passed);
    assert_eq!(result.output.len(), OUTPUT_LIMIT);
    assert!(result.output.bytes().all(|byte| byte == b'x'));
}

#[tokio::test]
async fn environment_is_empty_but_path() {
    let env = check("env", ProbeSpec::Exec(shell("env")), WAIT, WAIT);
    let result = run_once(&env).await;
    assert!(result.passed, "{result:?}");
    assert!(result.output.contains("PATH="), "{}", result.output);
    // cargo sets CARGO_* for the test process; none of it may reach a check.
    assert!(!result.output.contains("CARGO"), "{}", result.output);
}

#[tokio::test]
async fn missing_program_fails_the_run() {
    let missing = ExecSpec {
        program: "/nonexistent/vst-check".to_owned(),
        args: Vec::new(),
        user: None,
        kill_grace: Duration::from_secs(2),
    };
    let result = run_once(&check("missing", ProbeSpec::Exec(missing), WAIT, WAIT)).await;
    assert!(!result.passed);
    assert!(result.summary.contains("cannot start"), "{result:?}");
}

#[tokio::test]
async fn timeout_terminates_the_whole_process_group() {
    let scratch = Scratch::new("sigterm");
    let pids = scratch.file("pids");
    let script = format!(
        "echo $$ > {pids}; sleep 30 & echo $! >> {pids}; wait",
        pids = pids.display()
    );
    let timeout = Duration::from_millis(300);
    let spec = check("slow", ProbeSpec::Exec(shell(&script)), WAIT, timeout);
    let result = run_once(&spec).await;
    assert!(!result.passed);
    assert!(result.summary.contains("SIGTERM"), "{result:?}");
    assert!(result.duration >= timeout && result.duration < Duration::from_secs(2));
    let started = read_pids(&pids);
    assert_eq!(started.len(), 2, "the script and its sleep: {started:?}");
    wait_until_gone(&started).await;
}

#[tokio::test]
async fn a_program_ignoring_sigterm_gets_sigkill_after_the_grace() {
    let scratch = Scratch::new("sigkill");
    let pids = scratch.file("pids");
    // The ignored disposition is inherited by sleep too.
    let script = format!(
        "trap '' TERM; echo $$ > {pids}; sleep 30 & echo $! >> {pids}; wait",
        pids = pids.display()
    );
    let timeout = Duration::from_millis(200);
    let grace = Duration::from_millis(300);
    let mut exec = shell(&script);
    exec.kill_grace = grace;
    let result = run_once(&check("stubborn", ProbeSpec::Exec(exec), WAIT, timeout)).await;
    assert!(!result.passed);
    assert!(result.summary.contains("SIGKILL"), "{result:?}");
    assert!(result.duration >= timeout + grace, "{result:?}");
    let started = read_pids(&pids);
    assert_eq!(started.len(), 2, "{started:?}");
    wait_until_gone(&started).await;
}

#[tokio::test]
async fn a_run_still_going_is_not_started_twice() {
    let scratch = Scratch::new("overlap");
    let lock = scratch.file("lock");
    let log = scratch.file("log");
    // mkdir is atomic: a second run while the first holds the lock would record "overlap".
    let script = format!(
        "mkdir {lock} || {{ echo overlap >> {log}; exit 1; }}; echo run >> {log}; \
         sleep 0.4; rmdir {lock}",
        lock = lock.display(),
        log = log.display()
    );
    let (sender, mut reports) = mpsc::channel(8);
    let _task = spawn_check(
        check(
            "long",
            ProbeSpec::Exec(shell(&script)),
            Duration::from_millis(50),
            WAIT,
        ),
        sender,
        Reporting::EveryRun,
    )
    .expect("spawn");
    let first = next_report(&mut reports).await;
    let second = next_report(&mut reports).await;
    assert!(
        first.last_run.passed && second.last_run.passed,
        "{second:?}"
    );
    assert!(
        first.skipped_runs >= 3,
        "ticks every 50 ms during a 400 ms run are skipped: {first:?}"
    );
    assert!(second.skipped_runs > first.skipped_runs);
    let runs = std::fs::read_to_string(&log).expect("the script wrote its log");
    assert!(!runs.contains("overlap"), "{runs}");
}

#[tokio::test]
async fn stopping_a_check_kills_its_running_program() {
    let scratch = Scratch::new("stop");
    let pids = scratch.file("pids");
    let script = format!(
        "echo $$ > {pids}; sleep 30 & echo $! >> {pids}; wait",
        pids = pids.display()
    );
    let (sender, _reports) = mpsc::channel(8);
    let task = spawn_check(
        check("abandoned", ProbeSpec::Exec(shell(&script)), WAIT, WAIT),
        sender,
        Reporting::EveryRun,
    )
    .expect("spawn");
    let deadline = Instant::now() + WAIT;
    while read_pids(&pids).len() < 2 {
        assert!(Instant::now() < deadline, "the script never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.stop();
    wait_until_gone(&read_pids(&pids)).await;
}

/// The user `nobody`'s id, from the system's own `id`.
fn nobody_uid() -> Option<String> {
    let output = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test]
#[ignore = "lab: needs root, user nobody; scripts/test runs it"]
async fn a_program_runs_as_the_configured_user() {
    let is_root = nix::unistd::Uid::effective().is_root();
    let nobody = nobody_uid();
    assert!(
        is_root && nobody.is_some(),
        "a_program_runs_as_the_configured_user needs root and a user nobody"
    );
    let mut exec = shell("id -u");
    exec.user = Some("nobody".to_owned());
    let result = run_once(&check("as-nobody", ProbeSpec::Exec(exec), WAIT, WAIT)).await;
    assert!(result.passed, "{result:?}");
    assert_eq!(Some(result.output), nobody);
}

#[tokio::test]
async fn an_unknown_user_is_refused_when_the_check_starts() {
    let mut exec = shell("true");
    exec.user = Some("vst-no-such-user".to_owned());
    let (sender, _reports) = mpsc::channel(1);
    let refused = spawn_check(
        check("ghost", ProbeSpec::Exec(exec), WAIT, WAIT),
        sender,
        Reporting::Changes,
    );
    assert!(matches!(refused, Err(HealthError::User { .. })));
}

fn file_check(path: &Path, weight: i16) -> CheckSpec {
    CheckSpec {
        weight,
        ..check(
            "file",
            ProbeSpec::File {
                path: path.to_owned(),
            },
            Duration::from_millis(30),
            WAIT,
        )
    }
}

#[tokio::test]
async fn file_value_changes_are_picked_up_and_multiply_the_weight() {
    let scratch = Scratch::new("file-weight");
    let path = scratch.file("value");
    std::fs::write(&path, "1\n").expect("write");
    let (sender, mut reports) = mpsc::channel(8);
    let _task = spawn_check(file_check(&path, 10), sender, Reporting::Changes).expect("spawn");

    let one = next_report(&mut reports).await;
    assert_eq!(one.last_run.value, Some(1));
    assert_eq!(
        one.tracked_check(),
        Some(TrackedCheck {
            weight: 10,
            passing: true
        })
    );

    std::fs::write(&path, "3").expect("write");
    let three = next_report(&mut reports).await;
    assert_eq!(three.last_run.value, Some(3));
    assert_eq!(
        three.transition, None,
        "still passing, only the value moved"
    );
    assert_eq!(
        three.tracked_check(),
        Some(TrackedCheck {
            weight: 30,
            passing: true
        })
    );

    std::fs::write(&path, "-2").expect("write");
    let minus_two = next_report(&mut reports).await;
    assert_eq!(
        minus_two.tracked_check(),
        Some(TrackedCheck {
            weight: -20,
            passing: false
        })
    );

    std::fs::write(&path, "-30").expect("write");
    let fault = next_report(&mut reports).await;
    assert_eq!(fault.verdict, Verdict::Failing, "-300 is below -253: Fault");
    assert_eq!(
        fault.tracked_check(),
        Some(TrackedCheck {
            weight: 0,
            passing: false
        })
    );
}

#[tokio::test]
async fn file_with_weight_zero_fails_on_a_non_zero_value() {
    let scratch = Scratch::new("file-zero");
    let path = scratch.file("value");
    std::fs::write(&path, "0").expect("write");
    let (sender, mut reports) = mpsc::channel(8);
    let _task = spawn_check(file_check(&path, 0), sender, Reporting::Changes).expect("spawn");
    assert_eq!(next_report(&mut reports).await.verdict, Verdict::Passing);
    std::fs::write(&path, "2").expect("write");
    let failing = next_report(&mut reports).await;
    assert_eq!(failing.verdict, Verdict::Failing);
    assert!(failing.transition.is_some());
    std::fs::write(&path, "0").expect("write");
    assert_eq!(next_report(&mut reports).await.verdict, Verdict::Passing);
}

#[tokio::test]
async fn a_missing_or_garbled_file_fails() {
    let scratch = Scratch::new("file-bad");
    let missing = run_once(&file_check(&scratch.file("absent"), 0)).await;
    assert!(!missing.passed);
    assert!(missing.summary.contains("reading"), "{missing:?}");

    let garbled = scratch.file("garbled");
    std::fs::write(&garbled, "twelve").expect("write");
    let result = run_once(&file_check(&garbled, 0)).await;
    assert!(!result.passed);
    assert!(result.summary.contains("not an integer"), "{result:?}");
    assert_eq!(result.value, None);
}
