//! The client's view of the VIP: an ICMP echo request every 10 ms from the client's
//! namespace, sent and read by a thread of the demo itself, and the longest silence between
//! two replies.
//!
//! The demo sends its own echo requests rather than running `ping`: a fresh machine often has
//! no iputils, and the demo should need nothing but a kernel with network namespaces, `ip` and
//! root. The thread enters the client's namespace (`setns`, which changes only the calling
//! thread) and opens a raw ICMP socket there, so the socket lives in that namespace for good.
//! The outage is the longest gap between consecutive replies minus the probe interval, the
//! measure the keepalived baseline uses; the number of probes lost comes from the gaps in the
//! sequence numbers.

use std::fs::File;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use pnet_packet::Packet;
use pnet_packet::icmp::echo_reply::EchoReplyPacket;
use pnet_packet::icmp::echo_request::MutableEchoRequestPacket;
use pnet_packet::icmp::{IcmpPacket, IcmpTypes, checksum};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::Ipv4Packet;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use thiserror::Error;

use super::lab::{Lab, VIP};

/// How often the client sends an echo request.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// The prober stops after this many requests: 10^6 are almost three hours of probes, far
/// beyond any demo, so the bound only guards against a runaway thread.
const MAX_REQUESTS: u32 = 1_000_000;

/// Bytes of the echo request after its 8-byte header; the payload is not looked at.
const PAYLOAD_LENGTH: usize = 16;

/// Room for any reply: an IPv4 header with options (60) and the echo message.
const RECEIVE_BUFFER: usize = 128;

/// What went wrong while starting the probe.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// The client's namespace file (`/run/netns/…`) could not be opened.
    #[error("opening the client's namespace {}: {source}", path.display())]
    Namespace {
        /// The namespace file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The prober thread could not enter the client's namespace.
    #[error("entering the client's namespace: {0}")]
    Enter(nix::Error),
    /// The raw ICMP socket could not be opened (it needs CAP_NET_RAW).
    #[error("opening the client's ICMP socket: {0}")]
    Socket(io::Error),
    /// The prober thread could not be started.
    #[error("starting the client's prober thread: {0}")]
    Thread(io::Error),
    /// The prober thread ended before it said whether it was ready.
    #[error("the client's prober thread ended before it started probing")]
    Vanished,
}

/// One echo reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reply {
    /// When the prober read it.
    at: Instant,
    /// Its ICMP sequence number.
    sequence: u16,
}

/// The longest silence the client saw in a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The longest time between two consecutive replies.
    pub longest: Duration,
    /// Echo requests that never got a reply.
    pub lost: u32,
}

impl Gap {
    /// The outage the client felt: the longest gap less the one probe interval that
    /// separates replies anyway.
    pub fn outage(&self) -> Duration {
        self.longest.saturating_sub(PROBE_INTERVAL)
    }
}

/// The client probing the VIP; dropping it stops the prober thread.
#[derive(Debug)]
pub struct Probe {
    replies: Arc<Mutex<Vec<Reply>>>,
    stop: Arc<AtomicBool>,
    prober: Option<JoinHandle<()>>,
}

impl Probe {
    /// Starts probing the VIP from the lab's client every [`PROBE_INTERVAL`]; returns once
    /// the prober's socket is open in the client's namespace.
    pub fn start(lab: &Lab) -> Result<Probe, ProbeError> {
        let path = lab.namespace_file("client");
        let namespace = File::open(&path).map_err(|source| ProbeError::Namespace {
            path: path.clone(),
            source,
        })?;
        let target: Ipv4Addr = VIP.parse().expect("lab::VIP is a literal IPv4 address");
        let replies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, is_ready) = mpsc::sync_channel(1);
        let prober = {
            let replies = Arc::clone(&replies);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("demo-probe".to_owned())
                .spawn(move || match open_socket_in(&namespace) {
                    Ok(socket) => {
                        // The receiver waits for this message, so it cannot be gone yet.
                        let _ = ready.send(Ok(()));
                        probe(&socket, target, &replies, &stop);
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                })
                .map_err(ProbeError::Thread)?
        };
        let probe = Probe {
            replies,
            stop,
            prober: Some(prober),
        };
        // On an error `probe` is dropped, which joins the thread that already returned.
        is_ready.recv().map_err(|_| ProbeError::Vanished)??;
        Ok(probe)
    }

