//! Components moving real data through the binary: stdin, demo_logs, remap, filter, route,
//! console, blackhole, fan-out, and the admin API.

use std::io::Write;
use std::time::Duration;

use crate::harness::{Agent, Options, free_port, http_get, metric_value, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A Vector user's stdin -> remap -> console config, unchanged.
const VECTOR_CONFIG: &str = r#"
[sources.in]
type = "stdin"

[transforms.parse]
type = "remap"
inputs = ["in"]
source = '''
. = parse_json!(.message)
.seen = true
del(.drop_me)
'''

[sinks.out]
type = "console"
inputs = ["parse"]
encoding.codec = "json"
"#;

#[test]
fn vector_stdin_remap_console_config_runs_unchanged_and_exits_at_eof() {
    let mut agent = Agent::start(VECTOR_CONFIG);
    for n in 0..1000 {
        writeln!(agent.stdin(), r#"{{"n":{n},"drop_me":"x"}}"#).unwrap();
    }
    writeln!(agent.stdin(), "not json").unwrap();
    agent.close_stdin();
    let status = agent.wait_exit(TIMEOUT);
    assert!(status.success(), "exit {status:?}; stderr:\n{}", agent.stderr_text());
    let lines = agent.stdout_lines();
    assert_eq!(lines.len(), 1001, "every line comes out, the failed one unchanged");
    let parsed: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let numbers: Vec<i64> = parsed.iter().filter_map(|v| v["n"].as_i64()).collect();
    assert_eq!(numbers, (0..1000).collect::<Vec<_>>(), "in order, none lost, none doubled");
    assert!(parsed[..1000].iter().all(|v| v["seen"] == true && v.get("drop_me").is_none()));
    let failed = &parsed[1000];
    assert_eq!(failed["message"], "not json");
    let timestamp = failed["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), "2026-01-01T00:00:00.000000000Z".len(), "nanosecond RFC 3339: {timestamp}");
    assert!(timestamp.ends_with('Z'));
}

#[test]
fn fan_out_delivers_every_event_to_both_sinks() {
    let config = r#"
[sources.in]
type = "stdin"

[sinks.a]
type = "console"
inputs = ["in"]
encoding.codec = "text"

[sinks.b]
type = "console"
inputs = ["in"]
target = "stderr"
encoding.codec = "text"
"#;
    let mut agent = Agent::start_with(config, Options { log_level: "off", ..Default::default() });
    for n in 0..500 {
        writeln!(agent.stdin(), "line {n}").unwrap();
    }
    agent.close_stdin();
    assert!(agent.wait_exit(TIMEOUT).success());
    let expected: Vec<String> = (0..500).map(|n| format!("line {n}")).collect();
    assert_eq!(agent.stdout_lines(), expected);
    let stderr: Vec<String> = agent.stderr_text().lines().map(str::to_owned).collect();
    assert_eq!(stderr, expected);
}

#[test]
fn demo_logs_route_and_filter_split_the_stream() {
    let config = r#"
[sources.demo]
type = "demo_logs"
format = "shuffle"
lines = ["error disk full", "info all good", "warn slow"]
interval = 0.0
count = 300

[transforms.split]
type = "route"
inputs = ["demo"]
route.errors = 'starts_with(string!(.message), "error")'

[transforms.not_info]
type = "filter"
inputs = ["split._unmatched"]
condition = '!starts_with(string!(.message), "info")'

[sinks.errors]
type = "console"
inputs = ["split.errors"]
encoding.codec = "text"

[sinks.rest]
type = "console"
inputs = ["not_info"]
target = "stderr"
encoding.codec = "text"
"#;
    let mut agent = Agent::start_with(config, Options { log_level: "off", ..Default::default() });
    assert!(agent.wait_exit(TIMEOUT).success(), "demo_logs with a count ends the pipeline");
    let errors = agent.stdout_lines();
    let rest: Vec<String> = agent.stderr_text().lines().map(str::to_owned).collect();
    assert!(errors.iter().all(|l| l == "error disk full"), "{errors:?}");
    assert!(rest.iter().all(|l| l == "warn slow"), "{rest:?}");
    assert!(!errors.is_empty() && !rest.is_empty());
    assert!(errors.len() + rest.len() < 300, "the info lines were filtered out");
}

#[test]
fn metrics_endpoint_shows_per_component_counters_moving() {
    let port = free_port();
    let config = format!(
        r#"
[api]
enabled = true
address = "127.0.0.1:{port}"

[sources.demo]
type = "demo_logs"
format = "json"
interval = 0.01
name = "Demo generator"
category = "test"
tags = {{ team = "pipeline" }}

[sinks.hole]
type = "blackhole"
inputs = ["demo"]
print_interval_secs = 0
"#
    );
    let agent = Agent::start(&config);
    let label = r#"component_id="demo""#;
    let first = wait_for(TIMEOUT, || {
        let body = http_get(port, "/metrics")?;
        metric_value(&body, "component_sent_events_total", label).filter(|v| *v > 0.0).map(|v| (v, body))
    })
    .unwrap_or_else(|| panic!("no counters on /metrics; stderr:\n{}", agent.stderr_text()));
    let body = first.1;
    for name in ["component_received_events_total", "component_sent_events_total"] {
        assert!(
            metric_value(&body, name, r#"component_id="hole""#).is_some(),
            "{name} for the sink:\n{body}"
        );
    }
    assert!(body.contains(r#"component_kind="source""#) && body.contains(r#"component_type="demo_logs""#));
    assert!(body.contains(r#"component_name="Demo generator""#) && body.contains(r#"tag_team="pipeline""#));
    let later = wait_for(TIMEOUT, || {
        let value = metric_value(&http_get(port, "/metrics")?, "component_sent_events_total", label)?;
        (value > first.0).then_some(value)
    });
    assert!(later.is_some(), "the counter keeps moving");
    assert_eq!(http_get(port, "/health").as_deref(), Some("{\"ok\":true}"));
}

#[test]
fn internal_metrics_flow_through_a_pipeline() {
    let config = r#"
[sources.self]
type = "internal_metrics"
scrape_interval_secs = 0.2

[sinks.out]
type = "console"
inputs = ["self"]
encoding.codec = "json"
"#;
    let agent = Agent::start(config);
    let found = wait_for(TIMEOUT, || {
        agent.stdout_lines().into_iter().find(|line| {
            line.contains("component_sent_events_total") && line.contains(r#""component_id":"self""#)
        })
    });
    let line = found.unwrap_or_else(|| panic!("no internal metric; stderr:\n{}", agent.stderr_text()));
    let metric: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(metric["namespace"], "strata");
    assert_eq!(metric["kind"], "absolute");
    assert!(metric["counter"]["value"].as_f64().is_some());
}

#[test]
fn garbage_on_stdin_is_counted_and_the_stream_goes_on() {
    let config = r#"
[sources.in]
type = "stdin"
max_length = 1024

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "text"
"#;
    let mut agent = Agent::start(config);
    let stdin = agent.stdin();
    writeln!(stdin, "before").unwrap();
    let binary: Vec<u8> = (0..200_000u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8)
        .filter(|b| *b != b'\n')
        .collect();
    stdin.write_all(&binary).unwrap();
    stdin.write_all(b"\n").unwrap();
    // A 100 MB line, far beyond max_length, written in pieces.
    let piece = vec![b'x'; 1 << 20];
    for _ in 0..100 {
        stdin.write_all(&piece).unwrap();
    }
    stdin.write_all(b"\nafter\n").unwrap();
    let rss = agent.rss_kib();
    agent.close_stdin();
    assert!(agent.wait_exit(TIMEOUT).success(), "stderr:\n{}", agent.stderr_text());
    assert_eq!(agent.stdout_lines(), vec!["before", "after"]);
    assert!(agent.stderr_text().contains("oversized"), "the discard is logged:\n{}", agent.stderr_text());
    assert!(rss < 200 * 1024, "memory stays bounded while a 100 MB line streams through: {rss} KiB");
}

#[test]
fn file_sink_splits_by_template_and_refuses_paths_that_escape() {
    let out = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[sources.in]
type = "stdin"
decoding.codec = "json"

[sinks.files]
type = "file"
inputs = ["in"]
path = "{dir}/logs/{{{{ app }}}}.log"
encoding.codec = "text"
"#,
        dir = out.path().display()
    );
    let mut agent = Agent::start(&config);
    for (app, message) in [("api", "one"), ("web", "two"), ("api", "three"), ("../escape", "evil")] {
        writeln!(agent.stdin(), r#"{{"app":"{app}","message":"{message}"}}"#).unwrap();
    }
    agent.close_stdin();
    assert!(agent.wait_exit(TIMEOUT).success(), "stderr:\n{}", agent.stderr_text());
    let read = |name: &str| std::fs::read_to_string(out.path().join("logs").join(name)).unwrap_or_default();
    assert_eq!(read("api.log"), "one\nthree\n");
    assert_eq!(read("web.log"), "two\n");
    assert!(!out.path().join("escape.log").exists(), "nothing is written outside the directory");
    let entries: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("logs")]);
}
