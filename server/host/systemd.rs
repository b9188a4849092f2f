//! The service manager's notify protocol (systemd's `sd_notify`), spoken directly: one
//! datagram of `KEY=VALUE` lines to the socket named by `$NOTIFY_SOCKET`, a path or, when it
//! starts with `@`, a name in the abstract namespace. Without the variable every call does
//! nothing, so the daemon behaves the same outside systemd.
//!
//! What the daemon says and when:
//! - `READY=1` once the API serves and every instance has started (`Type=notify` waits for it);
//! - `RELOADING=1` with `MONOTONIC_USEC` when SIGHUP arrives, `READY=1` once the router applied
//!   the new configuration or it was refused (`Type=notify-reload` needs the timestamp);
//! - `STOPPING=1` as soon as the router starts stopping;
//! - `STATUS=` a line `systemctl status` shows;
//! - `WATCHDOG=1` every half `$WATCHDOG_USEC`, but only after the router answered a request
//!   in that period, so a router that hangs lets the watchdog fire and systemd restart it.
//!
//! Why not the sd-notify crate (0.5.0; it would add one crate, libc being in the tree): its
//! `notify` sends to `$NOTIFY_SOCKET` as a path, so an abstract `@name` socket fails with
//! ENOENT (tried: `NOTIFY_SOCKET=@name` and `notify(&[Ready])` returned "No such file or
//! directory" while a listener was bound to that name); it opens a blocking socket on every
//! call, which could stall the tokio worker sending a watchdog ping when the manager's queue is
//! full; it reads the environment on every call, so a test cannot aim it at its own socket
//! without `set_var`, which is unsafe in a multi-threaded test binary; and it ignores a
//! malformed `$WATCHDOG_USEC` that `NotifySettings::parse` reports. What it would replace here
//! is about 90 lines (parsing the variables, building and sending the datagram).

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{debug, warn};

use crate::router::control::{ControlError, RouterHandle};

/// Why the notify settings of the environment cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SystemdError {
    /// `$NOTIFY_SOCKET` is neither an absolute path nor an `@` abstract name.
    #[error("NOTIFY_SOCKET={0:?} is neither an absolute path nor an @abstract name")]
    NotifySocket(String),
    /// `$WATCHDOG_USEC` is not a positive number of microseconds.
    #[error("WATCHDOG_USEC={0:?} is not a positive number of microseconds")]
    WatchdogUsec(String),
}

/// What the environment asks of the daemon: where to notify and how often to ping.
#[derive(Debug, PartialEq, Eq)]
pub struct NotifySettings {
    /// The service manager's socket.
    pub socket: NotifyAddress,
    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    /// recommends, so one late ping never trips the watchdog.
    pub watchdog_interval: Option<Duration>,
}

/// Where notifications go.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyAddress {
    /// A socket file.
    Path(std::path::PathBuf),
    /// A name in the abstract namespace (without the leading `@`).
    Abstract(Vec<u8>),
}

impl NotifySettings {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (which, when set, must be
    /// `own_pid` for the watchdog to apply to this process). `None` without `NOTIFY_SOCKET`.
    pub fn parse(
        notify_socket: Option<&OsStr>,
        watchdog_usec: Option<&OsStr>,
        watchdog_pid: Option<&OsStr>,
        own_pid: u32,
    ) -> Result<Option<NotifySettings>, SystemdError> {
        let Some(notify_socket) = notify_socket.filter(|value| !value.is_empty()) else {
            return Ok(None);
        };
        let bytes = notify_socket.as_bytes();
        let socket = match bytes.first() {
            Some(b'/') => NotifyAddress::Path(notify_socket.into()),
            Some(b'@') => NotifyAddress::Abstract(bytes[1..].to_vec()),
            _ => {
                return Err(SystemdError::NotifySocket(
                    notify_socket.to_string_lossy().into_owned(),
                ));
            }
        };
        let watchdog_for_us = watchdog_pid.is_none_or(|pid| {
            pid.to_str().and_then(|pid| pid.parse::<u32>().ok()) == Some(own_pid)
        });
        let watchdog_interval = match watchdog_usec.filter(|_| watchdog_for_us) {
            None => None,
            Some(usec) => {
                let micros = usec
                    .to_str()
                    .and_then(|usec| usec.parse::<u64>().ok())
                    .filter(|micros| *micros > 0)
                    .ok_or_else(|| {
                        SystemdError::WatchdogUsec(usec.to_string_lossy().into_owned())
                    })?;
                Some(Duration::from_micros(micros / 2))
            }
        };
        Ok(Some(NotifySettings {
            socket,
            watchdog_interval,
        }))
    }
}

/// Sends notifications to the service manager; cheap to clone. Sending never blocks: the
/// socket is non-blocking, and a notification that cannot be sent is logged and dropped,
/// because the daemon's work matters more than its report of it.
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    target: Option<Arc<Target>>,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    address: SocketAddr,
    watchdog_interval: Option<Duration>,
}

impl Notifier {
    /// A notifier that says nothing: not started by a service manager.
    pub fn disabled() -> Notifier {
        Notifier::default()
    }

