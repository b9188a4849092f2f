//! The real daemon's life around the protocol: reload on SIGHUP without a flap, stale VIPs
//! removed at start, a deleted VIP put back. State is read from the kernel; the JSON log
//! shows that no transition happened where none should.

mod api_lab;
mod daemon_lab;
mod netns;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use vrrp_sidecar_client::proto;

use daemon_lab::{
    DaemonLab, ELECTION, ETH_P_ARP, InstanceSpec, MARGIN, POLL, VIP, capture, config_text,
    master_down_interval_100ms,
};
use netns::{Lab, require_root, wait_until};

/// How long a test watches for a flap after a change that must not cause one: several
/// Master_Down_Intervals, so a backup that lost the master's adverts would have taken over.
const WATCH: Duration = Duration::from_millis(1500);

fn two_hosts() -> DaemonLab {
    DaemonLab::new(Lab::builder().host("h1").host("h2").build())
}

/// Watches `address` on `host` for `duration`; returns the first moment it was missing.
fn first_gap(lab: &DaemonLab, host: &str, address: &str, duration: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < duration {
        if !lab.holds(host, address) {
            return Some(started.elapsed());
        }
        std::thread::sleep(POLL);
    }
    None
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn reload_changes_priority_and_addresses_in_place_without_a_flap() {
    require_root("reload_changes_priority_and_addresses_in_place_without_a_flap");
    let lab = two_hosts();
    let hosts = ["h1", "h2"];
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some());

    // The master gets a new priority and a second address; the first must never go.
    let added = "192.0.2.101";
    let mut changed = InstanceSpec::v3(160);
    changed.addresses.push(format!("{added}/24"));
    lab.write_config("h1", &config_text(&[changed]));
    lab.signal(&master, Signal::SIGHUP);
    assert_eq!(
        first_gap(&lab, "h1", VIP, WATCH),
        None,
        "the VIP left h1 during the reload"
    );
    assert!(
        lab.holds("h1", added),
        "the added address is not on the master"
    );
    assert!(!lab.holds("h2", VIP));
    assert_eq!(master.states(), ["BACKUP", "MASTER"], "the master flapped");
    assert_eq!(backup.states(), ["BACKUP"], "the backup flapped");
    let reloaded = master.logged("configuration reloaded");
    assert_eq!(reloaded.len(), 1, "{}", master.log_text());
    assert_eq!(reloaded[0]["in_place"], 1);

    // The address dropped again is removed from the master in place.
    lab.write_config("h1", &config_text(&[InstanceSpec::v3(160)]));
    lab.signal(&master, Signal::SIGHUP);
    assert!(
        lab.wait_holding("h1", added, false, MARGIN).is_some(),
        "the dropped address stayed"
    );
    assert!(lab.holds("h1", VIP));

    // A new priority on the backup applies in place too: above the master's, it preempts.
    lab.write_config("h2", &config_text(&[InstanceSpec::v3(200)]));
    lab.signal(&backup, Signal::SIGHUP);
    let bound = master_down_interval_100ms(200) + MARGIN;
    assert!(
        lab.wait_sole_holder(&hosts, "h2", VIP, bound).is_some(),
        "h2 did not preempt with its reloaded priority within {bound:?}\n{}",
        backup.log_text()
    );
    assert_eq!(backup.states(), ["BACKUP", "MASTER"]);
    lab.finish();
}

/// The backup's count of accepted adverts whose address list differs from its own.
fn address_list_errors(lab: &DaemonLab, host: &str) -> u64 {
    let rt = api_lab::runtime();
    let mut client = rt.block_on(api_lab::connect(&lab.api_socket(host)));
    rt.block_on(client.get_instance(proto::GetInstanceRequest { name: "vi".into() }))
        .expect("GetInstance")
        .into_inner()
        .counters
        .expect("an instance reports its counters")
        .address_list_errors
}

/// A reload that changes the addresses leaves the core comparing adverts with the new list
/// (RFC 9568 §7.1's check): once both hosts carry the same second address, the backup counts
/// no mismatch any more. Before, the core kept the list it was created with.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn after_a_reload_adverts_are_checked_against_the_new_addresses() {
    require_root("after_a_reload_adverts_are_checked_against_the_new_addresses");
    let lab = two_hosts();
    let hosts = ["h1", "h2"];
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some());
    assert_eq!(address_list_errors(&lab, "h2"), 0);

    let added = "192.0.2.101/24";
    for (host, daemon, priority) in [("h2", &backup, 100), ("h1", &master, 150)] {
        let mut changed = InstanceSpec::v3(priority);
        changed.addresses.push(added.to_owned());
        lab.write_config(host, &config_text(&[changed]));
        lab.signal(daemon, Signal::SIGHUP);
        assert!(
            wait_until(MARGIN, POLL, || !daemon
                .logged("configuration reloaded")
                .is_empty()),
            "{host} did not reload\n{}",
            daemon.log_text()
        );
    }
    // Adverts sent before the master's reload may still arrive; then every advert lists both.
    std::thread::sleep(MARGIN);
    let settled = address_list_errors(&lab, "h2");
    std::thread::sleep(WATCH);
    assert_eq!(
        address_list_errors(&lab, "h2"),
        settled,
        "the backup still compares the master's adverts with its old address list"
    );
    assert_eq!(backup.states(), ["BACKUP"], "the backup flapped");
    lab.finish();
}

