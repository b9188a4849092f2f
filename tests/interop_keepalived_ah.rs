//! IPsec AH authentication (VRRPv2 auth type 2, keepalived's `auth_type AH`) between our
//! daemon and a real keepalived 2.2.7 in a namespace lab, both running the same keepalived.conf
//! (and ours from its native configuration too), both ways round: election, failover on a crash, preemption by the restarted master
//! (whose sequence numbers start again and must follow the peer's), and takeover on a
//! graceful stop (priority 0). With different keys neither accepts the other: both become
//! master, ours counts the refusals in `GetInstance` and keepalived logs them. tshark checks
//! that both sides' adverts are IP protocol 51 with the sender's address as SPI and growing
//! sequence numbers.
//!
//! Needs root, keepalived and tshark; without them the tests fail saying so.

mod api_lab;
mod daemon_lab;
mod keepalived_lab;
mod netns;

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use vrrp_sidecar_client::proto;

use daemon_lab::{DaemonLab, InstanceSpec, MARGIN, POLL, VIP};
use keepalived_lab::{
    HOSTS, InteropLab, OURS, OURS_IPV4, Router, START_SLACK, THEIRS, THEIRS_IPV4, Timing, other,
    require_tools, stop_capture,
};
use netns::wait_until;

const TIMING: Timing = Timing {
    advert_interval: Duration::from_secs(1),
    master_priority: 150,
    backup_priority: 100,
};

/// A keepalived.conf of one VRRPv2 instance under AH with `key`, starting as backup
/// (keepalived refuses an initial MASTER state with AH: it must learn the sequence first).
fn keepalived_conf(priority: u8, key: &str) -> String {
    format!(
        "global_defs {{\n    router_id vst_ah\n}}\n\
         vrrp_instance VI_AH {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    \
         authentication {{\n        auth_type AH\n        auth_pass {key}\n    }}\n    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

/// What `GetInstance` says of our only instance on `host`.
fn our_instance(lab: &DaemonLab, host: &str) -> proto::Instance {
    let socket = lab.api_socket(host);
    api_lab::runtime().block_on(async move {
        let mut grpc = api_lab::connect(&socket).await;
        let listed = grpc
            .list_instances(proto::ListInstancesRequest {})
            .await
            .expect("ListInstances answers")
            .into_inner();
        let name = listed.instances.first().expect("one instance").name.clone();
        grpc.get_instance(proto::GetInstanceRequest { name })
            .await
            .expect("GetInstance answers")
            .into_inner()
    })
}

/// One advert under AH as tshark decoded it.
#[derive(Debug)]
struct AhAdvert {
    source: IpAddr,
    protocol: u8,
    spi: u32,
    sequence: u32,
    auth_type: u8,
    priority: u8,
    ttl: u8,
    checksum_status: u8,
}

/// Stops the capture and decodes every VRRP advert in it with its IP and AH fields.
fn ah_adverts(interop: &mut InteropLab) -> Vec<AhAdvert> {
    let capture = interop
        .capture
        .take()
        .expect("the capture runs until read once");
    stop_capture(&interop.lab, &capture);
    decode(&capture.file)
}

fn decode(file: &Path) -> Vec<AhAdvert> {
    const FIELDS: [&str; 8] = [
        "ip.src",
        "ip.proto",
        "ah.spi",
        "ah.sequence",
        "vrrp.auth_type",
        "vrrp.prio",
        "ip.ttl",
        "vrrp.checksum.status",
    ];
    let mut command = Command::new("tshark");
    command
        .arg("-r")
        .arg(file)
        .args(["-Y", "vrrp", "-T", "fields"]);
    for field in FIELDS {
        command.args(["-e", field]);
    }
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run tshark: {error}"));
    assert!(
        output.status.success(),
        "tshark -r {} failed",
        file.display()
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), FIELDS.len(), "tshark printed {line:?}");
            let number = |index: usize| -> u32 {
                let text = columns[index];
                let parsed = match text.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => text.parse().ok(),
                };
                parsed.unwrap_or_else(|| panic!("{} is {text:?} in {line:?}", FIELDS[index]))
            };
            let byte = |index: usize| u8::try_from(number(index)).expect("a one-byte field");
            AhAdvert {
                source: columns[0]
                    .parse()
                    .unwrap_or_else(|_| panic!("no IPv4 source in {line:?}")),
                protocol: byte(1),
                spi: number(2),
                sequence: number(3),
                auth_type: byte(4),
                priority: byte(5),
                ttl: byte(6),
                checksum_status: byte(7),
            }
        })
        .collect()
}