    /// A notifier for what the process environment asks. A malformed variable is logged and
    /// turns notification off rather than failing the daemon.
    pub fn from_env() -> Notifier {
        let settings = NotifySettings::parse(
            std::env::var_os("NOTIFY_SOCKET").as_deref(),
            std::env::var_os("WATCHDOG_USEC").as_deref(),
            std::env::var_os("WATCHDOG_PID").as_deref(),
            std::process::id(),
        );
        match settings {
            Ok(Some(settings)) => Notifier::new(&settings).unwrap_or_else(|error| {
                warn!(%error, "cannot notify the service manager");
                Notifier::disabled()
            }),
            Ok(None) => Notifier::disabled(),
            Err(error) => {
                warn!(%error, "not notifying the service manager");
                Notifier::disabled()
            }
        }
    }

    /// A notifier sending to `settings.socket`.
    pub fn new(settings: &NotifySettings) -> io::Result<Notifier> {
        let address = match &settings.socket {
            NotifyAddress::Path(path) => SocketAddr::from_pathname(path)?,
            NotifyAddress::Abstract(name) => SocketAddr::from_abstract_name(name)?,
        };
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            target: Some(Arc::new(Target {
                socket,
                address,
                watchdog_interval: settings.watchdog_interval,
            })),
        })
    }

    /// How often the watchdog wants a ping, if it is on.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.target.as_ref()?.watchdog_interval
    }

    /// The daemon is ready: its API serves and its instances run.
    pub fn ready(&self, status: &str) {
        self.send(&[("READY", "1"), ("STATUS", status)]);
    }

    /// A reload began; `READY=1` ([`Notifier::ready`]) ends it.
    pub fn reloading(&self, status: &str) {
        let now = monotonic_usec().to_string();
        self.send(&[
            ("RELOADING", "1"),
            ("MONOTONIC_USEC", &now),
            ("STATUS", status),
        ]);
    }

    /// The daemon is stopping.
    pub fn stopping(&self, status: &str) {
        self.send(&[("STOPPING", "1"), ("STATUS", status)]);
    }

    /// The router is alive.
    pub fn watchdog(&self) {
        self.send(&[("WATCHDOG", "1")]);
    }

    fn send(&self, fields: &[(&str, &str)]) {
        let Some(target) = &self.target else {
            return;
        };
        let message = notify_message(fields);
        if let Err(error) = target
            .socket
            .send_to_addr(message.as_bytes(), &target.address)
        {
            warn!(%error, message = message.trim_end(), "cannot notify the service manager");
        }
    }
}

