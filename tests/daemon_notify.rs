//! Notifications of the real daemon in a namespace lab: the notify FIFO gets keepalived's
//! lines and the notify programs run with keepalived's arguments, all in the order of the
//! state changes, the last one (STOP) included before the daemon exits.

mod daemon_lab;
mod netns;

use std::io::Read;
use std::time::Duration;

use nix::sys::signal::Signal;

use daemon_lab::{DaemonLab, ELECTION, InstanceSpec, POLL, VIP};
use netns::{Lab, require_root};

/// How long a lone master takes to stop on SIGTERM: it resigns and waits for a successor
/// that never comes, for a bound of a few advert intervals, then its notifications drain.
const STOP_WAIT: Duration = Duration::from_secs(10);

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn fifo_lines_and_programs_follow_the_state_changes_in_order() {
    require_root("fifo_lines_and_programs_follow_the_state_changes_in_order");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let record = lab.scratch("record");
    let (fifo, mut reader) = lab.notify_fifo("notify.fifo");
    let programs: Vec<String> = ["on_master", "on_backup", "on_stop", "on_change"]
        .iter()
        .map(|name| {
            let path = lab.recording_program(&format!("{name}.sh"), &record, &format!("{name} "));
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

/// The same from a keepalived.conf: `notify_master`, `notify_backup`, `notify_fault`,
/// `notify_stop`, `notify` and the global `notify_fifo`, through a fault (the link goes
/// down and comes back). The programs and the FIFO get the instance's name as written in
/// the file (`VI_1`, which scripts match on), not the native `vi_1`.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_keepalived_conf_runs_its_notify_programs_and_fifo_in_order() {
    require_root("a_keepalived_conf_runs_its_notify_programs_and_fifo_in_order");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let record = lab.scratch("record");
    let (fifo, mut reader) = lab.notify_fifo("notify.fifo");
    let mut lines = Vec::new();
    for keyword in [
        "notify_master",
        "notify_backup",
        "notify_fault",
        "notify_stop",
        "notify",
    ] {
        let path = lab.recording_program(&format!("{keyword}.sh"), &record, &format!("{keyword} "));
        lines.push(format!("    {keyword} {}", path.display()));
    }
    let text = format!(
        "! notifications as keepalived has them\nglobal_defs {{\n    notify_fifo {}\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    version 3\n    virtual_router_id 51\n\
         \x20   priority 150\n    advert_int 0.1\n    virtual_ipaddress {{\n        {VIP}/24\n\
         \x20   }}\n{}\n}}\n",
        fifo.display(),
        lines.join("\n")
    );
    let (daemon, _) = lab.start_keepalived_conf("h1", &text);
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "never became master\n{}",
        daemon.log_text()
    );
    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    assert!(
        daemon.wait_state_count("FAULT", 1, ELECTION),
        "no fault on link down\n{}",
        daemon.log_text()
    );
    lab.ns("h1").ip(&["link", "set", "eth0", "up"]);
    assert!(
        daemon.wait_state_count("MASTER", 2, ELECTION),
        "not master again after the link came back\n{}",
        daemon.log_text()
    );
    lab.signal(&daemon, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&daemon, STOP_WAIT).is_some(),
        "did not stop\n{}",
        daemon.log_text()
    );

    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    let states = [
        "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "BACKUP", "STOP",
    ];
    let expected: Vec<String> = states
        .iter()
        .flat_map(|state| {
            let program = match *state {
                "MASTER" => "notify_master",
                "BACKUP" => "notify_backup",
                "FAULT" => "notify_fault",
                _ => "notify_stop",
            };
            [
                format!("{program} "),
                format!("notify INSTANCE VI_1 {state} 150"),
            ]
        })
        .collect();
    assert_eq!(
        recorded.lines().collect::<Vec<_>>(),
        expected,
        "{}",
        daemon.log_text()
    );
    let mut written = String::new();
    reader
        .read_to_string(&mut written)
        .unwrap_or_else(|error| panic!("reading {}: {error}", fifo.display()));
    let expected_fifo: String = states
        .iter()
        .map(|state| format!("INSTANCE \"VI_1\" {state} 150\n"))
        .collect();
    assert_eq!(written, expected_fifo);
    lab.finish();
}

/// Which daemon runs the keepalived.conf of the side-by-side test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    Ours,
    Keepalived,
}

