//! Notifications of the real daemon in a namespace lab: the notify FIFO gets keepalived's
//! lines and the notify programs run with keepalived's arguments, all in the order of the
//! state changes, the last one (STOP) included before the daemon exits.

mod daemon_lab;
mod netns;

use std::io::Read;
use std::time::Duration;

use nix::sys::signal::Signal;

use daemon_lab::{DaemonLab, ELECTION, InstanceSpec, VIP};
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
