//! `is_master()`: follows snapshots and transitions, and turns `Unknown` when the daemon falls
//! silent for the heartbeat timeout.

use tokio::sync::watch;
use vrrp_sidecar_client::MasterState;
use vrrp_sidecar_client::proto::State;

use crate::fake::*;
use crate::{connect, quick_options};

/// Waits until the receiver holds `expected`.
async fn wait_for(role: &mut watch::Receiver<MasterState>, expected: MasterState) {
    within(role.wait_for(|state| *state == expected))
        .await
        .unwrap_or_else(|_| panic!("the is_master task stopped before {expected:?}"));
}

#[tokio::test]
async fn is_master_follows_the_snapshot_and_transitions() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut role = client.is_master_with("vi_web", quick_options());
    assert_eq!(*role.borrow(), MasterState::Unknown);

    let call = daemon.next_watch().await;
    assert_eq!(call.request.instance_names, vec!["vi_web".to_owned()]);
    call.send(snapshot(
        "boot-1",
        3,
        instance("vi_web", State::Master, 100),
    ))
    .await;
    call.send(snapshot_complete("boot-1", 3)).await;
    wait_for(&mut role, MasterState::Master).await;

    call.send(transition(
        "boot-1",
        4,
        "vi_web",
        State::Master,
        State::Backup,
    ))
    .await;
    wait_for(&mut role, MasterState::NotMaster(State::Backup)).await;
}

#[tokio::test]
async fn is_master_is_unknown_after_the_heartbeat_timeout_and_recovers_on_resume() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut role = client.is_master_with("vi_web", quick_options());
    let call = daemon.next_watch().await;
    call.send(snapshot(
        "boot-1",
        3,
        instance("vi_web", State::Master, 100),
    ))
    .await;
    call.send(snapshot_complete("boot-1", 3)).await;
    wait_for(&mut role, MasterState::Master).await;

    // Silence: the heartbeats stop, and the resumed connection says nothing either.
    let heard_last = tokio::time::Instant::now();
    wait_for(&mut role, MasterState::Unknown).await;
    assert!(heard_last.elapsed() >= std::time::Duration::from_millis(550));

    let resumed = daemon.next_watch().await;
    assert_eq!(resumed.request.resume_after_revision, Some(3));
    resumed.send(heartbeat("boot-1", 3)).await;
    wait_for(&mut role, MasterState::Master).await;
    drop(call);
}

#[tokio::test]
async fn is_master_reports_an_unconfigured_instance_as_not_master() {
    let mut daemon = FakeDaemon::start(vec![]).await;
    let client = connect(&daemon).await;
    let mut role = client.is_master_with("vi_missing", quick_options());
    let call = daemon.next_watch().await;
    call.send(snapshot(
        "boot-1",
        3,
        instance("vi_missing", State::Unknown, 0),
    ))
    .await;
    wait_for(&mut role, MasterState::NotMaster(State::Unknown)).await;
}
