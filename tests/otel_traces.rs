//! OpenTelemetry traces of the real daemon, received by a real OTLP/gRPC collector (the
//! official collector service from `opentelemetry-proto`, served by tonic) in the lab: a
//! transition span with its attributes and its VIP children; a `Resign` sent with a W3C
//! `traceparent` whose handover lands in the caller's trace; and the `WatchState` event of
//! that handover carrying the span's ids. And the same spans over OTLP/HTTP with protobuf.

mod api_lab;
mod daemon_lab;
mod netns;
mod otlp_receiver;

use std::time::Duration;

use tonic::metadata::MetadataValue;
use vrrp_sidecar_client::{proto, traceparent};

use api_lab::{
    connect, is_snapshot_complete, read_until, runtime, transition, watch, watch_request,
};
use daemon_lab::{DaemonLab, ELECTION, InstanceSpec, MARGIN, VIP, config_text};
use netns::{Lab, require_root};
use otlp_receiver::{HttpReceiver, ReceivedSpan, Receiver};

/// The caller's trace, as in the W3C Trace Context examples.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The caller's span.
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// How long a span may take to reach the receiver: the batch delay the test sets
/// (100 ms), an export round trip, and a loaded machine.
const EXPORTED: Duration = Duration::from_secs(10);

/// The telemetry section pointing at `receiver`.
fn telemetry(receiver: &Receiver) -> String {
    format!("[telemetry]\notlp_endpoint = \"{}\"\n", receiver.endpoint())
}

