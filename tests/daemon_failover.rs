//! The real daemon electing and failing over in a namespace lab: who holds the VIP is read
//! from the kernel (`ip -j addr`), and a client's neighbour entry shows the announcement
//! reached it. VRRPv3 with 100 ms adverts keeps every wait short.

mod daemon_lab;
mod netns;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use daemon_lab::{
    DaemonLab, ELECTION, ETH_P_IP, InstanceSpec, MARGIN, Probe, SeenFrame, VIP, VIP6, capture,
    mac_of, master_down_interval_100ms, skew_time_100ms,
};
use netns::{Lab, require_root};

/// How far a VRRP timer may seem early on the wire: tokio's timer wakes on whole
/// milliseconds, and the kernel stamps the frames of the two hosts a little apart.
const TIMER_SLACK: Duration = Duration::from_millis(5);
/// How much later than the lateness it logs a backup's first advert may reach the client's
/// capture: up to the router's 10 ms logging threshold, plus the kernel carrying the frame
/// from h2 through the bridge on a loaded machine.
const PREEMPTED: Duration = Duration::from_millis(50);
/// How long a killed master's VIP may outlive it (issue 3: at most 3 s).
const STALE_VIP_BOUND: Duration = Duration::from_secs(3);

fn lab(hosts: &[&str]) -> DaemonLab {
    let mut builder = Lab::builder();
    for host in hosts {
        builder = builder.host(host);
    }
    DaemonLab::new(builder.build())
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_highest_priority_is_elected_and_announced() {
    require_root("the_highest_priority_is_elected_and_announced");
    let lab = lab(&["h1", "h2", "h3", "c"]);
    let hosts = ["h1", "h2", "h3"];
    let started = Instant::now();
    let daemons = [
        lab.start("h1", &[InstanceSpec::v3(100)]),
        lab.start("h2", &[InstanceSpec::v3(200)]),
        lab.start("h3", &[InstanceSpec::v3(50)]),
    ];
    let elected = lab.wait_sole_holder(&hosts, "h2", VIP, ELECTION);
    assert!(
        elected.is_some(),
        "h2 (priority 200) never became the only holder; holders {:?}\n{}",
        lab.holders(&hosts, VIP),
        daemons[1].log_text()
    );
    println!("first master after {:?}", started.elapsed());
    // The three start together, so a host whose process happened to start late may be
    // master for a moment before it is preempted; what must hold is the end state.
    let last_state = |daemon: &daemon_lab::Daemon| daemon.states().last().cloned();
    assert_eq!(last_state(&daemons[1]), Some("MASTER".to_owned()));
    assert_eq!(last_state(&daemons[0]), Some("BACKUP".to_owned()));
    assert_eq!(last_state(&daemons[2]), Some("BACKUP".to_owned()));
    let entry = lab.address_entry("h2", VIP).expect("h2 holds the VIP");
    assert_eq!(entry["prefixlen"], 24);
    let lifetime = entry["valid_life_time"]
        .as_u64()
        .expect("a finite lifetime");
    // At 100 ms adverts the slowest backup's Master_Down_Interval (399.6 ms) plus the
    // renewal slack (600 ms) fits in the kernel's shortest lifetime.
    assert!(lifetime <= 1, "VIP lifetime {lifetime} s, want 1 s");
    assert_eq!(lab.resolve("c", VIP), mac_of(&lab, "h2"));
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn sigkill_of_the_master_fails_over_and_its_vip_expires_by_itself() {
    require_root("sigkill_of_the_master_fails_over_and_its_vip_expires_by_itself");
    let lab = lab(&["h1", "h2", "c"]);
    let hosts = ["h1", "h2"];
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some(),
        "h1 was not elected\n{}",
        master.log_text()
    );
    assert_eq!(lab.resolve("c", VIP), mac_of(&lab, "h1"));

    let adverts = capture(
        lab.ns("c"),
        ETH_P_IP,
        // IPv4 protocol (byte 23 of the frame) 112: VRRP.
        |frame| frame.get(23) == Some(&112),
        Duration::from_millis(1500),
        Duration::from_secs(1),
    );
    // Let the capture see a few of the master's adverts first.
    std::thread::sleep(Duration::from_millis(250));
    let killed = Instant::now();
    lab.signal(&master, Signal::SIGKILL);
    let bound = master_down_interval_100ms(100) + MARGIN;
    let takeover = lab.wait_holding("h2", VIP, true, bound);
    assert!(
        takeover.is_some(),
        "h2 did not take the VIP within {bound:?}\n{}",
        backup.log_text()
    );
    println!(
        "SIGKILL: h2 holds the VIP {:?} after the kill (Master_Down_Interval {:?})",
        killed.elapsed(),
        master_down_interval_100ms(100)
    );
    let expired = lab.wait_holding("h1", VIP, false, STALE_VIP_BOUND);
    assert!(
        expired.is_some(),
        "the killed master still holds the VIP {STALE_VIP_BOUND:?} after SIGKILL"
    );
    println!(
        "SIGKILL: the killed master's VIP disappeared {:?} after the kill",
        killed.elapsed()
    );
    // The gratuitous ARPs moved the client's existing entry to the new master.
    assert!(
        netns::wait_until(Duration::from_secs(1), daemon_lab::POLL, || {
            lab.neighbour_mac("c", VIP) == Some(mac_of(&lab, "h2"))
        }),
        "the client still points at {:?}",
        lab.neighbour_mac("c", VIP)
    );
    assert_eq!(backup.states(), ["BACKUP", "MASTER"]);

    // On the wire: from the dead master's last advert to the new master's first is
    // Master_Down_Interval (RFC 9568 §6.4.2), give or take the timer's millisecond.
    let seen = adverts.join().expect("the capture thread");
    let from = |host: [u8; 4]| move |frame: &&SeenFrame| frame.bytes.get(26..30) == Some(&host);
    let first_new = seen
        .iter()
        .find(from([192, 0, 2, 2]))
        .expect("no advert from the new master")
        .at;
    let last_old = seen
        .iter()
        .filter(from([192, 0, 2, 1]))
        .map(|frame| frame.at)
        .take_while(|at| *at < first_new)
        .last()
        .expect("no advert from the old master");
    let detection = first_new - last_old;
    let expected = master_down_interval_100ms(100);
    // A machine busy with other work wakes the backup's timer late, and can preempt it
    // again between the timer and the send; the backup logs by how much its advert left
    // late: that is the scheduler's share, not the protocol's (with `stress-ng --cpu 2`
    // and builds beside, 10 to 67 ms). Early is never allowed.
    let late = takeover_timer_lateness(&backup);
    println!(
        "SIGKILL: detection on the wire {detection:?} (Master_Down_Interval {expected:?}, the \
         backup's advert left {late:?} late)"
    );
    assert!(
        detection + TIMER_SLACK >= expected && detection <= expected + late + PREEMPTED,
        "detection {detection:?}, Master_Down_Interval {expected:?}, advert {late:?} late"
    );
    lab.finish();
}

/// Master_Down_Interval of a VRRPv3 backup at `priority` with adverts every `interval`
/// (RFC 9568 §6.1).
fn master_down_interval(priority: u32, interval: Duration) -> Duration {
    interval * 3 + interval * (256 - priority) / 256
}

/// The longest a client may go without a reply when only the master's daemon is killed.
const KILLED_DAEMON_SILENCE: Duration = Duration::from_millis(200);

/// How long after the kill the dead daemon's host may keep the VIP, beyond the
/// Master_Down_Interval the lifetime is chosen from (that of the slowest backup, priority 1).
const KILLED_DAEMON_LETS_GO: Duration = Duration::from_millis(1500);

/// SIGKILL of the master's daemon alone, the host alive, at `interval` adverts: its host
/// answers for the VIP until the backup's gratuitous ARP moves the client, so the client
/// never goes [`KILLED_DAEMON_SILENCE`] without a reply, and the kernel deletes the orphaned
/// VIP within Master_Down_Interval + [`KILLED_DAEMON_LETS_GO`] of the kill.
fn a_killed_daemon_costs_the_client_nothing(test: &str, interval: &'static str) {
    require_root(test);
    let advert = humantime_interval(interval);
    let lab = lab(&["h1", "h2", "c"]);
    let hosts = ["h1", "h2"];
    let spec = |priority| InstanceSpec {
        advert_interval: interval,
        ..InstanceSpec::v3(priority)
    };
    let election = master_down_interval(150, advert) + MARGIN + ELECTION;
    let master = lab.start("h1", &[spec(150)]);
    assert!(
        lab.wait_holding("h1", VIP, true, election).is_some(),
        "h1 never became master\n{}",
        master.log_text()
    );
    let backup = lab.start("h2", &[spec(100)]);
    assert!(
        backup.wait_state_count("BACKUP", 1, ELECTION),
        "h2 never started\n{}",
        backup.log_text()
    );
    // A few adverts, so the backup's timer runs from the master's adverts.
    std::thread::sleep(advert * 3);
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, election).is_some());
    let lifetime = lab.address_entry("h1", VIP).expect("h1 holds the VIP")["valid_life_time"]
        .as_u64()
        .expect("a finite lifetime");
    let vip: std::net::Ipv4Addr = VIP.parse().expect("the lab's VIP");
    let probe = Probe::start(lab.ns("c"), vip, Duration::from_millis(10));
    assert!(
        probe.wait_reply_after(Instant::now(), Duration::from_secs(2)),
        "the client never reached the VIP"
    );
    assert_eq!(lab.neighbour_mac("c", VIP), Some(mac_of(&lab, "h1")));
    std::thread::sleep(Duration::from_millis(200));

    let killed = Instant::now();
    lab.signal(&master, Signal::SIGKILL);
    let takeover_bound = master_down_interval(100, advert) + MARGIN;
    let took_over = lab.wait_holding("h2", VIP, true, takeover_bound);
    assert!(
        took_over.is_some(),
        "h2 did not take the VIP within {takeover_bound:?}\n{}",
        backup.log_text()
    );
    let slowest_backup = master_down_interval(1, advert);
    let lets_go_bound = slowest_backup + KILLED_DAEMON_LETS_GO;
    let let_go = lab.wait_holding("h1", VIP, false, lets_go_bound + MARGIN);
    let let_go_after = killed.elapsed();
    assert!(
        let_go.is_some(),
        "the killed daemon's host still holds the VIP {let_go_after:?} after the kill"
    );
    // Replies after the VIP left h1 show the client had moved to h2 by then.
    let since = Instant::now();
    assert!(
        probe.wait_reply_after(since, Duration::from_secs(1)),
        "no reply once h1 let go"
    );
    let silence = probe.longest_silence(killed, since);
    println!(
        "SIGKILL at {interval} adverts: lifetime {lifetime} s; h2 holds the VIP {:?} after the \
         kill (Master_Down_Interval {:?}), h1 let go {let_go_after:?} after it (bound \
         {lets_go_bound:?}); the client's longest silence {silence:?}",
        took_over.unwrap_or_default(),
        master_down_interval(100, advert),
    );
    assert!(
        let_go_after <= lets_go_bound,
        "h1 let go {let_go_after:?} after the kill > {lets_go_bound:?}"
    );
    assert!(
        silence <= KILLED_DAEMON_SILENCE,
        "the client went {silence:?} without a reply > {KILLED_DAEMON_SILENCE:?}"
    );
    assert_eq!(lab.neighbour_mac("c", VIP), Some(mac_of(&lab, "h2")));
    assert_eq!(backup.states(), ["BACKUP", "MASTER"]);
    drop(probe);
    lab.finish();
}

