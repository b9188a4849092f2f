//! What makes a health check valid, for the configuration file and the API alike: one set of
//! rules and defaults, so a check one of them takes the other takes too. Each reader turns a
//! refusal into its own form (a finding with the file's line, a gRPC status naming the
//! field); the reason is the same text.

use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

/// The interval of a probed check when none is given (keepalived's `vrrp_script` default);
/// the timeout defaults to the interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest interval, timeout or lease TTL taken: shorter only loads the daemon, and is
/// below what the 1 ms timer precision of the check tasks can honour.
pub const SHORTEST_PERIOD: Duration = Duration::from_millis(10);

/// The longest interval, timeout or lease TTL taken: a day; a longer one is a mistake.
pub const LONGEST_PERIOD: Duration = Duration::from_secs(86_400);

/// A check's weight: keepalived's range; 0 puts the instance in Fault while the check fails.
pub const WEIGHTS: RangeInclusive<i64> = -254..=254;

/// Consecutive results that make a check pass (`rise`) or fail (`fall`).
pub const COUNTS: RangeInclusive<i64> = 1..=255;

/// The HTTP statuses a check may expect.
pub const HTTP_STATUSES: RangeInclusive<i64> = 100..=599;

/// The longest name a check registered over the API may have.
pub const REGISTERED_NAME_LIMIT: usize = 64;

/// Linux interface names are 1 to 15 bytes (IFNAMSIZ less the NUL).
pub const MAX_INTERFACE_NAME: usize = 15;

/// How many processes a process check may ask for, at least (`quorum`) or at most
/// (`quorum_max`): keepalived's range.
pub const PROCESS_COUNTS: RangeInclusive<i64> = 0..=65_535;

/// The longest `fork_delay` or `terminate_delay` of a process check: keepalived's hour.
pub const LONGEST_PROCESS_DELAY: Duration = Duration::from_secs(3_600);

/// The name (`comm`) the kernel keeps of a process is at most 15 bytes (TASK_COMM_LEN less
/// the NUL).
pub const MAX_PROCESS_NAME: usize = 15;

/// A process check's `fork_delay` or `terminate_delay`: 0 to [`LONGEST_PROCESS_DELAY`].
pub fn process_delay(delay: Duration) -> Result<Duration, String> {
    if delay <= LONGEST_PROCESS_DELAY {
        Ok(delay)
    } else {
        Err(format!(
            "{delay:?} is out of range: use 0s to {LONGEST_PROCESS_DELAY:?}"
        ))
    }
}

/// A process check's name to match: not empty, and, compared with the kernel's 15-byte
/// process name (no `full_command`), not longer than that name can be.
pub fn process_name(name: &str, uses_command_line: bool) -> Result<(), String> {
    if name.is_empty() {
        Err("is empty: name a process".to_owned())
    } else if !uses_command_line && name.len() > MAX_PROCESS_NAME {
        Err(format!(
            "\"{name}\" is {} bytes long, and the kernel keeps at most {MAX_PROCESS_NAME} bytes \
             of a process's name, so it would never match; set `full_command = true` to \
             compare the program of the command line instead",
            name.len()
        ))
    } else {
        Ok(())
    }
}

/// A process check's `quorum` and `quorum_max` together.
pub fn process_quorum(quorum: u16, quorum_max: u16) -> Result<(), String> {
    if quorum > quorum_max {
        Err(format!(
            "quorum {quorum} is above quorum_max {quorum_max}: no count of processes would pass"
        ))
    } else {
        Ok(())
    }
}

/// An interval, timeout or lease TTL within [`SHORTEST_PERIOD`]..=[`LONGEST_PERIOD`].
pub fn period(period: Duration) -> Result<Duration, String> {
    if (SHORTEST_PERIOD..=LONGEST_PERIOD).contains(&period) {
        Ok(period)
    } else {
        Err(format!(
            "{period:?} is out of range: use {SHORTEST_PERIOD:?} to {LONGEST_PERIOD:?}"
        ))
    }
}

/// A Linux interface name, as the kernel's `dev_valid_name` takes it: 1 to 15 bytes, not `.`
/// or `..`, without `/`, `:` or white space.
pub fn interface_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("is empty: name an interface".to_owned())
    } else if name.len() > MAX_INTERFACE_NAME {
        Err(format!(
            "\"{name}\" is {} bytes long; Linux interface names have at most {MAX_INTERFACE_NAME}",
            name.len()
        ))
    } else if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.chars().any(char::is_whitespace)
    {
        Err(format!(
            "\"{name}\" is not an interface name: 1 to {MAX_INTERFACE_NAME} bytes, not . or .., \
             without '/', ':' or spaces"
        ))
    } else {
        Ok(())
    }
}

/// The URL an HTTP check GETs: plain `http://`, the only scheme the check speaks (`https://`
/// would need a TLS stack and root certificates in the daemon).
pub fn http_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") {
        Ok(())
    } else if url.starts_with("https://") {
        Err(format!(
            "\"{url}\": https is not supported yet; use http://"
        ))
    } else {
        Err(format!("\"{url}\" is not an http:// URL"))
    }
}

/// A file a check reads or a program it runs: absolute, since the daemon's working directory
/// is nobody's business.
pub fn absolute_path(path: &Path) -> Result<(), String> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is relative; write an absolute path (a relative one would depend on the \
             daemon's working directory)",
            path.display()
        ))
    }
}

/// The name of a check registered over the API: 1 to 64 letters, digits, '-', '_' or '.'.
/// (A check in the file is named by its key, under the file's stricter rule for keys that
/// environment variables can name.)
pub fn registered_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= REGISTERED_NAME_LIMIT
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a check name: use 1 to {REGISTERED_NAME_LIMIT} letters, digits, \
             '-', '_' or '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_the_kernel() {
        assert!(interface_name("eth0").is_ok());
        assert!(interface_name("a-very-long-nm1").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "eth0:1",
            "a/b",
            "has space",
            "sixteen-bytes-xx",
        ] {
            assert!(interface_name(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn periods_are_bounded_both_ways() {
        assert!(period(Duration::from_millis(10)).is_ok());
        assert!(period(Duration::from_secs(86_400)).is_ok());
        assert!(period(Duration::from_millis(9)).is_err());
        assert!(period(Duration::ZERO).is_err());
        assert!(period(Duration::from_secs(86_401)).is_err());
    }

    #[test]
    fn only_plain_http_urls() {
        assert!(http_url("http://192.0.2.1/health").is_ok());
        assert!(
            http_url("https://192.0.2.1/health")
                .unwrap_err()
                .contains("https")
        );
        assert!(http_url("ftp://192.0.2.1/").is_err());
    }
}