/// Every advert is VRRPv2 auth type 2 in IP protocol 51 with TTL 255, a good checksum and
/// its sender's address as SPI; each side's sequence numbers only grow; both sides sent.
fn assert_ah_adverts(test: &str, adverts: &[AhAdvert]) {
    for advert in adverts {
        assert_eq!(
            (
                advert.protocol,
                advert.auth_type,
                advert.ttl,
                advert.checksum_status
            ),
            (51, 2, 255, 1),
            "{advert:?}"
        );
        let IpAddr::V4(source) = advert.source else {
            panic!("AH is IPv4 only: {advert:?}");
        };
        assert_eq!(
            advert.spi,
            u32::from(source),
            "SPI is not the source: {advert:?}"
        );
    }
    for (side, source) in [(OURS, OURS_IPV4), (THEIRS, THEIRS_IPV4)] {
        let sent: Vec<&AhAdvert> = adverts
            .iter()
            .filter(|advert| advert.source == IpAddr::V4(source))
            .collect();
        assert!(!sent.is_empty(), "no AH advert from {side} ({source})");
        for pair in sent.windows(2) {
            assert!(
                pair[1].sequence > pair[0].sequence,
                "{side}'s AH sequence does not grow: {:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
        let priority_zero = sent.iter().filter(|advert| advert.priority == 0).count();
        println!(
            "{test}: tshark: {side} ({source}): {} adverts in IP protocol 51 ({priority_zero} of \
             priority 0), AH SPI = source, sequence {}..={}, auth type 2, TTL 255, checksum Good",
            sent.len(),
            sent[0].sequence,
            sent[sent.len() - 1].sequence,
        );
    }
}

/// How our daemon is configured in a cell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OurConfig {
    /// The same keepalived.conf as keepalived's (`--keepalived-conf`).
    KeepalivedConf,
    /// The native TOML configuration with `authentication = { type = "ah", ... }`.
    Native,
}

/// keepalived.conf under AH on keepalived's host and `ours` on ours, `master_host` at the
/// higher priority: election, a single holder, failover on a crash of the master, preemption
/// by the restarted master, takeover on its graceful stop; then what tshark saw.
fn failover_both_ways(test: &'static str, master_host: &str, ours: OurConfig) {
    let key = "vst-ah1";
    let backup_host = other(master_host);
    let router = |host: &str| {
        let priority = if host == master_host {
            TIMING.master_priority
        } else {
            TIMING.backup_priority
        };
        let text = keepalived_conf(priority, key);
        match (host == OURS, ours) {
            (false, _) => Router::Keepalived(text),
            (true, OurConfig::KeepalivedConf) => Router::OursFromKeepalivedConf(text),
            (true, OurConfig::Native) => Router::Ours(InstanceSpec {
                name: "vi",
                vrid: 51,
                priority,
                advert_interval: "1s",
                addresses: vec![format!("{VIP}/24")],
                extra: vec![
                    "version = 2".to_owned(),
                    format!("authentication = {{ type = \"ah\", password = \"{key}\" }}"),
                ],
            }),
        }
    };
    let (master, backup) = (router(master_host), router(backup_host));
    let mut interop = InteropLab::new(test);
    let lab = &interop.lab;
    let election = TIMING.master_down_interval(TIMING.master_priority) + START_SLACK;

    let first_master = interop.start(master_host, &master);
    assert!(
        lab.wait_sole_holder(&HOSTS, master_host, VIP, election)
            .is_some(),
        "{master_host} was not elected within {election:?}\n{}",
        first_master.log_text()
    );
    let backup_running = interop.start(backup_host, &backup);
    std::thread::sleep(TIMING.advert_interval * 4 + MARGIN);
    assert_eq!(
        lab.holders(&HOSTS, VIP),
        [master_host],
        "not a single holder in steady state: the backup refused the master's AH?\n\
         {master_host}:\n{}\n{backup_host}:\n{}",
        first_master.log_text(),
        backup_running.log_text()
    );
    let ours = our_instance(lab, OURS);
    assert_eq!(ours.auth_type(), proto::AuthType::Ah, "{ours:?}");
    let counters = ours.counters.expect("counters");
    assert_eq!(counters.auth_errors, 0, "{counters:?}");
    println!(
        "{test}: GetInstance: auth type AH, {} adverts received, {} sent, 0 auth errors",
        counters.adverts_received, counters.adverts_sent
    );

    let failover_bound = TIMING.master_down_interval(TIMING.backup_priority) + MARGIN;
    let crashed = Instant::now();
    interop.crash(&first_master);
    assert!(
        lab.wait_holding(backup_host, VIP, true, failover_bound)
            .is_some(),
        "{backup_host} did not take {VIP} within {failover_bound:?} of the crash\n{}",
        backup_running.log_text()
    );
    println!(
        "{test}: {master_host} crashed: {backup_host} holds {VIP} after {:?}",
        crashed.elapsed()
    );

    // The restarted master counts its sequence from 0 again: it learns the backup's (now
    // master's) numbers from its adverts, so the adverts it sends on preempting are above
    // them and accepted.
    let restarted = Instant::now();
    let second_master = interop.start(master_host, &master);
    assert!(
        lab.wait_sole_holder(
            &HOSTS,
            master_host,
            VIP,
            election + TIMING.advert_interval * 2
        )
        .is_some(),
        "{master_host} did not preempt; holders {:?}\n{master_host}:\n{}\n{backup_host}:\n{}",
        lab.holders(&HOSTS, VIP),
        second_master.log_text(),
        backup_running.log_text()
    );
    println!(
        "{test}: {master_host} restarted: sole holder again after {:?}",
        restarted.elapsed()
    );
    std::thread::sleep(TIMING.advert_interval * 3);
    assert_eq!(lab.holders(&HOSTS, VIP), [master_host]);

    let handover_bound = TIMING.skew_time(TIMING.backup_priority) + MARGIN;
    let stopping = Instant::now();
    interop.request_stop(&second_master);
    assert!(
        lab.wait_holding(backup_host, VIP, true, handover_bound)
            .is_some(),
        "{backup_host} did not take over within {handover_bound:?} of priority 0\n{}",
        backup_running.log_text()
    );
    println!(
        "{test}: {master_host} stopped (priority 0): {backup_host} holds {VIP} after {:?}",
        stopping.elapsed()
    );
    interop.wait_stopped(&second_master);
    if backup_host == OURS {
        let counters = our_instance(lab, OURS).counters.expect("counters");
        // Each refusal kind is logged once per master: say which refusals these were.
        let log = backup_running.log_text();
        let reasons: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("advertisement refused"))
            .filter_map(|line| line.split("\"error\":\"").nth(1)?.split('"').next())
            .collect();
        println!(
            "{test}: GetInstance after the cycle: {} auth errors; refusals logged: {reasons:?}",
            counters.auth_errors
        );
    }
    interop.stop(&backup_running);
    let adverts = ah_adverts(&mut interop);
    assert_ah_adverts(test, &adverts);
    interop.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark; scripts/test runs it"]
fn ah_ours_master_keepalived_backup() {
    require_tools("ah_ours_master_keepalived_backup");
    failover_both_ways(
        "ah_ours_master_keepalived_backup",
        OURS,
        OurConfig::KeepalivedConf,
    );
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark; scripts/test runs it"]
fn ah_keepalived_master_ours_backup() {
    require_tools("ah_keepalived_master_ours_backup");
    failover_both_ways(
        "ah_keepalived_master_ours_backup",
        THEIRS,
        OurConfig::KeepalivedConf,
    );
}

/// Ours from its native configuration (`type = "ah"`) as master, keepalived as backup.
#[test]
#[ignore = "lab: needs root, keepalived, tshark; scripts/test runs it"]
fn ah_native_config_ours_master_keepalived_backup() {
    require_tools("ah_native_config_ours_master_keepalived_backup");
    failover_both_ways(
        "ah_native_config_ours_master_keepalived_backup",
        OURS,
        OurConfig::Native,
    );
}

/// Ours from its native configuration as backup, keepalived as master.
#[test]
#[ignore = "lab: needs root, keepalived, tshark; scripts/test runs it"]
fn ah_native_config_keepalived_master_ours_backup() {
    require_tools("ah_native_config_keepalived_master_ours_backup");
    failover_both_ways(
        "ah_native_config_keepalived_master_ours_backup",
        THEIRS,
        OurConfig::Native,
    );
}

/// Different AH keys: neither accepts the other's adverts, so both take the VIP whatever the
/// priorities; ours counts every refused advert as an auth error in `GetInstance` and logs
/// the ICV failure, keepalived logs its own.
///
/// keepalived starts first and is master when ours starts, so ours hears (and refuses) its
/// adverts for a whole Master_Down_Interval. Once ours is master too, keepalived goes quiet:
/// it restarts its advert timer on every packet it receives, refused ones included
/// (keepalived/vrrp/vrrp_scheduler.c, `vrrp_dispatcher_read`), and ours advertises at the
/// same interval.
#[test]
#[ignore = "lab: needs root, keepalived, tshark; scripts/test runs it"]
fn ah_wrong_key_is_refused_and_counted() {
    let test = "ah_wrong_key_is_refused_and_counted";
    require_tools(test);
    let mut interop = InteropLab::new(test);
    let lab = &interop.lab;
    let election = TIMING.master_down_interval(TIMING.master_priority) + START_SLACK;
    let theirs = interop.start(
        THEIRS,
        &Router::Keepalived(keepalived_conf(TIMING.master_priority, "key-two")),
    );
    assert!(
        lab.wait_sole_holder(&HOSTS, THEIRS, VIP, election)
            .is_some(),
        "keepalived was not elected within {election:?}
{}",
        theirs.log_text()
    );
    let ours = interop.start(
        OURS,
        &Router::OursFromKeepalivedConf(keepalived_conf(TIMING.backup_priority, "key-one")),
    );
    let bound = TIMING.master_down_interval(TIMING.backup_priority) + START_SLACK;
    assert!(
        wait_until(bound, POLL, || lab.holders(&HOSTS, VIP).len() == 2),
        "not both holders within {bound:?}: {:?}\nours:\n{}\ntheirs:\n{}",
        lab.holders(&HOSTS, VIP),
        ours.log_text(),
        theirs.log_text()
    );
    std::thread::sleep(TIMING.advert_interval * 3);
    assert_eq!(lab.holders(&HOSTS, VIP), HOSTS);
    interop.crash(&theirs);
    let instance = our_instance(lab, OURS);
    assert_eq!(instance.auth_type(), proto::AuthType::Ah);
    let counters = instance.counters.expect("counters");
    let our_log = ours.log_text();
    interop.crash(&ours);
    let adverts = ah_adverts(&mut interop);
    let theirs_sent = adverts
        .iter()
        .filter(|advert| advert.source == IpAddr::V4(THEIRS_IPV4))
        .count();
    println!(
        "{test}: both masters; GetInstance: {} auth errors, {} adverts accepted; keepalived \
         sent {theirs_sent} adverts in all",
        counters.auth_errors, counters.adverts_received
    );
    assert_eq!(counters.adverts_received, 0, "{counters:?}");
    assert!(
        (3..=theirs_sent as u64).contains(&counters.auth_errors),
        "keepalived's adverts under the other key not counted ({theirs_sent} sent): {counters:?}"
    );
    assert!(
        our_log.contains("advertisement refused") && our_log.contains("ICV"),
        "ours did not log refusing keepalived's AH\n{our_log}"
    );
    let their_log = theirs.log_text();
    assert!(
        their_log.contains("invalid IPSEC HMAC-MD5"),
        "keepalived did not log refusing our AH\n{their_log}"
    );
    assert_ah_adverts(test, &adverts);
    interop.finish();
}
