//! Static addresses (`static_addresses`, keepalived's `static_ipaddress`) in a namespace lab:
//! added at start on master and backup alike, put back when someone deletes a tracked one,
//! left deleted with `no_track`, changed by a reload, removed at exit, and no instance
//! changes state for any of it. The same file on keepalived 2.2.7 runs side by side in
//! `interop_keepalived.rs`.
//!
//! Needs root; without it the test fails saying so.

mod api_lab;
mod daemon_lab;
mod netns;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use daemon_lab::{DaemonLab, ELECTION, InstanceSpec, MARGIN, POLL, VIP};
use netns::{Lab, wait_until};

const MASTER: &str = "sa1";
const BACKUP: &str = "sa2";

/// A tracked static address on eth0, an untracked one, and a tracked IPv6 one.
const TRACKED: &str = "198.51.100.20";
const UNTRACKED: &str = "198.51.100.21";
const TRACKED_V6: &str = "2001:db8::20";
/// Added by the reload.
const RELOADED: &str = "198.51.100.22";

/// How long a deleted static address may take to come back: the event, the router and the
/// VIP worker's queue, on a loaded two-core machine.
const PUT_BACK: Duration = Duration::from_secs(2);

/// How long a stopping daemon may take to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);

fn static_lines(with_reloaded: bool) -> String {
    let reloaded = if with_reloaded {
        format!(", {{ address = \"{RELOADED}/24\", dev = \"eth0\" }}")
    } else {
        String::new()
    };
    format!(
        "static_addresses = [{{ address = \"{TRACKED}/24\", dev = \"eth0\", label = \
         \"eth0:st\" }}, {{ address = \"{UNTRACKED}/32\", dev = \"eth0\", no_track = true }}, \
         {{ address = \"{TRACKED_V6}/64\", dev = \"eth0\" }}{reloaded}]\n"
    )
}

fn text(priority: u8, with_reloaded: bool) -> String {
    format!(
        "{}{}",
        static_lines(with_reloaded),
        daemon_lab::config_text(&[InstanceSpec::v3(priority)])
    )
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn static_addresses_are_added_at_start_put_back_and_removed_at_exit() {
    netns::require_root("static_addresses_are_added_at_start_put_back_and_removed_at_exit");
    let lab = DaemonLab::new(Lab::builder().host(MASTER).host(BACKUP).build());
    let master_config = lab.write_config(MASTER, &text(150, false));
    let master = lab.start_with_config(MASTER, &text(150, false), &lab.api_socket(MASTER));
    assert!(
        lab.wait_holding(MASTER, VIP, true, ELECTION).is_some(),
        "{}",
        master.log_text()
    );
    let backup = lab.start_with_config(BACKUP, &text(100, false), &lab.api_socket(BACKUP));
    assert!(backup.wait_state_count("BACKUP", 1, ELECTION));
    for host in [MASTER, BACKUP] {
        for address in [TRACKED, UNTRACKED, TRACKED_V6] {
            assert!(
                wait_until(ELECTION, POLL, || lab.holds(host, address)),
                "{host} lacks static {address}"
            );
        }
    }
    let label = lab
        .address_entry(BACKUP, TRACKED)
        .and_then(|entry| entry["label"].as_str().map(str::to_owned));
    assert_eq!(label.as_deref(), Some("eth0:st"));
    let lifetime = lab
        .address_entry(BACKUP, TRACKED)
        .map(|entry| entry["valid_life_time"].clone());
    assert_eq!(
        lifetime,
        Some(serde_json::json!(4_294_967_295_u32)),
        "a static address is permanent"
    );
    assert!(!lab.holds(BACKUP, VIP));

    // Deleted on the backup: the tracked ones come back, the no_track one does not, and the
    // instance stays where it is.
    let states_before = backup.states();
    let ns = lab.ns(BACKUP);
    let deleted = Instant::now();
    // The untracked one is a /32, so that deleting the tracked /24 (its primary) does not
    // take it along as the kernel does with a subnet's secondary addresses.
    for (address, prefix) in [(UNTRACKED, 32), (TRACKED, 24), (TRACKED_V6, 64)] {
        ns.ip(&["addr", "del", &format!("{address}/{prefix}"), "dev", "eth0"]);
    }
    assert!(
        wait_until(PUT_BACK, Duration::from_millis(2), || {
            lab.holds(BACKUP, TRACKED) && lab.holds(BACKUP, TRACKED_V6)
        }),
        "not put back\n{}",
        backup.log_text()
    );
    let put_back = deleted.elapsed();
    std::thread::sleep(MARGIN);
    assert!(
        !lab.holds(BACKUP, UNTRACKED),
        "the no_track address came back"
    );
    assert_eq!(backup.states(), states_before, "{}", backup.log_text());
    assert!(
        !backup
            .logged("put back a virtual address someone removed")
            .is_empty()
    );

    // A reload adds the new one and keeps the others where they are.
    std::fs::write(&master_config, text(150, true)).expect("the scratch directory is writable");
    lab.signal(&master, Signal::SIGHUP);
    assert!(
        wait_until(PUT_BACK, POLL, || lab.holds(MASTER, RELOADED)),
        "the reload did not add {RELOADED}\n{}",
        master.log_text()
    );
    assert!(lab.holds(MASTER, TRACKED) && lab.holds(MASTER, VIP));

    lab.signal(&backup, Signal::SIGTERM);
    assert!(lab.wait_exit(&backup, EXIT_WAIT).is_some());
    for address in [TRACKED, TRACKED_V6] {
        assert!(!lab.holds(BACKUP, address), "{address} left at exit");
    }
    lab.signal(&master, Signal::SIGTERM);
    assert!(lab.wait_exit(&master, EXIT_WAIT).is_some());
    for address in [TRACKED, UNTRACKED, TRACKED_V6, RELOADED] {
        assert!(!lab.holds(MASTER, address), "{address} left at exit");
    }
    println!(
        "static_addresses_are_added_at_start_put_back_and_removed_at_exit: two deleted \
         tracked static addresses back after {put_back:?}"
    );
    lab.finish();
}
