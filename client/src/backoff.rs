//! How long to wait between reconnection attempts.

use std::time::Duration;

/// Exponential backoff for reconnecting: the delay doubles from `initial` up to `max`, and each
/// wait is drawn at random between half the delay and the full delay, so the clients of a
/// restarted daemon do not all come back in the same millisecond.
///
/// ```
/// use std::time::Duration;
/// use vrrp_sidecar_client::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
/// assert_eq!(backoff.max(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// Backoff from `initial` doubling up to `max` (raised to `initial` if smaller).
    ///
    /// ```
    /// use std::time::Duration;
    /// use vrrp_sidecar_client::Backoff;
    ///
    /// let quick = Backoff::new(Duration::from_millis(10), Duration::from_millis(200));
    /// assert_eq!(quick.initial(), Duration::from_millis(10));
    /// ```
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
        }
    }

    /// The delay before the first retry (before jitter).
    ///
    /// ```
    /// use vrrp_sidecar_client::Backoff;
    ///
    /// assert_eq!(Backoff::default().initial().as_millis(), 100);
    /// ```
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest delay between two attempts (before jitter).
    ///
    /// ```
    /// use vrrp_sidecar_client::Backoff;
    ///
    /// assert_eq!(Backoff::default().max().as_secs(), 10);
    /// ```
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The jittered wait before retry number `attempt` (0 for the first retry).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        // Past 2^16 the delay is capped long before; the clamp only keeps the shift defined.
        let ceiling = self
            .initial
            .saturating_mul(1 << attempt.min(16))
            .min(self.max);
        ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 10 s: quick after a daemon restart, gentle when it stays away.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_within_the_jitter_band() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(700));
        for (attempt, ceiling_ms) in [(0, 100), (1, 200), (2, 400), (3, 700), (40, 700)] {
            for _ in 0..100 {
                let delay = backoff.delay(attempt);
                let ceiling = Duration::from_millis(ceiling_ms);
                assert!(
                    delay <= ceiling && delay >= ceiling / 2,
                    "attempt {attempt}: {delay:?}"
                );
            }
        }
    }
}
