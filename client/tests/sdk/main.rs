//! The SDK and vrrpctl against an in-process fake daemon on a Unix socket.

mod calls;
mod fake;
mod is_master;
mod vrrpctl;
mod watch;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use vrrp_sidecar_client::{Backoff, Client, Error, Event, Target, WatchOptions};

use fake::{FakeDaemon, within};

/// Short heartbeats and backoff, so that timeouts and reconnections take milliseconds.
fn quick_options() -> WatchOptions {
    WatchOptions::default()
        .heartbeat_interval(Duration::from_millis(200))
        .backoff(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(50),
        ))
}

async fn connect(daemon: &FakeDaemon) -> Client {
    within(Client::connect(Target::UnixSocket(
        daemon.socket_path.clone(),
    )))
    .await
    .expect("connecting to the fake daemon")
}

/// A watch stream read by a task of its own: a stream does nothing until polled, and the tests
/// must be free to script the daemon before they read what the client made of it.
struct Events(mpsc::UnboundedReceiver<Result<Event, Error>>);

impl Events {
    fn start(client: &Client, options: WatchOptions) -> Events {
        let mut watch = client.watch(options);
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(item) = watch.next().await {
                if sender.send(item).is_err() {
                    return;
                }
            }
        });
        Events(receiver)
    }

    /// The next item, or `None` once the stream has ended.
    async fn next(&mut self) -> Option<Result<Event, Error>> {
        within(self.0.recv()).await
    }
}

/// The next event; fails the test on an error, the end of the stream or a timeout.
async fn next_event(events: &mut Events) -> Event {
    events
        .next()
        .await
        .expect("the watch stream is open")
        .expect("no error")
}
