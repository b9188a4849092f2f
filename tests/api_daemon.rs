//! The gRPC API of the real daemon in a namespace lab, driven by the Rust SDK's generated
//! client: failover on a watch, resume and reset, the socket's life cycle, status codes for
//! bad input, and a stalled watcher that must hold up nobody.

mod api_lab;
mod daemon_lab;
mod netns;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tonic::Code;
use vrrp_sidecar_client::proto::watch_state_response::Kind;
use vrrp_sidecar_client::proto::{self, reset::Cause};
use vrrp_sidecar_client::{Backoff, Client, Event, MasterState, ResetCause, Target, WatchOptions};

use api_lab::{
    connect, is_snapshot_complete, next, read_until, runtime, transition, watch, watch_request,
};
use daemon_lab::{
    DaemonLab, ELECTION, ETH_P_IP, InstanceSpec, MARGIN, VIP, capture, mac_of,
    master_down_interval_100ms,
};
use netns::{Lab, require_root};

/// How long h1's adverts are captured: the priority storm must end within it.
const STORM_CAPTURE: Duration = Duration::from_secs(15);
/// The longest gap between h1's 100 ms adverts the storm may cause: the Master_Down_Interval
/// of a priority-100 backup (3 × 100 ms + Skew_Time 60.9 ms), beyond which the backup would
/// take over. A router held up by the stalled watcher would miss adverts until the watcher's
/// Reset, seconds later; a shorter bound only measured how much CPU the rest of a loaded
/// machine left the daemon (a full suite running beside it stretched a gap to 167 ms).
const ADVERT_GAP_BOUND: Duration = Duration::from_millis(360);

fn lab(hosts: &[&str]) -> DaemonLab {
    let mut builder = Lab::builder();
    for host in hosts {
        builder = builder.host(host);
    }
    DaemonLab::new(builder.build())
}

/// The status of a call that must fail.
fn refused<T>(result: Result<tonic::Response<T>, tonic::Status>) -> tonic::Status {
    match result {
        Ok(_) => panic!("the call succeeded"),
        Err(status) => status,
    }
}

