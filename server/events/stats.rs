//! What each instance counts about its transitions, for metrics alone: transitions by
//! reason and how long each failover took. The instance's driver keeps it, so the router's
//! single ownership of instance state holds; metrics only ever read a status copy.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;

use crate::vrrp::{FaultCause, State, TransitionReason};

use super::status::ChangeCause;

/// Upper bounds of the failover duration histogram, in seconds: from a 10 ms VRRPv3 interval
/// (Master_Down_Interval about 36 ms) to a 1 s VRRPv2 one with missed adverts.
pub const FAILOVER_BUCKETS: [f64; 11] =
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How long the instance had no master it could hear: from the last advert of the old master
/// to taking over. For an unplanned failover that is about Master_Down_Interval; for a
/// handover (the old master's priority 0 advert is the last) about Skew_Time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailoverHistogram {
    /// Failovers per bucket of [`FAILOVER_BUCKETS`] (not cumulative), the last one past
    /// them all.
    pub counts: [u64; FAILOVER_BUCKETS.len() + 1],
    /// Their total duration, in microseconds.
    pub sum_micros: u64,
}

impl FailoverHistogram {
    fn record(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let bucket = FAILOVER_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(FAILOVER_BUCKETS.len());
        self.counts[bucket] += 1;
        self.sum_micros = self
            .sum_micros
            .saturating_add(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX));
    }

    /// How many failovers were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// What one instance counts for metrics alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransitionStats {
    /// Transitions by [`reason_label`].
    pub by_reason: BTreeMap<&'static str, u64>,
    /// Failovers to this instance.
    pub failovers: FailoverHistogram,
    /// When an advert from the master we follow was last accepted.
    last_master_advert: Option<Instant>,
}

impl TransitionStats {
    /// An advert from the master we follow was accepted at `now`.
    pub fn heard_master(&mut self, now: Instant) {
        self.last_master_advert = Some(now);
    }

    /// `instance` changed state at `now` to `to` because of `cause`.
    pub fn transition(&mut self, now: Instant, instance: &str, to: State, cause: ChangeCause) {
        *self.by_reason.entry(reason_label(cause)).or_default() += 1;
        if to == State::Master
            && let Some(heard) = self.last_master_advert.take()
        {
            let duration = now.saturating_duration_since(heard);
            self.failovers.record(duration);
            failover_instrument().record(
                duration.as_secs_f64(),
                &[KeyValue::new("vrrp.instance", instance.to_owned())],
            );
        }
        if to != State::Backup {
            self.last_master_advert = None;
        }
    }
}

/// A transition's cause as a metric label.
pub fn reason_label(cause: ChangeCause) -> &'static str {
    match cause {
        ChangeCause::Core(reason) => match reason {
            TransitionReason::Startup => "startup",
            TransitionReason::MasterDownTimerExpired => "master_down_timer",
            TransitionReason::PriorityZeroReceived => "priority_zero_received",
            TransitionReason::PreemptedLowerPriorityMaster => "preemption",
            TransitionReason::HigherPriorityAdvert => "higher_priority_advert",
            TransitionReason::Shutdown => "shutdown",
            TransitionReason::Resigned => "resign",
            TransitionReason::PriorityChanged => "priority_command",
            TransitionReason::Fault(FaultCause::CheckFailed) => "check_failed",
            TransitionReason::Fault(FaultCause::InterfaceDown) => "interface_down",
            TransitionReason::Fault(FaultCause::NoSourceAddress) => "no_source_address",
            TransitionReason::Fault(FaultCause::SyncGroup) => "sync_group_fault",
            TransitionReason::Fault(FaultCause::NoUnicastPeers) => "no_unicast_peers",
            TransitionReason::FaultCleared => "fault_cleared",
            TransitionReason::SyncGroup => "sync_group",
        },
        ChangeCause::InterfaceRecovered => "interface_recovered",
        ChangeCause::CheckRecovered => "check_recovered",
        ChangeCause::CheckMovedPriority => "check_moved_priority",
        ChangeCause::SyncGroup => "sync_group",
    }
}

/// The OpenTelemetry histogram of failover durations. Created on first use, which is after
/// the meter provider is installed (the pipelines start before any instance), and a no-op
/// when no provider is.
pub fn failover_instrument() -> &'static Histogram<f64> {
    static FAILOVER: OnceLock<Histogram<f64>> = OnceLock::new();
    FAILOVER.get_or_init(|| {
        opentelemetry::global::meter("vrrp-sidecar")
            .f64_histogram("vrrp.failover.duration")
            .with_unit("s")
            .with_description(
                "Time from the last advert of the old master to taking over as master",
            )
            .with_boundaries(FAILOVER_BUCKETS.to_vec())
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failover_counts_from_the_last_advert_heard_and_only_into_master() {
        let start = Instant::now();
        let mut stats = TransitionStats::default();
        stats.transition(
            start,
            "vi",
            State::Backup,
            ChangeCause::Core(TransitionReason::Startup),
        );
        stats.heard_master(start + Duration::from_millis(100));
        stats.transition(
            start + Duration::from_millis(460),
            "vi",
            State::Master,
            ChangeCause::Core(TransitionReason::MasterDownTimerExpired),
        );
        assert_eq!(stats.failovers.count(), 1);
        assert_eq!(stats.failovers.sum_micros, 360_000);
        // 0.36 s falls in the 0.5 s bucket.
        assert_eq!(stats.failovers.counts[5], 1);
        assert_eq!(stats.by_reason.get("startup"), Some(&1));
        assert_eq!(stats.by_reason.get("master_down_timer"), Some(&1));
        // Nothing heard since: the next take-over is no failover.
        stats.transition(
            start + Duration::from_secs(2),
            "vi",
            State::Backup,
            ChangeCause::Core(TransitionReason::HigherPriorityAdvert),
        );
        stats.transition(
            start + Duration::from_secs(3),
            "vi",
            State::Master,
            ChangeCause::Core(TransitionReason::MasterDownTimerExpired),
        );
        assert_eq!(stats.failovers.count(), 1);
    }
}
