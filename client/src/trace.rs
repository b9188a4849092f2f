//! The daemon's trace context in events, in the form tracing libraries take.

use crate::proto;

/// The W3C `traceparent` of a transition's span (`00-<trace id>-<span id>-01`), for an
/// application that makes its own handling of the failover a child of (or a link to) the
/// daemon's transition. `None` when the event carries no span: the daemon exports no spans,
/// or the event came from a snapshot.
///
/// ```
/// use vrrp_sidecar_client::{proto, traceparent};
///
/// let transition = proto::Transition {
///     trace: Some(proto::TraceContext {
///         trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
///         span_id: "00f067aa0ba902b7".into(),
///     }),
///     ..Default::default()
/// };
/// assert_eq!(
///     traceparent(&transition).as_deref(),
///     Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
/// );
/// ```
pub fn traceparent(transition: &proto::Transition) -> Option<String> {
    let trace = transition.trace.as_ref()?;
    let well_formed = |id: &str, digits: usize| {
        id.len() == digits
            && id.bytes().all(|byte| byte.is_ascii_hexdigit())
            && id.bytes().any(|byte| byte != b'0')
    };
    (well_formed(&trace.trace_id, 32) && well_formed(&trace.span_id, 16))
        .then(|| format!("00-{}-{}-01", trace.trace_id, trace.span_id))
}
