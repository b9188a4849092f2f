//! Link debouncing (`[link_debounce]`, keepalived's `interface_up_down_delays`) with the real
//! daemon in a namespace lab: a master whose eth0 flaps for less than the down delay stays
//! master; one whose link stays down enters Fault when the delay ends, not before, and leaves
//! it the up delay after the link is back. `GetInstance` shows the delays and the pending
//! change meanwhile. The time between the link event and the transition is read from the
//! daemon's own log timestamps, so a loaded machine delaying the test does not skew it.
//! Delays that a backup could outrun are shortened as keepalived shortens them.

mod api_lab;
mod daemon_lab;
mod netns;

use std::time::Duration;

use vrrp_sidecar_client::proto::{self, TransitionReason};

use api_lab::{connect, runtime};
use daemon_lab::{Daemon, DaemonLab, ELECTION, InstanceSpec, MARGIN, POLL, VIP, config_text};
use netns::{Lab, require_root, wait_until};

const DOWN_DELAY: Duration = Duration::from_secs(1);
const UP_DELAY: Duration = Duration::from_millis(500);
/// How much later than its delay the transition may be logged: the router's timer and the
/// work of entering Fault, on a loaded machine.
const LATE: Duration = Duration::from_millis(100);

fn lab() -> DaemonLab {
    DaemonLab::new(Lab::builder().host("h1").build())
}

/// A master on h1 with 100 ms adverts whose eth0 is debounced by `down` and `up`, and
/// `down_timer_adverts` waited for (30: a backup waits 2.9 s, so a 1 s delay fits).
fn start(lab: &DaemonLab, down_timer_adverts: u8, down: &str, up: &str) -> Daemon {
    let instance =
        InstanceSpec::v3(150).with(&format!("down_timer_adverts = {down_timer_adverts}"));
    let text = format!(
        "{}[link_debounce.eth0]\ndown_delay = \"{down}\"\nup_delay = \"{up}\"\n",
        config_text(&[instance])
    );
    lab.start_with_config("h1", &text, &lab.api_socket("h1"))
}

fn get_instance(lab: &DaemonLab) -> proto::Instance {
    runtime().block_on(async {
        let mut client = connect(&lab.api_socket("h1")).await;
        client
            .get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .expect("GetInstance")
            .into_inner()
    })
}

fn as_duration(duration: Option<&prost_types::Duration>) -> Duration {
    let duration = duration.expect("the field is set");
    Duration::new(
        u64::try_from(duration.seconds).expect("not negative"),
        u32::try_from(duration.nanos).expect("not negative"),
    )
}

