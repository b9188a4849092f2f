//! The vrrpctl binary against the fake daemon: output and exit status.

use std::process::Output;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use vrrp_sidecar_client::proto::{AuthType, State};

use crate::fake::*;

async fn vrrpctl(daemon: &FakeDaemon, arguments: &[&str]) -> Output {
    within(
        Command::new(env!("CARGO_BIN_EXE_vrrpctl"))
            .arg("--socket")
            .arg(&daemon.socket_path)
            .args(arguments)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("running vrrpctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn status_prints_a_table_of_the_instances() {
    let mut web = instance("vi_web", State::Master, 150);
    web.effective_priority = 140;
    web.accept_mode = true;
    let mut db = instance("vi_db", State::Backup, 100);
    db.strict_mode = true;
    db.set_auth_type(AuthType::Ah);
    let daemon = FakeDaemon::start(vec![web, db]).await;
    let output = vrrpctl(&daemon, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "NAME    INTERFACE  VRID  STATE   PRIORITY  MASTER     ACCEPT  STRICT  AUTH\n\
         vi_web  eth0       51    MASTER  150/140   192.0.2.1  yes     no      none\n\
         vi_db   eth0       51    BACKUP  100/100   192.0.2.1  no      yes     ah\n"
    );
}

#[tokio::test]
async fn status_lists_the_routes_and_rules_under_the_instances() {
    use vrrp_sidecar_client::proto::RoutingEntry;
    let mut web = instance("vi_web", State::Master, 150);
    web.virtual_routes = vec![
        RoutingEntry {
            spec: "198.51.100.0/24 via 192.0.2.254 dev eth0".into(),
            installed: true,
            tracked: true,
        },
        RoutingEntry {
            spec: "blackhole 198.51.100.128/25 no_track".into(),
            installed: true,
            tracked: false,
        },
    ];
    web.virtual_rules = vec![RoutingEntry {
        spec: "priority 100 from 192.0.2.100/32 table 100".into(),
        installed: true,
        tracked: true,
    }];
    let daemon = FakeDaemon::start(vec![web, instance("vi_db", State::Backup, 100)]).await;
    let output = vrrpctl(&daemon, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "NAME    INTERFACE  VRID  STATE   PRIORITY  MASTER     ACCEPT  STRICT  AUTH\n\
         vi_web  eth0       51    MASTER  150/150   192.0.2.1  no      no      none\n\
         vi_db   eth0       51    BACKUP  100/100   192.0.2.1  no      no      none\n\
         \n\
         INSTANCE  KIND   INSTALLED  TRACKED  SPEC\n\
         vi_web    route  yes        yes      198.51.100.0/24 via 192.0.2.254 dev eth0\n\
         vi_web    route  yes        no       blackhole 198.51.100.128/25 no_track\n\
         vi_web    rule   yes        yes      priority 100 from 192.0.2.100/32 table 100\n"
    );
}

#[tokio::test]
async fn status_lists_the_virtual_macs_under_the_instances() {
    use vrrp_sidecar_client::proto::VirtualMac;
    let mut web = instance("vi_web", State::Master, 150);
    web.virtual_mac = Some(VirtualMac {
        interface: "vrrp.51".into(),
        mac: "00:00:5e:00:01:33".into(),
        xmit_base: false,
    });
    let mut db = instance("vi_db", State::Backup, 100);
    db.virtual_mac = Some(VirtualMac {
        interface: "vmac52".into(),
        mac: "00:00:5e:00:01:34".into(),
        xmit_base: true,
    });
    let daemon = FakeDaemon::start(vec![web, db, instance("vi_dns", State::Backup, 100)]).await;
    let output = vrrpctl(&daemon, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "NAME    INTERFACE  VRID  STATE   PRIORITY  MASTER     ACCEPT  STRICT  AUTH\n\
         vi_web  eth0       51    MASTER  150/150   192.0.2.1  no      no      none\n\
         vi_db   eth0       51    BACKUP  100/100   192.0.2.1  no      no      none\n\
         vi_dns  eth0       51    BACKUP  100/100   192.0.2.1  no      no      none\n\
         \n\
         INSTANCE  VIRTUAL MAC  MAC                ADVERTS FROM\n\
         vi_web    vrrp.51      00:00:5e:00:01:33  vrrp.51\n\
         vi_db     vmac52       00:00:5e:00:01:34  eth0\n"
    );
}

#[tokio::test]
async fn status_lists_the_unicast_peers_with_the_ttls_they_are_heard_with() {
    use vrrp_sidecar_client::proto::{Unicast, UnicastPeer};
    let peer = |address: &str, min_ttl, max_ttl| UnicastPeer {
        address: address.into(),
        min_ttl,
        max_ttl,
    };
    let mut web = instance("vi_web", State::Master, 150);
    web.unicast = Some(Unicast {
        source: "192.0.2.1".into(),
        peers: vec![peer("192.0.2.2", 250, 254), peer("192.0.2.3", 0, 255)],
        check_source: true,
        ttl: 255,
    });
    let mut db = instance("vi_db", State::Backup, 100);
    db.unicast = Some(Unicast {
        source: String::new(),
        peers: vec![peer("198.51.100.2", 0, 255)],
        check_source: false,
        ttl: 2,
    });
    let daemon = FakeDaemon::start(vec![web, db]).await;
    let output = vrrpctl(&daemon, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "NAME    INTERFACE  VRID  STATE   PRIORITY  MASTER     ACCEPT  STRICT  AUTH\n\
         vi_web  eth0       51    MASTER  150/150   192.0.2.1  no      no      none\n\
         vi_db   eth0       51    BACKUP  100/100   192.0.2.1  no      no      none\n\
         \n\
         INSTANCE  UNICAST PEER  TTL SENT  TTL TAKEN\n\
         vi_web    192.0.2.2     255       250..254\n\
         vi_web    192.0.2.3     255       0..255\n\
         vi_db     198.51.100.2  2         -\n"
    );
}

#[tokio::test]
async fn status_lists_the_link_delays_and_a_pending_change() {
    use vrrp_sidecar_client::proto::{LinkDebounce, PendingLinkChange};
    let seconds = |seconds: i64, nanos: i32| Some(prost_types::Duration { seconds, nanos });
    let mut web = instance("vi_web", State::Master, 150);
    web.link_debounce = Some(LinkDebounce {
        down_delay: seconds(1, 500_000_000),
        up_delay: seconds(1, 0),
        pending: Some(PendingLinkChange {
            up: false,
            remaining: seconds(0, 250_000_000),
        }),
    });
    let mut db = instance("vi_db", State::Backup, 100);
    db.link_debounce = Some(LinkDebounce {
        down_delay: seconds(0, 199_610_000),
        up_delay: seconds(0, 0),
        pending: None,
    });
    let daemon = FakeDaemon::start(vec![web, db, instance("vi_dns", State::Backup, 100)]).await;
    let output = vrrpctl(&daemon, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "NAME    INTERFACE  VRID  STATE   PRIORITY  MASTER     ACCEPT  STRICT  AUTH\n\
         vi_web  eth0       51    MASTER  150/150   192.0.2.1  no      no      none\n\
         vi_db   eth0       51    BACKUP  100/100   192.0.2.1  no      no      none\n\
         vi_dns  eth0       51    BACKUP  100/100   192.0.2.1  no      no      none\n\
         \n\
         INSTANCE  INTERFACE  DOWN DELAY  UP DELAY  PENDING\n\
         vi_web    eth0       1.500s      1.000s    down in 0.250s\n\
         vi_db     eth0       0.200s      0.000s    -\n"
    );
}

#[tokio::test]
async fn status_of_a_missing_instance_exits_1_with_the_daemons_message() {
    let daemon = FakeDaemon::start(vec![]).await;
    let output = vrrpctl(&daemon, &["status", "vi_nope"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "vrrpctl: no instance is named \"vi_nope\" (NotFound)\n"
    );
}

#[tokio::test]
async fn set_priority_reports_the_result_or_the_refusal() {
    let daemon = FakeDaemon::start(vec![instance("vi_web", State::Master, 150)]).await;
    let output = vrrpctl(&daemon, &["set-priority", "vi_web", "120"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "vi_web: priority 120/120 (base/effective), MASTER\n"
    );
    let refused = vrrpctl(&daemon, &["set-priority", "vi_web", "0"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("outside 1..254"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test]
async fn health_exits_0_only_when_serving() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let serving = vrrpctl(&daemon, &["health"]).await;
    assert!(serving.status.success(), "{}", text(&serving.stderr));
    assert_eq!(text(&serving.stdout), "SERVING\n");
    let unknown = vrrpctl(&daemon, &["health", "--service", "vrrp.v1.Nope"]).await;
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown.stderr));
    daemon.stop().await;
    let gone = vrrpctl(&daemon, &["health"]).await;
    assert_eq!(gone.status.code(), Some(3), "{}", text(&gone.stderr));
}

#[tokio::test]
async fn an_unreachable_daemon_exits_3() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    daemon.stop().await;
    let output = vrrpctl(&daemon, &["reload"]).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).starts_with("vrrpctl: cannot connect"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn watch_json_prints_one_object_per_event() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vrrpctl"))
        .arg("--socket")
        .arg(&daemon.socket_path)
        .args(["watch", "--json", "vi_web"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting vrrpctl watch");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();

    let call = daemon.next_watch().await;
    assert_eq!(call.request.instance_names, ["vi_web"]);
    call.send(snapshot(
        "boot-1",
        4,
        instance("vi_web", State::Backup, 100),
    ))
    .await;
    call.send(snapshot_complete("boot-1", 5)).await;
    call.send(transition(
        "boot-1",
        6,
        "vi_web",
        State::Backup,
        State::Master,
    ))
    .await;
    let mut printed = Vec::new();
    for _ in 0..3 {
        printed.push(
            within(lines.next_line())
                .await
                .expect("reading vrrpctl's output")
                .expect("a line per event"),
        );
    }
    assert_eq!(
        printed,
        [
            r#"{"event":"snapshot","instance":"vi_web","state":"BACKUP","base_priority":100,"effective_priority":100,"master":"192.0.2.1"}"#,
            r#"{"event":"snapshot_complete","epoch":"boot-1","revision":5}"#,
            r#"{"event":"transition","instance":"vi_web","from":"BACKUP","to":"MASTER","reason":"MASTER_DOWN_TIMER","base_priority":100,"effective_priority":100,"master":"-"}"#,
        ]
    );
    child.kill().await.expect("stopping vrrpctl watch");
}

#[tokio::test]
async fn checks_prints_each_check_with_its_status() {
    use vrrp_sidecar_client::proto::{
        FileCheck, HealthCheck, HealthCheckSpec, PushedCheck, health_check_spec::Kind,
    };
    let mut web = instance("vi_web", State::Master, 150);
    web.health_checks = vec![
        HealthCheck {
            spec: Some(HealthCheckSpec {
                name: "app".into(),
                weight: -60,
                kind: Some(Kind::Pushed(PushedCheck::default())),
                ..HealthCheckSpec::default()
            }),
            owner: "uid 1000 pid 42".into(),
            passing: false,
            consecutive_failures: 3,
            last_run_time: Some(prost_types::Timestamp::default()),
            last_output: "report stream closed\nmore".into(),
            ..HealthCheck::default()
        },
        HealthCheck {
            spec: Some(HealthCheckSpec {
                name: "flag".into(),
                kind: Some(Kind::File(FileCheck {
                    path: "/run/flag".into(),
                })),
                ..HealthCheckSpec::default()
            }),
            owner: "config".into(),
            ..HealthCheck::default()
        },
    ];
    let daemon = FakeDaemon::start(vec![web, instance("vi_db", State::Backup, 100)]).await;
    let output = vrrpctl(&daemon, &["checks"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "INSTANCE  CHECK  KIND    WEIGHT  RESULT   PASSES  FAILS  OWNER            OUTPUT\n\
         vi_web    app    pushed  -60     fail     0       3      uid 1000 pid 42  report stream closed\n\
         vi_web    flag   file    0       pending  0       0      config\n"
    );
}

#[tokio::test]
async fn status_lists_the_sync_group_of_each_member_and_its_weights() {
    let mut outside = instance("outside", State::Master, 150);
    outside.sync_group = "gateway".into();
    outside.health_check_weights_ignored = true;
    let mut inside = instance("inside", State::Master, 150);
    inside.sync_group = "gateway".into();
    let daemon =
        FakeDaemon::start(vec![outside, inside, instance("alone", State::Backup, 100)]).await;
    let output = vrrpctl(&daemon, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    let groups = printed
        .split("\n\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no second table in\n{printed}"));
    assert_eq!(
        groups,
        "INSTANCE  SYNC GROUP  CHECK WEIGHTS\n\
         outside   gateway     ignored (weight 0 only)\n\
         inside    gateway     counted\n"
    );
}