/// The datagram for `fields`: one `KEY=VALUE` line each. A value is a single line, so line
/// breaks in a status become spaces.
fn notify_message(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(key, value)| format!("{key}={}\n", value.replace(['\n', '\r'], " ")))
        .collect()
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC` with.
fn monotonic_usec() -> u64 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        // CLOCK_MONOTONIC exists on every Linux; clock_gettime fails only for unknown clocks.
        .expect("CLOCK_MONOTONIC is always available");
    let seconds = u64::try_from(now.tv_sec()).unwrap_or(0);
    let nanoseconds = u64::try_from(now.tv_nsec()).unwrap_or(0);
    seconds * 1_000_000 + nanoseconds / 1_000
}

/// Sends `STOPPING=1` once `stopping` turns true (the router began its shutdown, whatever
/// asked for it).
pub fn notify_stopping(notifier: Notifier, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if stopping.wait_for(|stopping| *stopping).await.is_ok() {
            notifier.stopping("stopping: masters hand over, then the addresses are removed");
        }
    })
}

/// Pings the watchdog every `notifier.watchdog_interval()` while the router answers: each
/// period asks it for the instances' statuses, an answer it gives from inside its own loop,
/// and pings only once that came back within the period. `None` when the watchdog is off.
pub fn spawn_watchdog(notifier: Notifier, router: RouterHandle) -> Option<JoinHandle<()>> {
    let interval = notifier.watchdog_interval()?;
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match tokio::time::timeout(interval, router.statuses()).await {
                Ok(Ok(_)) => notifier.watchdog(),
                // The router is gone: the daemon is exiting.
                Ok(Err(ControlError::Stopping)) => return,
                Ok(Err(error)) => debug!(%error, "watchdog: unexpected router answer"),
                Err(_) => warn!(
                    ?interval,
                    "the router did not answer within the watchdog period; no ping sent"
                ),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use tokio::sync::mpsc;

    use super::*;
    use crate::router::RouterCommand;

    fn parse(
        socket: Option<&str>,
        usec: Option<&str>,
        pid: Option<&str>,
    ) -> Result<Option<NotifySettings>, SystemdError> {
        let os = |value: Option<&str>| value.map(OsString::from);
        NotifySettings::parse(
            os(socket).as_deref(),
            os(usec).as_deref(),
            os(pid).as_deref(),
            4242,
        )
    }

    #[test]
    fn no_notify_socket_means_no_notifications() {
        assert_eq!(parse(None, Some("1000000"), None), Ok(None));
        assert_eq!(parse(Some(""), None, None), Ok(None));
    }

    #[test]
    fn path_and_abstract_sockets_are_told_apart() {
        let path = parse(Some("/run/systemd/notify"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            path.socket,
            NotifyAddress::Path("/run/systemd/notify".into())
        );
        let name = parse(Some("@/org/freedesktop/systemd1/notify/1"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            name.socket,
            NotifyAddress::Abstract(b"/org/freedesktop/systemd1/notify/1".to_vec())
        );
        assert_eq!(
            parse(Some("relative/notify"), None, None),
            Err(SystemdError::NotifySocket("relative/notify".into()))
        );
    }

    #[test]
    fn the_watchdog_is_pinged_at_half_its_timeout() {
        let settings = parse(Some("/n"), Some("30000000"), None).unwrap().unwrap();
        assert_eq!(settings.watchdog_interval, Some(Duration::from_secs(15)));
        let none = parse(Some("/n"), None, None).unwrap().unwrap();
        assert_eq!(none.watchdog_interval, None);
        assert_eq!(
            parse(Some("/n"), Some("0"), None),
            Err(SystemdError::WatchdogUsec("0".into()))
        );
        assert_eq!(
            parse(Some("/n"), Some("soon"), None),
            Err(SystemdError::WatchdogUsec("soon".into()))
        );
    }

    #[test]
    fn a_watchdog_meant_for_another_process_is_ignored() {
        let ours = parse(Some("/n"), Some("2000000"), Some("4242"))
            .unwrap()
            .unwrap();
        assert_eq!(ours.watchdog_interval, Some(Duration::from_secs(1)));
        let theirs = parse(Some("/n"), Some("2000000"), Some("1"))
            .unwrap()
            .unwrap();
        assert_eq!(theirs.watchdog_interval, None);
    }

    #[test]
    fn a_status_stays_on_one_line() {
        assert_eq!(
            notify_message(&[("READY", "1"), ("STATUS", "two\nlines")]),
            "READY=1\nSTATUS=two lines\n"
        );
    }

    /// A listener in the abstract namespace (unique per test process) and a notifier for it.
    fn abstract_listener(name: &str, watchdog_usec: Option<&str>) -> (UnixDatagram, Notifier) {
        let name = format!("vrrp-sidecar-test-{}-{name}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        listener
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let settings = parse(Some(&format!("@{name}")), watchdog_usec, None)
            .unwrap()
            .unwrap();
        (listener, Notifier::new(&settings).unwrap())
    }

    fn receive(listener: &UnixDatagram) -> String {
        let mut buffer = [0u8; 1024];
        let length = listener.recv(&mut buffer).unwrap();
        String::from_utf8(buffer[..length].to_vec()).unwrap()
    }

    #[test]
    fn notifications_reach_an_abstract_socket() {
        let (listener, notifier) = abstract_listener("messages", None);
        notifier.ready("running");
        assert_eq!(receive(&listener), "READY=1\nSTATUS=running\n");
        notifier.reloading("reloading");
        let reloading = receive(&listener);
        let lines: Vec<&str> = reloading.lines().collect();
        assert_eq!(lines[0], "RELOADING=1");
        let usec: u64 = lines[1]
            .strip_prefix("MONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(usec > 0 && usec <= monotonic_usec());
        assert_eq!(lines[2], "STATUS=reloading");
        notifier.stopping("bye");
        assert_eq!(receive(&listener), "STOPPING=1\nSTATUS=bye\n");
    }

    #[test]
    fn a_disabled_notifier_sends_nothing_and_has_no_watchdog() {
        let notifier = Notifier::disabled();
        notifier.ready("running");
        assert_eq!(notifier.watchdog_interval(), None);
    }

    #[tokio::test]
    async fn the_watchdog_pings_only_while_the_router_answers() {
        // 100 ms timeout: a ping every 50 ms.
        let (listener, notifier) = abstract_listener("watchdog", Some("100000"));
        listener
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let (commands, mut router) = mpsc::channel(8);
        let watchdog = spawn_watchdog(notifier, RouterHandle::new(commands)).unwrap();

        // An answering router: pings arrive.
        let answered = tokio::spawn(async move {
            for _ in 0..3 {
                match router.recv().await {
                    Some(RouterCommand::Statuses { reply }) => {
                        let _ = reply.send(Vec::new());
                    }
                    other => panic!("unexpected command {other:?}"),
                }
            }
            // Then a hung router: it holds the queue but answers nothing.
            router
        });
        let listener = tokio::task::spawn_blocking(move || {
            for _ in 0..3 {
                assert_eq!(receive(&listener), "WATCHDOG=1\n");
            }
            listener
        })
        .await
        .unwrap();
        let hung_router = answered.await.unwrap();
        let silence = tokio::task::spawn_blocking(move || {
            let mut buffer = [0u8; 64];
            listener
                .recv(&mut buffer)
                .map(|length| buffer[..length].to_vec())
        })
        .await
        .unwrap();
        assert!(
            silence.is_err(),
            "a ping arrived while the router was hung: {silence:?}"
        );
        watchdog.abort();
        drop(hung_router);
    }
}
