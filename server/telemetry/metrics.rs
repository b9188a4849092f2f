//! Metrics: what each instance counts for them, and the figures in two forms, Prometheus
//! text for those who scrape and OpenTelemetry instruments for those who push over OTLP.
//!
//! Most figures already exist: the state, priorities and RFC 6527 counters of each instance
//! are in its status, which the router hands out on request. What only metrics need, the
//! transitions by reason and how long each failover took, is counted by
//! [`crate::events::stats::TransitionStats`] inside the instance's driver, so the router's
//! single ownership of instance state holds: the metrics side only ever reads a status copy.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

use crate::events::stats::{FAILOVER_BUCKETS, failover_instrument};
use crate::events::status::{InstanceStatus, ReceiveErrors};
use crate::vrrp::State;

fn meter() -> Meter {
    opentelemetry::global::meter("vrrp-sidecar")
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
    let ReceiveErrors {
        ttl,
        version,
        kind,
        length,
        checksum,
        vrid,
        auth,
        interval,
        address_list,
    } = status.receive_errors();
    [
        ("ttl", ttl),
        ("version", version),
        ("type", kind),
        ("length", length),
        ("checksum", checksum),
        ("vrid", vrid),
        ("auth", auth),
        ("interval", interval),
        ("address_list", address_list),
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
    fn label_values_are_escaped() {
        assert_eq!(escaped("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