/// How long after the last log line `event` the daemon logged entering `state`.
fn logged_delay(daemon: &Daemon, event: &str, state: &str) -> Duration {
    let events = daemon.logged(event);
    let event = events
        .last()
        .unwrap_or_else(|| panic!("`{event}` not logged\n{}", daemon.log_text()));
    let changes = daemon.logged("state changed");
    let change = changes
        .iter()
        .rfind(|line| line["to"].as_str() == Some(state))
        .unwrap_or_else(|| panic!("no change to {state} logged\n{}", daemon.log_text()));
    Duration::from_secs_f64((daemon_lab::logged_at(change) - daemon_lab::logged_at(event)).max(0.0))
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_flap_shorter_than_the_delay_changes_nothing_and_a_longer_one_faults_after_it() {
    require_root("a_flap_shorter_than_the_delay_changes_nothing_and_a_longer_one_faults_after_it");
    let lab = lab();
    let daemon = start(&lab, 30, "1s", "500ms");
    // Alone, it takes over after 30 intervals of 100 ms and its skew.
    let election = ELECTION + Duration::from_secs(3);
    assert!(
        lab.wait_holding("h1", VIP, true, election).is_some(),
        "h1 was not elected\n{}",
        daemon.log_text()
    );
    let instance = get_instance(&lab);
    let link = instance.link_debounce.as_ref().expect("eth0 has delays");
    assert_eq!(as_duration(link.down_delay.as_ref()), DOWN_DELAY);
    assert_eq!(as_duration(link.up_delay.as_ref()), UP_DELAY);
    assert_eq!(link.pending, None);

    // A flap of 300 ms: the down change is dropped when the link comes back.
    let ns = lab.ns("h1");
    ns.ip(&["link", "set", "eth0", "down"]);
    std::thread::sleep(Duration::from_millis(300));
    ns.ip(&["link", "set", "eth0", "up"]);
    assert!(
        wait_until(MARGIN, POLL, || {
            !daemon
                .logged("link up again before its delay ended; nothing changes")
                .is_empty()
        }),
        "the flap was not dropped\n{}",
        daemon.log_text()
    );
    std::thread::sleep(DOWN_DELAY + LATE);
    assert_eq!(
        daemon.states(),
        ["BACKUP", "MASTER"],
        "{}",
        daemon.log_text()
    );
    assert!(lab.holds("h1", VIP), "the VIP went with a short flap");
    println!("flap of 300 ms with a 1 s down delay: no transition");

    // Down for good: Fault when the delay ends, with the pending change shown meanwhile.
    ns.ip(&["link", "set", "eth0", "down"]);
    std::thread::sleep(Duration::from_millis(200));
    let pending = get_instance(&lab)
        .link_debounce
        .and_then(|link| link.pending)
        .unwrap_or_else(|| panic!("no pending change shown\n{}", daemon.log_text()));
    assert!(!pending.up);
    let remaining = as_duration(pending.remaining.as_ref());
    assert!(remaining < DOWN_DELAY, "{remaining:?}");
    assert!(
        daemon.wait_state_count("FAULT", 1, DOWN_DELAY + MARGIN),
        "no Fault after the down delay\n{}",
        daemon.log_text()
    );
    let down_took = logged_delay(
        &daemon,
        "link down; acted on when its delay ends, unless it changes back",
        "FAULT",
    );
    assert!(
        down_took >= DOWN_DELAY - Duration::from_millis(2) && down_took < DOWN_DELAY + LATE,
        "Fault {down_took:?} after the link went down, with a {DOWN_DELAY:?} delay"
    );
    let instance = get_instance(&lab);
    assert_eq!(
        instance.last_transition_reason(),
        TransitionReason::Interface
    );
    assert_eq!(instance.link_debounce.and_then(|link| link.pending), None);

    // Back up: Backup after the up delay, then Master again.
    ns.ip(&["link", "set", "eth0", "up"]);
    assert!(
        daemon.wait_state_count("BACKUP", 2, UP_DELAY + MARGIN),
        "not out of Fault after the up delay\n{}",
        daemon.log_text()
    );
    let up_took = logged_delay(
        &daemon,
        "link up; acted on when its delay ends, unless it changes back",
        "BACKUP",
    );
    assert!(
        up_took >= UP_DELAY - Duration::from_millis(2) && up_took < UP_DELAY + LATE,
        "Backup {up_took:?} after the link came up, with a {UP_DELAY:?} delay"
    );
    assert!(
        lab.wait_holding("h1", VIP, true, election).is_some(),
        "h1 did not take the VIP back\n{}",
        daemon.log_text()
    );
    assert_eq!(
        daemon.states(),
        ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    );
    println!(
        "link down for good: Fault {down_took:?} after it (delay {DOWN_DELAY:?}); link back: \
         Backup {up_took:?} after it (delay {UP_DELAY:?})"
    );
    lab.finish();
}

/// Delays a backup could outrun are shortened as keepalived shortens them: with 100 ms
/// adverts and three of them waited for, to 2 × 100 ms less 100 ms / 256 (199.61 ms); with
/// `down_timer_adverts = 1` they are turned off and a link down faults at once.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn delays_a_backup_could_outrun_are_shortened_or_turned_off() {
    require_root("delays_a_backup_could_outrun_are_shortened_or_turned_off");
    let lab = lab();
    let daemon = start(&lab, 3, "1s", "5s");
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let link = get_instance(&lab).link_debounce.expect("eth0 has delays");
    let limit = Duration::from_micros(199_610);
    assert_eq!(as_duration(link.down_delay.as_ref()), limit);
    assert_eq!(as_duration(link.up_delay.as_ref()), limit);
    lab.signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    assert!(lab.wait_exit(&daemon, Duration::from_secs(5)).is_some());

    let daemon = start(&lab, 1, "1s", "1s");
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let link = get_instance(&lab).link_debounce.expect("eth0 is listed");
    assert_eq!(as_duration(link.down_delay.as_ref()), Duration::ZERO);
    assert!(
        !daemon
            .logged(
                "cannot use link_debounce delays with down_timer_adverts = 1; turned off, as \
                 keepalived does"
            )
            .is_empty(),
        "{}",
        daemon.log_text()
    );
    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    assert!(
        daemon.wait_state_count("FAULT", 1, MARGIN),
        "no Fault at once without delays\n{}",
        daemon.log_text()
    );
    lab.finish();
}
