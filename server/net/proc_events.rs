//! The kernel's process events connector (`NETLINK_CONNECTOR`, `CN_IDX_PROC`): one message per
//! fork, exec, name change and exit of any process on the host, which is how keepalived's
//! `vrrp_track_process` follows processes without polling (keepalived/core/track_process.c).
//!
//! The connector exists only in the initial network namespace: a socket made in another one
//! gets `ECONNREFUSED` when it subscribes (keepalived issue #1469, the "containers" problem).
//! keepalived opens its socket before it enters its `net_namespace`; this daemon, started in
//! its namespace with `ip netns exec`, makes the socket from a short-lived thread that enters
//! the host's namespace first (PID 1's, else its parent's), when it may (CAP_SYS_ADMIN), since
//! a socket stays in the namespace it was made in. Where that is not possible it tries its own
//! namespace, and says why that failed.
//!
//! The layouts parsed here are those of `linux/netlink.h`, `linux/connector.h` and
//! `linux/cn_proc.h`; no crate of the tree has them (neli has them, but would bring a second
//! netlink stack beside rtnetlink's netlink-sys, which opens the socket here).

use std::io;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_CONNECTOR};
use thiserror::Error;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The connector's index and value of process events (`CN_IDX_PROC`, `CN_VAL_PROC`); the
/// index is also the multicast group they are sent to.
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN` and `PROC_CN_MCAST_IGNORE`: the subscription's operations.
const PROC_CN_MCAST_LISTEN: u32 = 1;
/// `NLMSG_DONE`, the type a subscription is sent with; `NLMSG_NOOP` and `NLMSG_ERROR`.
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `struct nlmsghdr`, `struct cn_msg` and the header of `struct proc_event` (`what`, `cpu`,
/// `timestamp_ns`) before its union.
const NLMSG_HEADER: usize = 16;
const CN_MSG_HEADER: usize = 20;
const PROC_EVENT_HEADER: usize = 16;
/// `TASK_COMM_LEN`: the name in a `PROC_EVENT_COMM`, NUL-padded.
const COMM_LEN: usize = 16;
/// `enum proc_event.what` values used here.
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// A receive buffer of one page, as keepalived's; the kernel sends one event per message.
const RECEIVE_BUFFER: usize = 4096;

/// One process event, with the IDs the kernel gives (PIDs of the initial PID namespace).
/// `pid` is the thread, `tgid` the process; a process's main thread has both equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// A thread or process was created.
    Fork {
        /// The process that forked.
        parent_tgid: u32,
        /// The new thread.
        child_pid: u32,
        /// The process the new thread belongs to.
        child_tgid: u32,
    },
    /// A process executed a new program.
    Exec {
        /// The thread.
        pid: u32,
        /// Its process.
        tgid: u32,
    },
    /// A thread changed its name (`prctl(PR_SET_NAME)`, a write to `/proc/PID/comm`).
    Comm {
        /// The thread.
        pid: u32,
        /// Its process.
        tgid: u32,
        /// The new name.
        comm: String,
    },
    /// A thread ended.
    Exit {
        /// The thread.
        pid: u32,
        /// Its process.
        tgid: u32,
    },
}

/// What one receive gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The events of one datagram (none when it held only other kinds).
    Events(Vec<ProcEvent>),
    /// The socket's buffer overflowed (`ENOBUFS`): events were lost, and what is known of
    /// the processes must be read again from `/proc`.
    Overrun,
}

/// Why the connector cannot be used.
#[derive(Debug, Error)]
pub enum ConnectorError {
    /// The socket could not be made or bound.
    #[error("cannot open a NETLINK_CONNECTOR socket: {0}")]
    Open(#[source] io::Error),
    /// The kernel refused the subscription. `ECONNREFUSED` means the connector is not in
    /// this network namespace (a container, or a namespace without CAP_SYS_ADMIN to leave).
    #[error("the kernel refused the process events subscription: {0}")]
    Subscribe(#[source] io::Error),
}

impl ConnectorError {
    /// Why, in the words an operator can act on.
    pub fn advice(&self) -> &'static str {
        let errno = match self {
            ConnectorError::Open(error) | ConnectorError::Subscribe(error) => error.raw_os_error(),
        };
        match errno {
            Some(libc::ECONNREFUSED) => {
                "the process events connector exists only in the host's initial network \
                 namespace, and the daemon runs in another one without the privilege \
                 (CAP_SYS_ADMIN) to open its socket there; a container needs the host's \
                 network and PID namespaces"
            }
            Some(libc::EPROTONOSUPPORT) => {
                "the kernel has no process events connector (CONFIG_PROC_EVENTS)"
            }
            Some(libc::EPERM) | Some(libc::EACCES) => {
                "subscribing to process events needs CAP_NET_ADMIN"
            }
            _ => "the process events connector is not usable here",
        }
    }
}

/// A subscribed process events socket.
#[derive(Debug)]
pub struct ProcEventSocket {
    socket: AsyncFd<Socket>,
    buffer: Vec<u8>,
}

impl ProcEventSocket {
    /// Opens and subscribes a socket in the initial network namespace if this thread may
    /// enter it, else in the current one. Must be called within a tokio runtime.
    /// The socket [`open_early`] made, if it was called, is used instead.
    pub fn open() -> Result<Self, ConnectorError> {
        let opened_early = OPENED_EARLY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let socket = match opened_early {
            Some(opened) => opened?,
            None => open_socket()?,
        };
        // SAFETY: netlink-sys's `Socket` owns its descriptor and closes it only when dropped,
        // which happens only with the `AsyncFd` that now owns it; its `as_raw_fd` always
        // returns that one descriptor.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|error| ConnectorError::Open(error.into_parts().1))?;
        Ok(ProcEventSocket {
            socket,
            buffer: Vec::with_capacity(RECEIVE_BUFFER),
        })
    }

    /// Waits for the next datagram from the kernel and parses it.
    pub async fn receive(&mut self) -> io::Result<Received> {
        loop {
            let mut ready = self.socket.readable().await?;
            self.buffer.clear();
            match ready.try_io(|socket| {
                socket
                    .get_ref()
                    .recv_from(&mut self.buffer, libc::MSG_DONTWAIT)
            }) {
                Ok(Ok((_, from))) => {
                    // Only the kernel (port 0) sends process events; anything else is
                    // another process's datagram, ignored as keepalived ignores it.
                    if from.port_number() != 0 {
                        continue;
                    }
                    return Ok(Received::Events(parse_datagram(&self.buffer)));
                }
                Ok(Err(error)) if error.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Ok(Received::Overrun);
                }
                Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(error)) => return Err(error),
                // Spurious readiness: wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

/// A socket [`open_early`] made, waiting for [`ProcEventSocket::open`]. A process-wide slot
/// because the daemon opens it in `main`, before it gives up CAP_SYS_ADMIN and before the
/// runtime and the router that later starts the process monitor exist.
static OPENED_EARLY: std::sync::Mutex<Option<Result<Socket, ConnectorError>>> =
    std::sync::Mutex::new(None);

/// Opens and subscribes the socket now, while the daemon still has the privilege to reach the
/// host's network namespace (a daemon started as root keeps only what it needs afterwards);
/// [`ProcEventSocket::open`] takes it from here. Called only when process checks are
/// configured: events queue on the socket until the monitor reads them.
pub fn open_early() {
    let opened = open_socket();
    *OPENED_EARLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(opened);
}

/// A subscribed socket, in the initial network namespace when this thread may enter it.
fn open_socket() -> Result<Socket, ConnectorError> {
    for namespace in host_namespace_candidates() {
        if let Some(Ok(socket)) = open_in_namespace(&namespace) {
            return Ok(socket);
        }
    }
    // No other namespace could be entered, or the connector did not answer there either: the
    // current namespace says the reason that applies here.
    open_here()
}

/// Where the host's namespace may be found, when the daemon runs in another one: PID 1's
/// (the host's init, outside containers), then the parent's (the shell or supervisor that ran
/// `ip netns exec`, where PID 1's cannot be read). Only a namespace where the kernel accepts
/// the subscription is used, and it accepts it only in the initial one.
fn host_namespace_candidates() -> Vec<String> {
    let parent = std::os::unix::process::parent_id();
    vec![
        "/proc/1/ns/net".to_owned(),
        format!("/proc/{parent}/ns/net"),
    ]
}

/// The socket made by a thread that entered the network namespace at `path`; `None` when
/// that namespace cannot be entered (no privilege, no /proc) or is the current one.
fn open_in_namespace(path: &str) -> Option<Result<Socket, ConnectorError>> {
    use std::os::unix::fs::MetadataExt;
    let target = std::fs::metadata(path).ok()?;
    let current = std::fs::metadata("/proc/thread-self/ns/net").ok()?;
    if (target.dev(), target.ino()) == (current.dev(), current.ino()) {
        return None;
    }
    // setns changes the namespace of the calling thread only: a thread of its own, which
    // ends once the socket is made, keeps the daemon's threads where they are.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let namespace = std::fs::File::open(path).ok()?;
                nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
                Some(open_here())
            })
            .join()
            .ok()
            .flatten()
    })
}

/// A socket made, bound and subscribed in the calling thread's network namespace.
fn open_here() -> Result<Socket, ConnectorError> {
    let mut socket = Socket::new(NETLINK_CONNECTOR).map_err(ConnectorError::Open)?;
    // Port 0: the kernel picks a free one (keepalived uses its PID, which a second process
    // tracker of the same daemon could not share).
    socket
        .bind(&SocketAddr::new(0, CN_IDX_PROC))
        .map_err(ConnectorError::Open)?;
    socket
        .send(&subscription(PROC_CN_MCAST_LISTEN), 0)
        .map_err(ConnectorError::Subscribe)?;
    socket
        .set_non_blocking(true)
        .map_err(ConnectorError::Open)?;
    Ok(socket)
}

/// The message that turns process events on (or off) for the sender.
fn subscription(operation: u32) -> Vec<u8> {
    let length = NLMSG_HEADER + CN_MSG_HEADER + 4;
    let mut message = Vec::with_capacity(length);
    // struct nlmsghdr: length, type, flags, sequence, port (0: filled in by the kernel).
    message.extend_from_slice(&u32::try_from(length).unwrap_or(u32::MAX).to_ne_bytes());
    message.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    message.extend_from_slice(&0u16.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    // struct cn_msg: id (index, value), sequence, ack, payload length, flags.
    message.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    message.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&4u16.to_ne_bytes());
    message.extend_from_slice(&0u16.to_ne_bytes());
    // enum proc_cn_mcast_op.
    message.extend_from_slice(&operation.to_ne_bytes());
    message
}

fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let field = bytes.get(offset..offset + 2)?;
    Some(u16::from_ne_bytes([field[0], field[1]]))
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset + 4)?;
    Some(u32::from_ne_bytes([field[0], field[1], field[2], field[3]]))
}

/// The process events of one datagram: every netlink message in it, each checked against
/// its stated lengths; anything short, foreign or of another kind is skipped.
pub fn parse_datagram(datagram: &[u8]) -> Vec<ProcEvent> {
    let mut events = Vec::new();
    let mut rest = datagram;
    while rest.len() >= NLMSG_HEADER {
        let Some(length) = u32_at(rest, 0).and_then(|length| usize::try_from(length).ok()) else {
            break;
        };
        if length < NLMSG_HEADER || length > rest.len() {
            break;
        }
        let message_type = u16_at(rest, 4).unwrap_or(NLMSG_ERROR);
        if message_type != NLMSG_NOOP
            && message_type != NLMSG_ERROR
            && let Some(event) = parse_connector_message(&rest[NLMSG_HEADER..length])
        {
            events.push(event);
        }
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        let next = (length + 3) & !3;
        rest = rest.get(next..).unwrap_or_default();
    }
    events
}

/// A `struct cn_msg` carrying a `struct proc_event`.
fn parse_connector_message(message: &[u8]) -> Option<ProcEvent> {
    let (index, value, ack) = (
        u32_at(message, 0)?,
        u32_at(message, 4)?,
        u32_at(message, 12)?,
    );
    if index != CN_IDX_PROC || value != CN_VAL_PROC || ack != 0 {
        return None;
    }
    let payload_length = usize::from(u16_at(message, 16)?);
    let event = message.get(CN_MSG_HEADER..CN_MSG_HEADER + payload_length)?;
    let what = u32_at(event, 0)?;
    let data = event.get(PROC_EVENT_HEADER..)?;
    match what {
        PROC_EVENT_FORK => Some(ProcEvent::Fork {
            parent_tgid: u32_at(data, 4)?,
            child_pid: u32_at(data, 8)?,
            child_tgid: u32_at(data, 12)?,
        }),
        PROC_EVENT_EXEC => Some(ProcEvent::Exec {
            pid: u32_at(data, 0)?,
            tgid: u32_at(data, 4)?,
        }),
        PROC_EVENT_COMM => {
            let name = data.get(8..8 + COMM_LEN)?;
            let end = name.iter().position(|&byte| byte == 0).unwrap_or(COMM_LEN);
            Some(ProcEvent::Comm {
                pid: u32_at(data, 0)?,
                tgid: u32_at(data, 4)?,
                comm: String::from_utf8_lossy(&name[..end]).into_owned(),
            })
        }
        PROC_EVENT_EXIT => Some(ProcEvent::Exit {
            pid: u32_at(data, 0)?,
            tgid: u32_at(data, 4)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A netlink message carrying a process event of kind `what` with `data` after its
    /// header, as the kernel lays it out.
    fn event_message(what: u32, data: &[u8]) -> Vec<u8> {
        let mut event = Vec::new();
        event.extend_from_slice(&what.to_ne_bytes());
        event.extend_from_slice(&0u32.to_ne_bytes()); // cpu
        event.extend_from_slice(&123u64.to_ne_bytes()); // timestamp_ns
        event.extend_from_slice(data);
        let mut connector = Vec::new();
        for field in [CN_IDX_PROC, CN_VAL_PROC, 7, 0] {
            connector.extend_from_slice(&field.to_ne_bytes());
        }
        connector.extend_from_slice(&u16::try_from(event.len()).unwrap().to_ne_bytes());
        connector.extend_from_slice(&0u16.to_ne_bytes());
        connector.extend_from_slice(&event);
        let length = NLMSG_HEADER + connector.len();
        let mut message = Vec::new();
        message.extend_from_slice(&u32::try_from(length).unwrap().to_ne_bytes());
        message.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        message.extend_from_slice(&[0; 10]);
        message.extend_from_slice(&connector);
        while message.len() % 4 != 0 {
            message.push(0);
        }
        message
    }

    fn words(values: &[u32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_ne_bytes())
            .collect()
    }

    #[test]
    fn fork_exec_comm_and_exit_are_read() {
        let mut comm = words(&[42, 40]);
        comm.extend_from_slice(b"haproxy\0\0\0\0\0\0\0\0\0");
        let mut datagram = event_message(PROC_EVENT_FORK, &words(&[1, 1, 42, 42]));
        datagram.extend(event_message(PROC_EVENT_EXEC, &words(&[42, 42])));
        datagram.extend(event_message(PROC_EVENT_COMM, &comm));
        datagram.extend(event_message(PROC_EVENT_EXIT, &words(&[42, 42, 0, 17])));
        assert_eq!(
            parse_datagram(&datagram),
            vec![
                ProcEvent::Fork {
                    parent_tgid: 1,
                    child_pid: 42,
                    child_tgid: 42
                },
                ProcEvent::Exec { pid: 42, tgid: 42 },
                ProcEvent::Comm {
                    pid: 42,
                    tgid: 40,
                    comm: "haproxy".into()
                },
                ProcEvent::Exit { pid: 42, tgid: 42 },
            ]
        );
    }

    #[test]
    fn other_kinds_and_foreign_messages_are_skipped() {
        // PROC_EVENT_UID, and the acknowledgement of the subscription (PROC_EVENT_NONE).
        let mut datagram = event_message(0x4, &words(&[1, 1, 0, 0]));
        datagram.extend(event_message(0, &words(&[0, 0])));
        assert!(parse_datagram(&datagram).is_empty());
        let mut foreign = event_message(PROC_EVENT_EXEC, &words(&[5, 5]));
        foreign[NLMSG_HEADER..NLMSG_HEADER + 4].copy_from_slice(&9u32.to_ne_bytes());
        assert!(parse_datagram(&foreign).is_empty());
    }

    #[test]
    fn truncated_and_lying_lengths_never_panic() {
        let message = event_message(PROC_EVENT_FORK, &words(&[1, 1, 42, 42]));
        for cut in 0..message.len() {
            let _ = parse_datagram(&message[..cut]);
        }
        let mut lying = message.clone();
        lying[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse_datagram(&lying).is_empty());
        let mut short = message;
        short[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(parse_datagram(&short).is_empty());
    }

    #[test]
    fn the_subscription_is_a_done_message_to_the_process_connector() {
        let message = subscription(PROC_CN_MCAST_LISTEN);
        assert_eq!(message.len(), 40);
        assert_eq!(u32_at(&message, 0), Some(40));
        assert_eq!(u16_at(&message, 4), Some(NLMSG_DONE));
        assert_eq!(u32_at(&message, 16), Some(CN_IDX_PROC));
        assert_eq!(u16_at(&message, 32), Some(4));
        assert_eq!(u32_at(&message, 36), Some(PROC_CN_MCAST_LISTEN));
    }
}
