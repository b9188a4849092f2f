//! `watch()`: order, resumption, resets, heartbeats and contract violations.

use vrrp_sidecar_client::proto::{State, reset};
use vrrp_sidecar_client::{Code, Error, Event, ResetCause};

use crate::fake::*;
use crate::{Events, connect, next_event, quick_options};

/// Answers the daemon's next watch call with a snapshot (one backup instance, revision 4),
/// SnapshotComplete (5) and a transition to master (6) in epoch "boot-1", checks that the
/// caller sees exactly that, and returns the still open call.
async fn play_until_revision_6(daemon: &mut FakeDaemon, events: &mut Events) -> WatchCall {
    let call = daemon.next_watch().await;
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
    assert!(matches!(next_event(events).await, Event::Snapshot(i) if i.name == "vi_web"));
    assert_eq!(
        next_event(events).await,
        Event::SnapshotComplete {
            epoch: "boot-1".into(),
            revision: 5
        }
    );
    assert!(matches!(next_event(events).await, Event::Transition(t) if t.to() == State::Master));
    call
}

fn assert_resumes_after(call: &WatchCall, epoch: &str, revision: u64) {
    assert_eq!(call.request.resume_after_revision, Some(revision));
    assert_eq!(call.request.epoch, epoch);
}

#[tokio::test]
async fn snapshot_complete_and_transitions_arrive_in_order_with_the_request_as_asked() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options().instance("vi_web"));
    let call = play_until_revision_6(&mut daemon, &mut events).await;
    assert_eq!(call.request.instance_names, vec!["vi_web".to_owned()]);
    assert_eq!(call.request.resume_after_revision, None);
    let interval = call
        .request
        .heartbeat_interval
        .expect("a heartbeat interval");
    assert_eq!((interval.seconds, interval.nanos), (0, 200_000_000));
}

#[tokio::test]
async fn an_ended_stream_is_resumed_after_the_last_revision_of_its_epoch() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    let call = play_until_revision_6(&mut daemon, &mut events).await;
    drop(call);
    assert_eq!(
        next_event(&mut events).await,
        Event::Disconnected {
            error: Error::StreamEnded
        }
    );
    let resumed = daemon.next_watch().await;
    assert_resumes_after(&resumed, "boot-1", 6);
    resumed
        .send(transition(
            "boot-1",
            9,
            "vi_web",
            State::Master,
            State::Backup,
        ))
        .await;
    assert!(
        matches!(next_event(&mut events).await, Event::Transition(t) if t.to() == State::Backup)
    );
}

#[tokio::test]
async fn a_stream_failed_with_unavailable_is_resumed_too() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    let call = play_until_revision_6(&mut daemon, &mut events).await;
    call.fail(tonic::Status::unavailable("shutting down")).await;
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected {
            error: Error::Rpc {
                code: Code::Unavailable,
                ..
            }
        }
    ));
    assert_resumes_after(&daemon.next_watch().await, "boot-1", 6);
}

#[tokio::test]
async fn a_reset_and_fresh_snapshot_on_resume_reach_the_caller_and_move_the_epoch() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    drop(play_until_revision_6(&mut daemon, &mut events).await);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));

    let resumed = daemon.next_watch().await;
    assert_resumes_after(&resumed, "boot-1", 6);
    resumed
        .send(reset("boot-2", 2, reset::Cause::EpochChanged))
        .await;
    resumed
        .send(snapshot(
            "boot-2",
            1,
            instance("vi_web", State::Backup, 100),
        ))
        .await;
    resumed.send(snapshot_complete("boot-2", 2)).await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Reset {
            cause: ResetCause::EpochChanged
        }
    );
    assert!(
        matches!(next_event(&mut events).await, Event::Snapshot(i) if i.state() == State::Backup)
    );
    assert_eq!(
        next_event(&mut events).await,
        Event::SnapshotComplete {
            epoch: "boot-2".into(),
            revision: 2
        }
    );

    drop(resumed);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));
    assert_resumes_after(&daemon.next_watch().await, "boot-2", 2);
}

#[tokio::test]
async fn a_restarted_daemon_is_reconnected_to_and_its_reset_surfaced() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    drop(play_until_revision_6(&mut daemon, &mut events).await);
    daemon.stop().await;
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));
    // The SDK retries against a missing socket for a while: only one Disconnected is reported.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    daemon.restart();

    let resumed = daemon.next_watch().await;
    assert_resumes_after(&resumed, "boot-1", 6);
    resumed
        .send(reset("boot-2", 1, reset::Cause::EpochChanged))
        .await;
    resumed
        .send(snapshot(
            "boot-2",
            1,
            instance("vi_web", State::Backup, 100),
        ))
        .await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Reset {
            cause: ResetCause::EpochChanged
        }
    );
    assert!(matches!(next_event(&mut events).await, Event::Snapshot(_)));
}

