//! Metrics: what each instance counts for them, and the figures in two forms, Prometheus
//! text for those who scrape and OpenTelemetry instruments for those who push over OTLP.
//!
//! Most figures already exist: the state, priorities and RFC 6527 counters of each instance
//! are in its status, which the router hands out on request. What only metrics need, the
//! transitions by reason and how long each failover took, is counted by [`TransitionStats`]
//! inside the instance's driver, so the router's single ownership of instance state holds:
//! the metrics side only ever reads a status copy.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter};

use crate::api::v1;
use crate::daemon::status::{ChangeCause, InstanceStatus};
use crate::vrrp::{FaultCause, State, TransitionReason};

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
            TransitionReason::FaultCleared => "fault_cleared",
            TransitionReason::SyncGroup => "sync_group",
        },
        ChangeCause::InterfaceRecovered => "interface_recovered",
        ChangeCause::CheckRecovered => "check_recovered",
        ChangeCause::CheckMovedPriority => "check_moved_priority",
        ChangeCause::SyncGroup => "sync_group",
    }
}

fn meter() -> Meter {
    opentelemetry::global::meter("vrrp-sidecar")
}

/// The OpenTelemetry histogram of failover durations. Created on first use, which is after
/// the meter provider is installed (the pipelines start before any instance), and a no-op
/// when no provider is.
fn failover_instrument() -> &'static Histogram<f64> {
    static FAILOVER: OnceLock<Histogram<f64>> = OnceLock::new();
    FAILOVER.get_or_init(|| {
        meter()
            .f64_histogram("vrrp.failover.duration")
            .with_unit("s")
            .with_description(
                "Time from the last advert of the old master to taking over as master",
            )
            .with_boundaries(FAILOVER_BUCKETS.to_vec())
            .build()
    })
}

/// Every figure at one moment: the instances' statuses and the number of watchers.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Every instance's status.
    pub statuses: Vec<InstanceStatus>,
    /// `WatchState` streams and waiting resigns.
    pub watchers: usize,
    /// Spans dropped because too many were waiting for export.
    pub spans_dropped: u64,
}

fn state_label(state: State) -> &'static str {
    match state {
        State::Initialize => "init",
        State::Backup => "backup",
        State::Master => "master",
        State::Fault => "fault",
    }
}

const STATES: [State; 4] = [
    State::Initialize,
    State::Backup,
    State::Master,
    State::Fault,
];

