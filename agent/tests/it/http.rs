//! Two real agents over HTTP: a sender whose receiver is down for a while, then returns.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use crate::harness::{Agent, Options, free_port, http_get, metric_value, wait_for};

#[test]
fn a_receiver_that_is_down_then_returns_gets_every_event_and_retries_show_in_metrics() {
    let receiver_port = free_port();
    let api_port = free_port();
    let sender_config = format!(
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
batch.max_events = 25
batch.timeout_secs = 0.2
request.retry_initial_backoff_secs = 0.2
request.retry_max_duration_secs = 1
healthcheck.enabled = false
"#
    );
    let receiver_config = format!(
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
    );
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