/// What one daemon wrote and ran for the events of [`notify_switches_run`].
#[derive(Debug)]
struct NotifyRecord {
    /// The FIFO's lines as its reader copied them, up to the daemon's exit.
    lines: Vec<String>,
    /// What the FIFO's reader recorded: its arguments, and how it ended.
    reader: Vec<String>,
    /// The other programs' records (`notify_master_rx_lower_pri`, `notify_deleted`,
    /// `notify`), each line `PROGRAM ARGUMENTS`.
    programs: Vec<String>,
    /// Whether the FIFO, made by the daemon, was still there after it exited.
    fifo_left: bool,
}

/// How long the lower-priority peer stays master while h1 hears it.
const PEER_MASTER_FOR: Duration = Duration::from_secs(2);

/// The keepalived.conf of the side-by-side test: two instances, a FIFO (which does not
/// exist yet) with its reader, priority changes, `notify_master_rx_lower_pri`,
/// `notify_deleted` and `notify`. `with_vi_1` false gives the reload's file.
fn notify_switches_conf(scratch: &dyn Fn(&str) -> std::path::PathBuf, with_vi_1: bool) -> String {
    let path = |name: &str| scratch(name).display().to_string();
    let vi_1 = format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    version 3\n    virtual_router_id 51\n\
         \x20   priority 150\n    advert_int 0.1\n    track_file {{\n        tf weight 10\n    }}\n\
         \x20   notify_master_rx_lower_pri \"{} one two\"\n    notify_deleted {}\n\
         \x20   notify {}\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n",
        path("rx_lower.sh"),
        path("deleted.sh"),
        path("notify.sh"),
    );
    format!(
        "global_defs {{\n    script_user root\n    vrrp_notify_fifo {}\n\
         \x20   vrrp_notify_fifo_script \"{} extra\"\n    vrrp_notify_priority_changes\n}}\n\
         track_file tf {{\n    file {}\n}}\n{}\
         vrrp_instance VI_2 {{\n    interface eth0\n    version 3\n    virtual_router_id 52\n\
         \x20   priority 150\n    advert_int 0.1\n    notify {}\n    virtual_ipaddress {{\n\
         \x20       192.0.2.101/24\n    }}\n}}\n",
        path("notify.fifo"),
        path("reader.sh"),
        path("track"),
        if with_vi_1 { vi_1.as_str() } else { "" },
        path("notify.sh"),
    )
}

