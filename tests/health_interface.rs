//! The interface health check in a network namespace: the check flips when the link goes
//! down and up, and a missing interface fails.

mod netns;

use std::time::Duration;

use netns::{Lab, require_root, runtime, tear_down};
use tokio::sync::mpsc;
use vrrp_sidecar::health::{CheckReport, CheckSpec, ProbeSpec, Reporting, Verdict, spawn_check};

/// Upper bound for any single wait in these tests.
const WAIT: Duration = Duration::from_secs(5);

fn interface_check(name: &str) -> CheckSpec {
    CheckSpec {
        name: format!("link-{name}"),
        probe: ProbeSpec::Interface {
            name: name.to_owned(),
        },
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(1),
        rise: 1,
        fall: 1,
        weight: 0,
        init_fail: false,
    }
}

async fn next_report(reports: &mut mpsc::Receiver<CheckReport>) -> CheckReport {
    tokio::time::timeout(WAIT, reports.recv())
        .await
        .expect("a report within the wait")
        .expect("the check is still running")
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn link_down_and_up_flip_the_check() {
    require_root("link_down_and_up_flip_the_check");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    ns.clone().enter(move || {
        runtime().block_on(async {
            let (sender, mut reports) = mpsc::channel(8);
            // Set up in this thread, so the netlink socket belongs to the lab namespace.
            let _task =
                spawn_check(interface_check("eth0"), sender, Reporting::Changes).expect("spawn");
            let up = next_report(&mut reports).await;
            assert_eq!(up.verdict, Verdict::Passing, "{up:?}");

            ns.ip(&["link", "set", "eth0", "down"]);
            let down = next_report(&mut reports).await;
            assert_eq!(down.verdict, Verdict::Failing, "{down:?}");
            assert!(down.last_run.summary.contains("down"), "{down:?}");

            ns.ip(&["link", "set", "eth0", "up"]);
            let back = next_report(&mut reports).await;
            assert_eq!(back.verdict, Verdict::Passing, "{back:?}");
        })
    });
    tear_down(lab);
}

/// A link change runs the check at once, as keepalived acts on a tracked interface's netlink
/// event: with an interval far longer than the wait, only the event can flip the verdict.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_link_change_runs_the_check_at_once_whatever_the_interval() {
    require_root("a_link_change_runs_the_check_at_once_whatever_the_interval");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    ns.clone().enter(move || {
        runtime().block_on(async {
            let (sender, mut reports) = mpsc::channel(8);
            let mut spec = interface_check("eth0");
            spec.interval = Duration::from_secs(600);
            let _task = spawn_check(spec, sender, Reporting::Changes).expect("spawn");
            let up = next_report(&mut reports).await;
            assert_eq!(up.verdict, Verdict::Passing, "{up:?}");
            for (action, verdict) in [("down", Verdict::Failing), ("up", Verdict::Passing)] {
                let changed = std::time::Instant::now();
                ns.ip(&["link", "set", "eth0", action]);
                let report = next_report(&mut reports).await;
                assert_eq!(report.verdict, verdict, "{report:?}");
                println!(
                    "eth0 {action}: verdict {verdict:?} after {:?}",
                    changed.elapsed()
                );
            }
        })
    });
    tear_down(lab);
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_link_without_carrier_fails() {
    require_root("a_link_without_carrier_fails");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    // The bridge end of h1's veth going down takes eth0's carrier with it.
    lab.bridge.ip(&["link", "set", "h1", "down"]);
    ns.clone().enter(move || {
        runtime().block_on(async {
            let (sender, mut reports) = mpsc::channel(8);
            let _task =
                spawn_check(interface_check("eth0"), sender, Reporting::Changes).expect("spawn");
            let report = next_report(&mut reports).await;
            assert_eq!(report.verdict, Verdict::Failing, "{report:?}");
            assert!(
                report.last_run.summary.contains("not running"),
                "{report:?}"
            );
        })
    });
    tear_down(lab);
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_missing_interface_fails() {
    require_root("a_missing_interface_fails");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    ns.enter(move || {
        runtime().block_on(async {
            let (sender, mut reports) = mpsc::channel(8);
            let _task = spawn_check(interface_check("vst-absent"), sender, Reporting::Changes)
                .expect("spawn");
            let report = next_report(&mut reports).await;
            assert_eq!(report.verdict, Verdict::Failing, "{report:?}");
            assert!(report.last_run.summary.contains("vst-absent"), "{report:?}");
        })
    });
    tear_down(lab);
}
