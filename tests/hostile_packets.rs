//! Hostile packets against the real daemon: an attacker on the same bridge sends crafted
//! adverts that each fail one receive check (RFC 9568 §7.1, RFC 3768 §7.1, and the unicast
//! peer list). Each must be refused and logged under its reason, no state may change, and the
//! master's 100 ms adverts must neither lapse long enough for its backup to take over nor
//! gain extra ones on the wire throughout.
//!
//! Every packet aimed at the master claims priority 254 (were it accepted, the master would
//! step down) and every packet aimed at the backup claims priority 0 (were it accepted, the
//! backup would take over after Skew_Time), so a check that lets a packet through shows up
//! as a state change, not only as a missing log line.

mod daemon_lab;
mod netns;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use vrrp_sidecar::vrrp::{AdvertInterval, Advertisement, Auth, V3Ipv4Checksum, Version};

use daemon_lab::{Daemon, DaemonLab, InstanceSpec};
use netns::{Lab, Netns, require_root, wait_until};

const V3_VRID: u8 = 51;
const V2_VRID: u8 = 52;
const UNICAST_VRID: u8 = 53;
const V3_VIP: &str = "192.0.2.100";
const V2_VIP: &str = "192.0.2.101";
const UNICAST_VIP: &str = "192.0.2.102";
const MASTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const BACKUP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The attacker's own address (third host of the lab): a source no instance knows.
const ATTACKER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);
const V2_PASSWORD: &str = "secret";
/// The longest gap between two of the master's adverts the attack may cause: the backup's
/// Master_Down_Interval (priority 100 at 100 ms: 300 ms + 156/256 × 100 ms), the silence
/// after which it would take over (RFC 9568 §6.4.2). Tighter timing is not asserted: under
/// a CPU hog beside the test the master's timer fires 10 to 36 ms late, as often before and
/// after the attack as during it (its own "a VRRP timer fired late" lines), and a stall of
/// the whole machine once delayed one advert by 207 ms; that is the scheduler, not the
/// attack. The gaps are printed.
const LONGEST_GAP: Duration = Duration::from_nanos(360_937_500);
/// The shortest gap allowed: an advert the master sent on top of its rhythm (as it does on
/// hearing a lower priority, RFC 9568 §6.4.3 as keepalived reads it) would come at a random
/// point of the interval, so over the rounds some would fall below half of it.
const SHORTEST_GAP: Duration = Duration::from_millis(50);
/// Rounds of the check phase: every crafted packet is sent once per round.
const ROUNDS: usize = 40;
/// The pause between rounds.
const ROUND_PAUSE: Duration = Duration::from_millis(25);
/// Higher-priority adverts from the unknown source in the flood phase, per target.
const FLOOD_PACKETS: usize = 5_000;
/// The pause between two flood packets per target: about 8,000 packets a second in all.
const FLOOD_PAUSE: Duration = Duration::from_micros(200);
/// The debug lines count every refused packet; info alone logs each reason once.
const LOG_FILTER: &str = "info,vrrp_sidecar=debug";
/// The v2 election takes 3 × 1 s + Skew_Time; with process start this bounds it.
const V2_ELECTION: Duration = Duration::from_secs(6);

/// The three instances of a host: VRRPv3 multicast, VRRPv2 with a password, and VRRPv3 over
/// unicast to `peer`.
fn instances(priority: u8, peer: Ipv4Addr) -> Vec<InstanceSpec> {
    vec![
        InstanceSpec {
            name: "v3",
            vrid: V3_VRID,
            priority,
            advert_interval: "100ms",
            addresses: vec![format!("{V3_VIP}/24")],
            extra: Vec::new(),
        },
        InstanceSpec {
            name: "v2",
            vrid: V2_VRID,
            priority,
            advert_interval: "1s",
            addresses: vec![format!("{V2_VIP}/24")],
            extra: vec![
                "version = 2".to_owned(),
                format!("authentication = {{ type = \"pass\", password = \"{V2_PASSWORD}\" }}"),
            ],
        },
        InstanceSpec {
            name: "unicast",
            vrid: UNICAST_VRID,
            priority,
            advert_interval: "100ms",
            addresses: vec![format!("{UNICAST_VIP}/24")],
            extra: vec![format!("unicast_peers = [\"{peer}\"]")],
        },
    ]
}

