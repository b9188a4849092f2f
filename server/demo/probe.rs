//! The client's view of the VIP: `ping -D -O -n -i 0.01` from the client namespace, its
//! replies collected by a reader thread, and the longest silence between two replies.
//!
//! iputils ping rather than our own ICMP socket: it is on every machine that has `ip`,
//! timestamps each reply as it reads it (`-D`), and is what an operator would run by hand,
//! so the demo's figures are ones a reader can reproduce. The outage is the longest gap
//! between consecutive replies minus the probe interval, the measure the keepalived
//! baseline uses; the number of probes lost comes from the gaps in the sequence numbers.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;

use super::lab::{Lab, LabError, VIP};

/// How often the client sends an echo request.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// `ping -i` for [`PROBE_INTERVAL`].
const PING_INTERVAL_ARGUMENT: &str = "0.01";

/// The reader stops after this many lines: 10^6 lines are almost three hours of probes, far
/// beyond any demo, so the bound only guards against a runaway child.
const MAX_LINES: usize = 1_000_000;

/// What went wrong with the probe.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// `ping` could not be started in the client namespace.
    #[error("starting the client's ping: {0}")]
    Start(#[from] LabError),
    /// `ping` started without the pipe this process asked for.
    #[error("the client's ping has no standard output to read")]
    NoOutput,
}

/// One echo reply, as ping printed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reply {
    /// When ping read it, as time since the Unix epoch (`-D`).
    at: Duration,
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

/// A running ping of the VIP from the client; dropping it stops ping.
#[derive(Debug)]
pub struct Probe {
    ping: Child,
    replies: Arc<Mutex<Vec<Reply>>>,
    reader: Option<JoinHandle<()>>,
}

impl Probe {
    /// Starts pinging the VIP from the lab's client every [`PROBE_INTERVAL`].
    pub fn start(lab: &Lab) -> Result<Probe, ProbeError> {
        let mut ping = lab.spawn_in(
            "client",
            Path::new("ping"),
            &["-D", "-O", "-n", "-i", PING_INTERVAL_ARGUMENT, VIP],
            Stdio::piped(),
            Stdio::null(),
        )?;
        let Some(output) = ping.stdout.take() else {
            // Stop the ping we cannot read; it is ours and nothing else will reap it.
            let _ = ping.kill();
            let _ = ping.wait();
            return Err(ProbeError::NoOutput);
        };
        let replies = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&replies);
        let reader = std::thread::spawn(move || {
            // Ends when ping exits (end of file) or after MAX_LINES.
            for line in BufReader::new(output).lines().take(MAX_LINES) {
                let Ok(line) = line else { return };
                if let Some(reply) = parse_reply(&line) {
                    collected
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(reply);
                }
            }
        });
        Ok(Probe {
            ping,
            replies,
            reader: Some(reader),
        })
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
            let between = pair[1].at.saturating_sub(pair[0].at);
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
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
        Some(now.saturating_sub(last.at))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Reply>> {
        self.replies.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Err(error) = self.ping.kill() {
            eprintln!("could not stop the client's ping: {error}");
        }
        if let Err(error) = self.ping.wait() {
            eprintln!("could not reap the client's ping: {error}");
        }
        // ping is gone, so its output ends and the reader returns.
        if let Some(reader) = self.reader.take()
            && reader.join().is_err()
        {
            eprintln!("the client's ping reader panicked");
        }
    }
}

/// Parses a reply line of `ping -D -n`:
/// `[1764150000.123456] 64 bytes from 192.0.2.100: icmp_seq=7 ttl=64 time=0.061 ms`.
/// Duplicates, "no answer yet" lines and the summary are not replies.
fn parse_reply(line: &str) -> Option<Reply> {
    if !line.contains(" bytes from ") || line.contains("DUP!") {
        return None;
    }
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    let (seconds, micros) = stamp.split_once('.')?;
    let at =
        Duration::from_secs(seconds.parse().ok()?) + Duration::from_micros(micros.parse().ok()?);
    let sequence = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("icmp_seq="))?
        .parse()
        .ok()?;
    Some(Reply { at, sequence })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_line_gives_its_time_and_sequence() {
        let line = "[1764150000.012345] 64 bytes from 192.0.2.100: icmp_seq=7 ttl=64 time=0.061 ms";
        assert_eq!(
            parse_reply(line),
            Some(Reply {
                at: Duration::new(1_764_150_000, 12_345_000),
                sequence: 7,
            })
        );
    }

    #[test]
    fn other_lines_are_not_replies() {
        for line in [
            "PING 192.0.2.100 (192.0.2.100) 56(84) bytes of data.",
            "[1764150000.012345] no answer yet for icmp_seq=8",
            "[1764150000.012345] 64 bytes from 192.0.2.100: icmp_seq=7 ttl=64 time=0.061 ms (DUP!)",
            "5 packets transmitted, 5 received, 0% packet loss, time 41ms",
        ] {
            assert_eq!(parse_reply(line), None, "{line}");
        }
    }
}
