//! The spans the daemon records, and how trace context travels between them.
//!
//! - A state transition is a `vrrp.transition` span. The VIP work it queues (install,
//!   removal, announcements) becomes child spans on the VIP worker, each as long as the work
//!   took; the transition span ends when its last child does.
//! - A gRPC request is a `grpc.request` span that continues the caller's W3C `traceparent`
//!   (made by the API's listener).
//! - A command that brings about a transition later (a `Resign` hands over when the
//!   successor speaks) leaves a [`Cause`] with the instance; the transition span becomes a
//!   child of the request's span, in the caller's trace.
//! - A health check's run is a `vrrp.check.run` span (a pushed report a `vrrp.check.report`
//!   span); when its verdict changes it leaves a [`Cause`] the same way, so a transition the
//!   check brings about is a child of the run that decided it.
//!
//! Spans are recorded with `tracing`; without a collector no OpenTelemetry layer is
//! installed and none of this costs more than a `tracing` span with no subscriber.

use std::time::{Duration, Instant};

use opentelemetry::Context;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::vrrp::{State, TransitionReason};

/// Set once the spans pipeline is up, so nothing extracts or keeps trace context that no
/// one would record.
static TRACING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported: telemetry sets it once its pipeline is up.
pub fn set_enabled(enabled: bool) {
    TRACING.store(enabled, Ordering::Relaxed);
}

/// Whether spans are exported.
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// The trace context of a request whose command may cause a transition.
#[derive(Clone, Debug)]
pub struct Cause {
    context: Context,
}

impl Cause {
    /// The context of the span the caller runs in (a request handler's `grpc.request`).
    pub fn current() -> Cause {
        Cause::of(&Span::current())
    }

    /// The context of `span` (a health check's run whose verdict changed).
    pub fn of(span: &Span) -> Cause {
        Cause {
            context: if tracing_enabled() {
                span.context()
            } else {
                Context::new()
            },
        }
    }
}

/// A [`Cause`] waiting for the transition it may bring about, for a bounded time: a command
/// that changes nothing must not claim a transition that happens much later.
#[derive(Debug, Default)]
pub struct PendingCause {
    pending: Option<(Cause, Instant)>,
}

impl PendingCause {
    /// Remembers `cause` until `now + window`.
    pub fn set(&mut self, cause: Cause, now: Instant, window: Duration) {
        self.pending = Some((cause, now + window));
    }

    /// The cause, if one is still waiting at `now`; it is used up.
    pub fn take(&mut self, now: Instant) -> Option<Cause> {
        self.pending
            .take()
            .filter(|(_, until)| now <= *until)
            .map(|(cause, _)| cause)
    }
}

/// What a transition span records.
#[derive(Debug)]
pub struct TransitionFields<'a> {
    /// The instance.
    pub instance: &'a str,
    /// Its VRID.
    pub vrid: u8,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// Why.
    pub reason: TransitionReason,
    /// Its base priority after the transition.
    pub base_priority: u8,
    /// Its advertised priority after the transition.
    pub effective_priority: u8,
    /// The master as it sees it after the transition.
    pub master: Option<std::net::IpAddr>,
}

/// The span of one transition, a child of `cause`'s request when there is one.
pub fn transition(fields: &TransitionFields<'_>, cause: Option<Cause>) -> Span {
    let span = tracing::info_span!(
        "vrrp.transition",
        vrrp.instance = fields.instance,
        vrrp.vrid = fields.vrid,
        vrrp.from = %fields.from,
        vrrp.to = %fields.to,
        vrrp.reason = %fields.reason,
        vrrp.base_priority = fields.base_priority,
        vrrp.effective_priority = fields.effective_priority,
        vrrp.master_address = tracing::field::Empty,
        vrrp.caused_by_request = cause.is_some(),
    );
    if let Some(master) = fields.master {
        span.record("vrrp.master_address", tracing::field::display(master));
    }
    if let Some(cause) = cause
        && cause.context.span().span_context().is_valid()
    {
        // Fails only for a span no OpenTelemetry layer records, which has no parent to set.
        let _ = span.set_parent(cause.context);
    }
    span
}

/// The W3C ids of a recorded span, as `WatchState` reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceIds {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
}

/// The ids of `span`; `None` when it is not exported (no collector, or not sampled).
pub fn trace_ids(span: &Span) -> Option<TraceIds> {
    if !tracing_enabled() || span.is_none() {
        return None;
    }
    let context = span.context();
    let span_ref = context.span();
    let span_context = span_ref.span_context();
    span_context.is_valid().then(|| TraceIds {
        trace_id: span_context.trace_id().to_string(),
        span_id: span_context.span_id().to_string(),
    })
}

/// The VIP work a transition queues.
#[derive(Clone, Copy, Debug)]
pub enum VipWork {
    /// Installing addresses.
    Install,
    /// Removing addresses.
    Remove,
    /// Gratuitous ARPs / unsolicited NAs.
    Announce,
}

/// The span of one piece of VIP work, a child of the transition that queued it; `parent` is
/// the span current when the work was queued, and work queued outside a transition (the
/// periodic renewal, for one) gets no span.
pub fn vip_work(parent: &Span, work: VipWork, instance: &str, addresses: usize) -> Span {
    if parent.is_none() {
        return Span::none();
    }
    match work {
        VipWork::Install => {
            tracing::info_span!(parent: parent, "vrrp.vip.install", vrrp.instance = instance, vrrp.addresses = addresses)
        }
        VipWork::Remove => {
            tracing::info_span!(parent: parent, "vrrp.vip.remove", vrrp.instance = instance, vrrp.addresses = addresses)
        }
        VipWork::Announce => {
            tracing::info_span!(parent: parent, "vrrp.announce", vrrp.instance = instance, vrrp.addresses = addresses)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_expires_after_its_window_and_is_used_once() {
        let now = Instant::now();
        let mut pending = PendingCause::default();
        pending.set(Cause::current(), now, Duration::from_secs(3));
        assert!(pending.take(now + Duration::from_secs(4)).is_none());
        pending.set(Cause::current(), now, Duration::from_secs(3));
        assert!(pending.take(now + Duration::from_secs(2)).is_some());
        assert!(pending.take(now + Duration::from_secs(2)).is_none());
    }
}