/// One crafted IPv4 packet and what the daemon must log when it refuses it.
#[derive(Clone, Debug)]
struct Crafted {
    /// The receive check it fails, for messages.
    check: &'static str,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    ttl: u8,
    payload: Vec<u8>,
    /// The instance that must refuse it, or `None` when no instance has its VRID.
    instance: Option<&'static str>,
    /// How the logged reason ends (for the router's line: its message).
    reason: String,
    /// Whether the target's kernel drops it before any socket sees it.
    kernel_drops: bool,
}

impl Crafted {
    /// The whole IPv4 packet, header included (IP_HDRINCL: the kernel fills in the header
    /// checksum and the identification, and keeps the TTL and source given here).
    fn bytes(&self) -> Vec<u8> {
        let total = u16::try_from(20 + self.payload.len()).expect("crafted packets are small");
        let mut packet = vec![0x45, 0xc0];
        packet.extend_from_slice(&total.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 0, self.ttl, 112, 0, 0]);
        packet.extend_from_slice(&self.source.octets());
        packet.extend_from_slice(&self.destination.octets());
        packet.extend_from_slice(&self.payload);
        packet
    }
}

fn v3_advert(vrid: u8, priority: u8, addresses: &[&str]) -> Advertisement {
    Advertisement {
        version: Version::V3,
        vrid,
        priority,
        advert_interval: AdvertInterval::from_centis(10).expect("10 cs is a valid interval"),
        addresses: addresses
            .iter()
            .map(|address| address.parse().expect("a test address"))
            .collect(),
        auth: Auth::None,
    }
}

fn v2_advert(priority: u8, seconds: u8, auth: Auth) -> Advertisement {
    Advertisement {
        version: Version::V2,
        vrid: V2_VRID,
        priority,
        advert_interval: AdvertInterval::from_secs(seconds).expect("a valid v2 interval"),
        addresses: vec![V2_VIP.parse().expect("a test address")],
        auth,
    }
}

fn encode(
    advert: &Advertisement,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    form: V3Ipv4Checksum,
) -> Vec<u8> {
    advert
        .encode(source.into(), destination.into(), form)
        .expect("every crafted advert fits its fields")
}

