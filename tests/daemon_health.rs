//! Health checks moving mastership between real daemons in a namespace lab: a check on the
//! master fails (the test removes the file an exec check tests for), the master's priority
//! drops or it enters Fault, and the backup takes the VIP; WatchState names the check.

mod api_lab;
mod daemon_lab;
mod netns;

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use vrrp_sidecar_client::proto::watch_state_response::Kind;
use vrrp_sidecar_client::proto::{self, TransitionReason};

use api_lab::{connect, read_until, runtime, transition, watch, watch_request};
use daemon_lab::{
    DaemonLab, ELECTION, InstanceSpec, MARGIN, VIP, master_down_interval_100ms, skew_time_100ms,
};
use netns::{Lab, require_root};

/// The check's interval and fall, as the configuration below writes them.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);
const CHECK_FALL: u32 = 2;

/// The bound the issue sets on a check-driven failover once the check starts failing.
const ISSUE_SLACK: Duration = Duration::from_millis(50);

fn lab() -> DaemonLab {
    DaemonLab::new(Lab::builder().host("h1").host("h2").build())
}

/// The master's instance: priority 150 with an exec check of weight `weight` that passes
/// while `flag` exists.
fn checked_master(flag: &Path, weight: i16) -> InstanceSpec {
    InstanceSpec::v3(150).with(&format!(
        "health_checks.flag = {{ kind = \"exec\", command = [\"test\", \"-e\", \"{}\"], \
         interval = \"100ms\", timeout = \"1s\", fall = {CHECK_FALL}, rise = 2, weight = {weight} }}",
        flag.display()
    ))
}

fn check_named<'a>(instance: &'a proto::Instance, name: &str) -> &'a proto::HealthCheck {
    instance
        .health_checks
        .iter()
        .find(|check| check.spec.as_ref().is_some_and(|spec| spec.name == name))
        .unwrap_or_else(|| panic!("no check {name} in {instance:#?}"))
}

#[test]
fn a_failing_check_moves_the_vip_to_the_backup_and_back() {
    if !require_root("a_failing_check_moves_the_vip_to_the_backup_and_back") {
        return;
    }
    let lab = lab();
    let hosts = ["h1", "h2"];
    let flag = lab.scratch("healthy");
    std::fs::write(&flag, "").expect("scratch directory is writable");
    let (master, backup) = lab.start_pair(
        "h1",
        checked_master(&flag, -60),
        "h2",
        InstanceSpec::v3(100),
    );
    let rt = runtime();
    let mut client = rt.block_on(connect(&lab.api_socket("h1")));
    let instance = rt
        .block_on(client.get_instance(proto::GetInstanceRequest { name: "vi".into() }))
        .expect("GetInstance")
        .into_inner();
    let check = check_named(&instance, "flag");
    assert!(check.passing, "{check:#?}");
    assert_eq!(check.owner, "config");
    assert_eq!(instance.effective_priority, 150);
    let mut events = rt.block_on(watch(&client, watch_request("vi")));
    rt.block_on(read_until(
        &mut events,
        Duration::from_secs(2),
        api_lab::is_snapshot_complete,
    ));

    let failed_at = Instant::now();
    std::fs::remove_file(&flag).expect("removing the flag");
    let bound = CHECK_INTERVAL * CHECK_FALL + master_down_interval_100ms(100) + ISSUE_SLACK;
    let moved = lab.wait_sole_holder(&hosts, "h2", VIP, bound + MARGIN);
    assert!(
        moved.is_some(),
        "h2 did not take the VIP within {:?}\n{}\n{}",
        bound + MARGIN,
        master.log_text(),
        backup.log_text()
    );
    let took = failed_at.elapsed();
    println!(
        "check failure → VIP on the backup: {took:?} (issue bound fall × interval + \
         Master_Down_Interval + 50 ms = {bound:?})"
    );
    let seen = rt.block_on(read_until(&mut events, Duration::from_secs(2), |message| {
        transition(message).is_some_and(|change| change.to == proto::State::Backup as i32)
    }));
    let change = transition(seen.last().expect("read_until returns what it accepted"))
        .expect("a transition");
    assert_eq!(
        change.reason,
        TransitionReason::HealthCheck as i32,
        "{seen:#?}"
    );
    assert_eq!(change.health_check_name, "flag", "{seen:#?}");
    assert!(
        seen.iter().any(|message| matches!(&message.kind,
            Some(Kind::PriorityChange(priority))
                if priority.effective_priority == 90 && priority.health_check_name == "flag")),
        "no priority change to 90 by the check: {seen:#?}"
    );
    assert!(
        seen.iter().any(|message| matches!(&message.kind,
            Some(Kind::HealthCheckResult(result))
                if result.check.as_ref().is_some_and(|check| !check.passing))),
        "no failing check result: {seen:#?}"
    );

    let recovered_at = Instant::now();
    std::fs::write(&flag, "").expect("restoring the flag");
    // Rise 2, then the preempting backup's Master_Down_Interval at priority 150.
    let back_bound = CHECK_INTERVAL * 2 + master_down_interval_100ms(150) + ISSUE_SLACK;
    let back = lab.wait_sole_holder(&hosts, "h1", VIP, back_bound + MARGIN);
    assert!(
        back.is_some(),
        "h1 did not take the VIP back within {:?}\n{}",
        back_bound + MARGIN,
        master.log_text()
    );
    println!(
        "check recovery → VIP back on h1: {:?} (rise × interval + Master_Down_Interval + 50 ms \
         = {back_bound:?})",
        recovered_at.elapsed()
    );
    let seen = rt.block_on(read_until(&mut events, Duration::from_secs(2), |message| {
        transition(message).is_some_and(|change| change.to == proto::State::Master as i32)
    }));
    let change = transition(seen.last().expect("read_until returns what it accepted"))
        .expect("a transition");
    assert_eq!(
        change.reason,
        TransitionReason::HealthCheck as i32,
        "{seen:#?}"
    );
    assert_eq!(change.health_check_name, "flag");
    drop(events);
    drop(client);
    drop(rt);
    lab.finish();
}

