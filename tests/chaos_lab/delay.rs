//! The delayer behind the chaos lab's delay faults: the host's netfilter rules divert its
//! VRRP packets to an NFQUEUE queue, and a thread of this process, inside the host's
//! namespace, holds each one for the fault's delay before it accepts it.
//!
//! The queue is spoken to over a raw `NETLINK_NETFILTER` socket (nfnetlink_queue): bind to
//! the queue, ask for metadata only (the packet's id is all a verdict needs), read ids from
//! each packet's `NFQA_PACKET_HDR`, and answer `NFQNL_MSG_VERDICT` with `NF_ACCEPT` when the
//! packet's time is up. A crate for this would bring a C library (libnetfilter_queue) or a
//! netlink framework for five message shapes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::netns::Netns;

/// The longest the delayer sleeps between looks at its stop flag.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// The longest wait for the kernel to acknowledge a configuration request.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Room for a burst of packet messages (metadata only, about a hundred bytes each).
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Holds the packets queued to one NFQUEUE queue of one namespace for [`Delayer::set_delay`]
/// and then accepts them; stops (accepting what it still holds) when dropped.
pub struct Delayer {
    delay_micros: Arc<AtomicU64>,
    held: Arc<AtomicUsize>,
    accepted: Arc<AtomicU64>,
    latest_micros: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Delayer {
    /// Binds to `queue` in `ns` and starts holding what arrives there; panics if the kernel
    /// refuses the queue (no nfnetlink_queue, or the queue taken).
    pub fn start(ns: &Netns, queue: u16) -> Self {
        let delay_micros = Arc::new(AtomicU64::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicU64::new(0));
        let latest_micros = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_sender, bound) = std::sync::mpsc::channel();
        let thread = {
            let counts = Counts {
                held: Arc::clone(&held),
                accepted: Arc::clone(&accepted),
                latest_micros: Arc::clone(&latest_micros),
            };
            let (delay_micros, failure, stop) = (
                Arc::clone(&delay_micros),
                Arc::clone(&failure),
                Arc::clone(&stop),
            );
            ns.spawn_inside(move || {
                let socket = match QueueSocket::bind(queue) {
                    Ok(socket) => socket,
                    Err(error) => {
                        let _ = bound_sender.send(Err(error));
                        return;
                    }
                };
                let _ = bound_sender.send(Ok(()));
                if let Err(error) = hold_and_accept(&socket, &delay_micros, &counts, &stop) {
                    *failure.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(error.to_string());
                }
            })
        };
        match bound.recv_timeout(ACK_TIMEOUT * 2) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("binding NFQUEUE queue {queue} in {}: {error}", ns.name),
            Err(error) => panic!("the delayer in {} did not start: {error}", ns.name),
        }
        Delayer {
            delay_micros,
            held,
            accepted,
            latest_micros,
            failure,
            stop,
            thread: Some(thread),
        }
    }

    /// Holds packets that arrive from now on for `delay`.
    pub fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.delay_micros.store(micros, Ordering::Relaxed);
    }

    /// How many packets it holds now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// How many packets it has let go.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The most a packet was let go after its delay was up (the delayer's own lateness).
    pub fn latest(&self) -> Duration {
        Duration::from_micros(self.latest_micros.load(Ordering::Relaxed))
    }

    /// Why the delayer stopped early, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Delayer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the delayer's thread reports as it goes.
struct Counts {
    /// Packets held now.
    held: Arc<AtomicUsize>,
    /// Packets let go so far.
    accepted: Arc<AtomicU64>,
    /// The most a packet was let go after its time, in microseconds.
    latest_micros: Arc<AtomicU64>,
}

