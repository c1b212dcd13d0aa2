//! Two real agents over HTTP: a sender whose receiver is down for a while, then returns.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use crate::harness::{Agent, Options, free_port, http_get, metric_value, wait_for};

/// A stdin -> http sender with its API on `api_port`, retrying every 0.2-1 s.
fn sender_config(api_port: u16, receiver_port: u16, max_events: usize) -> String {
    format!(
        r#"
[api]
enabled = true
address = "127.0.0.1:{api_port}"

[sources.in]
type = "stdin"

[sinks.out]
type = "http"
inputs = ["in"]
uri = "http://127.0.0.1:{receiver_port}/ingest"
encoding.codec = "json"
batch.max_events = {max_events}
batch.timeout_secs = 0.2
request.retry_initial_backoff_secs = 0.2
request.retry_max_duration_secs = 1
healthcheck.enabled = false
"#
    )
}

/// An http_server -> console receiver writing each event's message as a line.
fn receiver_config(receiver_port: u16) -> String {
    format!(
        r#"
[sources.http]
type = "http_server"
address = "127.0.0.1:{receiver_port}"
path = "/ingest"
decoding.codec = "json"

[sinks.out]
type = "console"
inputs = ["http"]
encoding.codec = "text"
"#
    )
}

#[test]
fn a_receiver_that_is_down_then_returns_gets_every_event_and_retries_show_in_metrics() {
    let receiver_port = free_port();
    let api_port = free_port();
    let sender_config = sender_config(api_port, receiver_port, 25);
    let receiver_config = receiver_config(receiver_port);
    let mut sender = Agent::start(&sender_config);
    for n in 0..200 {
        writeln!(sender.stdin(), "msg {n}").unwrap();
    }
    sender.stdin().flush().unwrap();
    // The receiver is down: the sender retries, and says so in its metrics.
    let retried = wait_for(Duration::from_secs(30), || {
        let body = http_get(api_port, "/metrics")?;
        metric_value(&body, "sink_retries_total", r#"component_id="out""#).filter(|v| *v >= 2.0)
    });
    assert!(retried.is_some(), "retries are visible on /metrics; stderr:\n{}", sender.stderr_text());

    let receiver = Agent::start_with(&receiver_config, Options { log_level: "warn", ..Default::default() });
    let lines = receiver.wait_for_lines(200, Duration::from_secs(60));
    let received: BTreeSet<String> = lines.iter().cloned().collect();
    let expected: BTreeSet<String> = (0..200).map(|n| format!("msg {n}")).collect();
    assert_eq!(received, expected, "every event arrived; receiver stderr:\n{}", receiver.stderr_text());
    assert_eq!(lines.len(), 200, "none twice");

    sender.close_stdin();
    assert!(sender.wait_exit(Duration::from_secs(30)).success(), "the sender drains and exits");
    receiver.signal("TERM");
}

/// The issue's case: the receiver is down for 30 s, with events arriving throughout, then
/// returns. Every event is delivered once, and the retries are visible on `/metrics` all along.
/// The backoff is capped at 1 s so the sender keeps trying through the outage; the receiver's
/// port is taken only when the outage ends, so the sender sees refused connections until then.
#[test]
fn a_receiver_down_for_30_s_gets_every_event_once_it_returns() {
    const OUTAGE: Duration = Duration::from_secs(30);
    let receiver_port = free_port();
    let api_port = free_port();
    let sender_config = sender_config(api_port, receiver_port, 50);
    let receiver_config = receiver_config(receiver_port);
    let retries = || {
        http_get(api_port, "/metrics")
            .and_then(|body| metric_value(&body, "sink_retries_total", r#"component_id="out""#))
    };
    let mut sender = Agent::start(&sender_config);
    let down_since = std::time::Instant::now();
    let write = |sender: &mut Agent, range: std::ops::Range<u32>| {
        for n in range {
            writeln!(sender.stdin(), "msg {n}").unwrap();
        }
        sender.stdin().flush().unwrap();
    };
    write(&mut sender, 0..500);
    let early = wait_for(Duration::from_secs(20), || retries().filter(|v| *v >= 1.0));
    assert!(early.is_some(), "retries show on /metrics; stderr:\n{}", sender.stderr_text());
    // Halfway through the outage more events come in; the retries go on.
    std::thread::sleep(OUTAGE / 2);
    write(&mut sender, 500..1000);
    let midway = retries().unwrap_or(0.0);
    assert!(midway > early.unwrap_or(0.0), "still retrying at 15 s: {midway}");
    std::thread::sleep(OUTAGE.saturating_sub(down_since.elapsed()));
    let late = retries().unwrap_or(0.0);
    assert!(late > midway, "still retrying at 30 s: {midway} then {late}");

    let receiver = Agent::start_with(&receiver_config, Options { log_level: "warn", ..Default::default() });
    write(&mut sender, 1000..1200);
    let lines = receiver.wait_for_lines(1200, Duration::from_secs(60));
    let received: BTreeSet<String> = lines.iter().cloned().collect();
    let expected: BTreeSet<String> = (0..1200).map(|n| format!("msg {n}")).collect();
    assert_eq!(received, expected, "every event arrived; receiver stderr:\n{}", receiver.stderr_text());
    assert_eq!(lines.len(), 1200, "none twice");
    assert!(down_since.elapsed() >= OUTAGE, "the receiver was down for the whole outage");
    assert_eq!(
        http_get(api_port, "/metrics").and_then(|body| metric_value(
            &body,
            "component_sent_events_total",
            r#"component_id="out""#
        )),
        Some(1200.0),
        "the sender counts each event sent once"
    );

    sender.close_stdin();
    assert!(sender.wait_exit(Duration::from_secs(30)).success(), "the sender drains and exits");
    receiver.signal("TERM");
}