/// `"1s"` or `"100ms"` as a duration.
fn humantime_interval(text: &str) -> Duration {
    match text.strip_suffix("ms") {
        Some(millis) => Duration::from_millis(millis.parse().expect("a number of ms")),
        None => Duration::from_secs(
            text.strip_suffix('s')
                .and_then(|secs| secs.parse().ok())
                .expect("a number of seconds"),
        ),
    }
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_killed_daemon_costs_the_client_nothing_at_1s_adverts() {
    a_killed_daemon_costs_the_client_nothing(
        "a_killed_daemon_costs_the_client_nothing_at_1s_adverts",
        "1s",
    );
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_killed_daemon_costs_the_client_nothing_at_100ms_adverts() {
    a_killed_daemon_costs_the_client_nothing(
        "a_killed_daemon_costs_the_client_nothing_at_100ms_adverts",
        "100ms",
    );
}

/// Partition heals the client's neighbour entry must follow within an advert interval (plus
/// the lab's polling margin); without the step-down advert it would keep the second
/// master's MAC until the entry is probed again, seconds later.
const HEALS: usize = 6;

/// The master is cut off on a bridge of its own, the backup takes over and its gratuitous
/// ARP moves the client; at the heal, whichever of the two masters advertises first, the
/// client's entry must point back at the master within an advert interval. Heals come at
/// random phases of the two advert clocks, so both orders occur over [`HEALS`] heals.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn after_a_partition_heals_the_clients_arp_entry_follows_the_master_within_an_interval() {
    require_root(
        "after_a_partition_heals_the_clients_arp_entry_follows_the_master_within_an_interval",
    );
    let lab = lab(&["h1", "h2", "c"]);
    let hosts = ["h1", "h2"];
    let bridge = lab.lab.bridge.clone();
    bridge.ip(&["link", "add", "br9", "type", "bridge"]);
    bridge.ip(&["link", "set", "br9", "up"]);
    let move_port = |to: &str| {
        bridge.ip(&["link", "set", "h1", "nomaster"]);
        bridge.ip(&["link", "set", "h1", "master", to]);
    };
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some());
    assert_eq!(lab.resolve("c", VIP), mac_of(&lab, "h1"));
    let interval = Duration::from_millis(100);
    for heal in 0..HEALS {
        move_port("br9");
        let bound = master_down_interval_100ms(100) + MARGIN;
        assert!(
            lab.wait_holding("h2", VIP, true, bound).is_some(),
            "heal {heal}: h2 did not take over within {bound:?}\n{}",
            backup.log_text()
        );
        assert!(
            netns::wait_until(Duration::from_secs(1), daemon_lab::POLL, || {
                lab.neighbour_mac("c", VIP) == Some(mac_of(&lab, "h2"))
            }),
            "heal {heal}: h2's announcement did not move the client"
        );
        // A random phase, so either master may advertise first after the heal.
        std::thread::sleep(Duration::from_millis(200 + 37 * heal as u64));
        let healed = Instant::now();
        move_port("br0");
        let bound = interval + MARGIN;
        let followed = netns::wait_until(bound, daemon_lab::POLL, || {
            lab.neighbour_mac("c", VIP) == Some(mac_of(&lab, "h1"))
        });
        println!(
            "heal {heal}: the client follows h1 again {:?} after the heal",
            healed.elapsed()
        );
        assert!(
            followed,
            "heal {heal}: the client still points at {:?} {bound:?} after the heal \
             (h1 is {:?}, h2 {:?})\n{}",
            lab.neighbour_mac("c", VIP),
            mac_of(&lab, "h1"),
            mac_of(&lab, "h2"),
            master.log_text()
        );
        assert!(
            lab.wait_sole_holder(&hosts, "h1", VIP, bound).is_some(),
            "heal {heal}: holders {:?}",
            lab.holders(&hosts, VIP)
        );
        // Settled before the next cut: the backup follows h1 again.
        std::thread::sleep(Duration::from_millis(300));
    }
    lab.finish();
}

