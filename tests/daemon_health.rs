//! Health checks moving mastership between real daemons in a namespace lab: a check on the
//! master fails (the test removes the file an exec check tests for), the master's priority
//! drops or it enters Fault, and the backup takes the VIP; WatchState names the check.

mod api_lab;
mod daemon_lab;
mod netns;

use std::os::unix::fs::PermissionsExt;
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
/// while `flag` exists. The check runs as `nobody`, as a daemon started as root requires
/// (or `exec_checks_as_root`), so the flag's directory is opened to others for search.
fn checked_master(flag: &Path, weight: i16) -> InstanceSpec {
    let directory = flag.parent().expect("the flag is in the scratch directory");
    std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o711))
        .expect("the scratch directory is ours");
    InstanceSpec::v3(150).with(&format!(
        "health_checks.flag = {{ kind = \"exec\", command = [\"test\", \"-e\", \"{}\"], \
         user = \"nobody\", interval = \"100ms\", timeout = \"1s\", fall = {CHECK_FALL}, \
         rise = 2, weight = {weight} }}",
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
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_failing_check_moves_the_vip_to_the_backup_and_back() {
    require_root("a_failing_check_moves_the_vip_to_the_backup_and_back");
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
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_failing_weight_zero_check_puts_the_master_in_fault() {
    require_root("a_failing_weight_zero_check_puts_the_master_in_fault");
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
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_reload_keeps_an_unchanged_check_and_its_counts() {
    require_root("a_reload_keeps_an_unchanged_check_and_its_counts");
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
    // A changed check starts again; the instance itself stays as it is.
    std::thread::sleep(Duration::from_millis(500));
    let before = passes();
    lab.write_config(
        "h1",
        &daemon_lab::config_text(&[checked_master(&flag, -30)]),
    );
    lab.signal(&master, Signal::SIGHUP);
    assert!(
        netns::wait_until(Duration::from_secs(3), daemon_lab::POLL, || {
            master.logged("configuration reloaded").len() >= 2
        }),
        "no second reload\n{}",
        master.log_text()
    );
    // The restarted check's first run starts at once; give it time to finish.
    std::thread::sleep(Duration::from_millis(150));
    let restarted = passes();
    assert!(
        restarted < before,
        "passes went from {before} to {restarted}: the changed check kept running"
    );
    assert!(
        lab.holds("h1", VIP),
        "the instance lost the VIP on a check change"
    );
    lab.finish();
}

/// A pushed check's application in Python: registers `app` for `vi` with a 300 ms lease and
/// weight -60, then reports passing every 50 ms until it is killed.
const PYTHON_APPLICATION: &str = r#"
import sys, time, grpc
from google.protobuf import duration_pb2
sys.path.insert(0, sys.argv[2])
from vrrp.v1 import sidecar_pb2 as pb, sidecar_pb2_grpc as rpc

channel = grpc.insecure_channel("unix://" + sys.argv[1])
stub = rpc.SidecarStub(channel)
spec = pb.HealthCheckSpec(name="app", instance_names=["vi"], weight=-60,
                          pushed=pb.PushedCheck(lease_ttl=duration_pb2.Duration(nanos=300_000_000)))
stub.RegisterHealthCheck(pb.RegisterHealthCheckRequest(spec=spec))
print("registered", flush=True)

def reports():
    while True:
        yield pb.HealthReport(check_name="app", passing=True, message="ready")
        time.sleep(0.05)

for ack in stub.ReportHealth(reports()):
    print("acked", ack.check.passing, flush=True)
"#;

/// The lease TTL the Python application registers with.
const LEASE_TTL: Duration = Duration::from_millis(300);

fn python_stubs(python: &Path, directory: &Path) {
    std::fs::create_dir_all(directory).expect("stub directory");
    let proto_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let generated = std::process::Command::new(python)
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!("-I{}", proto_root.display()))
        .arg(format!("--python_out={}", directory.display()))
        .arg(format!("--grpc_python_out={}", directory.display()))
        .arg(proto_root.join("vrrp/v1/sidecar.proto"))
        .output()
        .expect("grpc_tools.protoc runs");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
}

#[test]
#[ignore = "lab: needs root, grpcio; scripts/test runs it"]
fn a_killed_application_loses_mastership_for_its_host() {
    // The stream closes with the process: the check fails at once.
    application_stops(
        "a_killed_application_loses_mastership_for_its_host",
        Signal::SIGKILL,
        // The closed stream counts first; by the time the backup took over, the lease that
        // kept running after it may have run out too.
        &["report stream closed", "no report within the lease TTL"],
    );
}

#[test]
#[ignore = "lab: needs root, grpcio; scripts/test runs it"]
fn a_hung_application_loses_mastership_when_its_lease_runs_out() {
    // The stream stays open but silent: the lease runs out.
    application_stops(
        "a_hung_application_loses_mastership_when_its_lease_runs_out",
        Signal::SIGSTOP,
        &["no report within the lease TTL"],
    );
}

/// The Python application registers its pushed check on the master, reports, and gets
/// `stop`; the backup must hold the VIP within the lease TTL + Master_Down_Interval + 50 ms,
/// and the check's last output must start with one of `why`.
fn application_stops(test: &str, stop: Signal, why: &[&str]) {
    require_root(test);
    let python = api_lab::require_python_grpc(test);
    let lab = lab();
    let hosts = ["h1", "h2"];
    let stubs = lab.scratch("stubs");
    python_stubs(&python, &stubs);
    let (master, backup) = lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let mut application = std::process::Command::new(&python)
        .args(["-c", PYTHON_APPLICATION])
        .arg(lab.api_socket("h1"))
        .arg(&stubs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    let stdout = application.stdout.take().expect("piped");
    let (lines_sender, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_sender.send(line).is_err() {
                return;
            }
        }
    });
    // A few acknowledged reports: the lease is alive and the check passes.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut acked = 0;
    while acked < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with("acked") => acked += 1,
            Ok(_) => {}
            Err(_) => {
                let _ = application.kill();
                let output = application.wait_with_output().expect("python reaped");
                panic!(
                    "the application never reported\n{}\n{}",
                    String::from_utf8_lossy(&output.stderr),
                    master.log_text()
                );
            }
        }
    }
    assert!(lab.holds("h1", VIP), "h1 lost the VIP before the kill");
    let rt = runtime();
    let mut client = rt.block_on(connect(&lab.api_socket("h1")));
    let instance = rt
        .block_on(client.get_instance(proto::GetInstanceRequest { name: "vi".into() }))
        .expect("GetInstance")
        .into_inner();
    let check = check_named(&instance, "app");
    assert!(check.passing, "{check:#?}");
    assert!(check.owner.starts_with("uid 0"), "{check:#?}");
    assert_eq!(check.last_output, "reported passing: ready");

    let killed_at = Instant::now();
    // Our own child, by its id.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(application.id()).expect("PIDs fit in i32"));
    nix::sys::signal::kill(pid, stop).expect("the application is ours to signal");
    let bound = LEASE_TTL + master_down_interval_100ms(100) + ISSUE_SLACK;
    let moved = lab.wait_sole_holder(&hosts, "h2", VIP, bound + MARGIN);
    let took = killed_at.elapsed();
    // Asked before the application ends: a stopped one still holds its stream open.
    let instance = rt
        .block_on(client.get_instance(proto::GetInstanceRequest { name: "vi".into() }))
        .expect("GetInstance")
        .into_inner();
    // std's kill sends SIGKILL, which also ends a stopped process.
    let _ = application.kill();
    application.wait().expect("python reaped");
    reader.join().expect("reader thread");
    assert!(
        moved.is_some(),
        "h2 did not take the VIP within {:?}\n{}\n{}",
        bound + MARGIN,
        master.log_text(),
        backup.log_text()
    );
    println!(
        "{stop} of the application → VIP on the backup: {took:?} (lease TTL + \
         Master_Down_Interval + 50 ms = {bound:?})"
    );
    let check = check_named(&instance, "app");
    assert!(!check.passing, "{check:#?}");
    assert!(
        why.iter().any(|why| check.last_output.starts_with(why)),
        "{check:#?}"
    );
    assert_eq!(instance.effective_priority, 90);
    drop(client);
    drop(rt);
    lab.finish();
}

