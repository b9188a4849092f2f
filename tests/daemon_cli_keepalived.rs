//! A keepalived.conf on the command line of the real binary: `check --keepalived-conf`,
//! `convert`, exit 78 on errors, and a daemon run from a keepalived.conf that logs its
//! warnings at start and rereads the same file on SIGHUP (that one needs root).

mod daemon_lab;
mod netns;

use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::time::Duration;

use nix::sys::signal::Signal;

use daemon_lab::{BINARY, DaemonLab, ELECTION, MARGIN, POLL, VIP, seed_in_lab};
use netns::{Lab, require_root, wait_until};

/// sysexits.h's "configuration error", which a bad configuration exits with.
const EX_CONFIG: i32 = 78;

const FIXTURES: &str = "tests/fixtures/keepalived-conf";

/// The warnings each seed configuration gets, as `line: keyword path`: the instance name
/// (made a native name), `state MASTER` (every instance starts as backup) and `mcast_src_ip`
/// (the interface's address is the source). The e-mail settings carry over.
const SEED_MASTER_WARNINGS: [&str; 3] = [
    ":10: warning: vrrp_instance VI_1: ",
    ":11: warning: vrrp_instance VI_1.state: ",
    ":16: warning: vrrp_instance VI_1.mcast_src_ip: ",
];
/// `state BACKUP` is what every instance does, so it gets no warning.
const SEED_BACKUP_WARNINGS: [&str; 2] = [
    ":10: warning: vrrp_instance VI_1: ",
    ":16: warning: vrrp_instance VI_1.mcast_src_ip: ",
];

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {BINARY}: {error}"))
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Asserts that `lines` are exactly `expected`, each being `file` followed by its entry.
fn assert_warnings(lines: &[String], file: &str, expected: &[&str]) {
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (line, entry) in lines.iter().zip(expected) {
        assert!(line.starts_with(&format!("{file}{entry}")), "{line}");
    }
}

#[test]
fn check_accepts_both_seed_configurations_and_prints_their_warnings() {
    for (name, expected) in [
        ("seed-master.conf", &SEED_MASTER_WARNINGS[..]),
        ("seed-backup.conf", &SEED_BACKUP_WARNINGS[..]),
    ] {
        let file = fixture(name);
        let output = run(&["check", "--keepalived-conf", &file]);
        assert!(output.status.success(), "{name}: {output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            format!("{file}: valid, 1 instance(s)")
        );
        assert_warnings(&stderr_lines(&output), &file, expected);
    }
}

#[test]
fn convert_prints_native_toml_that_check_accepts() {
    for (name, expected, priority) in [
        ("seed-master.conf", &SEED_MASTER_WARNINGS[..], 101),
        ("seed-backup.conf", &SEED_BACKUP_WARNINGS[..], 100),
    ] {
        let file = fixture(name);
        let output = run(&["convert", &file]);
        assert!(output.status.success(), "{name}: {output:?}");
        assert_warnings(&stderr_lines(&output), &file, expected);
        let native = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            native.contains(&format!("priority = {priority}")),
            "{native}"
        );
        let converted =
            std::env::temp_dir().join(format!("vst-convert-{}-{name}.toml", std::process::id()));
        std::fs::write(&converted, &native)
            .unwrap_or_else(|error| panic!("{}: {error}", converted.display()));
        let checked = run(&["check", "--config", &converted.display().to_string()]);
        let _ = std::fs::remove_file(&converted);
        assert!(
            checked.status.success(),
            "{name} converted:\n{native}\n{checked:?}"
        );
        assert!(checked.stderr.is_empty(), "{checked:?}");
    }
}

#[test]
fn errors_exit_78_with_file_and_line_from_check_convert_and_run() {
    let file = fixture("unknown-keyword.conf");
    let expected = format!("{file}:4: vrrp_instance web.vrrp_frobnicate: ");
    for args in [
        vec!["check", "--keepalived-conf", &file],
        vec!["convert", &file],
        vec!["--keepalived-conf", &file],
    ] {
        let output = run(&args);
        assert_eq!(
            output.status.code(),
            Some(EX_CONFIG),
            "{args:?}: {output:?}"
        );
        assert!(output.stdout.is_empty(), "{args:?}: {output:?}");
        let lines = stderr_lines(&output);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:#?}");
        assert!(lines[0].starts_with(&expected), "{args:?}: {}", lines[0]);
    }
}