#[test]
fn a_failing_weight_zero_check_puts_the_master_in_fault() {
    if !require_root("a_failing_weight_zero_check_puts_the_master_in_fault") {
        return;
    }
    let lab = lab();
    let hosts = ["h1", "h2"];
    let flag = lab.scratch("healthy");
    std::fs::write(&flag, "").expect("scratch directory is writable");
    let (master, backup) =
        lab.start_pair("h1", checked_master(&flag, 0), "h2", InstanceSpec::v3(100));
    let failed_at = Instant::now();
    std::fs::remove_file(&flag).expect("removing the flag");
    // The master in Fault sends priority 0: the backup takes over after its Skew_Time.
    let bound = CHECK_INTERVAL * CHECK_FALL + skew_time_100ms(100) + ISSUE_SLACK;
    let moved = lab.wait_sole_holder(&hosts, "h2", VIP, bound + MARGIN);
    assert!(
        moved.is_some(),
        "h2 did not take the VIP within {:?}\n{}\n{}",
        bound + MARGIN,
        master.log_text(),
        backup.log_text()
    );
    println!(
        "weight-0 check failure → VIP on the backup: {:?} (fall × interval + Skew_Time + 50 ms \
         = {bound:?})",
        failed_at.elapsed()
    );
    assert!(
        master.wait_state_count("FAULT", 1, Duration::from_secs(1)),
        "h1 never entered FAULT\n{}",
        master.log_text()
    );
    // Fault holds: no VIP on h1 while the check fails.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!lab.holds("h1", VIP), "h1 took the VIP while in Fault");

    std::fs::write(&flag, "").expect("restoring the flag");
    let back = lab.wait_sole_holder(&hosts, "h1", VIP, ELECTION);
    assert!(
        back.is_some(),
        "h1 did not come back after recovery\n{}",
        master.log_text()
    );
    lab.finish();
}

#[test]
fn a_reload_keeps_an_unchanged_check_and_its_counts() {
    if !require_root("a_reload_keeps_an_unchanged_check_and_its_counts") {
        return;
    }
    let lab = lab();
    let flag = lab.scratch("healthy");
    std::fs::write(&flag, "").expect("scratch directory is writable");
    let master = lab.start("h1", &[checked_master(&flag, -60)]);
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        master.log_text()
    );
    let rt = runtime();
    let mut client = rt.block_on(connect(&lab.api_socket("h1")));
    let mut passes = || {
        let instance = rt
            .block_on(client.get_instance(proto::GetInstanceRequest { name: "vi".into() }))
            .expect("GetInstance")
            .into_inner();
        let check = check_named(&instance, "flag");
        assert!(check.last_run_time.is_some(), "{check:#?}");
        check.consecutive_passes
    };
    // Ten runs at 100 ms: a restarted check would count from 1 again.
    std::thread::sleep(Duration::from_secs(1));
    let before = passes();
    assert!(before >= 5, "only {before} passes after a second");
    lab.signal(&master, Signal::SIGHUP);
    assert!(
        netns::wait_until(Duration::from_secs(3), daemon_lab::POLL, || {
            !master.logged("configuration reloaded").is_empty()
        }),
        "no reload\n{}",
        master.log_text()
    );
    std::thread::sleep(Duration::from_millis(300));
    let after = passes();
    assert!(
        after > before,
        "passes went from {before} to {after} across the reload: the check was restarted"
    );
    lab.finish();
}
