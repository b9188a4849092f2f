//! keepalived's data and statistics dumps: SIGUSR1 and SIGUSR2 make keepalived 2.2.7 write
//! `/tmp/keepalived.data` and `/tmp/keepalived.stats` (keepalived/vrrp/vrrp_print.c). The
//! default action of both signals is to end the process, so an operator's habit of
//! `kill -USR1` must not stop this daemon: the same signals write the same two views of every
//! instance, beside the API socket (the directory the daemon owns, and writable under the
//! systemd unit, whose /tmp is private).
//!
//! Each dump replaces the last one whole: it is written to a new file and renamed over it,
//! so a reader never sees half of one.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Preempt;
use crate::events::stats::reason_label;
use crate::events::status::InstanceStatus;

/// Which dump a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dump {
    /// SIGUSR1: each instance's settings and state.
    Data,
    /// SIGUSR2: each instance's RFC 6527 counters.
    Stats,
}

impl Dump {
    /// The file it is written to, in the dump directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Dump::Data => "vrrp-sidecar.data",
            Dump::Stats => "vrrp-sidecar.stats",
        }
    }

    /// The dump's text for `statuses`, taken at `now`.
    pub fn render(self, statuses: &[InstanceStatus], now: SystemTime) -> String {
        let mut text = format!(
            "vrrp-sidecar {}, {}: {} instance(s)\n",
            match self {
                Dump::Data => "data",
                Dump::Stats => "statistics",
            },
            httpdate::fmt_http_date(now),
            statuses.len()
        );
        for status in statuses {
            text.push('\n');
            match self {
                Dump::Data => data(&mut text, status),
                Dump::Stats => stats(&mut text, status),
            }
        }
        text
    }

    /// Writes the dump of `statuses` into `directory`; returns the file written.
    pub async fn write(self, directory: &Path, statuses: &[InstanceStatus]) -> io::Result<PathBuf> {
        let path = directory.join(self.file_name());
        let partial = directory.join(format!(".{}.{}", self.file_name(), std::process::id()));
        let text = self.render(statuses, SystemTime::now());
        // A leftover of an interrupted dump goes first: the new file is created, never
        // opened through whatever is there.
        match tokio::fs::remove_file(&partial).await {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        let mut file = options.open(&partial).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, text.as_bytes()).await?;
        drop(file);
        tokio::fs::rename(&partial, &path).await?;
        Ok(path)
    }
}

/// The instance's settings and state, one fact a line (`fmt::Write` on a `String` cannot
/// fail).
fn data(text: &mut String, status: &InstanceStatus) {
    let settings = &status.settings;
    let yes_no = |flag: bool| if flag { "yes" } else { "no" };
    let _ = writeln!(text, "instance {}", settings.name);
    let _ = writeln!(
        text,
        "  interface {}, VRID {}, VRRPv{}, {}",
        settings.interface,
        settings.vrid,
        match settings.version {
            crate::vrrp::Version::V2 => 2,
            crate::vrrp::Version::V3 => 3,
        },
        settings.family()
    );
    let _ = write!(text, "  state {}", status.state);
    if let Some((at, cause)) = status.last_transition {
        let _ = write!(
            text,
            " since {} ({})",
            httpdate::fmt_http_date(at),
            reason_label(cause)
        );
    }
    text.push('\n');
    let _ = writeln!(
        text,
        "  priority {} (base {}), advert interval {:?}",
        status.effective_priority,
        status.base_priority,
        settings.advert_interval.as_duration()
    );
    match (status.master.address, status.master.priority) {
        (Some(address), Some(priority)) => {
            let _ = writeln!(text, "  master {address}, priority {priority}");
        }
        (Some(address), None) => {
            let _ = writeln!(text, "  master {address}");
        }
        _ => text.push_str("  master unknown\n"),
    }
    let addresses: Vec<String> = status
        .virtual_addresses()
        .iter()
        .map(|vip| format!("{}/{}", vip.address, vip.prefix_len))
        .collect();
    let _ = writeln!(text, "  virtual addresses {}", addresses.join(" "));
    let preempt = match settings.preempt {
        Preempt::After(delay) if delay.is_zero() => "yes".to_owned(),
        Preempt::After(delay) => format!("after {delay:?}"),
        Preempt::Never => "no".to_owned(),
    };
    let _ = writeln!(
        text,
        "  preempt {preempt}, accept mode {}, strict mode {}",
        yes_no(settings.accept_mode),
        yes_no(settings.strict_mode)
    );
    if let Some(unicast) = &settings.unicast {
        let peers: Vec<String> = unicast
            .peers
            .iter()
            .map(|peer| {
                if unicast.check_source {
                    format!("{} (TTL {})", peer.address, peer.hop_limits)
                } else {
                    peer.address.to_string()
                }
            })
            .collect();
        let _ = writeln!(
            text,
            "  unicast to {} with TTL {}, sources checked {}",
            peers.join(" "),
            unicast.ttl,
            yes_no(unicast.check_source)
        );
    }
    if let Some(vmac) = &settings.virtual_mac {
        let _ = writeln!(
            text,
            "  virtual MAC interface {}{}",
            vmac.name,
            if vmac.xmit_base {
                ", adverts from the interface"
            } else {
                ""
            }
        );
    }
    for route in &settings.virtual_routes {
        let _ = writeln!(text, "  virtual route {route}");
    }
    for rule in &settings.virtual_rules {
        let _ = writeln!(text, "  virtual rule {rule}");
    }
    for check in &status.health_checks {
        let _ = writeln!(
            text,
            "  health check {}: {}",
            check.spec.name,
            if check.passing { "passing" } else { "failing" }
        );
    }
}

/// The instance's counters, named as the API's `Counters` names them.
fn stats(text: &mut String, status: &InstanceStatus) {
    let counters = &status.counters;
    let errors = status.receive_errors();
    let _ = writeln!(text, "instance {}", status.settings.name);
    for (name, value) in [
        ("adverts_sent", counters.adverts_sent),
        ("adverts_received", counters.adverts_received),
        ("became_master", counters.became_master),
        ("priority_zero_sent", counters.priority_zero_sent),
        ("priority_zero_received", counters.priority_zero_received),
        ("ttl_errors", errors.ttl),
        ("version_errors", errors.version),
        ("type_errors", errors.kind),
        ("length_errors", errors.length),
        ("checksum_errors", errors.checksum),
        ("vrid_errors", errors.vrid),
        ("auth_errors", errors.auth),
        ("interval_errors", errors.interval),
        ("address_list_errors", errors.address_list),
    ] {
        let _ = writeln!(text, "  {name} {value}");
    }
}