fn pushed_spec(name: &str, instance: &str) -> proto::HealthCheckSpec {
    proto::HealthCheckSpec {
        name: name.into(),
        instance_names: vec![instance.into()],
        weight: -10,
        kind: Some(proto::health_check_spec::Kind::Pushed(proto::PushedCheck {
            lease_ttl: Some(prost_types::Duration {
                seconds: 5,
                nanos: 0,
            }),
            on_lease_expiry: 0,
        })),
        ..proto::HealthCheckSpec::default()
    }
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn registered_checks_are_validated_listed_kept_across_a_reload_and_removed() {
    require_root("registered_checks_are_validated_listed_kept_across_a_reload_and_removed");
    use tonic::Code;
    let lab = lab();
    let master = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        master.log_text()
    );
    let rt = runtime();
    rt.block_on(async {
        let mut grpc = connect(&lab.api_socket("h1")).await;
        let register =
            |spec: proto::HealthCheckSpec| proto::RegisterHealthCheckRequest { spec: Some(spec) };
        let refused = |result: Result<tonic::Response<proto::HealthCheck>, tonic::Status>| {
            result.expect_err("refused")
        };
        let status = refused(
            grpc.register_health_check(register(pushed_spec("bad name!", "vi")))
                .await,
        );
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("spec.name"), "{status:?}");
        let mut heavy = pushed_spec("heavy", "vi");
        heavy.weight = 300;
        let status = refused(grpc.register_health_check(register(heavy)).await);
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("-254..254"), "{status:?}");
        let mut no_ttl = pushed_spec("no-ttl", "vi");
        no_ttl.kind = Some(proto::health_check_spec::Kind::Pushed(
            proto::PushedCheck::default(),
        ));
        let status = refused(grpc.register_health_check(register(no_ttl)).await);
        assert!(status.message().contains("lease_ttl"), "{status:?}");
        let mut root_exec = pushed_spec("root-exec", "vi");
        root_exec.kind = Some(proto::health_check_spec::Kind::Exec(proto::ExecCheck {
            path: "true".into(),
            ..proto::ExecCheck::default()
        }));
        let status = refused(grpc.register_health_check(register(root_exec)).await);
        assert!(status.message().contains("spec.exec.user"), "{status:?}");
        let status = refused(
            grpc.register_health_check(register(pushed_spec("x", "nope")))
                .await,
        );
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        let exec_as = |user: &str| {
            let mut spec = pushed_spec("as-user", "vi");
            spec.kind = Some(proto::health_check_spec::Kind::Exec(proto::ExecCheck {
                path: "true".into(),
                user: user.into(),
                ..proto::ExecCheck::default()
            }));
            register(spec)
        };
        let status = refused(
            grpc.register_health_check(exec_as("no-such-user-here"))
                .await,
        );
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("no such user"), "{status:?}");
        let registered = grpc
            .register_health_check(exec_as("nobody"))
            .await
            .expect("an exec check run as nobody")
            .into_inner();
        assert_eq!(registered.owner.split(' ').next(), Some("uid"));
        grpc.unregister_health_check(proto::UnregisterHealthCheckRequest {
            name: "as-user".into(),
        })
        .await
        .expect("unregistered");

        let registered = grpc
            .register_health_check(register(pushed_spec("app", "vi")))
            .await
            .expect("registered")
            .into_inner();
        assert_eq!(registered.spec.as_ref().map(|spec| spec.weight), Some(-10));
        // The same check again is the existing one (an application that restarted); the
        // name with another spec is refused.
        let again = grpc
            .register_health_check(register(pushed_spec("app", "vi")))
            .await
            .expect("the same check again")
            .into_inner();
        assert_eq!(again.spec, registered.spec);
        let mut heavier = pushed_spec("app", "vi");
        heavier.weight = -20;
        let status = refused(grpc.register_health_check(register(heavier)).await);
        assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
        // A report naming an unknown check ends the stream with NOT_FOUND.
        let reports = tokio_stream::iter([proto::HealthReport {
            check_name: "nope".into(),
            passing: true,
            message: String::new(),
        }]);
        let mut acks = grpc
            .report_health(reports)
            .await
            .expect("stream")
            .into_inner();
        let status = acks.message().await.expect_err("refused");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        // One passing report on a stream that stays open.
        let (report_sender, report_receiver) = tokio::sync::mpsc::channel(4);
        report_sender
            .send(proto::HealthReport {
                check_name: "app".into(),
                passing: true,
                message: "warm".into(),
            })
            .await
            .expect("queued");
        let mut acks = grpc
            .report_health(tokio_stream::wrappers::ReceiverStream::new(report_receiver))
            .await
            .expect("stream")
            .into_inner();
        let ack = acks.message().await.expect("ack").expect("an ack");
        assert!(ack.check.expect("the check").passing);
        assert!(ack.lease_expires.is_some());

        lab.signal(&master, Signal::SIGHUP);
        assert!(
            netns::wait_until(Duration::from_secs(3), daemon_lab::POLL, || {
                !master.logged("configuration reloaded").is_empty()
            }),
            "no reload"
        );
        let instance = grpc
            .get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .expect("GetInstance")
            .into_inner();
        let check = check_named(&instance, "app");
        assert!(
            check.passing,
            "the reload lost the check's verdict: {check:#?}"
        );
        assert_eq!(check.last_output, "reported passing: warm");

        grpc.unregister_health_check(proto::UnregisterHealthCheckRequest { name: "app".into() })
            .await
            .expect("unregistered");
        let status = grpc
            .unregister_health_check(proto::UnregisterHealthCheckRequest { name: "app".into() })
            .await
            .expect_err("gone");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        // The open stream learns its check is gone when it next reports.
        report_sender
            .send(proto::HealthReport {
                check_name: "app".into(),
                passing: true,
                message: String::new(),
            })
            .await
            .expect("queued");
        let status = acks.message().await.expect_err("removed");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    });
    drop(rt);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn registered_checks_survive_a_restart_when_a_file_keeps_them() {
    require_root("registered_checks_survive_a_restart_when_a_file_keeps_them");
    let lab = lab();
    let store = lab.scratch("registered-checks");
    let text = format!(
        "[api]\nregistered_checks_file = \"{}\"\n\n{}",
        store.display(),
        daemon_lab::config_text(&[InstanceSpec::v3(150)])
    );
    let socket = lab.api_socket("h1");
    let first = lab.start_with_config("h1", &text, &socket);
    let rt = runtime();
    let owner = rt.block_on(async {
        let mut grpc = connect(&socket).await;
        grpc.register_health_check(proto::RegisterHealthCheckRequest {
            spec: Some(pushed_spec("app", "vi")),
        })
        .await
        .expect("registered")
        .into_inner()
        .owner
    });
    assert!(
        netns::wait_until(Duration::from_secs(3), daemon_lab::POLL, || {
            !first.logged("registered checks saved").is_empty()
        }),
        "the check was not saved\n{}",
        first.log_text()
    );
    lab.signal(&first, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&first, Duration::from_secs(5)).is_some(),
        "the daemon did not stop"
    );
    let second = lab.start_with_config("h1", &text, &socket);
    let instance = rt.block_on(async {
        let mut grpc = connect(&socket).await;
        grpc.get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .expect("GetInstance")
            .into_inner()
    });
    let check = check_named(&instance, "app");
    assert_eq!(check.owner, owner, "{check:#?}");
    assert_eq!(
        check.spec.as_ref().map(|spec| spec.weight),
        Some(-10),
        "{check:#?}\n{}",
        second.log_text()
    );
    drop(rt);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_sdk_health_reporter_moves_priority_and_keeps_its_lease() {
    require_root("the_sdk_health_reporter_moves_priority_and_keeps_its_lease");
    use vrrp_sidecar_client::{Client, Health, HealthReporter, HealthReporterOptions, Target};
    let lab = lab();
    let master = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        master.log_text()
    );
    let socket = lab.api_socket("h1");
    let rt = runtime();
    rt.block_on(async {
        connect(&socket).await;
        let client = Client::connect(Target::UnixSocket(socket.clone()))
            .await
            .expect("connected");
        let priority = || async {
            client
                .get_instance("vi")
                .await
                .expect("GetInstance")
                .effective_priority
        };
        let wait_for = |want: u32| async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let now = priority().await;
                if now == want {
                    return;
                }
                assert!(Instant::now() < deadline, "priority {now}, want {want}");
                tokio::time::sleep(daemon_lab::POLL).await;
            }
        };
        // A lease 3 times the report interval, kept alive for far longer than the lease.
        let options = HealthReporterOptions::new("sdk", "vi", -60)
            .lease(Duration::from_millis(300), Duration::from_millis(100));
        let reporter = HealthReporter::register(&client, options, Health::failing("starting"))
            .await
            .expect("registered");
        wait_for(90).await;
        reporter.set(Health::passing("serving"));
        wait_for(150).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(priority().await, 150, "the lease ran out while reported");
        let instance = client.get_instance("vi").await.expect("GetInstance");
        assert_eq!(
            check_named(&instance, "sdk").last_output,
            "reported passing: serving"
        );
        reporter.unregister().await.expect("unregistered");
        let instance = client.get_instance("vi").await.expect("GetInstance");
        assert!(instance.health_checks.is_empty(), "{instance:#?}");
    });
    drop(rt);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_root_daemon_refuses_an_exec_check_without_a_user_unless_told_to_allow_it() {
    require_root("a_root_daemon_refuses_an_exec_check_without_a_user_unless_told_to_allow_it");
    let lab = lab();
    let as_root = InstanceSpec::v3(150).with(
        "health_checks.probe = { kind = \"exec\", command = [\"true\"], interval = \"1s\", \
         weight = -10 }",
    );
    let text = daemon_lab::config_text(std::slice::from_ref(&as_root));
    let refused = lab.start_with_config("h1", &text, &lab.api_socket("h1"));
    let status = lab
        .wait_exit(&refused, ELECTION)
        .expect("the daemon exits at once");
    assert_eq!(status.code(), Some(78), "{}", refused.log_text());
    assert!(
        refused
            .log_text()
            .contains("health check `probe`: an exec check would run as root"),
        "{}",
        refused.log_text()
    );

    let allowed = text.replace("[global]\n", "[global]\nexec_checks_as_root = true\n");
    let daemon = lab.start_with_config("h1", &allowed, &lab.api_socket("h1-allowed"));
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "the daemon allowed to run root checks did not start\n{}",
        daemon.log_text()
    );
    lab.finish();
}
