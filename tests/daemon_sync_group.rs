//! A sync group on the real network: two routers, each with an instance on the outside LAN
//! (eth0) and one on the inside LAN (eth1) in one group. When the inside link of the master
//! goes down, its outside instance follows into Fault and the other router takes both
//! addresses; when the link comes back, both instances return together. The group's own
//! notify program and FIFO hear of the group's changes as a whole, as keepalived's do.

mod api_lab;
mod daemon_lab;
mod netns;

use std::io::Read;
use std::time::Duration;

use nix::sys::signal::Signal;
use vrrp_sidecar_client::proto;

use daemon_lab::{DaemonLab, ELECTION, POLL, VIP};
use netns::{Lab, require_root, wait_until};

/// The inside address, on the second LAN.
const INSIDE_VIP: &str = "198.51.100.100";

fn config(priority: u8) -> String {
    format!(
        "[global]\nlog_level = \"info\"\n\n\
         [instances.outside]\ninterface = \"eth0\"\nvrid = 51\npriority = {priority}\n\
         advert_interval = \"100ms\"\nvirtual_addresses = [\"{VIP}/24\"]\n\n\
         [instances.inside]\ninterface = \"eth1\"\nvrid = 52\npriority = {priority}\n\
         advert_interval = \"100ms\"\nvirtual_addresses = [\"{INSIDE_VIP}/24\"]\n\n\
         [sync_groups.gateway]\ninstances = [\"outside\", \"inside\"]\n"
    )
}

/// h1's configuration: the group also runs `program` on every change of the group as a
/// whole and writes it to `fifo`.
fn config_with_group_notify(priority: u8, program: &str, fifo: &str) -> String {
    format!(
        "{}[sync_groups.gateway.notify]\non_change = \"{program}\"\nfifo = \"{fifo}\"\n",
        config(priority)
    )
}

/// Whether `host` holds the outside and the inside address.
fn held(lab: &DaemonLab, host: &str) -> (bool, bool) {
    let inside = lab
        .ns(host)
        .addresses("eth1")
        .iter()
        .any(|entry| entry["local"].as_str() == Some(INSIDE_VIP));
    (lab.holds(host, VIP), inside)
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn an_instance_whose_link_goes_down_takes_its_group_along() {
    require_root("an_instance_whose_link_goes_down_takes_its_group_along");
    let lab = DaemonLab::new(Lab::builder().host("h1").host("h2").second_lan().build());
    let record = lab.scratch("group-record");
    let program = lab.recording_program("group-notify.sh", &record, "");
    let (fifo, mut reader) = lab.notify_fifo("group.fifo");
    let h1_config = config_with_group_notify(
        150,
        &program.display().to_string(),
        &fifo.display().to_string(),
    );
    let h1 = lab.start_with_config("h1", &h1_config, &lab.api_socket("h1"));
    assert!(
        wait_until(ELECTION, POLL, || held(&lab, "h1") == (true, true)),
        "h1 never became master of both\n{}",
        h1.log_text()
    );
    let h2 = lab.start_with_config("h2", &config(100), &lab.api_socket("h2"));
    assert!(
        h2.wait_state_count("BACKUP", 2, ELECTION),
        "h2 never started both instances\n{}",
        h2.log_text()
    );

    // Only the inside link fails; the outside instance's own link stays up.
    lab.ns("h1").ip(&["link", "set", "eth1", "down"]);
    assert!(
        wait_until(ELECTION, POLL, || held(&lab, "h2") == (true, true)
            && !lab.holds("h1", VIP)),
        "h2 did not take both addresses from h1: h1 {:?}, h2 {:?}\n{}\n{}",
        held(&lab, "h1"),
        held(&lab, "h2"),
        h1.log_text(),
        h2.log_text()
    );
    let followed = h1.logged("state changed").into_iter().any(|line| {
        line["instance"] == "outside"
            && line["to"] == "FAULT"
            && line["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("sync group"))
    });
    assert!(
        followed,
        "h1's outside instance did not follow its group into Fault\n{}",
        h1.log_text()
    );

    // The outside link fails too and comes back first: the outside instance's own fault is
    // over, but the group still holds it in Fault while the inside link is down.
    let outside_backups = |lines: &[serde_json::Value]| {
        lines
            .iter()
            .filter(|line| line["instance"] == "outside" && line["to"] == "BACKUP")
            .count()
    };
    let backups_before = outside_backups(&h1.logged("state changed"));
    lab.ns("h1").ip(&["link", "set", "eth0", "down"]);
    std::thread::sleep(Duration::from_millis(300));
    lab.ns("h1").ip(&["link", "set", "eth0", "up"]);
    assert!(
        wait_until(Duration::from_secs(2), POLL, || !h1
            .logged("fault cleared; staying in Fault while the sync group is")
            .is_empty()),
        "the outside instance did not stay in the group's Fault\n{}",
        h1.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        outside_backups(&h1.logged("state changed")),
        backups_before,
        "the outside instance left Fault while its group was in Fault\n{}",
        h1.log_text()
    );
    assert_eq!(held(&lab, "h2"), (true, true));

    // The inside link comes back: both leave Fault together and h1, the higher priority,
    // preempts on both LANs.
    lab.ns("h1").ip(&["link", "set", "eth1", "up"]);
    assert!(
        wait_until(Duration::from_secs(5), POLL, || held(&lab, "h1")
            == (true, true)
            && held(&lab, "h2") == (false, false)),
        "h1 did not take both addresses back: h1 {:?}, h2 {:?}\n{}\n{}",
        held(&lab, "h1"),
        held(&lab, "h2"),
        h1.log_text(),
        h2.log_text()
    );

    // Stopped, h1 hands both over (the group is BACKUP) and then stops (STOP). The group's
    // changes as a whole, each once, in order; never one per member.
    lab.signal(&h1, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&h1, Duration::from_secs(10)).is_some(),
        "h1 did not stop\n{}",
        h1.log_text()
    );
    let expected = [
        "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "BACKUP", "STOP",
    ];
    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    assert_eq!(
        recorded.lines().collect::<Vec<_>>(),
        expected.map(|state| format!("GROUP gateway {state} 0")),
        "{}",
        h1.log_text()
    );
    let mut lines = String::new();
    reader
        .read_to_string(&mut lines)
        .unwrap_or_else(|error| panic!("reading {}: {error}", fifo.display()));
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        expected.map(|state| format!("GROUP \"gateway\" {state} 0"))
    );
    lab.finish();
}

