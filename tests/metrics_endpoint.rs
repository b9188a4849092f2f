//! Metrics of the real daemon in a namespace lab: the Prometheus endpoint scraped as adverts
//! flow and after a failover, and the same figures pushed over OTLP to a collector.

mod api_lab;
mod daemon_lab;
mod netns;
mod otlp_receiver;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::Signal;

use api_lab::{connect, is_snapshot_complete, read_until, runtime, watch, watch_request};
use daemon_lab::{
    DaemonLab, ELECTION, InstanceSpec, MARGIN, VIP, config_text, master_down_interval_100ms,
};
use netns::{Lab, require_root, wait_until};
use otlp_receiver::Receiver;

/// Where each daemon serves its metrics, inside its own namespace.
const METRICS: &str = "127.0.0.1:9464";

/// The endpoint of the daemon in `ns`, scraped: each sample line's series and value.
fn scrape(lab: &DaemonLab, host: &str) -> HashMap<String, f64> {
    let text = lab.ns(host).enter(|| {
        let mut stream = TcpStream::connect(METRICS).expect("the metrics endpoint accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a timeout can be set");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
            .expect("the request is sent");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("the response is read");
        response
    });
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {line}"));
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line}"));
            (series.to_owned(), value)
        })
        .collect()
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

fn config(priority: u8, telemetry: &str) -> String {
    // A check that always passes (weight 0 moves nothing), for the check series.
    let instance = InstanceSpec::v3(priority).with(
        "health_checks.alive = { kind = \"exec\", command = [\"true\"], user = \"nobody\", \
         interval = \"100ms\", weight = 0 }",
    );
    format!(
        "{}[telemetry]\nmetrics_listen = \"{METRICS}\"\n{telemetry}",
        config_text(&[instance])
    )
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn the_prometheus_endpoint_counts_adverts_and_failovers_and_otlp_gets_the_same() {
    require_root("the_prometheus_endpoint_counts_adverts_and_failovers_and_otlp_gets_the_same");
    let lab = DaemonLab::new(Lab::builder().host("h1").host("h2").build());
    let rt = runtime();
    let receiver = Receiver::start(lab.ns("h2"), &rt);
    let h1 = lab.start_with_config("h1", &config(150, ""), &lab.api_socket("h1"));
    assert!(
        lab.wait_holding("h1", VIP, true, ELECTION).is_some(),
        "h1 never became master\n{}",
        h1.log_text()
    );
    let h2 = lab.start_with_environment(
        "h2",
        &config(
            100,
            &format!("otlp_endpoint = \"{}\"\n", receiver.endpoint()),
        ),
        &lab.api_socket("h2"),
        &[("OTEL_METRIC_EXPORT_INTERVAL", "500")],
    );
    assert!(
        h2.wait_state_count("BACKUP", 1, ELECTION),
        "h2 never started\n{}",
        h2.log_text()
    );
    std::thread::sleep(MARGIN);

    // Adverts flow: the master's sent and the backup's received counters move.
    let check_series = "vrrp_check_passing{instance=\"vi\",check=\"alive\"}";
    assert!(
        netns::wait_until(Duration::from_secs(3), Duration::from_millis(100), || {
            scrape(&lab, "h1").get(check_series) == Some(&1.0)
        }),
        "the check's series never showed it passing: {:?}",
        scrape(&lab, "h1").get(check_series)
    );
    let (master_before, backup_before) = (scrape(&lab, "h1"), scrape(&lab, "h2"));
    std::thread::sleep(Duration::from_secs(1));
    let (master_after, backup_after) = (scrape(&lab, "h1"), scrape(&lab, "h2"));
    let sent = value(&master_after, "vrrp_adverts_sent_total{instance=\"vi\"}")
        - value(&master_before, "vrrp_adverts_sent_total{instance=\"vi\"}");
    let received = value(
        &backup_after,
        "vrrp_adverts_received_total{instance=\"vi\"}",
    ) - value(
        &backup_before,
        "vrrp_adverts_received_total{instance=\"vi\"}",
    );
    println!("in about 1 s at 100 ms adverts: {sent} sent by h1, {received} received by h2");
    assert!((5.0..=15.0).contains(&sent), "{sent} sent");
    assert!((5.0..=15.0).contains(&received), "{received} received");
    for (series, expected) in [
        (
            "vrrp_instance_state{instance=\"vi\",vrid=\"51\",state=\"backup\"}",
            1.0,
        ),
        (
            "vrrp_instance_state{instance=\"vi\",vrid=\"51\",state=\"master\"}",
            0.0,
        ),
        ("vrrp_instance_base_priority{instance=\"vi\"}", 100.0),
        ("vrrp_instance_effective_priority{instance=\"vi\"}", 100.0),
        (
            "vrrp_receive_errors_total{instance=\"vi\",reason=\"ttl\"}",
            0.0,
        ),
        (
            "vrrp_receive_errors_total{instance=\"vi\",reason=\"checksum\"}",
            0.0,
        ),
        (
            "vrrp_transitions_total{instance=\"vi\",reason=\"startup\"}",
            1.0,
        ),
        ("vrrp_failover_duration_seconds_count{instance=\"vi\"}", 0.0),
        ("vrrp_api_watchers", 0.0),
        ("vrrp_telemetry_spans_dropped_total", 0.0),
    ] {
        assert_eq!(value(&backup_after, series), expected, "{series}");
    }

    // A watcher counts; the master dies and h2 takes over after about Master_Down_Interval.
    let socket = lab.api_socket("h2");
    let _stream = rt.block_on(async {
        let client = connect(&socket).await;
        let mut stream = watch(&client, watch_request("vi")).await;
        read_until(&mut stream, MARGIN, is_snapshot_complete).await;
        stream
    });
    assert_eq!(value(&scrape(&lab, "h2"), "vrrp_api_watchers"), 1.0);
    lab.signal(&h1, Signal::SIGKILL);
    assert!(
        lab.wait_holding("h2", VIP, true, master_down_interval_100ms(100) + MARGIN)
            .is_some(),
        "h2 never took over\n{}",
        h2.log_text()
    );
    let after_failover = scrape(&lab, "h2");
    for (series, expected) in [
        (
            "vrrp_instance_state{instance=\"vi\",vrid=\"51\",state=\"master\"}",
            1.0,
        ),
        (
            "vrrp_transitions_total{instance=\"vi\",reason=\"master_down_timer\"}",
            1.0,
        ),
        ("vrrp_failover_duration_seconds_count{instance=\"vi\"}", 1.0),
        (
            "vrrp_failover_duration_seconds_bucket{instance=\"vi\",le=\"+Inf\"}",
            1.0,
        ),
    ] {
        assert_eq!(value(&after_failover, series), expected, "{series}");
    }
    let failover = value(
        &after_failover,
        "vrrp_failover_duration_seconds_sum{instance=\"vi\"}",
    );
    println!("failover measured by h2: {failover} s");
    // From the last advert heard: Master_Down_Interval, give or take an advert interval.
    let bound = master_down_interval_100ms(100).as_secs_f64();
    assert!(
        failover > bound - 0.15 && failover < bound + 0.25,
        "{failover} s against Master_Down_Interval {bound} s"
    );

    // The same figures over OTLP.
    let names = [
        "vrrp.instance.state",
        "vrrp.instance.priority",
        "vrrp.adverts",
        "vrrp.receive.errors",
        "vrrp.transitions",
        "vrrp.api.watchers",
        "vrrp.failover.duration",
        "vrrp.telemetry.spans_dropped",
    ];
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            let received = receiver.metric_names();
            names
                .iter()
                .all(|name| received.iter().any(|got| got == name))
        }),
        "metrics received over OTLP: {:?}",
        receiver.metric_names()
    );
    drop(rt);
    lab.finish();
}