/// Every hostile packet aimed at `target` (unicast, so the other daemon does not see it),
/// claiming `priority`.
fn hostile_packets(target: Ipv4Addr, priority: u8) -> Vec<Crafted> {
    let rfc = V3Ipv4Checksum::WithPseudoHeader;
    let valid_v3 = encode(
        &v3_advert(V3_VRID, priority, &[V3_VIP]),
        ATTACKER,
        target,
        rfc,
    );
    let packet = |check, payload: Vec<u8>, instance, reason: &str| Crafted {
        check,
        source: ATTACKER,
        destination: target,
        ttl: 255,
        payload,
        instance: Some(instance),
        reason: reason.to_owned(),
        kernel_drops: false,
    };
    let mut bad_checksum = valid_v3.clone();
    bad_checksum[6] ^= 0x5a;
    let good_sum = u16::from_be_bytes([valid_v3[6], valid_v3[7]]);
    // The whole message, so it cannot match the other-form refusal, which ends in its hint.
    let bad_checksum_reason = format!(
        "bad checksum {:#06x}, expected {good_sum:#06x}",
        good_sum ^ 0x5a00
    );
    let mut version_4 = valid_v3.clone();
    version_4[0] = 0x41;
    let mut type_2 = valid_v3.clone();
    type_2[0] = 0x32;
    let mut count_too_high = valid_v3.clone();
    count_too_high[3] = 2;
    let mut count_too_low = encode(
        &v3_advert(V3_VRID, priority, &[V3_VIP, "192.0.2.200"]),
        ATTACKER,
        target,
        rfc,
    );
    count_too_low[3] = 1;
    let password = Auth::simple_password(V2_PASSWORD.as_bytes());
    let own = encode(
        &v3_advert(V3_VRID, priority, &[V3_VIP]),
        target,
        target,
        rfc,
    );
    vec![
        Crafted {
            ttl: 64,
            ..packet(
                "TTL 64",
                valid_v3.clone(),
                "v3",
                "TTL/hop limit is 64, must be 255",
            )
        },
        packet("bad checksum", bad_checksum, "v3", &bad_checksum_reason),
        packet(
            "checksum without the pseudo-header",
            encode(
                &v3_advert(V3_VRID, priority, &[V3_VIP]),
                ATTACKER,
                target,
                V3Ipv4Checksum::WithoutPseudoHeader,
            ),
            "v3",
            "it verifies without the IPv4 pseudo-header, so set that checksum form for this instance",
        ),
        packet("version 4", version_4, "v3", "unknown VRRP version 4"),
        packet(
            "VRRPv2 at a VRRPv3 instance",
            encode(
                &Advertisement {
                    vrid: V3_VRID,
                    ..v2_advert(priority, 1, Auth::None)
                },
                ATTACKER,
                target,
                rfc,
            ),
            "v3",
            "VRRP version V2 received, V3 configured",
        ),
        packet("type 2", type_2, "v3", "unknown VRRP packet type 2"),
        packet(
            "truncated header",
            valid_v3[..6].to_vec(),
            "v3",
            "packet is 6 bytes, needs 8",
        ),
        packet(
            "count 2, one address",
            count_too_high,
            "v3",
            "packet is 12 bytes, needs 16",
        ),
        packet(
            "count 1, two addresses",
            count_too_low,
            "v3",
            "packet is 16 bytes, its address count implies 12",
        ),
        packet(
            "no address",
            encode(&v3_advert(V3_VRID, priority, &[]), ATTACKER, target, rfc),
            "v3",
            "no virtual addresses listed",
        ),
        // Linux drops an arriving packet whose source is one of its own addresses (a
        // martian source) before any socket sees it; the daemon's own check is for loopback.
        Crafted {
            source: target,
            kernel_drops: true,
            ..packet("our own address", own, "v3", "our own advertisement")
        },
        Crafted {
            instance: None,
            ..packet(
                "unknown VRID",
                encode(&v3_advert(99, priority, &[V3_VIP]), ATTACKER, target, rfc),
                "v3",
                "packet for a VRID not configured here",
            )
        },
        packet(
            "VRRPv3 at a VRRPv2 instance",
            encode(
                &v3_advert(V2_VRID, priority, &[V2_VIP]),
                ATTACKER,
                target,
                rfc,
            ),
            "v2",
            "VRRP version V3 received, V2 configured",
        ),
        packet(
            "v2 without authentication",
            encode(&v2_advert(priority, 1, Auth::None), ATTACKER, target, rfc),
            "v2",
            "VRRPv2 auth type 0 received, 1 configured",
        ),
        packet(
            "v2 wrong password",
            encode(
                &v2_advert(priority, 1, Auth::simple_password(b"guessed")),
                ATTACKER,
                target,
                rfc,
            ),
            "v2",
            "VRRPv2 simple password mismatch",
        ),
        packet(
            "v2 interval 2 s",
            encode(&v2_advert(priority, 2, password), ATTACKER, target, rfc),
            "v2",
            "advertisement interval differs from ours (VRRPv2)",
        ),
        packet(
            "unicast instance, unknown peer",
            encode(
                &v3_advert(UNICAST_VRID, priority, &[UNICAST_VIP]),
                ATTACKER,
                target,
                rfc,
            ),
            "unicast",
            "the sender is not one of the configured unicast peers",
        ),
    ]
}