/// The receive errors of `status` by RFC 6527 statistic, as the API reports them.
fn receive_errors(status: &InstanceStatus) -> [(&'static str, u64); 9] {
    let v1::Counters {
        ttl_errors,
        version_errors,
        type_errors,
        length_errors,
        checksum_errors,
        vrid_errors,
        auth_errors,
        interval_errors,
        address_list_errors,
        ..
    } = crate::api::convert::counters(&status.counters, &status.decode_errors);
    [
        ("ttl", ttl_errors),
        ("version", version_errors),
        ("type", type_errors),
        ("length", length_errors),
        ("checksum", checksum_errors),
        ("vrid", vrid_errors),
        ("auth", auth_errors),
        ("interval", interval_errors),
        ("address_list", address_list_errors),
    ]
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `figures` in the Prometheus text exposition format (version 0.0.4).
pub fn prometheus_text(figures: &Figures) -> String {
    // Writing to a String cannot fail, so the results of writeln! are ignored throughout.
    let mut out = String::new();
    let instances: Vec<(String, &InstanceStatus)> = figures
        .statuses
        .iter()
        .map(|status| (escaped(status.name()), status))
        .collect();
    family(
        &mut out,
        "vrrp_instance_state",
        "gauge",
        "1 for the state the instance is in, 0 for the others.",
    );
    for (name, status) in &instances {
        for state in STATES {
            let _ = writeln!(
                out,
                "vrrp_instance_state{{instance=\"{name}\",vrid=\"{}\",state=\"{}\"}} {}",
                status.settings.vrid,
                state_label(state),
                u8::from(status.state == state)
            );
        }
    }
    family(
        &mut out,
        "vrrp_instance_base_priority",
        "gauge",
        "Priority before health-check weights: configured, or set over the API.",
    );
    for (name, status) in &instances {
        let _ = writeln!(
            out,
            "vrrp_instance_base_priority{{instance=\"{name}\"}} {}",
            status.base_priority
        );
    }
    family(
        &mut out,
        "vrrp_instance_effective_priority",
        "gauge",
        "Priority the instance advertises.",
    );
    for (name, status) in &instances {
        let _ = writeln!(
            out,
            "vrrp_instance_effective_priority{{instance=\"{name}\"}} {}",
            status.effective_priority
        );
    }
    family(
        &mut out,
        "vrrp_adverts_sent_total",
        "counter",
        "Advertisements sent, priority 0 included.",
    );
    for (name, status) in &instances {
        let _ = writeln!(
            out,
            "vrrp_adverts_sent_total{{instance=\"{name}\"}} {}",
            status.counters.adverts_sent
        );
    }
    family(
        &mut out,
        "vrrp_adverts_received_total",
        "counter",
        "Advertisements that passed the receive checks and were processed.",
    );
    for (name, status) in &instances {
        let _ = writeln!(
            out,
            "vrrp_adverts_received_total{{instance=\"{name}\"}} {}",
            status.counters.adverts_received
        );
    }
    family(
        &mut out,
        "vrrp_receive_errors_total",
        "counter",
        "Advertisements refused, by RFC 6527 statistic.",
    );
    for (name, status) in &instances {
        for (reason, count) in receive_errors(status) {
            let _ = writeln!(
                out,
                "vrrp_receive_errors_total{{instance=\"{name}\",reason=\"{reason}\"}} {count}"
            );
        }
    }
    family(
        &mut out,
        "vrrp_transitions_total",
        "counter",
        "State transitions, by reason.",
    );
    for (name, status) in &instances {
        for (reason, count) in &status.transitions.by_reason {
            let _ = writeln!(
                out,
                "vrrp_transitions_total{{instance=\"{name}\",reason=\"{reason}\"}} {count}"
            );
        }
    }
    family(
        &mut out,
        "vrrp_failover_duration_seconds",
        "histogram",
        "Time from the last advert of the old master to taking over as master.",
    );
    for (name, status) in &instances {
        let failovers = &status.transitions.failovers;
        let mut cumulative = 0;
        for (bound, count) in FAILOVER_BUCKETS.iter().zip(failovers.counts) {
            cumulative += count;
            let _ = writeln!(
                out,
                "vrrp_failover_duration_seconds_bucket{{instance=\"{name}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "vrrp_failover_duration_seconds_bucket{{instance=\"{name}\",le=\"+Inf\"}} {}\n\
             vrrp_failover_duration_seconds_sum{{instance=\"{name}\"}} {}\n\
             vrrp_failover_duration_seconds_count{{instance=\"{name}\"}} {}",
            failovers.count(),
            Duration::from_micros(failovers.sum_micros).as_secs_f64(),
            failovers.count()
        );
    }
    family(
        &mut out,
        "vrrp_check_passing",
        "gauge",
        "Health checks: 1 while passing after rise/fall counting, 0 while failing or pending.",
    );
    for (name, status) in &instances {
        for check in &status.health_checks {
            let _ = writeln!(
                out,
                "vrrp_check_passing{{instance=\"{name}\",check=\"{}\"}} {}",
                check.spec.name,
                u8::from(check.passing)
            );
        }
    }
    family(
        &mut out,
        "vrrp_check_consecutive_failures",
        "gauge",
        "Health checks: failed runs in a row (0 after a pass).",
    );
    for (name, status) in &instances {
        for check in &status.health_checks {
            let _ = writeln!(
                out,
                "vrrp_check_consecutive_failures{{instance=\"{name}\",check=\"{}\"}} {}",
                check.spec.name, check.consecutive_failures
            );
        }
    }
    family(
        &mut out,
        "vrrp_api_watchers",
        "gauge",
        "WatchState streams (and resigns waiting for their successor) open on the API.",
    );
    let _ = writeln!(out, "vrrp_api_watchers {}", figures.watchers);
    family(
        &mut out,
        "vrrp_telemetry_spans_dropped_total",
        "counter",
        "Spans dropped because too many were waiting for the OTLP exporter.",
    );
    let _ = writeln!(
        out,
        "vrrp_telemetry_spans_dropped_total {}",
        figures.spans_dropped
    );
    out
}

/// The figures the OpenTelemetry instruments observe, refreshed by the daemon.
pub type SharedFigures = Arc<Mutex<Figures>>;

fn read(figures: &SharedFigures) -> Figures {
    figures
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn instance(status: &InstanceStatus) -> KeyValue {
    KeyValue::new("vrrp.instance", status.name().to_owned())
}

/// Registers the observable instruments that report `figures` at each OTLP collection.
pub fn register_instruments(figures: &SharedFigures) {
    let meter = meter();
    let source = Arc::clone(figures);
    meter
        .u64_observable_gauge("vrrp.instance.state")
        .with_description("1 for the state the instance is in, 0 for the others")
        .with_callback(move |observer| {
            for status in read(&source).statuses {
                for state in STATES {
                    observer.observe(
                        u64::from(status.state == state),
                        &[
                            instance(&status),
                            KeyValue::new("vrrp.state", state_label(state)),
                        ],
                    );
                }
            }
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_gauge("vrrp.instance.priority")
        .with_description("Base and effective (advertised) priority")
        .with_callback(move |observer| {
            for status in read(&source).statuses {
                for (kind, value) in [
                    ("base", status.base_priority),
                    ("effective", status.effective_priority),
                ] {
                    observer.observe(
                        u64::from(value),
                        &[instance(&status), KeyValue::new("vrrp.priority", kind)],
                    );
                }
            }
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_counter("vrrp.adverts")
        .with_description("Advertisements sent and received (processed)")
        .with_callback(move |observer| {
            for status in read(&source).statuses {
                for (direction, value) in [
                    ("sent", status.counters.adverts_sent),
                    ("received", status.counters.adverts_received),
                ] {
                    observer.observe(
                        value,
                        &[
                            instance(&status),
                            KeyValue::new("vrrp.direction", direction),
                        ],
                    );
                }
            }
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_counter("vrrp.receive.errors")
        .with_description("Advertisements refused, by RFC 6527 statistic")
        .with_callback(move |observer| {
            for status in read(&source).statuses {
                for (reason, count) in receive_errors(&status) {
                    observer.observe(
                        count,
                        &[instance(&status), KeyValue::new("vrrp.reason", reason)],
                    );
                }
            }
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_counter("vrrp.transitions")
        .with_description("State transitions, by reason")
        .with_callback(move |observer| {
            for status in read(&source).statuses {
                for (reason, count) in &status.transitions.by_reason {
                    observer.observe(
                        *count,
                        &[instance(&status), KeyValue::new("vrrp.reason", *reason)],
                    );
                }
            }
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_gauge("vrrp.check.passing")
        .with_description("Health checks: 1 while passing after rise/fall counting, else 0")
        .with_callback(move |observer| {
            for status in read(&source).statuses {
                for check in &status.health_checks {
                    observer.observe(
                        u64::from(check.passing),
                        &[
                            instance(&status),
                            KeyValue::new("vrrp.check", check.spec.name.clone()),
                        ],
                    );
                }
            }
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_gauge("vrrp.api.watchers")
        .with_description("WatchState streams (and resigns waiting for their successor)")
        .with_callback(move |observer| {
            let watchers = u64::try_from(read(&source).watchers).unwrap_or(u64::MAX);
            observer.observe(watchers, &[]);
        })
        .build();
    let source = Arc::clone(figures);
    meter
        .u64_observable_counter("vrrp.telemetry.spans_dropped")
        .with_description("Spans dropped because too many were waiting for export")
        .with_callback(move |observer| observer.observe(read(&source).spans_dropped, &[]))
        .build();
    // Created now, so the histogram is reported (empty) before the first failover.
    failover_instrument();
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

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escaped("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