/// How late `daemon` logged its take-over advert to have left: the "a VRRP timer fired late"
/// line the router writes once it has carried out the timer that made it master, adverts
/// sent. The router logs no lateness under its 10 ms threshold; a line more than an advert
/// interval after the take-over belongs to a later timer.
fn takeover_timer_lateness(daemon: &daemon_lab::Daemon) -> Duration {
    let lines = daemon.log_lines();
    let Some(takeover) = lines.iter().position(|line| {
        line["message"].as_str() == Some("state changed") && line["to"].as_str() == Some("MASTER")
    }) else {
        return Duration::ZERO;
    };
    let taken_at = daemon_lab::logged_at(&lines[takeover]);
    lines[takeover..]
        .iter()
        .take_while(|line| daemon_lab::logged_at(line) - taken_at < 0.1)
        .find(|line| line["message"].as_str() == Some("a VRRP timer fired late"))
        .and_then(|line| line["sent_late_us"].as_u64())
        .map_or(Duration::ZERO, Duration::from_micros)
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn link_down_puts_the_master_in_fault_and_link_up_brings_it_back() {
    require_root("link_down_puts_the_master_in_fault_and_link_up_brings_it_back");
    let lab = lab(&["h1", "h2"]);
    let hosts = ["h1", "h2"];
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some());

    let cut = Instant::now();
    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    let bound = master_down_interval_100ms(100) + MARGIN;
    assert!(
        lab.wait_sole_holder(&hosts, "h2", VIP, bound).is_some(),
        "h2 did not take over alone within {bound:?}; holders {:?}\n{}",
        lab.holders(&hosts, VIP),
        master.log_text()
    );
    println!(
        "link down: h2 sole holder {:?} after the cut",
        cut.elapsed()
    );
    assert!(master.wait_state_count("FAULT", 1, MARGIN));

    lab.ns("h1").ip(&["link", "set", "eth0", "up"]);
    // Back as backup, then preempting h2 (150 > 100) after its Master_Down_Interval.
    let bound = master_down_interval_100ms(150) + Duration::from_secs(1) + MARGIN;
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, bound).is_some(),
        "h1 did not take the VIP back within {bound:?}; holders {:?}\n{}",
        lab.holders(&hosts, VIP),
        master.log_text()
    );
    assert_eq!(
        master.states(),
        ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    );
    assert_eq!(backup.states(), ["BACKUP", "MASTER", "BACKUP"]);
    lab.finish();
}