/// Runs the side-by-side events with `runner` on h1: both instances become master; a peer
/// on h2 that cannot hear VRRP becomes master of VI_1 at a lower priority for
/// [`PEER_MASTER_FOR`], then stops; VI_1's tracked file moves its priority from 150 to 170;
/// a reload removes VI_1; the daemon stops.
fn notify_switches_run(runner: Runner) -> NotifyRecord {
    use std::os::unix::fs::PermissionsExt;
    let lab = DaemonLab::new(Lab::builder().host("h1").host("h2").build());
    let scratch = |name: &str| lab.scratch(name);
    let record = lab.scratch("programs");
    let reader_record = lab.scratch("reader");
    let lines_file = lab.scratch("lines");
    for (name, words) in [
        ("rx_lower.sh", "rx_lower "),
        ("deleted.sh", "deleted "),
        ("notify.sh", "notify "),
    ] {
        lab.recording_program(name, &record, words);
    }
    // The reader: its arguments first, then each line as it comes, then how it ended.
    let reader = lab.scratch("reader.sh");
    std::fs::write(
        &reader,
        format!(
            "#!/bin/sh\nfor last in \"$@\"; do :; done\necho \"args $*\" >> '{record}'\n\
             trap 'echo TERM >> \"{record}\"; exit 0' TERM\n\
             while IFS= read -r line; do echo \"$line\" >> '{lines}'; done < \"$last\"\n\
             echo EOF >> '{record}'\n",
            record = reader_record.display(),
            lines = lines_file.display(),
        ),
    )
    .expect("the reader is written");
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755))
        .expect("the reader is made executable");
    let track = lab.scratch("track");
    std::fs::write(&track, "0\n").expect("the tracked file is written");
    let conf = notify_switches_conf(&scratch, true);
    let conf_path = lab.scratch("h1.keepalived.conf");
    let (pid, log) = match runner {
        Runner::Ours => {
            let (daemon, path) = lab.start_keepalived_conf("h1", &conf);
            assert_eq!(path, conf_path);
            (daemon.pid, daemon.log.clone())
        }
        Runner::Keepalived => {
            std::fs::write(&conf_path, &conf).expect("the keepalived.conf is written");
            let file = |suffix: &str| lab.scratch(suffix).display().to_string();
            let log = lab.scratch("keepalived.log");
            let pid = lab.lab.spawn_logged(
                lab.ns("h1"),
                &[
                    "keepalived",
                    "-n",
                    "-l",
                    "-P",
                    "-f",
                    &file("h1.keepalived.conf"),
                    "-p",
                    &file("keepalived.pid"),
                    "-r",
                    &file("keepalived.vrrp.pid"),
                ],
                &[],
                &log,
            );
            (pid, log)
        }
    };
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let lines = || {
        std::fs::read_to_string(&lines_file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let wait_line = |wanted: &str, timeout: Duration| {
        netns::wait_until(timeout, POLL, || lines().iter().any(|line| line == wanted))
    };
    assert!(
        wait_line("INSTANCE \"VI_1\" MASTER 150", ELECTION)
            && wait_line("INSTANCE \"VI_2\" MASTER 150", ELECTION),
        "{runner:?}: not master\n{:?}\n{}",
        lines(),
        log_text()
    );

    // A peer deaf to VRRP takes VI_1 at priority 50: h1, master, hears a lower priority at
    // each of its adverts.
    lab.ns("h2").run_ok(&[
        "nft",
        "add table inet deaf; add chain inet deaf input { type filter hook input priority 0; }; \
         add rule inet deaf input ip protocol vrrp drop",
    ]);
    let peer = lab.start("h2", &[InstanceSpec::v3(50)]);
    assert!(
        peer.wait_state_count("MASTER", 1, ELECTION),
        "the deaf peer never became master\n{}",
        peer.log_text()
    );
    std::thread::sleep(PEER_MASTER_FOR);
    lab.signal(&peer, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&peer, STOP_WAIT).is_some(),
        "the peer did not stop"
    );

    std::fs::write(&track, "2\n").expect("the tracked file is written");
    assert!(
        wait_line("INSTANCE \"VI_1\" MASTER_PRIORITY 170", ELECTION),
        "{runner:?}: no priority line\n{:?}\n{}",
        lines(),
        log_text()
    );

    std::fs::write(&conf_path, notify_switches_conf(&scratch, false))
        .expect("the reload's keepalived.conf is written");
    lab.lab.signal(pid, Signal::SIGHUP);
    assert!(
        netns::wait_until(ELECTION, POLL, || lines()
            .iter()
            .any(|line| line.starts_with("INSTANCE \"VI_1\" DELETED"))),
        "{runner:?}: no DELETED line\n{:?}\n{}",
        lines(),
        log_text()
    );
    // The reload's own reader (keepalived starts another) settles before the stop.
    std::thread::sleep(Duration::from_millis(500));
    lab.lab.signal(pid, Signal::SIGTERM);
    assert!(
        lab.lab.wait_exit(pid, STOP_WAIT).is_some(),
        "{runner:?}: did not stop\n{}",
        log_text()
    );
    // The reader's last words come after the daemon's exit.
    let ended = netns::wait_until(Duration::from_secs(2), POLL, || {
        let text = std::fs::read_to_string(&reader_record).unwrap_or_default();
        text.lines().filter(|line| line.starts_with("args")).count()
            <= text
                .lines()
                .filter(|line| *line == "TERM" || *line == "EOF")
                .count()
    });
    assert!(ended, "{runner:?}: the FIFO's reader is still running");
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let fifo_left = scratch("notify.fifo").exists();
    let record = NotifyRecord {
        lines: lines(),
        reader: read(&reader_record)
            .into_iter()
            .map(|line| line.replace(&lab.scratch("").display().to_string(), "SCRATCH/"))
            .collect(),
        programs: read(&record),
        fifo_left,
    };
    lab.finish();
    record
}

/// The lines of `lines` up to the first DELETED one, runs of MASTER_RX_LOWER_PRI lines
/// folded into one, and how many lines each run had.
fn folded_until_deleted(lines: &[String]) -> (Vec<String>, Vec<usize>) {
    let mut folded: Vec<String> = Vec::new();
    let mut runs = Vec::new();
    for line in lines {
        if line.contains(" MASTER_RX_LOWER_PRI ") && folded.last() == Some(line) {
            *runs
                .last_mut()
                .expect("a run is counted for its first line") += 1;
            continue;
        }
        if line.contains(" MASTER_RX_LOWER_PRI ") {
            runs.push(1);
        }
        folded.push(line.clone());
        if line.contains(" DELETED ") {
            break;
        }
    }
    (folded, runs)
}

