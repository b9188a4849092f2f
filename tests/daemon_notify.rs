//! Notifications of the real daemon in a namespace lab: the notify FIFO gets keepalived's
//! lines and the notify programs run with keepalived's arguments, all in the order of the
//! state changes, the last one (STOP) included before the daemon exits.

mod daemon_lab;
mod netns;

use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use daemon_lab::{DaemonLab, ELECTION, InstanceSpec, VIP};
use netns::{Lab, require_root};

/// How long a lone master takes to stop on SIGTERM: it resigns and waits for a successor
/// that never comes, for a bound of a few advert intervals, then its notifications drain.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Writes an executable shell script at `path` that appends `words` and its arguments as
/// one line to `record`.
fn recording_program(path: &Path, record: &Path, words: &str) {
    let text = format!("#!/bin/sh\necho \"{words} $*\" >> '{}'\n", record.display());
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

#[test]
fn fifo_lines_and_programs_follow_the_state_changes_in_order() {
    if !require_root("fifo_lines_and_programs_follow_the_state_changes_in_order") {
        return;
    }
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let record = lab.scratch("record");
    let fifo = lab.scratch("notify.fifo");
    let created = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(created.success(), "mkfifo {}", fifo.display());
    // Opened before the daemon, without blocking, so every line it writes waits here.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap_or_else(|error| panic!("{}: {error}", fifo.display()));
    let programs: Vec<String> = ["on_master", "on_backup", "on_stop", "on_change"]
        .iter()
        .map(|name| {
            let path = lab.scratch(&format!("{name}.sh"));
            recording_program(&path, &record, name);
            format!("{name} = \"{}\"", path.display())
        })
        .collect();
    let notify = format!(
        "notify = {{ {}, fifo = \"{}\" }}",
        programs.join(", "),
        fifo.display()
    );
    let daemon = lab.start("h1", &[InstanceSpec::v3(150).with(&notify)]);
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "never became master\n{}",
        daemon.log_text()
    );
    lab.signal(&daemon, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&daemon, STOP_WAIT).is_some(),
        "did not stop\n{}",
        daemon.log_text()
    );

    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    assert_eq!(
        recorded.lines().collect::<Vec<_>>(),
        [
            "on_backup ",
            "on_change INSTANCE vi BACKUP 150",
            "on_master ",
            "on_change INSTANCE vi MASTER 150",
            // SIGTERM: the master resigns (priority 0, back to backup), then stops.
            "on_backup ",
            "on_change INSTANCE vi BACKUP 150",
            "on_stop ",
            "on_change INSTANCE vi STOP 150",
        ],
        "{}",
        daemon.log_text()
    );
    let mut lines = String::new();
    reader
        .read_to_string(&mut lines)
        .unwrap_or_else(|error| panic!("reading {}: {error}", fifo.display()));
    assert_eq!(
        lines,
        "INSTANCE \"vi\" BACKUP 150\nINSTANCE \"vi\" MASTER 150\nINSTANCE \"vi\" BACKUP 150\n\
         INSTANCE \"vi\" STOP 150\n"
    );
    lab.finish();
}