/// A start that fails after the API socket was bound (here: the instance's interface does
/// not exist) leaves no socket behind, and says why.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_failed_start_leaves_no_api_socket_behind() {
    require_root("a_failed_start_leaves_no_api_socket_behind");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let socket = lab.api_socket("h1");
    let daemon = lab.start_with_config(
        "h1",
        "[instances.vi]\ninterface = \"nope0\"\nvrid = 51\n\
         virtual_addresses = [\"192.0.2.100/24\"]\n",
        &socket,
    );
    let status = lab
        .wait_exit(&daemon, MARGIN)
        .unwrap_or_else(|| panic!("the daemon did not exit\n{}", daemon.log_text()));
    assert!(!status.success(), "{status:?}\n{}", daemon.log_text());
    assert!(
        daemon.log_text().contains("nope0"),
        "the failure does not name the interface\n{}",
        daemon.log_text()
    );
    assert!(
        daemon.log_text().contains("API listening"),
        "the socket was never bound, so this proves nothing\n{}",
        daemon.log_text()
    );
    assert!(!socket.exists(), "{} was left behind", socket.display());
    lab.finish();
}

/// keepalived's SIGUSR1 and SIGUSR2 (data and statistics dumps) write the same two views
/// beside the API socket, replacing the last ones, and leave the daemon running: the
/// default action of both signals would have ended it.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn sigusr1_and_sigusr2_write_keepalived_style_dumps_and_the_daemon_runs_on() {
    require_root("sigusr1_and_sigusr2_write_keepalived_style_dumps_and_the_daemon_runs_on");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let daemon = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let directory = lab
        .api_socket("h1")
        .parent()
        .expect("the socket is in the lab's directory")
        .to_owned();
    let read = |name: &str| std::fs::read_to_string(directory.join(name)).unwrap_or_default();
    for round in 0..2 {
        lab.signal(&daemon, Signal::SIGUSR1);
        lab.signal(&daemon, Signal::SIGUSR2);
        let written = |name: &str, expected: &str| {
            wait_until(MARGIN, POLL, || {
                daemon.logged("dump written").len() >= 2 * (round + 1)
                    && read(name).contains(expected)
            })
        };
        assert!(
            written("vrrp-sidecar.data", "state MASTER"),
            "no data dump\n{}",
            daemon.log_text()
        );
        assert!(written("vrrp-sidecar.stats", "adverts_sent"));
    }
    let data = read("vrrp-sidecar.data");
    assert!(
        data.contains("instance vi\n")
            && data.contains(&format!("virtual addresses {VIP}/24"))
            && data.contains("priority 150 (base 150)"),
        "{data}"
    );
    let stats = read("vrrp-sidecar.stats");
    let sent: u64 = stats
        .lines()
        .find_map(|line| line.trim().strip_prefix("adverts_sent "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no adverts_sent line\n{stats}"));
    assert!(sent > 0, "{stats}");
    // Nothing but the two dumps is left beside the socket.
    let mut names: Vec<String> = std::fs::read_dir(&directory)
        .expect("the lab's directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains("vrrp-sidecar."))
        .collect();
    names.sort();
    assert_eq!(names, ["vrrp-sidecar.data", "vrrp-sidecar.stats"]);
    // keepalived's SIGJSON (SIGRTMIN+2) would end the daemon by default too: it writes the
    // data dump.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.pid).expect("a pid fits i32"));
    // SAFETY: kill(2) with a pid and a signal number; nothing is borrowed.
    let sent = unsafe { libc::kill(pid.as_raw(), libc::SIGRTMIN() + 2) };
    assert_eq!(sent, 0, "cannot signal the daemon");
    assert!(
        wait_until(MARGIN, POLL, || daemon.logged("dump written").len() >= 5),
        "no dump on SIGJSON\n{}",
        daemon.log_text()
    );
    assert!(lab.holds("h1", VIP), "the daemon stopped holding {VIP}");
    assert_eq!(
        daemon.states(),
        ["BACKUP", "MASTER"],
        "{}",
        daemon.log_text()
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn reload_starts_and_stops_instances_and_a_broken_config_changes_nothing() {
    require_root("reload_starts_and_stops_instances_and_a_broken_config_changes_nothing");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let daemon = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());

    // A broken file: the running configuration stays and every problem is logged.
    lab.write_config(
        "h1",
        "[instances.vi]\ninterface = \"eth0\"\nvrid = 0\npriority = 300\n",
    );
    lab.signal(&daemon, Signal::SIGHUP);
    assert!(
        wait_until(MARGIN, POLL, || !daemon
            .logged("configuration problem")
            .is_empty()),
        "no problem logged\n{}",
        daemon.log_text()
    );
    assert!(daemon.logged("configuration problem").len() >= 2);
    assert_eq!(first_gap(&lab, "h1", VIP, Duration::from_millis(300)), None);
    assert!(daemon.logged("configuration reloaded").is_empty());

    // A second instance starts; the first is untouched.
    let second_vip = "192.0.2.102";
    let second = InstanceSpec {
        name: "second",
        vrid: 52,
        ..InstanceSpec::v3(150).holding(&format!("{second_vip}/24"))
    };
    lab.write_config("h1", &config_text(&[InstanceSpec::v3(150), second.clone()]));
    lab.signal(&daemon, Signal::SIGHUP);
    assert!(
        lab.wait_holding("h1", second_vip, true, ELECTION).is_some(),
        "the added instance never became master\n{}",
        daemon.log_text()
    );
    // Now the first is removed: it stops (priority 0, VIP removed), the second stays.
    lab.write_config("h1", &config_text(&[second]));
    lab.signal(&daemon, Signal::SIGHUP);
    assert!(
        lab.wait_holding("h1", VIP, false, MARGIN).is_some(),
        "the removed instance kept its VIP"
    );
    assert!(lab.holds("h1", second_vip));
    let first_changes: Vec<String> = daemon
        .logged("state changed")
        .iter()
        .filter(|line| line["instance"] == "vi")
        .filter_map(|line| line["to"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(first_changes, ["BACKUP", "MASTER", "INIT"]);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_stale_vip_is_removed_before_the_daemon_becomes_backup() {
    require_root("a_stale_vip_is_removed_before_the_daemon_becomes_backup");
    let lab = two_hosts();
    let hosts = ["h1", "h2"];
    // What a killed run leaves behind: the VIP on the host that will be backup.
    lab.ns("h2")
        .ip(&["addr", "add", &format!("{VIP}/24"), "dev", "eth0"]);
    let backup = lab.start("h2", &[InstanceSpec::v3(100)]);
    let master = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some(),
        "h1 is not the only holder: {:?}\n{}",
        lab.holders(&hosts, VIP),
        backup.log_text()
    );
    let lines = backup.log_lines();
    let removed_at = lines.iter().position(|line| {
        line["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("removing a virtual address left by"))
    });
    let backup_at = lines
        .iter()
        .position(|line| line["message"] == "state changed" && line["to"] == "BACKUP");
    assert!(
        removed_at.is_some() && removed_at < backup_at,
        "the stale VIP was not removed before entering BACKUP\n{}",
        backup.log_text()
    );
    assert_eq!(master.states(), ["BACKUP", "MASTER"]);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_vip_deleted_under_the_master_is_put_back() {
    require_root("a_vip_deleted_under_the_master_is_put_back");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let daemon = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());

    let deleted = Instant::now();
    lab.ns("h1")
        .ip(&["addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
    assert!(
        lab.wait_holding("h1", VIP, true, MARGIN).is_some(),
        "the VIP was not put back\n{}",
        daemon.log_text()
    );
    println!("put back {:?} after ip addr del", deleted.elapsed());
    assert_eq!(daemon.states(), ["BACKUP", "MASTER"]);
    assert_eq!(
        daemon
            .logged("put back a virtual address someone removed")
            .len(),
        1
    );
    lab.finish();
}

/// The log line of an advertisement the codec refused.
const REFUSED: &str = "advertisement refused (RFC 9568 §7.1); this reason is logged again only after the master changes";

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_refused_advert_is_logged_once_with_the_setting_that_would_fix_it() {
    require_root("a_refused_advert_is_logged_once_with_the_setting_that_would_fix_it");
    let lab = two_hosts();
    // h2 expects the VRRPv3-over-IPv4 checksum without the pseudo-header; h1 sends the
    // default form, so h2 refuses every advert of h1 (10 a second).
    let master = lab.start("h1", &[InstanceSpec::v3(150)]);
    let misconfigured = lab.start(
        "h2",
        &[InstanceSpec::v3(100).with("checksum = \"v2-compatible\"")],
    );
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    std::thread::sleep(WATCH);
    let refused = misconfigured.logged(REFUSED);
    // Once while it was backup, once more after it became master itself (a master
    // change); never once per advert.
    assert!(
        (1..=2).contains(&refused.len()),
        "{} lines:\n{}",
        refused.len(),
        misconfigured.log_text()
    );
    let error = refused[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("verifies with the IPv4 pseudo-header"),
        "the log does not name the form the peer uses: {error}"
    );
    assert!(master.logged(REFUSED).len() <= 2);
    lab.finish();
}

/// Whether `frame` is a gratuitous ARP for `vip`: an ARP request whose sender and target
/// protocol addresses are both the VIP (Ethernet header, then the ARP operation at byte 20,
/// the sender address at 28 and the target address at 38).
fn is_gratuitous_arp(frame: &[u8], vip: std::net::Ipv4Addr) -> bool {
    frame.get(20..22) == Some(&[0, 1])
        && frame.get(28..32) == Some(&vip.octets())
        && frame.get(38..42) == Some(&vip.octets())
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn announcements_come_in_bursts_then_refreshes_as_configured() {
    require_root("announcements_come_in_bursts_then_refreshes_as_configured");
    let lab = DaemonLab::new(Lab::builder().host("h1").host("c").build());
    let vip: std::net::Ipv4Addr = VIP.parse().expect("the test VIP");
    let capture = capture(
        lab.ns("c"),
        ETH_P_ARP,
        move |frame| is_gratuitous_arp(frame, vip),
        Duration::from_millis(2400),
        ELECTION,
    );
    lab.start(
        "h1",
        &[InstanceSpec::v3(150)
            .with("[instances.vi.garp]")
            .with("repeat = 3")
            .with("delay = \"1s\"")
            .with("refresh = \"2s\"")],
    );
    let seen = capture.join().expect("the capture thread");
    let h1_mac = lab.ns("h1").mac("eth0");
    assert!(seen.iter().all(|arp| arp.source_mac() == h1_mac));
    let first = seen.first().expect("no gratuitous ARP at all").at;
    let within = |from_ms: u64, to_ms: u64| {
        seen.iter()
            .filter(|arp| {
                let after = arp.at - first;
                after >= Duration::from_millis(from_ms) && after < Duration::from_millis(to_ms)
            })
            .count()
    };
    let offsets: Vec<Duration> = seen.iter().map(|arp| arp.at - first).collect();
    // repeat = 3 at the take-over, 3 more after `delay`, 1 per `refresh`.
    assert_eq!(within(0, 200), 3, "first burst: {offsets:?}");
    assert_eq!(within(200, 900), 0, "{offsets:?}");
    assert_eq!(within(900, 1200), 3, "second burst: {offsets:?}");
    assert_eq!(within(1200, 1900), 0, "{offsets:?}");
    assert_eq!(within(1900, 2200), 1, "refresh: {offsets:?}");
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_lone_master_waits_for_a_successor_on_sigterm_but_not_on_a_second_one() {
    require_root("a_lone_master_waits_for_a_successor_on_sigterm_but_not_on_a_second_one");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    // The address owner (255) is master from the start (RFC 9568 §6.4.1); with 1 s adverts
    // its handover bound, Master_Down_Interval, is about 3 s.
    let daemon = lab.start(
        "h1",
        &[InstanceSpec {
            advert_interval: "1s",
            ..InstanceSpec::v3(255)
        }],
    );
    assert!(lab.wait_holding("h1", VIP, true, MARGIN).is_some());
    assert_eq!(daemon.states(), ["MASTER"]);

    lab.signal(&daemon, Signal::SIGTERM);
    // Make-before-break: no successor has spoken, so the VIP stays and the daemon runs on.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        lab.holds("h1", VIP),
        "the VIP left before any successor took over"
    );
    assert!(lab.wait_exit(&daemon, Duration::ZERO).is_none());

    let second = Instant::now();
    lab.signal(&daemon, Signal::SIGTERM);
    let status = lab.wait_exit(&daemon, MARGIN);
    assert!(
        status.is_some_and(|status| status.success()),
        "no clean exit within {MARGIN:?} of the second SIGTERM: {status:?}\n{}",
        daemon.log_text()
    );
    println!("second SIGTERM: exited after {:?}", second.elapsed());
    assert!(!lab.holds("h1", VIP), "the VIP outlived the daemon");
    lab.finish();
}
