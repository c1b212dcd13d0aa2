//! Graceful shutdown drains what is in flight; a failing component stops the agent non-zero.

use std::io::Write;
use std::time::Duration;

use crate::harness::{Agent, free_port, http_get, metric_value, wait_for};

#[test]
fn sigterm_drains_every_event_in_flight_to_the_sink() {
    let port = free_port();
    let config = format!(
        r#"
[api]
enabled = true
address = "127.0.0.1:{port}"

[sources.in]
type = "stdin"

[sinks.slow]
type = "blackhole"
inputs = ["in"]
rate = 2000
print_interval_secs = 1
"#
    );
    let mut agent = Agent::start(&config);
    for n in 0..6000 {
        writeln!(agent.stdin(), "event {n}").unwrap();
    }
    agent.stdin().flush().unwrap();
    // Wait until the source has taken every line in; the slow sink still has most to go.
    let taken = wait_for(Duration::from_secs(30), || {
        let body = http_get(port, "/metrics")?;
        let received = metric_value(&body, "component_received_events_total", r#"component_id="in""#)?;
        (received >= 6000.0).then_some(())
    });
    assert!(taken.is_some(), "the source read everything; stderr:\n{}", agent.stderr_text());
    agent.signal("TERM");
    let status = agent.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "a clean drain exits 0; stderr:\n{}", agent.stderr_text());
    let stderr = agent.stderr_text();
    assert!(
        stderr.contains("events=6000") && stderr.contains("input ended"),
        "the sink saw all 6000:\n{stderr}"
    );
}

#[test]
fn a_failing_component_stops_the_agent_with_a_non_zero_status() {
    // The console sink fails when its pipe breaks: a dead downstream that cannot be retried.
    let config = r#"
[sources.demo]
type = "demo_logs"
format = "json"
interval = 0.0

[sinks.out]
type = "console"
inputs = ["demo"]
encoding.codec = "json"
"#;
    let mut agent =
        Agent::start_with(config, crate::harness::Options { read_stdout: false, ..Default::default() });
    drop(agent.child.stdout.take());
    let status = agent.wait_exit(Duration::from_secs(30));
    assert!(!status.success(), "a failed sink is not a success");
    assert!(
        agent.stderr_text().contains("sinks.out"),
        "the failure names the component:\n{}",
        agent.stderr_text()
    );
}