    /// How many replies have arrived so far: a mark that [`Probe::gap_since`] measures from.
    pub fn mark(&self) -> usize {
        self.lock().len()
    }

    /// The longest gap from the last reply before `mark` to the latest reply; `None` when
    /// there are not two replies to compare.
    pub fn gap_since(&self, mark: usize) -> Option<Gap> {
        let replies = self.lock();
        let window = replies.get(mark.saturating_sub(1)..)?;
        let mut gap: Option<Gap> = None;
        for pair in window.windows(2) {
            let between = pair[1].at.saturating_duration_since(pair[0].at);
            let skipped = pair[1]
                .sequence
                .wrapping_sub(pair[0].sequence)
                .saturating_sub(1);
            let so_far = gap.get_or_insert(Gap {
                longest: Duration::ZERO,
                lost: 0,
            });
            so_far.longest = so_far.longest.max(between);
            so_far.lost += u32::from(skipped);
        }
        gap
    }

    /// How long ago the latest reply arrived; `None` before the first.
    pub fn since_last_reply(&self) -> Option<Duration> {
        let last = self.lock().last().copied()?;
        Some(last.at.elapsed())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Reply>> {
        self.replies.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The prober looks at the flag at least every PROBE_INTERVAL.
        if let Some(prober) = self.prober.take()
            && prober.join().is_err()
        {
            eprintln!("the client's prober thread panicked");
        }
    }
}

/// Moves the calling thread into `namespace` and opens a raw ICMP socket there.
fn open_socket_in(namespace: &File) -> Result<Socket, ProbeError> {
    setns(namespace, CloneFlags::CLONE_NEWNET).map_err(ProbeError::Enter)?;
    Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).map_err(ProbeError::Socket)
}

/// Sends an echo request to `target` every [`PROBE_INTERVAL`] and records each new reply,
/// until `stop` is set or [`MAX_REQUESTS`] went out.
fn probe(socket: &Socket, target: Ipv4Addr, replies: &Mutex<Vec<Reply>>, stop: &AtomicBool) {
    // Like ping, the process ID tells our replies from those of anyone else's echo requests;
    // only its low 16 bits fit the field.
    let identifier = (std::process::id() & 0xffff) as u16;
    let destination = SockAddr::from(SocketAddrV4::new(target, 0));
    let mut sent: u32 = 0;
    let mut next_send = Instant::now();
    let mut last_sequence: Option<u16> = None;
    let mut buffer = [0u8; RECEIVE_BUFFER];
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= next_send {
            if sent == MAX_REQUESTS {
                return;
            }
            // Truncation is the point: ICMP sequence numbers wrap at 2^16, as ping's do.
            let sequence = (sent & 0xffff) as u16;
            // A request the kernel refuses (no ARP answer yet) is a lost probe, which is
            // what the demo measures, so the error itself is of no interest.
            let _ = socket.send_to(&echo_request(identifier, sequence), &destination);
            sent += 1;
            // After a stall (a loaded machine), start afresh rather than sending a burst.
            next_send = (next_send + PROBE_INTERVAL).max(now);
        }
        let wait = next_send
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        if socket.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        let length = match (&*socket).read(&mut buffer) {
            Ok(length) => length,
            // Timed out (WouldBlock), interrupted, or an ICMP error queued on the socket.
            Err(_) => continue,
        };
        let at = Instant::now();
        let Some(sequence) = echo_reply_sequence(&buffer[..length], target, identifier) else {
            continue;
        };
        // A duplicate (two hosts answering during a handover) or a reply overtaken by a
        // later one adds nothing to the gaps.
        let newer = last_sequence.is_none_or(|last| (sequence.wrapping_sub(last) as i16) > 0);
        if newer {
            last_sequence = Some(sequence);
            replies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Reply { at, sequence });
        }
    }
}