#[test]
fn a_native_and_a_keepalived_configuration_exclude_each_other() {
    let output = run(&[
        "check",
        "--config",
        "a.toml",
        "--keepalived-conf",
        &fixture("seed-master.conf"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let missing = run(&["check"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--keepalived-conf"));
}

/// The daemon runs the seed's master, logs its warnings with file and line at start, and a
/// SIGHUP rereads the keepalived.conf (not some native file): a new priority is applied.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_daemon_runs_a_keepalived_conf_and_rereads_it_on_sighup() {
    require_root("the_daemon_runs_a_keepalived_conf_and_rereads_it_on_sighup");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let seed = seed_in_lab(
        "seed-master.conf",
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 2),
    );
    let (daemon, path) = lab.start_keepalived_conf("h1", &seed);
    assert!(
        daemon.wait_state_count("BACKUP", 1, ELECTION),
        "never started\n{}",
        daemon.log_text()
    );
    let warnings: Vec<String> = daemon
        .logged("configuration warning")
        .iter()
        .filter_map(|line| line["warning"].as_str().map(str::to_owned))
        .collect();
    let file = path.display().to_string();
    assert_warnings(&warnings, &file, &SEED_MASTER_WARNINGS);

    std::fs::write(&path, seed.replace("priority 101", "priority 120"))
        .unwrap_or_else(|error| panic!("{file}: {error}"));
    lab.signal(&daemon, Signal::SIGHUP);
    let reloaded = wait_until(Duration::from_secs(5), POLL, || {
        daemon
            .logged("priority changed by reload")
            .iter()
            .any(|line| line["to"] == "120")
    });
    assert!(reloaded, "priority not reloaded\n{}", daemon.log_text());
    // The warnings are logged again, from the reread file.
    assert_eq!(
        daemon.logged("configuration warning").len(),
        2 * SEED_MASTER_WARNINGS.len()
    );
    lab.signal(&daemon, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&daemon, Duration::from_secs(5)).is_some(),
        "did not stop on SIGTERM\n{}",
        daemon.log_text()
    );
    lab.finish();
}

/// The seed's Master_Down_Interval at the backup's priority 100: 3 × 1 s + (256 − 100)/256 s.
const SEED_BACKUP_MASTER_DOWN: Duration = Duration::from_micros(3_609_375);
/// The seed master's first election: its own Master_Down_Interval (priority 101, about 3.6 s)
/// after it starts as backup, with room for the process to start.
const SEED_ELECTION: Duration = Duration::from_secs(5);

/// Both seed configurations run under `--keepalived-conf` against each other: the master's
/// file wins, the backup's file stays backup, and takes over when the master is killed.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_seed_configurations_run_against_each_other_and_fail_over() {
    require_root("the_seed_configurations_run_against_each_other_and_fail_over");
    let lab = DaemonLab::new(Lab::builder().host("h1").host("h2").build());
    let hosts = ["h1", "h2"];
    let master_ip = Ipv4Addr::new(192, 0, 2, 1);
    let backup_ip = Ipv4Addr::new(192, 0, 2, 2);
    let (master, _) =
        lab.start_keepalived_conf("h1", &seed_in_lab("seed-master.conf", master_ip, backup_ip));
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, SEED_ELECTION)
            .is_some(),
        "the seed master was not elected\n{}",
        master.log_text()
    );
    let (backup, _) =
        lab.start_keepalived_conf("h2", &seed_in_lab("seed-backup.conf", master_ip, backup_ip));
    // Two of the master's 1 s adverts reach the backup, which must stay backup.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(lab.holders(&hosts, VIP), ["h1"], "{}", backup.log_text());
    assert_eq!(backup.states(), ["BACKUP"]);

    lab.signal(&master, Signal::SIGKILL);
    let bound = SEED_BACKUP_MASTER_DOWN + MARGIN;
    let Some(takeover) = lab.wait_holding("h2", VIP, true, bound) else {
        panic!(
            "the seed backup did not take over within {bound:?}\n{}",
            backup.log_text()
        );
    };
    println!("seed master killed: the seed backup holds the VIP after {takeover:?}");
    lab.finish();
}