/// Sends `rounds` rounds of `packets` from inside `attacker`, `pause` apart; returns how
/// many packets could not be sent (a full transmit queue under a flood).
fn send_rounds(attacker: &Netns, packets: Vec<Crafted>, rounds: usize, pause: Duration) -> usize {
    attacker.enter(move || {
        // IPPROTO_RAW implies IP_HDRINCL: the packet carries its own header, TTL and source.
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(libc::IPPROTO_RAW)),
        )
        .expect("a raw IPv4 socket in the attacker's namespace");
        let mut unsent = 0;
        for _ in 0..rounds {
            for packet in &packets {
                let destination = SocketAddrV4::new(packet.destination, 0);
                if socket
                    .send_to(&packet.bytes(), &destination.into())
                    .is_err()
                {
                    unsent += 1;
                }
            }
            std::thread::sleep(pause);
        }
        unsent
    })
}

/// Receive times (kernel timestamps, so the capturing thread's scheduling does not count)
/// of VRRP frames from `mac` with `vrid`, seen in `ns` over `duration`.
fn advert_times(
    ns: &Netns,
    mac: [u8; 6],
    vrid: u8,
    duration: Duration,
) -> std::thread::JoinHandle<Vec<Duration>> {
    ns.spawn_inside(move || {
        let protocol = socket2::Protocol::from(i32::from(daemon_lab::ETH_P_IP.to_be()));
        let socket =
            socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, Some(protocol))
                .expect("AF_PACKET socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .expect("a read timeout");
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).expect("SO_TIMESTAMPNS");
        let mut times = Vec::new();
        let mut frame = [0u8; 1514];
        let mut control = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            let mut iov = [std::io::IoSliceMut::new(&mut frame)];
            let Ok(message) = recvmsg::<()>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::empty(),
            ) else {
                continue;
            };
            let stamp = message.cmsgs().ok().and_then(|mut messages| {
                messages.find_map(|message| match message {
                    ControlMessageOwned::ScmTimestampns(stamp) => Some(Duration::from(stamp)),
                    _ => None,
                })
            });
            let length = message.bytes;
            // Ethernet source, IPv4 protocol 112, TTL 255 (not a spoofed copy), the VRID.
            let ours = length > 35
                && frame[6..12] == mac
                && frame[23] == 112
                && frame[22] == 255
                && frame[35] == vrid;
            if let (true, Some(stamp)) = (ours, stamp) {
                times.push(stamp);
            }
        }
        times
    })
}

/// How many refusals `daemon` logged whose reason ends with `reason`, for `instance` (or at
/// the router, with `reason` as the message, for `None`).
fn refusals(daemon: &Daemon, instance: Option<&str>, reason: &str) -> usize {
    daemon
        .log_lines()
        .iter()
        .filter(|line| match instance {
            Some(instance) => {
                line["instance"].as_str() == Some(instance)
                    && line["error"]
                        .as_str()
                        .is_some_and(|error| error.ends_with(reason))
            }
            None => line["message"].as_str() == Some(reason),
        })
        .count()
}

fn holds_all(lab: &DaemonLab, host: &str) -> bool {
    [V3_VIP, V2_VIP, UNICAST_VIP]
        .iter()
        .all(|vip| lab.holds(host, vip))
}