/// An ICMP echo request (RFC 792) with a zero payload and its checksum.
fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    let mut bytes = vec![0u8; MutableEchoRequestPacket::minimum_packet_size() + PAYLOAD_LENGTH];
    let mut request =
        MutableEchoRequestPacket::new(&mut bytes).expect("the buffer is sized for an echo request");
    request.set_icmp_type(IcmpTypes::EchoRequest);
    request.set_identifier(identifier);
    request.set_sequence_number(sequence);
    let sum = checksum(&IcmpPacket::new(request.packet()).expect("an echo request is ICMP"));
    request.set_checksum(sum);
    bytes
}

/// The sequence number of `datagram` (an IPv4 packet as a raw socket reads it) when it is an
/// echo reply from `target` to our `identifier`.
fn echo_reply_sequence(datagram: &[u8], target: Ipv4Addr, identifier: u16) -> Option<u16> {
    let ip = Ipv4Packet::new(datagram)?;
    if ip.get_source() != target || ip.get_next_level_protocol() != IpNextHeaderProtocols::Icmp {
        return None;
    }
    let reply = EchoReplyPacket::new(ip.payload())?;
    (reply.get_icmp_type() == IcmpTypes::EchoReply && reply.get_identifier() == identifier)
        .then(|| reply.get_sequence_number())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet_packet::ipv4::{Ipv4Flags, MutableIpv4Packet, checksum as ipv4_checksum};

    const TARGET: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

    /// `icmp` wrapped in an IPv4 header from `source`, as a raw socket hands it over.
    fn datagram(source: Ipv4Addr, icmp: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0u8; 20 + icmp.len()];
        let mut ip = MutableIpv4Packet::new(&mut bytes).expect("sized for a header");
        ip.set_version(4);
        ip.set_header_length(5);
        ip.set_total_length(u16::try_from(20 + icmp.len()).expect("small"));
        ip.set_ttl(64);
        ip.set_flags(Ipv4Flags::DontFragment);
        ip.set_next_level_protocol(IpNextHeaderProtocols::Icmp);
        ip.set_source(source);
        ip.set_destination(Ipv4Addr::new(192, 0, 2, 50));
        ip.set_payload(icmp);
        let sum = ipv4_checksum(&ip.to_immutable());
        ip.set_checksum(sum);
        bytes
    }

    /// The echo request for `identifier` and `sequence` turned into its reply, as the VIP's
    /// holder sends it back: type 0, checksum adjusted.
    fn reply_to(identifier: u16, sequence: u16) -> Vec<u8> {
        let mut bytes = echo_request(identifier, sequence);
        let mut reply = MutableEchoRequestPacket::new(&mut bytes).expect("sized");
        reply.set_icmp_type(IcmpTypes::EchoReply);
        reply.set_checksum(0);
        let sum = checksum(&IcmpPacket::new(reply.packet()).expect("ICMP"));
        reply.set_checksum(sum);
        bytes
    }

    #[test]
    fn an_echo_request_carries_its_identifier_sequence_and_a_valid_checksum() {
        let bytes = echo_request(0x1234, 7);
        let packet = IcmpPacket::new(&bytes).expect("ICMP");
        assert_eq!(packet.get_icmp_type(), IcmpTypes::EchoRequest);
        assert_eq!(checksum(&packet), packet.get_checksum());
        assert_eq!(&bytes[4..8], &[0x12, 0x34, 0, 7]);
    }

    #[test]
    fn our_reply_from_the_vip_gives_its_sequence() {
        let bytes = datagram(TARGET, &reply_to(0x1234, 7));
        assert_eq!(echo_reply_sequence(&bytes, TARGET, 0x1234), Some(7));
    }

    #[test]
    fn other_packets_are_not_our_replies() {
        let cases = [
            (
                "another prober's reply",
                datagram(TARGET, &reply_to(0x4321, 7)),
            ),
            (
                "a reply from elsewhere",
                datagram(Ipv4Addr::new(192, 0, 2, 1), &reply_to(0x1234, 7)),
            ),
            ("a request", datagram(TARGET, &echo_request(0x1234, 7))),
            ("a truncated packet", vec![0x45, 0, 0]),
        ];
        for (what, bytes) in cases {
            assert_eq!(echo_reply_sequence(&bytes, TARGET, 0x1234), None, "{what}");
        }
    }
}