fn set_priority(name: &str, priority: u32) -> proto::SetPriorityRequest {
    proto::SetPriorityRequest {
        instance_name: name.to_owned(),
        priority,
    }
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_watch_on_the_backup_sees_the_failover_and_the_sdk_follows_it() {
    require_root("a_watch_on_the_backup_sees_the_failover_and_the_sdk_follows_it");
    let lab = lab(&["h1", "h2"]);
    let (master, _backup) =
        lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let rt = runtime();
    let socket = lab.api_socket("h2");
    let (mut stream, role) = rt.block_on(async {
        let client = connect(&socket).await;
        let mut stream = watch(&client, watch_request("vi")).await;
        let snapshot = read_until(&mut stream, MARGIN, is_snapshot_complete).await;
        let Some(Kind::Snapshot(item)) = &snapshot[0].kind else {
            panic!("no snapshot item first: {snapshot:?}");
        };
        let instance = item.instance.as_ref().expect("an instance");
        assert_eq!(instance.state(), proto::State::Backup);
        assert_eq!(instance.master.as_ref().unwrap().address, "192.0.2.1");
        assert_eq!(instance.master.as_ref().unwrap().priority, 150);
        let sdk = Client::connect(Target::UnixSocket(socket.clone()))
            .await
            .expect("SDK connects");
        let mut role = sdk.is_master("vi");
        tokio::time::timeout(
            MARGIN * 4,
            role.wait_for(|state| *state != MasterState::Unknown),
        )
        .await
        .expect("the SDK learns the role")
        .expect("the SDK task runs");
        assert_eq!(*role.borrow(), MasterState::NotMaster(proto::State::Backup));
        (stream, role)
    });
    let killed_at = Instant::now();
    lab.signal(&master, Signal::SIGKILL);
    let bound = master_down_interval_100ms(100) + MARGIN;
    rt.block_on(async {
        let read = read_until(&mut stream, bound, |message| transition(message).is_some()).await;
        let change = transition(read.last().unwrap()).unwrap();
        println!(
            "transition seen on the watch {:?} after the kill",
            killed_at.elapsed()
        );
        assert_eq!(change.from(), proto::State::Backup);
        assert_eq!(change.to(), proto::State::Master);
        assert_eq!(change.reason(), proto::TransitionReason::MasterDownTimer);
        assert_eq!(change.master.as_ref().unwrap().address, "192.0.2.2");
        let mut role = role;
        tokio::time::timeout(MARGIN, role.wait_for(MasterState::is_master))
            .await
            .expect("the SDK reports master")
            .expect("the SDK task runs");
        println!("SDK is_master after {:?}", killed_at.elapsed());
    });
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn resume_replays_exactly_the_missed_events_and_a_bad_resume_resets() {
    require_root("resume_replays_exactly_the_missed_events_and_a_bad_resume_resets");
    let lab = lab(&["h1"]);
    lab.start("h1", &[InstanceSpec::v3(150)]);
    // Alone, it becomes master after Master_Down_Interval; no transition may come later.
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let rt = runtime();
    rt.block_on(async {
        let client = connect(&lab.api_socket("h1")).await;
        let mut stream = watch(&client, watch_request("vi")).await;
        let first = read_until(&mut stream, ELECTION, is_snapshot_complete).await;
        let complete = first.last().unwrap();
        let (epoch, resume_at) = (complete.epoch.clone(), complete.revision);
        drop(stream);
        for priority in [101, 102, 103] {
            client.clone().set_priority(set_priority("vi", priority)).await.expect("set");
        }
        let mut request = watch_request("vi");
        request.resume_after_revision = Some(resume_at);
        request.epoch = epoch.clone();
        let mut resumed = watch(&client, request.clone()).await;
        let replay = read_until(&mut resumed, MARGIN, is_snapshot_complete).await;
        let priorities: Vec<(u64, u32)> = replay
            .iter()
            .filter_map(|message| match &message.kind {
                Some(Kind::PriorityChange(change)) => Some((message.revision, change.base_priority)),
                _ => None,
            })
            .collect();
        assert_eq!(priorities.iter().map(|(_, p)| *p).collect::<Vec<_>>(), [101, 102, 103], "{replay:#?}");
        assert!(priorities.windows(2).all(|pair| pair[0].0 < pair[1].0), "{replay:#?}");
        assert!(priorities[0].0 > resume_at);
        assert_eq!(replay.last().unwrap().revision, priorities[2].0);
        assert!(
            replay.iter().all(|message| !matches!(message.kind, Some(Kind::Snapshot(_)) | Some(Kind::Reset(_)))),
            "a resume sends no snapshot: {replay:#?}"
        );
        // Live events continue right after the replay, without a duplicate.
        client.clone().set_priority(set_priority("vi", 104)).await.expect("set");
        let live = next(&mut resumed, MARGIN).await;
        assert_eq!(live.revision, priorities[2].0 + 1, "{live:?}");

        request.resume_after_revision = Some(resume_at + 1_000_000);
        let mut refused = watch(&client, request.clone()).await;
        let reset = read_until(&mut refused, MARGIN, is_snapshot_complete).await;
        assert!(matches!(&reset[0].kind, Some(Kind::Reset(r)) if r.cause() == Cause::RevisionNotInHistory), "{reset:#?}");
        assert!(matches!(&reset[1].kind, Some(Kind::Snapshot(_))), "{reset:#?}");

        request.resume_after_revision = Some(resume_at);
        request.epoch = String::new();
        let mut other_epoch = watch(&client, request).await;
        let reset = read_until(&mut other_epoch, MARGIN, is_snapshot_complete).await;
        assert!(matches!(&reset[0].kind, Some(Kind::Reset(r)) if r.cause() == Cause::EpochChanged), "{reset:#?}");

        // A quiet stream gets heartbeats at the interval asked for (1 s).
        let heartbeat = next(&mut resumed, Duration::from_millis(1500)).await;
        assert!(matches!(heartbeat.kind, Some(Kind::Heartbeat(_))), "{heartbeat:?}");
        assert_eq!(heartbeat.revision, live.revision);
    });
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_socket_is_private_a_stale_one_is_replaced_and_a_live_one_is_kept() {
    require_root("the_socket_is_private_a_stale_one_is_replaced_and_a_live_one_is_kept");
    let lab = lab(&["h1", "h2"]);
    let socket = lab.api_socket("h1");
    let first = lab.start("h1", &[InstanceSpec::v3(150)]);
    let rt = runtime();
    rt.block_on(connect(&socket));
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);

    let intruder = lab.start_on_socket("h2", &[InstanceSpec::v3(100)], &socket);
    let status = lab
        .wait_exit(&intruder, ELECTION)
        .expect("the second daemon exits");
    assert!(!status.success());
    let log = intruder.log_text();
    assert!(
        log.contains(&socket.display().to_string()) && log.contains("another process"),
        "{log}"
    );
    rt.block_on(connect(&socket));

    lab.signal(&first, Signal::SIGKILL);
    lab.wait_exit(&first, ELECTION).expect("killed");
    assert!(socket.exists(), "a killed daemon leaves its socket file");
    let second = lab.start("h1", &[InstanceSpec::v3(150)]);
    rt.block_on(connect(&socket));
    assert!(
        second.log_text().contains("stale API socket"),
        "{}",
        second.log_text()
    );

    lab.signal(&second, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&second, ELECTION)
            .is_some_and(|status| status.success())
    );
    assert!(!socket.exists(), "a clean exit removes the socket");
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn bad_input_gets_the_documented_status_codes() {
    require_root("bad_input_gets_the_documented_status_codes");
    let lab = lab(&["h1"]);
    let owner = InstanceSpec {
        name: "owner",
        vrid: 52,
        ..InstanceSpec::v3(255)
    }
    .holding("192.0.2.200/24");
    let daemon = lab.start("h1", &[InstanceSpec::v3(150), owner]);
    // Alone, `vi` becomes master after Master_Down_Interval (the owner at once).
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let rt = runtime();
    rt.block_on(async {
        let client = connect(&lab.api_socket("h1")).await;
        let mut grpc = client.clone();

        let status = refused(
            grpc.get_instance(proto::GetInstanceRequest {
                name: "nope".into(),
            })
            .await,
        );
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert!(status.message().contains("ListInstances"), "{status:?}");
        for priority in [0, 255, 300] {
            let status = refused(grpc.set_priority(set_priority("vi", priority)).await);
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(status.message().contains("1..254"), "{status:?}");
        }
        let status = refused(grpc.set_priority(set_priority("nope", 100)).await);
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        let status = refused(grpc.set_priority(set_priority("owner", 100)).await);
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let resign = |name: &str| proto::ResignRequest {
            instance_name: name.into(),
            ..proto::ResignRequest::default()
        };
        let status = refused(grpc.resign(resign("owner")).await);
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let status = refused(grpc.resign(resign("nope")).await);
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        // A request far larger than any real one is refused before it is decoded.
        let status = refused(
            grpc.set_priority(set_priority(&"x".repeat(100 * 1024), 100))
                .await,
        );
        assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
        assert!(status.message().contains("too large"), "{status:?}");
        for seconds in [-1, 24 * 60 * 60 + 1] {
            let request = proto::ResignRequest {
                hold_down: Some(prost_types::Duration { seconds, nanos: 0 }),
                ..resign("vi")
            };
            let status = refused(grpc.resign(request).await);
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(status.message().contains("hold_down"), "{status:?}");
        }
        let mut request = watch_request("vi");
        request.heartbeat_interval = Some(prost_types::Duration {
            seconds: 0,
            nanos: 500_000_000,
        });
        let status = grpc.watch_state(request).await.map(|_| ()).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let status = refused(
            grpc.register_health_check(proto::RegisterHealthCheckRequest::default())
                .await,
        );
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("spec is missing"), "{status:?}");

        // An unknown name in a watch filter is reported, not refused.
        let mut unknown = watch(&client, watch_request("not-configured")).await;
        let first = next(&mut unknown, MARGIN).await;
        let Some(Kind::Snapshot(item)) = &first.kind else {
            panic!("{first:?}")
        };
        assert_eq!(
            item.instance.as_ref().unwrap().state(),
            proto::State::Unknown
        );

        // A master resigns; the instance's counters are live.
        let vi = grpc
            .get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(vi.state(), proto::State::Master);
        let counters = vi.counters.as_ref().unwrap();
        assert!(
            counters.adverts_sent >= 1 && counters.became_master == 1,
            "{vi:?}"
        );
        let mut request = resign("vi");
        request.wait_for_successor = true;
        let status = refused(grpc.resign(request).await);
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        let vi = grpc
            .get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(vi.state(), proto::State::Backup);
        let status = refused(grpc.resign(resign("vi")).await);
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    });

    // Reload: a broken file changes nothing and lists its problems; a good one reports names.
    lab.write_config("h1", "[instances.vi]\nvrid = 0\n");
    rt.block_on(async {
        let mut grpc = connect(&lab.api_socket("h1")).await;
        let status = grpc.reload(proto::ReloadRequest {}).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("instances.vi.vrid"), "{status:?}");
    });
    lab.write_config("h1", &daemon_lab::config_text(&[InstanceSpec::v3(120)]));
    rt.block_on(async {
        let mut grpc = connect(&lab.api_socket("h1")).await;
        let reloaded = grpc
            .reload(proto::ReloadRequest {})
            .await
            .expect("reload")
            .into_inner();
        assert_eq!(reloaded.removed_instances, ["owner"]);
        assert_eq!(reloaded.changed_instances, ["vi"]);
        assert!(reloaded.added_instances.is_empty());
    });
    drop(daemon);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_stalled_watcher_holds_up_neither_adverts_nor_other_watchers() {
    require_root("a_stalled_watcher_holds_up_neither_adverts_nor_other_watchers");
    let lab = lab(&["h1", "h2"]);
    let (_master, _backup) =
        lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let socket = lab.api_socket("h1");
    let rt = runtime();
    let h1_mac = mac_of(&lab, "h1");
    // VRRP (IP protocol 112) frames sent by h1, seen from h2.
    let adverts = capture(
        lab.ns("h2"),
        ETH_P_IP,
        move |frame| frame.len() > 23 && frame[23] == 112 && frame[6..12] == h1_mac,
        STORM_CAPTURE,
        STORM_CAPTURE,
    );
    let storm = rt.block_on(async {
        // Separate connections: HTTP/2 flow control is also per connection.
        let mut stalled_client = api_lab::connect_with_small_windows(&socket).await;
        let mut stalled = stalled_client
            .watch_state(watch_request("vi"))
            .await
            .expect("WatchState")
            .into_inner();
        let client = connect(&socket).await;
        let mut live = watch(&client, watch_request("vi")).await;
        read_until(&mut live, MARGIN, is_snapshot_complete).await;
        // Never read `stalled` while h1 changes priority a few thousand times.
        let storm_started = Instant::now();
        let mut latencies = Vec::new();
        for round in 0..3000u32 {
            client.clone().set_priority(set_priority("vi", 151 - round % 2)).await.expect("set");
            let message = next(&mut live, MARGIN).await;
            let sent: SystemTime = message.timestamp.unwrap().try_into().unwrap();
            latencies.push(SystemTime::now().duration_since(sent).unwrap_or_default());
        }
        let storm_ended = Instant::now();
        println!("3000 priority changes in {:?}", storm_ended - storm_started);
        // Flap: h1 drops below h2 (h2 preempts), then comes back (h1 preempts).
        for (priority, to) in [(50, proto::State::Backup), (150, proto::State::Master)] {
            client.clone().set_priority(set_priority("vi", priority)).await.expect("set");
            let read = read_until(&mut live, ELECTION, |message| {
                transition(message).is_some_and(|change| change.to() == to)
            })
            .await;
            let sent: SystemTime = read.last().unwrap().timestamp.unwrap().try_into().unwrap();
            latencies.push(SystemTime::now().duration_since(sent).unwrap_or_default());
        }
        latencies.sort();
        let median = latencies[latencies.len() / 2];
        let p99 = latencies[latencies.len() * 99 / 100];
        println!("event latency with one stalled watcher: median {median:?}, p99 {p99:?}");
        assert!(p99 < Duration::from_millis(50), "p99 {p99:?}");
        // The stalled watcher learns it lagged: a Reset, then a fresh snapshot.
        let read = read_until(&mut stalled, Duration::from_secs(10), |message| {
            matches!(&message.kind, Some(Kind::Reset(reset)) if reset.cause() == Cause::SubscriberLagged)
        })
        .await;
        println!("the stalled watcher read {} messages before its Reset", read.len());
        let after = read_until(&mut stalled, MARGIN, is_snapshot_complete).await;
        assert!(matches!(&after[0].kind, Some(Kind::Snapshot(_))), "{after:#?}");
        (storm_started, storm_ended)
    });
    let (storm_started, storm_ended) = storm;
    let frames = adverts.join().expect("capture thread");
    let during: Vec<Instant> = frames
        .iter()
        .map(|frame| frame.at)
        .filter(|at| (storm_started..storm_ended).contains(at))
        .collect();
    let longest = during
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default();
    println!(
        "{} adverts from h1 during the storm, longest gap {longest:?}",
        during.len()
    );
    assert!(
        during.len() > 10,
        "too few adverts captured during the storm"
    );
    // A SetPriority only adds adverts, so a long gap is a delayed advert.
    assert!(longest < ADVERT_GAP_BOUND, "longest advert gap {longest:?}");
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn over_tcp_only_a_client_with_a_mutating_token_may_mutate() {
    require_root("over_tcp_only_a_client_with_a_mutating_token_may_mutate");
    let lab = lab(&["h1"]);
    let tokens = lab.scratch("tokens");
    std::fs::write(&tokens, "# name token\nops s3cret\nviewer l00k read-only\n")
        .expect("tokens file");
    let api = format!(
        "[api]\ntcp_address = \"127.0.0.1:50051\"\nallow_plaintext = true\ntokens_file = \"{}\"\n\n",
        tokens.display()
    );
    let config = format!("{api}{}", daemon_lab::config_text(&[InstanceSpec::v3(150)]));
    let daemon = lab.start_with_config("h1", &config, &lab.api_socket("h1"));
    runtime().block_on(connect(&lab.api_socket("h1")));
    // 127.0.0.1 is the namespace's own loopback: the client runs inside it.
    let codes = lab.ns("h1").enter(|| {
        netns::runtime().block_on(async {
            let client = |token: Option<&'static str>| async move {
                let mut builder = Client::builder(Target::Url("http://127.0.0.1:50051".into()));
                if let Some(token) = token {
                    builder = builder.bearer_token(token);
                }
                builder.connect().await.expect("TCP connect").grpc()
            };
            let mut codes = Vec::new();
            for token in [None, Some("wrong"), Some("l00k"), Some("s3cret")] {
                let mut grpc = client(token).await;
                let listed = grpc.list_instances(proto::ListInstancesRequest {}).await;
                let set = grpc.set_priority(set_priority("vi", 120)).await;
                codes.push((
                    token,
                    listed.is_ok(),
                    set.map(|_| ()).err().map(|status| status.code()),
                ));
            }
            codes
        })
    });
    assert_eq!(
        codes,
        [
            (None, true, Some(Code::Unauthenticated)),
            (Some("wrong"), true, Some(Code::Unauthenticated)),
            (Some("l00k"), true, Some(Code::PermissionDenied)),
            (Some("s3cret"), true, None),
        ]
    );
    drop(daemon);

    // Plaintext on an address other hosts can reach is refused at start.
    let exposed = config.replace("127.0.0.1:50051", "192.0.2.1:50051");
    let refused = lab.start_with_config("h1", &exposed, &lab.api_socket("h1-exposed"));
    assert!(
        lab.wait_exit(&refused, ELECTION)
            .is_some_and(|status| !status.success())
    );
    assert!(
        refused.log_text().contains("not a loopback address"),
        "{}",
        refused.log_text()
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn delivery_latency_with_many_watchers() {
    require_root("delivery_latency_with_many_watchers");
    let lab = lab(&["h1"]);
    lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let socket = lab.api_socket("h1");
    let rt = runtime();
    rt.block_on(async {
        let control = connect(&socket).await;
        for watchers in [1usize, 100, 1000] {
            // Up to 100 streams per connection: hyper's default stream limit is 200.
            let mut clients = Vec::new();
            for _ in 0..watchers.div_ceil(100) {
                clients.push(connect(&socket).await);
            }
            let mut streams = Vec::new();
            for n in 0..watchers {
                let mut stream = watch(&clients[n / 100], watch_request("vi")).await;
                read_until(&mut stream, Duration::from_secs(30), is_snapshot_complete).await;
                streams.push(stream);
            }
            const CHANGES: usize = 20;
            let readers: Vec<_> = streams
                .into_iter()
                .map(|mut stream| {
                    tokio::spawn(async move {
                        let mut latencies = Vec::new();
                        while latencies.len() < CHANGES {
                            let message = next(&mut stream, Duration::from_secs(30)).await;
                            if let Some(Kind::PriorityChange(_)) = message.kind {
                                let sent: SystemTime =
                                    message.timestamp.unwrap().try_into().unwrap();
                                latencies.push(
                                    SystemTime::now().duration_since(sent).unwrap_or_default(),
                                );
                            }
                        }
                        latencies
                    })
                })
                .collect();
            for change in 0..CHANGES {
                let priority = 151 - (change % 2) as u32;
                control
                    .clone()
                    .set_priority(set_priority("vi", priority))
                    .await
                    .expect("set");
                // Spaced out so each change is measured on its own, not behind the last.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut latencies = Vec::new();
            for reader in readers {
                latencies.extend(reader.await.expect("reader task"));
            }
            latencies.sort();
            let median = latencies[latencies.len() / 2];
            let p99 = latencies[latencies.len() * 99 / 100];
            println!(
                "{watchers} watchers: transition-to-delivery median {median:?}, p99 {p99:?} \
                 ({} deliveries)",
                latencies.len()
            );
            assert!(
                p99 < Duration::from_secs(2),
                "p99 {p99:?} with {watchers} watchers"
            );
            // Back to 150 for the next round, whatever the last change was.
            control
                .clone()
                .set_priority(set_priority("vi", 150))
                .await
                .expect("set");
        }
    });
    lab.finish();
}

/// A throwaway CA and a server (127.0.0.1) and client certificate it signed, made with the
/// openssl command in `directory`.
fn make_certificates(openssl: &std::path::Path, directory: &std::path::Path) {
    let run = |arguments: &[&str]| {
        let output = std::process::Command::new(openssl)
            .current_dir(directory)
            .args(arguments)
            .output()
            .expect("openssl runs");
        assert!(output.status.success(), "openssl {arguments:?}: {output:?}");
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"],
        &key[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=vrrp-sidecar test CA",
        ],
    ]
    .concat());
    for (name, extensions) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(directory.join(format!("{name}.ext")), extensions).expect("extensions file");
        let subject = format!("/CN={name}");
        let (key_file, request, certificate, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        run(&[
            &["req"],
            &key[..],
            &["-keyout", &key_file, "-out", &request, "-subj", &subject],
        ]
        .concat());
        run(&[
            "x509",
            "-req",
            "-in",
            &request,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &certificate,
            "-days",
            "1",
            "-extfile",
            &extfile,
        ]);
    }
}

#[test]
#[ignore = "lab: needs root, openssl; scripts/test runs it"]
fn over_tls_a_client_certificate_may_mutate_and_a_bare_client_may_only_read() {
    let test = "over_tls_a_client_certificate_may_mutate_and_a_bare_client_may_only_read";
    require_root(test);
    let openssl = api_lab::require_tool(test, "openssl", std::path::Path::new("/usr/bin/openssl"));
    let lab = lab(&["h1"]);
    let directory = lab.scratch("pki");
    std::fs::create_dir_all(&directory).expect("PKI directory");
    make_certificates(&openssl, &directory);
    let file = |name: &str| directory.join(name).display().to_string();
    let api = format!(
        "[api]\ntcp_address = \"127.0.0.1:50052\"\n\n[api.tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n\n",
        file("server.pem"),
        file("server.key"),
        file("ca.pem")
    );
    let config = format!("{api}{}", daemon_lab::config_text(&[InstanceSpec::v3(150)]));
    let daemon = lab.start_with_config("h1", &config, &lab.api_socket("h1"));
    runtime().block_on(connect(&lab.api_socket("h1")));
    let (ca, certificate, key) = (file("ca.pem"), file("client.pem"), file("client.key"));
    let outcomes = lab.ns("h1").enter(move || {
        netns::runtime().block_on(async move {
            let mut outcomes = Vec::new();
            for with_certificate in [false, true] {
                let mut builder =
                    Client::builder(Target::Url("https://127.0.0.1:50052".into())).ca_file(&ca);
                if with_certificate {
                    builder = builder.client_identity(&certificate, &key);
                }
                let mut grpc = builder.connect().await.expect("TLS connect").grpc();
                let listed = grpc.list_instances(proto::ListInstancesRequest {}).await;
                let set = grpc.set_priority(set_priority("vi", 120)).await;
                outcomes.push((
                    with_certificate,
                    listed.is_ok(),
                    set.map(|_| ()).err().map(|status| status.code()),
                ));
            }
            outcomes
        })
    });
    assert_eq!(
        outcomes,
        [
            (false, true, Some(Code::Unauthenticated)),
            (true, true, None)
        ]
    );
    drop(daemon);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn grpc_health_reports_the_daemon_not_mastership_and_turns_not_serving_when_stopping() {
    let test = "grpc_health_reports_the_daemon_not_mastership_and_turns_not_serving_when_stopping";
    require_root(test);
    use tonic_health::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let lab = lab(&["h1", "h2"]);
    let (master, _backup) =
        lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let rt = runtime();
    let (mut on_master, at_backup) = rt.block_on(async {
        connect(&lab.api_socket("h1")).await;
        let mut master_health =
            HealthClient::new(api_lab::unix_channel(&lab.api_socket("h1")).await);
        let mut backup_health =
            HealthClient::new(api_lab::unix_channel(&lab.api_socket("h2")).await);
        let at_backup = backup_health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("Check")
            .into_inner()
            .status;
        let mut stream = master_health
            .watch(HealthCheckRequest {
                service: "vrrp.v1.Sidecar".into(),
            })
            .await
            .expect("Watch")
            .into_inner();
        let first = stream
            .message()
            .await
            .expect("a status")
            .expect("a message");
        assert_eq!(first.status, ServingStatus::Serving as i32);
        (stream, at_backup)
    });
    // A healthy backup is as SERVING as the master.
    assert_eq!(at_backup, ServingStatus::Serving as i32);
    lab.signal(&master, Signal::SIGTERM);
    rt.block_on(async {
        let next = tokio::time::timeout(ELECTION, on_master.message())
            .await
            .expect("a status while stopping")
            .expect("the stream is open")
            .expect("a message");
        assert_eq!(next.status, ServingStatus::NotServing as i32);
    });
    lab.finish();
}

/// The `icmp_seq` of every echo reply in an iputils `ping -n` log, in order.
fn replied_sequences(log: &str) -> Vec<u32> {
    log.lines()
        .filter(|line| line.contains(" bytes from ") && !line.contains("DUP!"))
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix("icmp_seq="))
                .and_then(|sequence| sequence.parse().ok())
        })
        .collect()
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn resign_hands_over_without_losing_a_probe_and_preempts_again_after_its_hold_down() {
    require_root("resign_hands_over_without_losing_a_probe_and_preempts_again_after_its_hold_down");
    let lab = lab(&["h1", "h2", "c"]);
    let hosts = ["h1", "h2"];
    lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let ping_log = lab.scratch("ping.log");
    let ping = lab.lab.spawn_logged(
        lab.ns("c"),
        &["ping", "-n", "-i", "0.01", VIP],
        &[],
        &ping_log,
    );
    // The client has resolved the VIP and replies flow before the handover.
    std::thread::sleep(Duration::from_millis(500));

    const HOLD_DOWN: Duration = Duration::from_secs(2);
    let socket = lab.api_socket("h1");
    let resigned_at = runtime().block_on(async {
        let grpc = connect(&socket).await;
        let resigned_at = Instant::now();
        let response = grpc
            .clone()
            .resign(proto::ResignRequest {
                instance_name: "vi".into(),
                hold_down: Some(prost_types::Duration {
                    seconds: HOLD_DOWN.as_secs() as i64,
                    nanos: 0,
                }),
                wait_for_successor: true,
            })
            .await
            .expect("the master resigns")
            .into_inner();
        assert_eq!(
            response.successor.expect("a successor").address,
            "192.0.2.2"
        );
        resigned_at
    });
    assert!(
        lab.wait_sole_holder(&hosts, "h2", VIP, MARGIN).is_some(),
        "h2 is not the only holder after the handover: {:?}",
        lab.holders(&hosts, VIP)
    );
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(ping as i32), Signal::SIGINT)
        .expect("signalling ping");
    let log = netns::wait_until(Duration::from_secs(2), daemon_lab::POLL, || {
        std::fs::read_to_string(&ping_log).is_ok_and(|log| log.contains("packets transmitted"))
    })
    .then(|| std::fs::read_to_string(&ping_log).expect("the ping log"))
    .expect("ping printed its summary");
    let replies = replied_sequences(&log);
    let (first, last) = (replies[0], replies[replies.len() - 1]);
    let lost: Vec<u32> = (first..=last)
        .filter(|sequence| !replies.contains(sequence))
        .collect();
    println!(
        "resign under a 10 ms probe: {} replies, sequences {first}..={last}, lost {lost:?}",
        replies.len()
    );
    assert!(replies.len() > 50, "too few replies to judge:\n{log}");
    assert_eq!(
        lost,
        Vec::<u32>::new(),
        "probes lost across the handover:\n{log}"
    );

    // h1 leaves h2 alone through the hold-down, then preempts it (priority 150 over 100).
    let until_hold_down_ends = HOLD_DOWN.saturating_sub(resigned_at.elapsed());
    assert!(
        lab.wait_holding(
            "h1",
            VIP,
            true,
            until_hold_down_ends.saturating_sub(MARGIN / 5)
        )
        .is_none(),
        "h1 took the VIP back during its hold-down"
    );
    let bound = HOLD_DOWN + master_down_interval_100ms(150) + MARGIN;
    assert!(
        lab.wait_sole_holder(
            &hosts,
            "h1",
            VIP,
            bound.saturating_sub(resigned_at.elapsed())
        )
        .is_some(),
        "h1 did not preempt again within {bound:?} of resigning: holders {:?}",
        lab.holders(&hosts, VIP)
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_sdk_watch_survives_a_daemon_restart_with_a_reset_and_misses_no_transition() {
    require_root("the_sdk_watch_survives_a_daemon_restart_with_a_reset_and_misses_no_transition");
    let lab = lab(&["h1"]);
    let daemon = lab.start("h1", &[InstanceSpec::v3(150)]);
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    let socket = lab.api_socket("h1");
    let rt = runtime();
    let (mut events, first_epoch) = rt.block_on(async {
        let sdk = Client::connect(Target::UnixSocket(socket.clone()))
            .await
            .expect("SDK connects");
        let options = WatchOptions::default().instance("vi").backoff(Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(200),
        ));
        let mut events = sdk.watch(options);
        let mut epoch = None;
        while epoch.is_none() {
            match next_event(&mut events).await {
                Event::Snapshot(instance) => assert_eq!(instance.state(), proto::State::Master),
                Event::SnapshotComplete { epoch: seen, .. } => epoch = Some(seen),
                other => panic!("before the snapshot ended: {other:?}"),
            }
        }
        (events, epoch.expect("set by the loop"))
    });

    // A lone master stops after Master_Down_Interval with no successor (make-before-break
    // has nobody to hand to); then a new daemon takes the same socket.
    lab.signal(&daemon, Signal::SIGTERM);
    assert!(
        lab.wait_exit(&daemon, ELECTION).is_some(),
        "the daemon did not stop"
    );
    let restarted = lab.start("h1", &[InstanceSpec::v3(150)]);

    // Everything the SDK reports from the stop on, until the new daemon's instance is master.
    let seen = rt.block_on(async {
        let mut seen = Vec::new();
        let deadline = Instant::now() + ELECTION * 2;
        while Instant::now() < deadline {
            let event = next_event(&mut events).await;
            let master_again = match &event {
                Event::Transition(change) => change.to() == proto::State::Master,
                Event::Snapshot(instance) => instance.state() == proto::State::Master,
                _ => false,
            };
            seen.push(event);
            if master_again {
                break;
            }
        }
        seen
    });
    let summary: Vec<String> = seen.iter().map(describe).collect();
    println!("SDK events across the restart: {summary:?}");
    let position = |wanted: &dyn Fn(&Event) -> bool| seen.iter().position(wanted);
    let left_master = position(&|event| {
        matches!(event, Event::Transition(change) if change.from() == proto::State::Master)
    })
    .unwrap_or_else(|| panic!("the stop's transition was missed: {summary:?}"));
    let disconnected = position(&|event| matches!(event, Event::Disconnected { .. }))
        .unwrap_or_else(|| panic!("no Disconnected: {summary:?}"));
    let reset = position(&|event| {
        matches!(
            event,
            Event::Reset {
                cause: ResetCause::EpochChanged
            }
        )
    })
    .unwrap_or_else(|| panic!("no Reset for the new epoch: {summary:?}"));
    let new_epoch = seen.iter().find_map(|event| match event {
        Event::SnapshotComplete { epoch, .. } => Some(epoch.clone()),
        _ => None,
    });
    assert!(
        left_master < disconnected && disconnected < reset,
        "{summary:?}"
    );
    assert!(
        new_epoch.is_some_and(|epoch| epoch != first_epoch),
        "no snapshot of the new daemon: {summary:?}"
    );
    assert!(
        seen.last()
            .is_some_and(|event| matches!(event, Event::Transition(_) | Event::Snapshot(_))),
        "the new daemon's instance never became master: {summary:?}"
    );
    drop(restarted);
    lab.finish();
}

/// The SDK's next event, within a few seconds.
async fn next_event(events: &mut vrrp_sidecar_client::Watch) -> Event {
    use futures_util::StreamExt;
    match tokio::time::timeout(ELECTION, events.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(error))) => panic!("the SDK's watch failed for good: {error}"),
        Ok(None) => panic!("the SDK's watch ended"),
        Err(_) => panic!("no SDK event within {ELECTION:?}"),
    }
}