/// Issue 17's notify switches, from one keepalived.conf run by keepalived 2.2.7 and by the
/// daemon, the same events on both: `vrrp_notify_fifo_script` (started with its arguments
/// and the FIFO's path, which the daemon makes and removes; SIGTERM at the end),
/// `vrrp_notify_priority_changes` (`MASTER_PRIORITY`), `notify_master_rx_lower_pri` (one
/// line and one run per lower-priority advert, the program with its own arguments only)
/// and `notify_deleted` (`DELETED` for the instance a reload removes).
#[test]
#[ignore = "lab: needs root, keepalived, nft; scripts/test runs it"]
fn keepalived_conf_notify_switches_write_what_keepalived_writes() {
    let test = "keepalived_conf_notify_switches_write_what_keepalived_writes";
    require_root(test);
    netns::require_tools(test, &[("keepalived", "keepalived"), ("nft", "nftables")]);
    let theirs = notify_switches_run(Runner::Keepalived);
    let ours = notify_switches_run(Runner::Ours);
    eprintln!("keepalived 2.2.7: {theirs:#?}\nours: {ours:#?}");

    let (their_lines, their_runs) = folded_until_deleted(&theirs.lines);
    let (our_lines, our_runs) = folded_until_deleted(&ours.lines);
    let per_instance = |lines: &[String], instance: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|line| line.contains(instance))
            .cloned()
            .collect()
    };
    for instance in ["\"VI_1\"", "\"VI_2\""] {
        assert_eq!(
            per_instance(&our_lines, instance),
            per_instance(&their_lines, instance),
            "the FIFO lines of {instance}"
        );
    }
    assert_eq!(
        per_instance(&our_lines, "\"VI_1\""),
        [
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 170",
            "INSTANCE \"VI_1\" DELETED 170",
        ]
    );
    // One line per advert of the peer: 10 a second for about PEER_MASTER_FOR on both.
    assert_eq!(our_runs.len(), 1);
    assert_eq!(their_runs.len(), 1);
    let (our_count, their_count) = (our_runs[0], their_runs[0]);
    eprintln!("MASTER_RX_LOWER_PRI lines: ours {our_count}, keepalived {their_count}");
    assert!(
        our_count >= 10 && their_count >= 10 && our_count.abs_diff(their_count) * 3 <= their_count,
        "MASTER_RX_LOWER_PRI lines: ours {our_count}, keepalived {their_count}"
    );
    let count = |record: &NotifyRecord, prefix: &str| {
        record
            .programs
            .iter()
            .filter(|line| line.starts_with(prefix))
            .count()
    };
    assert_eq!(count(&ours, "rx_lower one two"), count(&ours, "rx_lower "));
    assert_eq!(
        count(&theirs, "rx_lower one two"),
        count(&theirs, "rx_lower ")
    );
    assert!(count(&ours, "rx_lower ").abs_diff(our_count) <= 1);
    // keepalived forks both programs at once, so their order is not kept.
    let deleted = |record: &NotifyRecord| -> Vec<String> {
        let mut lines: Vec<String> = record
            .programs
            .iter()
            .filter(|line| line.starts_with("deleted") || line.contains("DELETED"))
            .cloned()
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(deleted(&ours), deleted(&theirs));
    assert_eq!(
        deleted(&ours),
        ["deleted ", "notify INSTANCE VI_1 DELETED 170"]
    );
    // The reader: started with the configured argument and the FIFO's path, stopped with
    // SIGTERM at the end; keepalived also restarts it at the reload, which the daemon does
    // not for an unchanged reader.
    let our_reader_args: Vec<&String> = ours
        .reader
        .iter()
        .filter(|l| l.starts_with("args"))
        .collect();
    assert_eq!(our_reader_args, ["args extra SCRATCH/notify.fifo"]);
    assert!(
        theirs
            .reader
            .contains(&"args extra SCRATCH/notify.fifo".to_owned())
    );
    assert_eq!(ours.reader.last().map(String::as_str), Some("TERM"));
    assert_eq!(theirs.reader.last().map(String::as_str), Some("TERM"));
    assert!(
        !ours.fifo_left && !theirs.fifo_left,
        "the FIFO made is removed at exit"
    );
}