#[tokio::test]
async fn three_silent_heartbeat_intervals_count_as_a_dead_connection() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    let call = play_until_revision_6(&mut daemon, &mut events).await;
    let silent_since = tokio::time::Instant::now();
    assert_eq!(
        next_event(&mut events).await,
        Event::Disconnected {
            error: Error::HeartbeatTimeout(std::time::Duration::from_millis(600))
        }
    );
    assert!(silent_since.elapsed() >= std::time::Duration::from_millis(550));
    assert_resumes_after(&daemon.next_watch().await, "boot-1", 6);
    drop(call);
}

#[tokio::test]
async fn heartbeats_keep_a_quiet_stream_alive_and_stay_hidden() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    let call = play_until_revision_6(&mut daemon, &mut events).await;
    // Twice the heartbeat timeout, with a heartbeat every interval.
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        call.send(heartbeat("boot-1", 6)).await;
    }
    call.send(transition(
        "boot-1",
        7,
        "vi_web",
        State::Master,
        State::Backup,
    ))
    .await;
    assert!(
        matches!(next_event(&mut events).await, Event::Transition(t) if t.to() == State::Backup)
    );
}

#[tokio::test]
async fn a_snapshot_without_reset_after_a_resume_is_announced_as_a_reset() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    drop(play_until_revision_6(&mut daemon, &mut events).await);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));
    let resumed = daemon.next_watch().await;
    resumed
        .send(snapshot(
            "boot-1",
            6,
            instance("vi_web", State::Master, 100),
        ))
        .await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Reset {
            cause: ResetCause::Unspecified
        }
    );
    assert!(matches!(next_event(&mut events).await, Event::Snapshot(_)));
}

#[tokio::test]
async fn a_connection_lost_during_the_snapshot_starts_a_new_one_after_a_reset() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    let call = daemon.next_watch().await;
    call.send(snapshot(
        "boot-1",
        4,
        instance("vi_web", State::Backup, 100),
    ))
    .await;
    assert!(matches!(next_event(&mut events).await, Event::Snapshot(_)));
    drop(call);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));

    let again = daemon.next_watch().await;
    assert_eq!(
        again.request.resume_after_revision, None,
        "nothing to resume from"
    );
    again
        .send(snapshot(
            "boot-1",
            4,
            instance("vi_web", State::Backup, 100),
        ))
        .await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Reset {
            cause: ResetCause::SnapshotRestarted
        }
    );
    assert!(matches!(next_event(&mut events).await, Event::Snapshot(_)));
}

#[tokio::test]
async fn a_revision_that_does_not_increase_ends_the_stream_with_invalid_response() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut events = Events::start(&client, quick_options());
    let call = play_until_revision_6(&mut daemon, &mut events).await;
    call.send(transition(
        "boot-1",
        6,
        "vi_web",
        State::Master,
        State::Backup,
    ))
    .await;
    let outcome = events.next().await.expect("an item");
    assert!(
        matches!(outcome, Err(Error::InvalidResponse(ref text)) if text.contains("revision 6 after revision 6")),
        "{outcome:?}"
    );
    assert!(events.next().await.is_none(), "the stream ends");
}

#[tokio::test]
async fn invalid_argument_ends_the_stream_but_unavailable_is_retried() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;

    daemon.refuse_next_watch(tonic::Status::unavailable("starting up"));
    let mut events = Events::start(&client, quick_options());
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected {
            error: Error::Rpc {
                code: Code::Unavailable,
                ..
            }
        }
    ));
    drop(play_until_revision_6(&mut daemon, &mut events).await);

    daemon.refuse_next_watch(tonic::Status::invalid_argument(
        "heartbeat_interval 0.2 s is outside 1 s..300 s",
    ));
    let mut refused = Events::start(&client, quick_options());
    assert_eq!(
        refused.next().await.expect("an item"),
        Err(Error::Rpc {
            code: Code::InvalidArgument,
            message: "heartbeat_interval 0.2 s is outside 1 s..300 s".into()
        })
    );
    assert!(refused.next().await.is_none(), "the stream ends");
}