/// One line for an SDK event, for the test's output.
fn describe(event: &Event) -> String {
    match event {
        Event::Snapshot(instance) => format!("Snapshot({:?})", instance.state()),
        Event::SnapshotComplete { revision, .. } => format!("SnapshotComplete(r{revision})"),
        Event::Transition(change) => format!("Transition({:?}->{:?})", change.from(), change.to()),
        Event::Reset { cause } => format!("Reset({cause:?})"),
        Event::Disconnected { .. } => "Disconnected".into(),
        other => format!("{other:?}"),
    }
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_set_priority_outlives_a_restart_only_with_a_priorities_file() {
    require_root("a_set_priority_outlives_a_restart_only_with_a_priorities_file");
    let lab = lab(&["h1"]);
    let file = lab.scratch("priorities");
    let plain = daemon_lab::config_text(&[InstanceSpec::v3(150)]);
    let keeping = format!("{plain}\n[api]\npriorities_file = \"{}\"\n", file.display());
    let socket = lab.api_socket("h1");
    let rt = runtime();
    let base_priority = |socket: &std::path::Path| {
        rt.block_on(async {
            let grpc = connect(socket).await;
            grpc.clone()
                .get_instance(proto::GetInstanceRequest { name: "vi".into() })
                .await
                .expect("the instance")
                .into_inner()
                .base_priority
        })
    };
    let set = |socket: &std::path::Path, priority: u32| {
        rt.block_on(async {
            connect(socket)
                .await
                .set_priority(set_priority("vi", priority))
                .await
                .expect("SetPriority")
        });
    };
    let restart = |daemon: daemon_lab::Daemon, text: &str| {
        lab.signal(&daemon, Signal::SIGTERM);
        assert!(
            lab.wait_exit(&daemon, ELECTION).is_some(),
            "the daemon did not stop"
        );
        lab.start_with_config("h1", text, &socket)
    };
    let file_says = |wanted: &str| {
        netns::wait_until(Duration::from_secs(2), daemon_lab::POLL, || {
            std::fs::read_to_string(&file).is_ok_and(|text| text.contains(wanted))
        })
    };

    let daemon = lab.start_with_config("h1", &keeping, &socket);
    assert!(lab.wait_holding("h1", VIP, true, ELECTION).is_some());
    set(&socket, 120);
    assert!(
        file_says("\nvi 120\n"),
        "{:?}",
        std::fs::read_to_string(&file)
    );
    let daemon = restart(daemon, &keeping);
    assert_eq!(base_priority(&socket), 120, "{}", daemon.log_text());

    // A reload that changes the configured priority keeps the one set over the API, and
    // never shows the configured one on the way: no priority change at all is published.
    let changed = format!(
        "{}\n[api]\npriorities_file = \"{}\"\n",
        daemon_lab::config_text(&[InstanceSpec::v3(140)]),
        file.display()
    );
    lab.write_config("h1", &changed);
    let published = rt.block_on(async {
        let grpc = connect(&socket).await;
        let mut stream = watch(&grpc, watch_request("vi")).await;
        read_until(&mut stream, MARGIN, is_snapshot_complete).await;
        grpc.clone()
            .reload(proto::ReloadRequest {})
            .await
            .expect("Reload");
        // Everything the reload published comes before the next heartbeat (1 s of quiet).
        read_until(&mut stream, Duration::from_secs(3), |message| {
            matches!(message.kind, Some(Kind::Heartbeat(_)))
        })
        .await
    });
    assert!(
        !published
            .iter()
            .any(|message| matches!(message.kind, Some(Kind::PriorityChange(_)))),
        "{published:#?}"
    );
    assert_eq!(base_priority(&socket), 120, "{}", daemon.log_text());

    // Back to the configured priority: the file forgets the instance.
    set(&socket, 140);
    assert!(
        netns::wait_until(Duration::from_secs(2), daemon_lab::POLL, || {
            std::fs::read_to_string(&file).is_ok_and(|text| !text.contains("\nvi "))
        }),
        "the override stayed: {:?}",
        std::fs::read_to_string(&file)
    );

    // Without the file a restart goes back to the configuration.
    let daemon = restart(daemon, &plain);
    set(&socket, 120);
    let daemon = restart(daemon, &plain);
    assert_eq!(base_priority(&socket), 150, "{}", daemon.log_text());
    lab.finish();
}