/// The delayer's loop: accepts each held packet when its time is up, takes in new ones,
/// until `stop`; then accepts whatever it still holds.
fn hold_and_accept(
    socket: &QueueSocket,
    delay_micros: &AtomicU64,
    counts: &Counts,
    stop: &AtomicBool,
) -> io::Result<()> {
    // Ordered by due time: the delay may change between faults while packets are held.
    let mut held: BinaryHeap<Reverse<(Instant, u32)>> = BinaryHeap::new();
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    // Bounded by `stop`, which Drop sets (also when a failed assertion unwinds).
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while let Some(Reverse((due, id))) = held.peek().copied()
            && due <= now
        {
            socket.accept(id)?;
            counts.accepted.fetch_add(1, Ordering::Relaxed);
            let late = u64::try_from((Instant::now() - due).as_micros()).unwrap_or(u64::MAX);
            counts.latest_micros.fetch_max(late, Ordering::Relaxed);
            held.pop();
        }
        counts.held.store(held.len(), Ordering::Relaxed);
        let wait = held
            .peek()
            .map_or(IDLE_POLL, |Reverse((due, _))| {
                due.saturating_duration_since(now)
            })
            .min(IDLE_POLL);
        if !socket.readable_within(wait)? {
            continue;
        }
        let arrived = Instant::now();
        let delay = Duration::from_micros(delay_micros.load(Ordering::Relaxed));
        for id in socket.receive_packets(&mut buffer)? {
            held.push(Reverse((arrived + delay, id)));
        }
        counts.held.store(held.len(), Ordering::Relaxed);
    }
    for Reverse((_, id)) in held.drain() {
        socket.accept(id)?;
        counts.accepted.fetch_add(1, Ordering::Relaxed);
    }
    counts.held.store(0, Ordering::Relaxed);
    Ok(())
}

/// A netlink socket bound to one nfnetlink_queue queue.
struct QueueSocket {
    fd: OwnedFd,
    queue: u16,
}

impl QueueSocket {
    /// Opens the socket, binds it to `queue` and asks for packet metadata only.
    fn bind(queue: u16) -> io::Result<Self> {
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data, for which all zeroes is valid (port id 0 lets
        // the kernel choose, no multicast groups).
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `address` is an initialised sockaddr_nl and the length is its size.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                std::ptr::from_ref(&address).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if bound < 0 {
            return Err(io::Error::last_os_error());
        }
        let socket = QueueSocket { fd, queue };
        // struct nfqnl_msg_config_cmd: command, padding, protocol family (unused since 3.8).
        let bind = [libc::NFQNL_CFG_CMD_BIND as u8, 0, 0, 0];
        socket.configure(1, attribute(libc::NFQA_CFG_CMD, &bind))?;
        // struct nfqnl_msg_config_params (packed): copy range (big-endian), copy mode.
        let mut params = 0u32.to_be_bytes().to_vec();
        params.push(libc::NFQNL_COPY_META as u8);
        socket.configure(2, attribute(libc::NFQA_CFG_PARAMS, &params))?;
        Ok(socket)
    }

    /// Sends a queue configuration request and waits for the kernel's acknowledgement.
    fn configure(&self, sequence: u32, attributes: Vec<u8>) -> io::Result<()> {
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        self.send(&self.message(libc::NFQNL_MSG_CONFIG, flags, sequence, &attributes))?;
        let deadline = Instant::now() + ACK_TIMEOUT;
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        // Bounded by the deadline: each pass waits at most what is left of it.
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if !self.readable_within(left)? {
                break;
            }
            let length = self.receive(&mut buffer)?;
            for message in messages(&buffer[..length]) {
                if message.kind == libc::NLMSG_ERROR as u16 && message.sequence == sequence {
                    return error_of(message.payload);
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no acknowledgement of an NFQUEUE configuration request",
        ))
    }

    /// Lets the queued packet `id` go on (no acknowledgement: an error would come back as
    /// a message, which the next read reports).
    fn accept(&self, id: u32) -> io::Result<()> {
        // struct nfqnl_msg_verdict_hdr: verdict, packet id, both big-endian.
        let mut verdict = (libc::NF_ACCEPT as u32).to_be_bytes().to_vec();
        verdict.extend_from_slice(&id.to_be_bytes());
        let attributes = attribute(libc::NFQA_VERDICT_HDR, &verdict);
        let flags = libc::NLM_F_REQUEST as u16;
        self.send(&self.message(libc::NFQNL_MSG_VERDICT, flags, 0, &attributes))
    }

    /// Reads what is waiting and returns the ids of the packets in it.
    fn receive_packets(&self, buffer: &mut [u8]) -> io::Result<Vec<u32>> {
        let length = self.receive(buffer)?;
        let packet_kind = ((libc::NFNL_SUBSYS_QUEUE << 8) | libc::NFQNL_MSG_PACKET) as u16;
        let mut ids = Vec::new();
        for message in messages(&buffer[..length]) {
            if message.kind == libc::NLMSG_ERROR as u16 {
                error_of(message.payload)?;
            } else if message.kind == packet_kind {
                // After struct nfgenmsg (4 bytes) come the attributes.
                let header = attributes(message.payload.get(4..).unwrap_or_default())
                    .find(|(kind, _)| *kind == libc::NFQA_PACKET_HDR as u16);
                // struct nfqnl_msg_packet_hdr starts with the big-endian packet id.
                if let Some((_, value)) = header
                    && let Some(id) = value.get(..4)
                {
                    ids.push(u32::from_be_bytes([id[0], id[1], id[2], id[3]]));
                }
            }
        }
        Ok(ids)
    }

    /// A netlink message of the queue subsystem for this queue.
    fn message(&self, kind: libc::c_int, flags: u16, sequence: u32, attributes: &[u8]) -> Vec<u8> {
        let length = 16 + 4 + attributes.len();
        let mut message = Vec::with_capacity(length);
        // struct nlmsghdr, in host byte order.
        message.extend_from_slice(&u32::try_from(length).unwrap_or(u32::MAX).to_ne_bytes());
        message.extend_from_slice(&(((libc::NFNL_SUBSYS_QUEUE << 8) | kind) as u16).to_ne_bytes());
        message.extend_from_slice(&flags.to_ne_bytes());
        message.extend_from_slice(&sequence.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes());
        // struct nfgenmsg: family (unspecified), version, the queue number big-endian.
        message.extend_from_slice(&[libc::AF_UNSPEC as u8, libc::NFNETLINK_V0 as u8]);
        message.extend_from_slice(&self.queue.to_be_bytes());
        message.extend_from_slice(attributes);
        message
    }

    fn send(&self, message: &[u8]) -> io::Result<()> {
        // SAFETY: the pointer and length describe `message`, which outlives the call; an
        // unconnected netlink socket sends to the kernel.
        let sent = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                message.as_ptr().cast(),
                message.len(),
                0,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn receive(&self, buffer: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `buffer`, writable for the call.
        let length = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                libc::MSG_DONTWAIT,
            )
        };
        usize::try_from(length).map_err(|_| io::Error::last_os_error())
    }

