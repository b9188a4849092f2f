//! The API's own thread: a current-thread tokio runtime that runs every API connection and
//! stream, beside the daemon's runtime that runs the router.
//!
//! hyper gives each HTTP/2 stream a task, and each `WatchState` change wakes every watching
//! stream's task. On a multi-thread runtime a task that wakes another hands it the worker at
//! once (tokio's "LIFO slot"), so the connection's task ran after every single stream's
//! message and wrote it alone: one write per message. On a current-thread runtime the woken
//! stream tasks all run first, and the connection's task then writes every frame they
//! queued in one go, as a hand-written HTTP/2 server would. Measured with
//! `benches/watch/h2_floor.rs --per-stream-tasks`: the median fan-out to 1,000 streams took
//! about 2.3 ms on a two-worker runtime and 1.2 ms on a current-thread one (0.9 ms with one
//! task writing every stream). It also keeps a burst of API work off the thread the router
//! and its VRRP timers run on.

use std::io;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The running API thread; [`ApiRuntime::stop`] ends it and every task on it.
#[derive(Debug)]
pub struct ApiRuntime {
    handle: Handle,
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl ApiRuntime {
    /// Starts the thread.
    pub fn start() -> io::Result<ApiRuntime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("vrrp-sidecar-api".into())
            .spawn(move || {
                // Runs the spawned tasks until told to stop (or the ApiRuntime is dropped);
                // dropping the runtime then drops what is left of them.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(ApiRuntime {
            handle,
            stop,
            thread,
        })
    }

    /// Where the API's tasks are spawned.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Ends the thread, dropping the tasks still on it, and waits until it is gone.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let thread = self.thread;
        // Joining blocks, and the thread only has its runtime to drop.
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