/// `GetInstance` of `name` on `host`.
fn get_instance(lab: &DaemonLab, host: &str, name: &str) -> proto::Instance {
    let socket = lab.api_socket(host);
    let name = name.to_owned();
    api_lab::runtime().block_on(async move {
        let mut grpc = api_lab::connect(&socket).await;
        grpc.get_instance(proto::GetInstanceRequest { name })
            .await
            .expect("GetInstance answers")
            .into_inner()
    })
}

/// A member's weighted check, registered over the API (the file refuses one): without
/// `tracking_weight` its failure leaves the priority alone, and `GetInstance` says the group
/// ignores the weights; a reload that sets `tracking_weight = true` lets it lower the
/// member's priority, as keepalived's `sync_group_tracking_weight` does.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_members_check_weight_counts_only_with_tracking_weight() {
    require_root("a_members_check_weight_counts_only_with_tracking_weight");
    let lab = DaemonLab::new(Lab::builder().host("h1").second_lan().build());
    let daemon = lab.start_with_config("h1", &config(150), &lab.api_socket("h1"));
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "{}",
        daemon.log_text()
    );
    // A link that stays down: the check on it fails.
    lab.ns("h1")
        .ip(&["link", "add", "st0", "type", "veth", "peer", "name", "st0p"]);
    let socket = lab.api_socket("h1");
    api_lab::runtime().block_on(async move {
        let mut grpc = api_lab::connect(&socket).await;
        grpc.register_health_check(proto::RegisterHealthCheckRequest {
            spec: Some(proto::HealthCheckSpec {
                name: "uplink".into(),
                instance_names: vec!["outside".into()],
                weight: -100,
                interval: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 100_000_000,
                }),
                kind: Some(proto::health_check_spec::Kind::Interface(
                    proto::InterfaceCheck { name: "st0".into() },
                )),
                ..proto::HealthCheckSpec::default()
            }),
        })
        .await
        .expect("the check registers");
    });
    assert!(
        wait_until(Duration::from_secs(3), POLL, || {
            get_instance(&lab, "h1", "outside")
                .health_checks
                .iter()
                .any(|check| check.consecutive_failures > 0)
        }),
        "the check on a down link did not fail\n{}",
        daemon.log_text()
    );
    let outside = get_instance(&lab, "h1", "outside");
    assert_eq!(outside.sync_group, "gateway");
    assert!(outside.health_check_weights_ignored);
    assert_eq!(
        (outside.base_priority, outside.effective_priority),
        (150, 150),
        "{}",
        daemon.log_text()
    );
    assert!(outside.health_checks.iter().all(|check| !check.passing));

    let path = lab.write_config("h1", &format!("{}tracking_weight = true\n", config(150)));
    assert!(path.exists());
    lab.signal(&daemon, Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(3), POLL, || {
            get_instance(&lab, "h1", "outside").effective_priority == 50
        }),
        "tracking_weight did not let the weight count\n{}",
        daemon.log_text()
    );
    assert!(!get_instance(&lab, "h1", "outside").health_check_weights_ignored);
    lab.signal(&daemon, Signal::SIGTERM);
    assert!(lab.wait_exit(&daemon, Duration::from_secs(5)).is_some());
    lab.finish();
}