    /// Whether a message arrives within `wait`.
    fn readable_within(&self, wait: Duration) -> io::Result<bool> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Rounded up, so a packet due in under a millisecond does not spin.
        let millis = libc::c_int::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(1000);
        // SAFETY: one valid pollfd for the duration of the call.
        match unsafe { libc::poll(&raw mut poll, 1, millis) } {
            ready if ready < 0 => {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(error)
                }
            }
            ready => Ok(ready > 0),
        }
    }
}

/// One netlink attribute (`struct nlattr` in host byte order, then the value, padded to 4).
fn attribute(kind: libc::c_int, value: &[u8]) -> Vec<u8> {
    let length = 4 + value.len();
    let mut attribute = Vec::with_capacity(length.next_multiple_of(4));
    attribute.extend_from_slice(&u16::try_from(length).unwrap_or(u16::MAX).to_ne_bytes());
    attribute.extend_from_slice(&(kind as u16).to_ne_bytes());
    attribute.extend_from_slice(value);
    attribute.resize(length.next_multiple_of(4), 0);
    attribute
}

/// A netlink message read back: its type, sequence number and what follows its header.
struct Message<'a> {
    kind: u16,
    sequence: u32,
    payload: &'a [u8],
}

/// The messages of one datagram; a truncated one ends the walk.
fn messages(mut bytes: &[u8]) -> impl Iterator<Item = Message<'_>> {
    std::iter::from_fn(move || {
        let header = bytes.get(..16)?;
        let length = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if length < 16 || length > bytes.len() {
            return None;
        }
        let message = Message {
            kind: u16::from_ne_bytes([header[4], header[5]]),
            sequence: u32::from_ne_bytes([header[8], header[9], header[10], header[11]]),
            payload: &bytes[16..length],
        };
        bytes = bytes.get(length.next_multiple_of(4)..).unwrap_or_default();
        Some(message)
    })
}

/// The attributes in `bytes`, as (type without its flag bits, value).
fn attributes(mut bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let header = bytes.get(..4)?;
        let length = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        if length < 4 || length > bytes.len() {
            return None;
        }
        let kind = u16::from_ne_bytes([header[2], header[3]]) & libc::NLA_TYPE_MASK as u16;
        let value = &bytes[4..length];
        bytes = bytes.get(length.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, value))
    })
}

/// The outcome an `NLMSG_ERROR` message carries: 0 is an acknowledgement.
fn error_of(payload: &[u8]) -> io::Result<()> {
    let code = payload.get(..4).map_or(0, |code| {
        i32::from_ne_bytes([code[0], code[1], code[2], code[3]])
    });
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(-code))
    }
}
