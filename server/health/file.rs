//! File checks, keepalived's `track_file`: the file holds an integer that moves priority.
//!
//! With weight 0 the value is a verdict: 0 passes, anything else fails (and so puts the
//! instance in Fault). With another weight, value × weight is added to the priority, and a
//! product below -253 means Fault; [`tracked_file_value`] says how the priority arithmetic
//! counts it. A file that cannot be read or does not hold an integer fails the run.
//!
//! keepalived re-reads the file when inotify says it changed; this check re-reads it on its
//! interval instead, which keeps one scheduling model for every kind of check.

use std::path::PathBuf;
use std::time::Duration;

use crate::vrrp::TrackedCheck;

use super::HealthError;
use super::outcome::{RunResult, truncate_at_char_boundary};
use super::runner::{Observation, observe};

/// The lowest product of value and weight that does not mean Fault (keepalived: below -253
/// is Fault).
const LOWEST_ADJUSTMENT: i64 = -253;

/// What the priority arithmetic ([`crate::vrrp::effective_priority`]) counts for a file that
/// reads `value`, tracked with `weight`.
///
/// [`TrackedCheck`] adds a positive weight while passing and a negative one while failing, so
/// the product is handed over as the weight with the matching `passing`; weight 0 with a
/// non-zero value, or a product below -253, is a failing check of weight 0: Fault.
pub fn tracked_file_value(value: i64, weight: i16) -> TrackedCheck {
    const FAULT: TrackedCheck = TrackedCheck {
        weight: 0,
        passing: false,
    };
    if weight == 0 {
        return TrackedCheck {
            weight: 0,
            passing: value == 0,
        };
    }
    let product = value.saturating_mul(i64::from(weight));
    if product < LOWEST_ADJUSTMENT {
        return FAULT;
    }
    // Beyond 254 the clamp to 1..=254 decides anyway; capping keeps it within i16.
    let adjustment = i16::try_from(product.min(254)).unwrap_or(254);
    TrackedCheck {
        weight: adjustment,
        passing: adjustment >= 0,
    }
}

/// Whether a run that read `value` passes: it does unless it would put the instance in Fault.
fn value_passes(value: i64, weight: i16) -> bool {
    let tracked = tracked_file_value(value, weight);
    tracked.weight != 0 || tracked.passing
}

/// A file check.
#[derive(Clone, Debug)]
pub struct FileProbe {
    path: PathBuf,
    weight: i16,
}

impl FileProbe {
    /// A check reading `path`, whose value counts with `weight`.
    pub fn new(path: PathBuf, weight: i16) -> Self {
        Self { path, weight }
    }

    /// Reads the file once.
    pub async fn run(&self, timeout: Duration) -> RunResult {
        observe(timeout, async {
            let text = tokio::fs::read_to_string(&self.path)
                .await
                .map_err(|source| HealthError::ReadFile {
                    path: self.path.clone(),
                    source,
                })?;
            let trimmed = text.trim();
            let value: i64 = trimmed.parse().map_err(|_| {
                let mut shown = trimmed.to_owned();
                truncate_at_char_boundary(&mut shown, 64);
                HealthError::NotAnInteger {
                    path: self.path.clone(),
                    text: shown,
                }
            })?;
            Ok(Observation {
                passed: value_passes(value, self.weight),
                summary: format!("{} reads {value}", self.path.display()),
                output: String::new(),
                value: Some(value),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(weight: i16, passing: bool) -> TrackedCheck {
        TrackedCheck { weight, passing }
    }

    #[test]
    fn weight_zero_fails_on_any_non_zero_value() {
        assert_eq!(tracked_file_value(0, 0), tracked(0, true));
        assert_eq!(tracked_file_value(1, 0), tracked(0, false));
        assert_eq!(tracked_file_value(-5, 0), tracked(0, false));
    }

    #[test]
    fn value_times_weight_is_added_either_way() {
        assert_eq!(tracked_file_value(3, 10), tracked(30, true));
        assert_eq!(tracked_file_value(-3, 10), tracked(-30, false));
        assert_eq!(tracked_file_value(2, -5), tracked(-10, false));
        assert_eq!(tracked_file_value(0, 10), tracked(0, true));
    }

    #[test]
    fn product_below_minus_253_is_fault() {
        assert_eq!(tracked_file_value(-253, 1), tracked(-253, false));
        assert_eq!(tracked_file_value(-254, 1), tracked(0, false));
        assert_eq!(tracked_file_value(i64::MIN, 254), tracked(0, false));
        assert!(!value_passes(-254, 1));
        assert!(value_passes(-253, 1));
    }

    #[test]
    fn huge_products_are_capped_at_254() {
        assert_eq!(tracked_file_value(i64::MAX, 2), tracked(254, true));
    }
}
