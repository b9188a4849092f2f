//! The address adverts come from leaving the interface, with the real daemon in a namespace
//! lab, as keepalived 2.2.7 handles it (measured beside it in `interop_keepalived.rs`): with
//! another address on the interface, the master advertises from that one and stays master;
//! with none left, it enters Fault and leaves it when an address comes back.

mod daemon_lab;
mod netns;

use std::time::Duration;

use daemon_lab::{DaemonLab, ELECTION, InstanceSpec, MARGIN, POLL, config_text};
use netns::{Lab, require_root, wait_until};

/// A VIP outside the lab's subnet: deleting h1's 192.0.2.1/24 must not take it with it as a
/// secondary of that subnet.
const OTHER_VIP: &str = "203.0.113.100";

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_removed_source_moves_to_the_next_address_or_faults_until_one_comes() {
    require_root("a_removed_source_moves_to_the_next_address_or_faults_until_one_comes");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let ns = lab.ns("h1");
    ns.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth0"]);
    let instance = InstanceSpec::v3(150).holding(&format!("{OTHER_VIP}/24"));
    let daemon = lab.start_with_config("h1", &config_text(&[instance]), &lab.api_socket("h1"));
    assert!(
        lab.wait_holding("h1", OTHER_VIP, true, ELECTION).is_some(),
        "h1 was not elected\n{}",
        daemon.log_text()
    );

    // Another address is left: adverts come from it, and nothing else changes.
    ns.ip(&["addr", "del", "192.0.2.1/24", "dev", "eth0"]);
    let moved = "source address removed; advertising from the interface's next address";
    assert!(
        wait_until(MARGIN, POLL, || !daemon.logged(moved).is_empty()),
        "the source did not move\n{}",
        daemon.log_text()
    );
    let line = &daemon.logged(moved)[0];
    assert_eq!(line["from"], "192.0.2.1");
    assert_eq!(line["to"], "198.51.100.1");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        daemon.states(),
        ["BACKUP", "MASTER"],
        "{}",
        daemon.log_text()
    );

    // None is left: Fault, and the VIP goes.
    ns.ip(&["addr", "del", "198.51.100.1/24", "dev", "eth0"]);
    assert!(
        daemon.wait_state_count("FAULT", 1, MARGIN),
        "no Fault with no address left\n{}",
        daemon.log_text()
    );
    assert!(
        lab.wait_holding("h1", OTHER_VIP, false, MARGIN).is_some(),
        "the VIP stayed in Fault"
    );

    // An address comes back: out of Fault, and master again.
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    assert!(
        daemon.wait_state_count("BACKUP", 2, MARGIN * 3),
        "not out of Fault when an address came back\n{}",
        daemon.log_text()
    );
    assert!(
        lab.wait_holding("h1", OTHER_VIP, true, ELECTION).is_some(),
        "h1 did not take the VIP back\n{}",
        daemon.log_text()
    );
    assert_eq!(
        daemon.states(),
        ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    );
    lab.finish();
}
