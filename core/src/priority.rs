//! Priority: the value a router advertises, the owner's special value, and how tracked health
//! checks move it (the effective priority).
//!
//! The arithmetic follows keepalived, which operators already know: a passing check with a
//! positive weight adds it, a failing check with a negative weight subtracts it, a failing check
//! with weight 0 puts the instance in Fault, and the result is clamped to 1..=254 so that a
//! health check can neither make a router the address owner nor make it send priority 0. The
//! owner (255) ignores weights: RFC 9568 §6.1 ties priority 255 to owning the addresses, which a
//! health check cannot change.

use std::fmt;

/// A router's priority for one virtual router, 1..=255 (RFC 9568 §5.2.4, RFC 3768 §5.3.4).
///
/// Priority 0 exists only on the wire, meaning "the master is stopping"; it is never a
/// router's own priority, so this type cannot hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

impl Priority {
    /// 255: the router owns the virtual addresses (RFC 9568 §6.1) and takes over at once.
    pub const OWNER: Priority = Priority(255);
    /// 254: the highest priority a router that does not own the addresses may have.
    pub const MAX_BACKUP: Priority = Priority(254);
    /// 1: the lowest priority a router may have.
    pub const MIN: Priority = Priority(1);
    /// 100: the default of both RFCs (RFC 9568 §6.1, RFC 3768 §6.1).
    pub const DEFAULT: Priority = Priority(100);

    /// A priority of `value`; `None` for 0, which only a stopping master sends.
    pub const fn new(value: u8) -> Option<Self> {
        if value == 0 {
            None
        } else {
            Some(Priority(value))
        }
    }

    /// The priority as carried in an advertisement.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Whether this is the address owner's priority, 255.
    pub const fn is_owner(self) -> bool {
        self.0 == Self::OWNER.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The current result of one health check tracked by an instance, with its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackedCheck {
    /// keepalived's `weight`: positive adds while passing, negative subtracts while failing,
    /// zero puts the instance in Fault while failing.
    pub weight: i16,
    /// Whether the check currently passes (after its rise/fall counting).
    pub passing: bool,
}

/// What the tracked checks make of an instance's configured priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectivePriority {
    /// Run with this priority.
    Run(Priority),
    /// A failing check has weight 0: the instance must be in Fault.
    Fault,
}

/// The effective priority of an instance configured with `base` whose tracked checks are
/// `checks` (see the module documentation for the rules).
pub fn effective_priority(
    base: Priority,
    checks: impl IntoIterator<Item = TrackedCheck>,
) -> EffectivePriority {
    let mut adjusted = i64::from(base.get());
    for check in checks {
        match (check.weight, check.passing) {
            (0, false) => return EffectivePriority::Fault,
            (weight, true) if weight > 0 => adjusted += i64::from(weight),
            (weight, false) if weight < 0 => adjusted += i64::from(weight),
            _ => {}
        }
    }
    if base.is_owner() {
        return EffectivePriority::Run(base);
    }
    let clamped = adjusted.clamp(
        i64::from(Priority::MIN.get()),
        i64::from(Priority::MAX_BACKUP.get()),
    );
    // The clamp keeps the value within 1..=254, so it fits a u8 and is never zero.
    EffectivePriority::Run(Priority(clamped as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(weight: i16, passing: bool) -> TrackedCheck {
        TrackedCheck { weight, passing }
    }

    fn run(value: u8) -> EffectivePriority {
        EffectivePriority::Run(Priority::new(value).unwrap())
    }

    #[test]
    fn zero_is_not_a_priority() {
        assert_eq!(Priority::new(0), None);
        assert!(Priority::new(255).unwrap().is_owner());
        assert!(!Priority::MAX_BACKUP.is_owner());
    }

    #[test]
    fn positive_weight_counts_while_passing_negative_while_failing() {
        let base = Priority::new(100).unwrap();
        assert_eq!(effective_priority(base, [check(10, true)]), run(110));
        assert_eq!(effective_priority(base, [check(10, false)]), run(100));
        assert_eq!(effective_priority(base, [check(-30, false)]), run(70));
        assert_eq!(effective_priority(base, [check(-30, true)]), run(100));
        assert_eq!(
            effective_priority(base, [check(10, true), check(-30, false), check(5, true)]),
            run(85)
        );
    }

    #[test]
    fn result_is_clamped_to_1_through_254() {
        let base = Priority::new(200).unwrap();
        assert_eq!(effective_priority(base, [check(100, true)]), run(254));
        assert_eq!(effective_priority(base, [check(-250, false)]), run(1));
        assert_eq!(
            effective_priority(base, [check(i16::MIN, false), check(i16::MIN, false)]),
            run(1)
        );
    }

    #[test]
    fn failing_check_of_weight_zero_means_fault() {
        let base = Priority::new(100).unwrap();
        assert_eq!(effective_priority(base, [check(0, true)]), run(100));
        assert_eq!(
            effective_priority(base, [check(20, true), check(0, false)]),
            EffectivePriority::Fault
        );
        assert_eq!(
            effective_priority(Priority::OWNER, [check(0, false)]),
            EffectivePriority::Fault
        );
    }

    #[test]
    fn owner_ignores_weights() {
        assert_eq!(
            effective_priority(Priority::OWNER, [check(-100, false), check(10, true)]),
            EffectivePriority::Run(Priority::OWNER)
        );
    }
}