fn child_of<'a>(
    spans: &'a [ReceivedSpan],
    parent: &ReceivedSpan,
    name: &str,
) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|span| span.parent_span_id == parent.span_id && span.name == name)
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn transitions_are_exported_as_spans_and_a_resign_joins_the_callers_trace() {
    require_root("transitions_are_exported_as_spans_and_a_resign_joins_the_callers_trace");
    let lab = DaemonLab::new(Lab::builder().host("h1").host("h2").build());
    let rt = runtime();
    let receiver = Receiver::start(lab.ns("h1"), &rt);
    let text = format!(
        "{}{}",
        config_text(&[InstanceSpec::v3(150)]),
        telemetry(&receiver)
    );
    let h1 = lab.start_with_environment(
        "h1",
        &text,
        &lab.api_socket("h1"),
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=lab"),
        ],
    );
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        h1.log_text()
    );

    // The take-over: a span with the transition's facts, and its VIP work as children.
    let take_over = receiver
        .wait_for_span(EXPORTED, |span| {
            span.name == "vrrp.transition"
                && span.attributes.get("vrrp.to").map(String::as_str) == Some("MASTER")
        })
        .unwrap_or_else(|| {
            panic!(
                "no take-over span; received {:#?}\n{}",
                receiver.spans(),
                h1.log_text()
            )
        });
    let expected = [
        ("vrrp.instance", "vi"),
        ("vrrp.vrid", "51"),
        ("vrrp.from", "BACKUP"),
        ("vrrp.reason", "master-down timer expired"),
        ("vrrp.base_priority", "150"),
        ("vrrp.effective_priority", "150"),
        ("vrrp.master_address", "192.0.2.1"),
        ("vrrp.caused_by_request", "false"),
    ];
    for (key, value) in expected {
        assert_eq!(
            take_over.attributes.get(key).map(String::as_str),
            Some(value),
            "{key} of {take_over:#?}"
        );
    }
    for (key, value) in [
        ("service.name", "vrrp-sidecar"),
        ("service.version", env!("CARGO_PKG_VERSION")),
        ("vrrp.instances", "vi"),
        ("deployment.environment", "lab"),
    ] {
        assert_eq!(
            take_over.resource.get(key).map(String::as_str),
            Some(value),
            "resource {key} of {take_over:#?}"
        );
    }
    assert!(
        take_over.resource.contains_key("host.name"),
        "{take_over:#?}"
    );
    assert!(
        receiver
            .wait_for_span(EXPORTED, |span| span.parent_span_id == take_over.span_id
                && span.name == "vrrp.announce")
            .is_some(),
        "no announcement under the take-over; received {:#?}",
        receiver.spans()
    );
    let spans = receiver.spans();
    let install = child_of(&spans, &take_over, "vrrp.vip.install")
        .unwrap_or_else(|| panic!("no install under the take-over; received {spans:#?}"));
    let announce = child_of(&spans, &take_over, "vrrp.announce").expect("waited for above");
    assert_eq!(install.trace_id, take_over.trace_id);
    assert_eq!(
        install.attributes.get("vrrp.addresses").map(String::as_str),
        Some("1")
    );
    println!(
        "take-over span {:?}: install {:?}, announce {:?}",
        take_over.duration, install.duration, announce.duration
    );

    // A handover asked for with the caller's trace context.
    lab.start("h2", &[InstanceSpec::v3(100)]);
    std::thread::sleep(MARGIN);
    let socket = lab.api_socket("h1");
    let handover = rt.block_on(async {
        let client = connect(&socket).await;
        let mut stream = watch(&client, watch_request("vi")).await;
        read_until(&mut stream, MARGIN, is_snapshot_complete).await;
        let mut request = tonic::Request::new(proto::ResignRequest {
            instance_name: "vi".into(),
            ..proto::ResignRequest::default()
        });
        let caller: MetadataValue<_> = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
            .parse()
            .expect("a traceparent is valid metadata");
        request.metadata_mut().insert("traceparent", caller);
        client.clone().resign(request).await.expect("h1 resigns");
        let read = read_until(&mut stream, ELECTION, |message| {
            transition(message).is_some_and(|change| change.to() == proto::State::Backup)
        })
        .await;
        transition(read.last().expect("read_until returns what it accepted"))
            .expect("accepted for being a transition")
            .clone()
    });
    assert_eq!(handover.reason(), proto::TransitionReason::Command);
    let trace = handover.trace.clone().expect("the event carries its span");
    assert_eq!(trace.trace_id, CALLER_TRACE, "{handover:#?}");
    assert_eq!(
        traceparent(&handover),
        Some(format!("00-{CALLER_TRACE}-{}-01", trace.span_id))
    );

    // The span the event names arrived, in the caller's trace, under the request's span.
    let resigned = receiver
        .wait_for_span(EXPORTED, |span| span.span_id == trace.span_id)
        .unwrap_or_else(|| {
            panic!(
                "no span {}; received {:#?}",
                trace.span_id,
                receiver.spans()
            )
        });
    assert_eq!(resigned.name, "vrrp.transition");
    assert_eq!(resigned.trace_id, CALLER_TRACE);
    assert_eq!(
        resigned.attributes.get("vrrp.from").map(String::as_str),
        Some("MASTER")
    );
    assert_eq!(
        resigned.attributes.get("vrrp.reason").map(String::as_str),
        Some("resign command")
    );
    assert_eq!(
        resigned
            .attributes
            .get("vrrp.caused_by_request")
            .map(String::as_str),
        Some("true")
    );
    let request = receiver
        .wait_for_span(EXPORTED, |span| span.span_id == resigned.parent_span_id)
        .unwrap_or_else(|| {
            panic!(
                "no parent of {resigned:#?}; received {:#?}",
                receiver.spans()
            )
        });
    assert_eq!(request.name, "/vrrp.v1.Sidecar/Resign");
    assert_eq!(request.trace_id, CALLER_TRACE);
    assert_eq!(request.parent_span_id, CALLER_SPAN);
    // The handover lets go of the VIP once the successor spoke (after a short grace).
    assert!(
        receiver
            .wait_for_span(EXPORTED, |span| span.parent_span_id == resigned.span_id
                && span.name == "vrrp.vip.remove")
            .is_some(),
        "no removal under the handover; received {:#?}",
        receiver.spans()
    );
    drop(rt);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn spans_go_over_otlp_http_protobuf_when_asked() {
    require_root("spans_go_over_otlp_http_protobuf_when_asked");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let receiver = HttpReceiver::start(lab.ns("h1"));
    let text = format!(
        "{}[telemetry]\notlp_endpoint = \"{}\"\notlp_protocol = \"http/protobuf\"\n",
        config_text(&[InstanceSpec::v3(150)]),
        receiver.endpoint()
    );
    let h1 = lab.start_with_environment(
        "h1",
        &text,
        &lab.api_socket("h1"),
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        h1.log_text()
    );
    let arrived = netns::wait_until(EXPORTED, Duration::from_millis(50), || {
        receiver.exports().iter().any(|export| {
            export
                .span_names
                .iter()
                .any(|name| name == "vrrp.transition")
        })
    });
    assert!(
        arrived,
        "received {:#?}\n{}",
        receiver.exports(),
        h1.log_text()
    );
    let export = receiver
        .exports()
        .into_iter()
        .find(|export| {
            export
                .span_names
                .iter()
                .any(|name| name == "vrrp.transition")
        })
        .expect("waited for above");
    assert_eq!(export.path, "/v1/traces");
    assert_eq!(export.content_type, "application/x-protobuf");
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_transition_a_check_causes_is_a_child_of_the_checks_run() {
    require_root("a_transition_a_check_causes_is_a_child_of_the_checks_run");
    let lab = DaemonLab::new(Lab::builder().host("h1").build());
    let rt = runtime();
    let receiver = Receiver::start(lab.ns("h1"), &rt);
    let flag = lab.scratch("healthy");
    std::fs::write(&flag, "").expect("scratch directory is writable");
    let checked = InstanceSpec::v3(150).with(&format!(
        "health_checks.gate = {{ kind = \"exec\", command = [\"test\", \"-e\", \"{}\"], \
         interval = \"100ms\", timeout = \"1s\", rise = 1, fall = 1, weight = 0 }}",
        flag.display()
    ));
    let text = format!(
        "{}{}",
        config_text(&[checked]).replace("[global]\n", "[global]\nexec_checks_as_root = true\n"),
        telemetry(&receiver)
    );
    let h1 = lab.start_with_environment(
        "h1",
        &text,
        &lab.api_socket("h1"),
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        h1.log_text()
    );

    std::fs::remove_file(&flag).expect("the flag exists");
    let fault = receiver
        .wait_for_span(EXPORTED, |span| {
            span.name == "vrrp.transition"
                && span.attributes.get("vrrp.to").map(String::as_str) == Some("FAULT")
        })
        .unwrap_or_else(|| {
            panic!(
                "no span for the check's fault; received {:#?}\n{}",
                receiver.spans(),
                h1.log_text()
            )
        });
    // A span is exported when it ends, and the check's run ends after the transition it
    // caused, so it may come in a later batch than its child: wait for it.
    let run = receiver
        .wait_for_span(EXPORTED, |span| span.span_id == fault.parent_span_id)
        .unwrap_or_else(|| {
            panic!(
                "the fault's parent was not exported: {fault:#?}\n{:#?}",
                receiver.spans()
            )
        });
    assert_eq!(run.name, "vrrp.check.run", "{run:#?}");
    assert_eq!(run.trace_id, fault.trace_id);
    assert_eq!(
        run.attributes.get("vrrp.check").map(String::as_str),
        Some("gate")
    );
    assert_eq!(
        run.attributes.get("vrrp.check.passed").map(String::as_str),
        Some("false")
    );
    lab.finish();
}
