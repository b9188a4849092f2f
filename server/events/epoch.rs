//! The boot epoch: which run of the daemon a revision belongs to.

use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

/// Identifies one run of the daemon. Revisions restart with every run, so a watcher compares
/// epochs before it trusts a revision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Epoch(String);

impl Epoch {
    /// A fresh epoch: the start time in microseconds and 32 random bits, in hex.
    ///
    /// The time alone could repeat after a clock step and the random part alone is harder
    /// to read in logs; together they do not repeat in practice.
    pub fn generate(now: SystemTime) -> Self {
        let micros = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_micros());
        // RandomState is seeded from the OS's randomness once per process, which is all the
        // uniqueness an epoch needs, without a dependency on a random-number crate.
        let random = RandomState::new().build_hasher().finish() as u32;
        Epoch(format!("{micros:x}-{random:08x}"))
    }

    /// The epoch as it is sent to watchers.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Epoch {
    fn from(text: &str) -> Self {
        Epoch(text.to_owned())
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn two_epochs_at_the_same_time_differ() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_ne!(Epoch::generate(now), Epoch::generate(now));
    }

    #[test]
    fn an_epoch_starts_with_its_time_in_hex() {
        let epoch = Epoch::generate(UNIX_EPOCH + Duration::from_micros(0xabc));
        assert!(epoch.as_str().starts_with("abc-"), "{epoch}");
    }
}
