//! Gratuitous ARPs and unsolicited NAs as they cross the lab's bridges: tshark captures them
//! on the bridges' side (no host's own clock or socket involved), and each becomes an
//! [`Announcement`] with the capture's timestamp, so tests can measure the spacing between
//! two messages on the wire.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{DaemonLab, POLL};
use crate::netns::wait_until;

/// How long tshark may take to start writing, or to finish its file on SIGINT.
const TSHARK_WAIT: Duration = Duration::from_secs(10);

/// One announcement seen on a bridge.
#[derive(Clone, Debug, PartialEq)]
pub struct Announcement {
    /// Seconds since the epoch, as captured.
    pub at: f64,
    /// The bridge it crossed (`br0`, `br1`).
    pub bridge: String,
    /// The address announced: the ARP's sender and target, or the NA's target.
    pub address: IpAddr,
}

/// tshark capturing ARP and ICMPv6 on bridges of a lab, until [`AnnouncementCapture::stop`].
pub struct AnnouncementCapture {
    pid: u32,
    file: PathBuf,
}

impl AnnouncementCapture {
    /// Starts capturing on `bridges` of `lab` into the scratch file `name`; returns once
    /// tshark writes, so nothing sent afterwards is missed.
    pub fn start(lab: &DaemonLab, name: &str, bridges: &[&str]) -> Self {
        let file = lab.scratch(name);
        let file_argument = file.display().to_string();
        let mut command = vec!["tshark", "-q"];
        for bridge in bridges {
            command.extend(["-i", bridge]);
        }
        command.extend(["-f", "arp or icmp6", "-w", &file_argument]);
        let pid = lab.lab.spawn(&lab.lab.bridge, &command);
        let capturing = wait_until(TSHARK_WAIT, POLL, || {
            std::fs::metadata(&file).is_ok_and(|metadata| metadata.len() > 0)
        });
        assert!(
            capturing,
            "tshark did not start capturing within {TSHARK_WAIT:?}"
        );
        AnnouncementCapture { pid, file }
    }

    /// Stops the capture and returns the announcements of `addresses` in it, in order: a
    /// gratuitous ARP (sender and target the same address) or an NA whose target it is.
    pub fn stop(self, lab: &DaemonLab, addresses: &[IpAddr]) -> Vec<Announcement> {
        lab.lab.signal(self.pid, Signal::SIGINT);
        assert!(
            lab.lab.wait_exit(self.pid, TSHARK_WAIT).is_some(),
            "tshark did not stop on SIGINT"
        );
        let output = Command::new("tshark")
            .arg("-r")
            .arg(&self.file)
            .args([
                "-Y",
                "arp or icmpv6.type == 136",
                "-T",
                "fields",
                "-E",
                "separator=|",
            ])
            .args(["-e", "frame.time_epoch", "-e", "frame.interface_name"])
            .args(["-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4"])
            .args(["-e", "icmpv6.nd.na.target_address"])
            .output()
            .unwrap_or_else(|error| panic!("cannot run tshark: {error}"));
        assert!(
            output.status.success(),
            "tshark -r {} failed: {}",
            self.file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split('|').collect();
                let [at, bridge, sender, target, na_target] = fields[..] else {
                    panic!("tshark printed {line:?}");
                };
                let address: IpAddr = match (sender, target, na_target) {
                    (sender, target, "") if !sender.is_empty() && sender == target => {
                        sender.parse().ok()?
                    }
                    ("", "", na_target) if !na_target.is_empty() => na_target.parse().ok()?,
                    _ => return None,
                };
                addresses.contains(&address).then(|| Announcement {
                    at: at
                        .parse()
                        .expect("tshark prints the epoch time as a number"),
                    bridge: bridge.to_owned(),
                    address,
                })
            })
            .collect()
    }
}

/// `announcements` cut into bursts: a gap longer than `quiet` starts the next.
pub fn bursts(announcements: &[Announcement], quiet: Duration) -> Vec<Vec<Announcement>> {
    let mut bursts: Vec<Vec<Announcement>> = Vec::new();
    for announcement in announcements {
        match bursts.last_mut() {
            Some(burst)
                if announcement.at - burst.last().map_or(0.0, |last| last.at)
                    <= quiet.as_secs_f64() =>
            {
                burst.push(announcement.clone());
            }
            _ => bursts.push(vec![announcement.clone()]),
        }
    }
    bursts
}

/// The messages of `burst` on `bridge`: each address with its time after the burst's first
/// message on that bridge, in milliseconds.
pub fn on_bridge(burst: &[Announcement], bridge: &str) -> Vec<(IpAddr, f64)> {
    let on: Vec<&Announcement> = burst
        .iter()
        .filter(|message| message.bridge == bridge)
        .collect();
    let Some(first) = on.first().map(|message| message.at) else {
        return Vec::new();
    };
    on.iter()
        .map(|message| (message.address, (message.at - first) * 1000.0))
        .collect()
}

/// The gaps between consecutive messages, in milliseconds.
pub fn gaps(messages: &[(IpAddr, f64)]) -> Vec<f64> {
    messages
        .windows(2)
        .map(|pair| pair[1].1 - pair[0].1)
        .collect()
}
