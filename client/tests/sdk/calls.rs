//! The unary wrappers: typed results and typed errors.

use vrrp_sidecar_client::proto::State;
use vrrp_sidecar_client::{Client, Code, Error, ResignOptions, Target};

use crate::connect;
use crate::fake::*;

fn two_instances() -> Vec<vrrp_sidecar_client::proto::Instance> {
    vec![
        instance("vi_web", State::Master, 150),
        instance("vi_db", State::Backup, 100),
    ]
}

#[tokio::test]
async fn list_and_get_return_the_daemons_instances() {
    let daemon = FakeDaemon::start(two_instances()).await;
    let client = connect(&daemon).await;
    let names: Vec<String> = within(client.list_instances())
        .await
        .expect("listing")
        .into_iter()
        .map(|instance| instance.name)
        .collect();
    assert_eq!(names, ["vi_web", "vi_db"]);
    let db = within(client.get_instance("vi_db")).await.expect("getting");
    assert_eq!(db.state(), State::Backup);
}

#[tokio::test]
async fn a_missing_instance_is_not_found_with_the_daemons_message() {
    let daemon = FakeDaemon::start(two_instances()).await;
    let client = connect(&daemon).await;
    assert_eq!(
        within(client.get_instance("vi_nope")).await,
        Err(Error::Rpc {
            code: Code::NotFound,
            message: "no instance is named \"vi_nope\"".into()
        })
    );
}

#[tokio::test]
async fn set_priority_returns_the_instance_or_invalid_argument() {
    let daemon = FakeDaemon::start(two_instances()).await;
    let client = connect(&daemon).await;
    let web = within(client.set_priority("vi_web", 200))
        .await
        .expect("setting");
    assert_eq!(web.base_priority, 200);
    let refused = within(client.set_priority("vi_web", 255)).await;
    assert!(
        matches!(
            refused,
            Err(Error::Rpc {
                code: Code::InvalidArgument,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn resign_returns_the_instance_or_failed_precondition() {
    let daemon = FakeDaemon::start(two_instances()).await;
    let client = connect(&daemon).await;
    let resigned = within(client.resign("vi_web", ResignOptions::default()))
        .await
        .expect("resigning");
    assert_eq!(resigned.instance.state(), State::Backup);
    let refused = within(client.resign("vi_db", ResignOptions::default())).await;
    assert!(
        matches!(
            refused,
            Err(Error::Rpc {
                code: Code::FailedPrecondition,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn reload_returns_what_changed() {
    let daemon = FakeDaemon::start(two_instances()).await;
    let client = connect(&daemon).await;
    let reloaded = within(client.reload()).await.expect("reloading");
    assert_eq!(reloaded.changed_instances, ["vi_web"]);
}

#[tokio::test]
async fn the_bearer_token_travels_as_authorization_metadata() {
    let daemon = FakeDaemon::start(two_instances()).await;
    let client = within(
        Client::builder(Target::UnixSocket(daemon.socket_path.clone()))
            .bearer_token("s3cret")
            .connect(),
    )
    .await
    .expect("connecting");
    within(client.list_instances()).await.expect("listing");
    assert_eq!(daemon.authorizations(), [Some("Bearer s3cret".to_owned())]);
}

#[tokio::test]
async fn a_missing_socket_is_a_connect_error_naming_the_path() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("absent.sock");
    let outcome = within(Client::connect(Target::UnixSocket(path.clone()))).await;
    match outcome {
        Err(Error::Connect { target, reason }) => {
            assert_eq!(target, path.display().to_string());
            assert!(reason.contains("No such file"), "{reason}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}