fn holds_none(lab: &DaemonLab, host: &str) -> bool {
    [V3_VIP, V2_VIP, UNICAST_VIP]
        .iter()
        .all(|vip| !lab.holds(host, vip))
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn hostile_adverts_are_refused_counted_and_change_nothing() {
    require_root("hostile_adverts_are_refused_counted_and_change_nothing");
    let lab = DaemonLab::new(
        Lab::builder()
            .host("h1")
            .host("h2")
            .host("atk")
            .host("mon")
            .build(),
    );
    let master = lab.start_logging("h1", &instances(200, BACKUP), LOG_FILTER);
    assert!(
        wait_until(V2_ELECTION, daemon_lab::POLL, || holds_all(&lab, "h1")),
        "h1 did not become master of all three instances\n{}",
        master.log_text()
    );
    let backup = lab.start_logging("h2", &instances(100, MASTER), LOG_FILTER);
    assert!(
        backup.wait_state_count("BACKUP", 3, daemon_lab::ELECTION),
        "h2 did not start its three instances\n{}",
        backup.log_text()
    );
    // The v2 backup must have heard a 1 s advert before the attack, so its state is settled.
    std::thread::sleep(Duration::from_millis(1500));
    let transitions = (master.states().len(), backup.states().len());

    let checks_duration = ROUND_PAUSE * u32::try_from(ROUNDS).expect("few rounds");
    let watch = checks_duration + Duration::from_secs(3);
    let wire = advert_times(
        lab.ns("mon"),
        daemon_lab::mac_of(&lab, "h1"),
        V3_VRID,
        watch,
    );
    let mut packets = hostile_packets(MASTER, 254);
    packets.extend(hostile_packets(BACKUP, 0));
    let attack_started = Instant::now();
    let unsent = send_rounds(lab.ns("atk"), packets.clone(), ROUNDS, ROUND_PAUSE);
    assert_eq!(unsent, 0, "the check phase could not send every packet");
    println!(
        "check phase: {} packets in {:?}",
        packets.len() * ROUNDS,
        attack_started.elapsed()
    );

    // Let the last packets reach the logs.
    std::thread::sleep(Duration::from_millis(300));
    let mut failures = Vec::new();
    for packet in &packets {
        let daemon = if packet.destination == MASTER {
            &master
        } else {
            &backup
        };
        let seen = refusals(daemon, packet.instance, &packet.reason);
        let host = if packet.destination == MASTER {
            "master"
        } else {
            "backup"
        };
        println!("{host:6} {:36} refused {seen:3}", packet.check);
        let expected = if packet.kernel_drops { 0 } else { ROUNDS };
        if seen != expected {
            failures.push(format!(
                "{host} logged {seen}, not {expected}, `{}` refusals for {}",
                packet.reason, packet.check
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The flood: higher-priority adverts from the unknown source at both unicast instances,
    // as fast as the attacker's socket takes them.
    let flood: Vec<Crafted> = hostile_packets(MASTER, 254)
        .into_iter()
        .chain(hostile_packets(BACKUP, 0))
        .filter(|packet| packet.instance == Some("unicast"))
        .collect();
    let flood_started = Instant::now();
    let flood_unsent = send_rounds(lab.ns("atk"), flood, FLOOD_PACKETS, FLOOD_PAUSE);
    println!(
        "flood: {} packets ({flood_unsent} not sent) in {:?}",
        2 * FLOOD_PACKETS,
        flood_started.elapsed()
    );
    let times = wire.join().expect("the wire capture thread");
    // Let the last flood packets reach the logs.
    std::thread::sleep(Duration::from_millis(300));

    let flood_refused = |daemon: &Daemon| {
        refusals(
            daemon,
            Some("unicast"),
            "the sender is not one of the configured unicast peers",
        )
    };
    println!(
        "flood refused: master {}, backup {} (the kernel may drop some on a full socket buffer)",
        flood_refused(&master).saturating_sub(ROUNDS),
        flood_refused(&backup).saturating_sub(ROUNDS)
    );

    assert_eq!(
        (master.states().len(), backup.states().len()),
        transitions,
        "a hostile packet changed a state\nmaster: {:?}\nbackup: {:?}",
        master.states(),
        backup.states()
    );
    assert!(holds_all(&lab, "h1"), "the master lost a VIP");
    assert!(holds_none(&lab, "h2"), "the backup holds a VIP");

    let gaps: Vec<Duration> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        gaps.len() >= 20,
        "only {} adverts of the master seen on the wire",
        times.len()
    );
    let shortest = gaps.iter().min().copied().unwrap_or_default();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "master adverts on the wire during the attack: {} gaps, {shortest:?}..{longest:?}",
        gaps.len()
    );
    assert!(
        longest < LONGEST_GAP && shortest >= SHORTEST_GAP,
        "the master's advert gaps strayed: {shortest:?}..{longest:?}, allowed \
         {SHORTEST_GAP:?}..{LONGEST_GAP:?}"
    );
    lab.finish();
}