/// The same switches in the native configuration: `fifo` (made by the daemon) with its
/// `fifo_program`, `priority_changes` (a reload moves the priority), `report_removal_as =
/// "deleted"` with `on_deleted` (a reload removes the instance), and `on_change` hearing
/// `DELETED`.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn native_notify_switches_make_the_fifo_start_its_reader_and_report_a_removal() {
    use std::os::unix::fs::PermissionsExt;
    require_root("native_notify_switches_make_the_fifo_start_its_reader_and_report_a_removal");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let record = lab.scratch("record");
    let lines_file = lab.scratch("lines");
    let fifo = lab.scratch("made.fifo");
    let reader = lab.scratch("reader.sh");
    std::fs::write(
        &reader,
        format!(
            "#!/bin/sh\nfor last in \"$@\"; do :; done\necho \"reader $*\" >> '{record}'\n\
             trap 'echo \"reader TERM\" >> \"{record}\"; exit 0' TERM\n\
             while IFS= read -r line; do echo \"$line\" >> '{lines}'; done < \"$last\"\n",
            record = record.display(),
            lines = lines_file.display(),
        ),
    )
    .expect("the reader is written");
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755))
        .expect("the reader is made executable");
    let on_deleted = lab.recording_program("on_deleted.sh", &record, "on_deleted ");
    let on_change = lab.recording_program("on_change.sh", &record, "on_change ");
    let on_stop = lab.recording_program("on_stop.sh", &record, "on_stop ");
    let notify = format!(
        "notify = {{ fifo = \"{}\", fifo_program = [\"{}\", \"--from-test\"], \
         priority_changes = true, report_removal_as = \"deleted\", on_deleted = \"{}\", \
         on_change = \"{}\", on_stop = \"{}\" }}",
        fifo.display(),
        reader.display(),
        on_deleted.display(),
        on_change.display(),
        on_stop.display(),
    );
    let kept = InstanceSpec {
        name: "kept",
        vrid: 52,
        ..InstanceSpec::v3(150).holding("192.0.2.101/24")
    };
    let daemon = lab.start("h1", &[InstanceSpec::v3(150).with(&notify), kept.clone()]);
    let lines = || {
        std::fs::read_to_string(&lines_file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let wait_line = |wanted: &str| {
        netns::wait_until(ELECTION, POLL, || lines().iter().any(|line| line == wanted))
    };
    assert!(
        wait_line("INSTANCE \"vi\" MASTER 150"),
        "{:?}\n{}",
        lines(),
        daemon.log_text()
    );
    let file_type = std::fs::metadata(&fifo)
        .expect("the daemon made the FIFO")
        .file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&file_type));

    // A reload moves the priority, then one removes the instance.
    let config = lab.scratch("h1.toml");
    let with_priority = |priority: u8| {
        daemon_lab::config_text(&[
            InstanceSpec {
                priority,
                ..InstanceSpec::v3(150).with(&notify)
            },
            kept.clone(),
        ])
    };
    std::fs::write(&config, with_priority(170)).expect("the configuration is written");
    lab.signal(&daemon, Signal::SIGHUP);
    assert!(
        wait_line("INSTANCE \"vi\" MASTER_PRIORITY 170"),
        "{:?}\n{}",
        lines(),
        daemon.log_text()
    );
    std::fs::write(
        &config,
        daemon_lab::config_text(std::slice::from_ref(&kept)),
    )
    .expect("the configuration is written");
    lab.signal(&daemon, Signal::SIGHUP);
    assert!(
        wait_line("INSTANCE \"vi\" DELETED 170"),
        "{:?}\n{}",
        lines(),
        daemon.log_text()
    );
    lab.signal(&daemon, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&daemon, STOP_WAIT).is_some(),
        "did not stop\n{}",
        daemon.log_text()
    );
    assert!(
        netns::wait_until(Duration::from_secs(2), POLL, || {
            std::fs::read_to_string(&record)
                .unwrap_or_default()
                .contains("reader TERM")
        }),
        "the reader got no SIGTERM"
    );
    assert!(
        !fifo.exists(),
        "the FIFO the daemon made is removed at exit"
    );
    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    // The reader runs beside the notify programs, so only each one's own order is known.
    let (reader_lines, program_lines): (Vec<&str>, Vec<&str>) = recorded
        .lines()
        .partition(|line| line.starts_with("reader "));
    assert_eq!(
        reader_lines,
        [
            format!("reader --from-test {}", fifo.display()).as_str(),
            "reader TERM"
        ],
        "{}",
        daemon.log_text()
    );
    assert_eq!(
        program_lines,
        [
            "on_change INSTANCE vi BACKUP 150",
            "on_change INSTANCE vi MASTER 150",
            "on_deleted ",
            "on_change INSTANCE vi DELETED 170",
        ],
        "{}",
        daemon.log_text()
    );
    assert_eq!(
        lines(),
        [
            "INSTANCE \"vi\" BACKUP 150",
            "INSTANCE \"vi\" MASTER 150",
            "INSTANCE \"vi\" MASTER_PRIORITY 170",
            "INSTANCE \"vi\" DELETED 170",
        ]
    );
    lab.finish();
}