/// keepalived's `dont_track_primary`: the instance ignores its own link going down. The
/// master stays master on a dead link (the backup, hearing nothing, takes over too, as with
/// keepalived), and once the link is back the higher priority keeps the VIP alone.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn dont_track_primary_keeps_the_master_out_of_fault_on_link_down() {
    require_root("dont_track_primary_keeps_the_master_out_of_fault_on_link_down");
    let lab = lab(&["h1", "h2"]);
    let hosts = ["h1", "h2"];
    let mut untracked = InstanceSpec::v3(150);
    untracked.extra.push("dont_track_primary = true".to_owned());
    let (master, backup) = lab.start_pair("h1", untracked, "h2", InstanceSpec::v3(100));
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some());

    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    assert!(
        backup.wait_state_count("MASTER", 1, master_down_interval_100ms(100) + MARGIN),
        "h2 did not take over while h1's adverts were cut\n{}",
        backup.log_text()
    );
    // Several Master_Down_Intervals on a down link: no Fault.
    std::thread::sleep(master_down_interval_100ms(150) * 3);
    assert_eq!(
        master.states(),
        ["BACKUP", "MASTER"],
        "h1 left Master on its own link going down\n{}",
        master.log_text()
    );

    lab.ns("h1").ip(&["link", "set", "eth0", "up"]);
    // h2 hears the higher priority and steps back.
    let bound = master_down_interval_100ms(100) + Duration::from_secs(1) + MARGIN;
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, bound).is_some(),
        "h1 was not the sole holder within {bound:?} of the link coming back; holders {:?}\n{}",
        lab.holders(&hosts, VIP),
        backup.log_text()
    );
    assert_eq!(master.states(), ["BACKUP", "MASTER"]);
    assert_eq!(backup.states(), ["BACKUP", "MASTER", "BACKUP"]);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_daemon_started_on_a_down_link_waits_in_fault_until_the_link_comes_up() {
    require_root("a_daemon_started_on_a_down_link_waits_in_fault_until_the_link_comes_up");
    let lab = lab(&["h1", "h2"]);
    let hosts = ["h1", "h2"];
    let backup = lab.start("h2", &[InstanceSpec::v3(100)]);
    assert!(lab.wait_sole_holder(&hosts, "h2", VIP, ELECTION).is_some());

    // Down before the daemon starts: no link event will ever say so (found by the chaos
    // run, where a restart raced a link cut and the restarted master took the VIP on a
    // dead link).
    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    let master = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(master.wait_state_count("FAULT", 1, ELECTION));
    std::thread::sleep(master_down_interval_100ms(150) + MARGIN);
    assert_eq!(
        lab.holders(&hosts, VIP),
        ["h2"],
        "h1 took the VIP on a down link\n{}",
        master.log_text()
    );

    lab.ns("h1").ip(&["link", "set", "eth0", "up"]);
    let bound = master_down_interval_100ms(150) + Duration::from_secs(1) + MARGIN;
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, bound).is_some(),
        "h1 did not start once its link came up; holders {:?}\n{}",
        lab.holders(&hosts, VIP),
        master.log_text()
    );
    assert_eq!(master.states(), ["FAULT", "BACKUP", "MASTER"]);
    assert_eq!(backup.states(), ["BACKUP", "MASTER", "BACKUP"]);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn sigterm_hands_over_with_priority_zero_and_exits_cleanly() {
    require_root("sigterm_hands_over_with_priority_zero_and_exits_cleanly");
    let lab = lab(&["h1", "h2"]);
    let hosts = ["h1", "h2"];
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some());

    let stopped = Instant::now();
    lab.signal(&master, Signal::SIGTERM);
    // A priority 0 advert makes the backup take over after Skew_Time, not
    // Master_Down_Interval (RFC 9568 §6.4.2).
    let bound = skew_time_100ms(100) + MARGIN;
    assert!(
        lab.wait_holding("h2", VIP, true, bound).is_some(),
        "h2 did not take over within {bound:?}\n{}",
        backup.log_text()
    );
    println!(
        "SIGTERM: h2 holds the VIP {:?} after the signal (Skew_Time {:?})",
        stopped.elapsed(),
        skew_time_100ms(100)
    );
    let status = lab.wait_exit(&master, Duration::from_secs(3));
    assert!(
        status.is_some_and(|status| status.success()),
        "h1 did not exit 0: {status:?}\n{}",
        master.log_text()
    );
    assert!(!lab.holds("h1", VIP), "the stopped host kept the VIP");
    let changes = backup.logged("state changed");
    assert_eq!(
        changes.last().map(|line| line["reason"].clone()),
        Some("priority 0 received".into())
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_higher_priority_backup_preempts_unless_nopreempt() {
    require_root("a_higher_priority_backup_preempts_unless_nopreempt");
    let lab = lab(&["h1", "h2", "h3", "h4"]);
    // Two separate virtual routers on one LAN: h1 preempts h2 on VRID 51, h3 (nopreempt)
    // leaves h4 master on VRID 52.
    let second_vip = "192.0.2.101";
    let preempted = InstanceSpec::v3(100);
    let kept = InstanceSpec {
        vrid: 52,
        ..InstanceSpec::v3(100).holding(&format!("{second_vip}/24"))
    };
    let first_masters = [
        lab.start("h2", &[preempted]),
        lab.start("h4", std::slice::from_ref(&kept)),
    ];
    assert!(lab.wait_sole_holder(&["h2"], "h2", VIP, ELECTION).is_some());
    assert!(
        lab.wait_sole_holder(&["h4"], "h4", second_vip, ELECTION)
            .is_some()
    );

    let joined = Instant::now();
    let preempting = lab.start("h1", &[InstanceSpec::v3(150)]);
    let patient = lab.start(
        "h3",
        &[InstanceSpec {
            priority: 150,
            ..kept.with("preempt = false")
        }],
    );
    let bound = master_down_interval_100ms(150) + Duration::from_secs(1);
    assert!(
        lab.wait_sole_holder(&["h1", "h2"], "h1", VIP, bound)
            .is_some(),
        "h1 did not preempt within {bound:?}\n{}",
        preempting.log_text()
    );
    println!(
        "preemption: h1 sole holder {:?} after it started",
        joined.elapsed()
    );
    let changes = preempting.logged("state changed");
    assert_eq!(
        changes.last().map(|line| line["reason"].clone()),
        Some("preempted a lower-priority master".into())
    );
    // Give the nopreempt host several of its Master_Down_Intervals: it must stay backup.
    std::thread::sleep(master_down_interval_100ms(150) * 3);
    assert_eq!(lab.holders(&["h3", "h4"], second_vip), ["h4"]);
    assert_eq!(patient.states(), ["BACKUP"]);
    assert_eq!(first_masters[1].states(), ["BACKUP", "MASTER"]);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn ipv6_vrrpv3_fails_over_and_moves_the_client_with_an_unsolicited_na() {
    require_root("ipv6_vrrpv3_fails_over_and_moves_the_client_with_an_unsolicited_na");
    let lab = lab(&["h1", "h2", "c"]);
    let hosts = ["h1", "h2"];
    let vip6 = format!("{VIP6}/64");
    let (master, backup) = lab.start_pair(
        "h1",
        InstanceSpec::v3(150).holding(&vip6),
        "h2",
        InstanceSpec::v3(100).holding(&vip6),
    );
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP6, ELECTION).is_some(),
        "h1 was not elected over IPv6\n{}",
        master.log_text()
    );
    let entry = lab.address_entry("h1", VIP6).expect("h1 holds the VIP");
    assert!(
        entry["tentative"].is_null(),
        "the VIP is tentative: {entry}"
    );
    assert_eq!(lab.resolve("c", VIP6), mac_of(&lab, "h1"));

    lab.signal(&master, Signal::SIGKILL);
    let bound = master_down_interval_100ms(100) + MARGIN;
    assert!(
        lab.wait_holding("h2", VIP6, true, bound).is_some(),
        "h2 did not take the IPv6 VIP within {bound:?}\n{}",
        backup.log_text()
    );
    assert!(
        netns::wait_until(Duration::from_secs(1), daemon_lab::POLL, || {
            lab.neighbour_mac("c", VIP6) == Some(mac_of(&lab, "h2"))
        }),
        "the client still points at {:?}",
        lab.neighbour_mac("c", VIP6)
    );
    assert!(
        lab.wait_holding("h1", VIP6, false, STALE_VIP_BOUND)
            .is_some(),
        "the killed master kept its IPv6 VIP"
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn unicast_peers_elect_and_fail_over() {
    require_root("unicast_peers_elect_and_fail_over");
    let lab = lab(&["h1", "h2"]);
    let hosts = ["h1", "h2"];
    let (master, backup) = lab.start_pair(
        "h1",
        InstanceSpec::v3(150).with("unicast_peers = [\"192.0.2.2\"]"),
        "h2",
        InstanceSpec::v3(100).with("unicast_peers = [\"192.0.2.1\"]"),
    );
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION).is_some(),
        "h1 was not elected over unicast\n{}",
        master.log_text()
    );
    // Hearing each other is what keeps h2 a backup: several intervals later it still is.
    std::thread::sleep(master_down_interval_100ms(100) * 2);
    assert_eq!(backup.states(), ["BACKUP"]);

    lab.signal(&master, Signal::SIGTERM);
    let bound = skew_time_100ms(100) + MARGIN;
    assert!(
        lab.wait_holding("h2", VIP, true, bound).is_some(),
        "h2 did not take over within {bound:?}\n{}",
        backup.log_text()
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn an_ipv6_master_recovers_after_a_link_flap_that_drops_its_addresses() {
    require_root("an_ipv6_master_recovers_after_a_link_flap_that_drops_its_addresses");
    let lab = lab(&["h1", "h2"]);
    let hosts = ["h1", "h2"];
    // The kernel default (keepalived-baseline.md, pitfall 4): link down deletes every IPv6
    // address, the link-local source of the adverts included; link up makes a new one.
    lab.ns("h1")
        .run_ok(&["sysctl", "-qw", "net.ipv6.conf.eth0.keep_addr_on_down=0"]);
    let vip6 = format!("{VIP6}/64");
    let (master, _backup) = lab.start_pair(
        "h1",
        InstanceSpec::v3(150).holding(&vip6),
        "h2",
        InstanceSpec::v3(100).holding(&vip6),
    );
    assert!(lab.wait_sole_holder(&hosts, "h1", VIP6, ELECTION).is_some());

    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    let bound = master_down_interval_100ms(100) + MARGIN;
    assert!(
        lab.wait_sole_holder(&hosts, "h2", VIP6, bound).is_some(),
        "h2 did not take over alone within {bound:?}; holders {:?}",
        lab.holders(&hosts, VIP6)
    );
    assert_eq!(
        lab.ns("h1").link_local("eth0"),
        None,
        "the flap kept the link-local address"
    );

    lab.ns("h1").ip(&["link", "set", "eth0", "up"]);
    let bound = master_down_interval_100ms(150) + Duration::from_secs(2);
    assert!(
        lab.wait_sole_holder(&hosts, "h1", VIP6, bound).is_some(),
        "h1 did not come back as master within {bound:?}; holders {:?}\n{}",
        lab.holders(&hosts, VIP6),
        master.log_text()
    );
    assert_eq!(
        master.states(),
        ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn an_ipv6_instance_waits_in_fault_for_a_link_local_address() {
    require_root("an_ipv6_instance_waits_in_fault_for_a_link_local_address");
    let lab = lab(&["h1"]);
    // No link-local address, as while one is still in duplicate address detection: the
    // kernel makes none (addr_gen_mode 1) and the one made at link-up is flushed.
    lab.ns("h1")
        .run_ok(&["sysctl", "-qw", "net.ipv6.conf.eth0.addr_gen_mode=1"]);
    lab.ns("h1")
        .ip(&["-6", "addr", "flush", "dev", "eth0", "scope", "link"]);
    assert_eq!(lab.ns("h1").link_local("eth0"), None);

    let vip6 = format!("{VIP6}/64");
    let daemon = lab.start("h1", &[InstanceSpec::v3(150).holding(&vip6)]);
    assert!(
        daemon.wait_state_count("FAULT", 1, ELECTION),
        "the instance did not wait in Fault\n{}",
        daemon.log_text()
    );
    assert!(
        !lab.holds("h1", VIP6),
        "a VIP was taken without a source address"
    );

    lab.ns("h1")
        .ip(&["-6", "addr", "add", "fe80::1/64", "dev", "eth0"]);
    // The router reads the interface again every 500 ms while the address is missing.
    let bound = Duration::from_millis(500) + master_down_interval_100ms(150) + MARGIN;
    assert!(
        lab.wait_holding("h1", VIP6, true, bound).is_some(),
        "no master within {bound:?} of the link-local address appearing\n{}",
        daemon.log_text()
    );
    assert_eq!(daemon.states(), ["FAULT", "BACKUP", "MASTER"]);
    lab.finish();
}
