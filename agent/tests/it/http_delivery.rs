//! End-to-end acknowledgements into an `http` sink whose receiver is down: through a disk
//! buffer, sources are acknowledged once the events are stored (`http_server` answers 2xx only
//! after the fsync with `ack_after = "fsync"`) and nothing is lost to a SIGKILL or an outage;
//! through a memory buffer, `http_server` never answers 2xx for events that were not delivered.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::crash_http::{Flakiness, Receiver};
use crate::harness::{free_port, http_get, metric_value, spawn_agent, wait_for};

/// Posts `body` to the agent's `http_server`; returns the status code, or `None` when no answer
/// came within `timeout`.
fn post(port: u16, body: &str, timeout: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Starts the agent on `config` (written into `dir`), logging to `dir/agent.log`.
fn start_agent(dir: &Path, config: &str) -> Child {
    let config_path = dir.join("pipeline.toml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("agent.log")).unwrap();
    spawn_agent(&config_path, Stdio::null(), Stdio::from(log))
}

fn kill(agent: &mut Child, signal: &str) {
    let _ = Command::new("kill").args(["-s", signal, &agent.id().to_string()]).status();
}

fn agent_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default()
}

/// The `http` sink section shared by these tests: one request at a time, so that the receiver
/// sees events in the order the source produced them, and quick retries.
fn http_sink(input: &str, receiver_port: u16, extra: &str) -> String {
    format!(
        r#"
[sinks.out]
type = "http"
inputs = ["{input}"]
uri = "http://127.0.0.1:{receiver_port}/ingest"
encoding.codec = "text"
acknowledgements.enabled = true
batch.max_events = 200
batch.timeout_secs = 0.1
request.concurrency = "none"
request.timeout_secs = 5
request.retry_initial_backoff_secs = 0.1
request.retry_max_duration_secs = 0.5
healthcheck.enabled = false
{extra}
"#
    )
}

/// Asserts that `received` holds every one of `expected`, and that the first arrival of each
/// follows the order of `expected` (duplicates from retries are allowed, reordering is not).
fn assert_all_in_order(received: &[String], expected: &[String]) {
    let mut seen = BTreeSet::new();
    let first_seen: Vec<&String> = received.iter().filter(|line| seen.insert(line.as_str())).collect();
    let missing: Vec<&String> =
        expected.iter().filter(|line| !seen.contains(line.as_str())).take(5).collect();
    assert!(missing.is_empty(), "{} events missing, such as {missing:?}", expected.len() - first_seen.len());
    assert_eq!(first_seen.len(), expected.len(), "nothing else arrived");
    assert!(first_seen.iter().copied().eq(expected.iter()), "in the order they were sent");
}

/// `http_server` -> disk buffer (`ack_after = "fsync"`, fsync every 2.5 s) -> `http` sink whose
/// receiver is down. Each request is answered 200, and only after the next fsync: a request sent
/// right after the previous answer (itself released by an fsync) waits for the following one.
/// Then SIGKILL; the next run, with the receiver up, delivers every event, in order.
#[test]
fn http_server_answers_after_the_fsync_and_a_sigkill_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::new(&dir.path().join("received.log"), Flakiness::RELIABLE);
    let in_port = free_port();
    let config = format!(
        r#"
data_dir = "{data}"

[sources.in]
type = "http_server"
address = "127.0.0.1:{in_port}"
{sink}"#,
        data = dir.path().join("data").display(),
        sink = http_sink(
            "in",
            receiver.port,
            "buffer.type = \"disk\"\nbuffer.max_size = 16777216\nbuffer.ack_after = \"fsync\"\n\
             buffer.fsync = \"interval\"\nbuffer.fsync_interval_ms = 2500"
        ),
    );
    let mut agent = start_agent(dir.path(), &config);
    let listening = wait_for(Duration::from_secs(30), || TcpStream::connect(("127.0.0.1", in_port)).ok());
    assert!(listening.is_some(), "the source listens; agent log:\n{}", agent_log(dir.path()));

    let mut expected = Vec::new();
    let mut latencies = Vec::new();
    for request in 0..4 {
        let lines: Vec<String> = (0..25).map(|n| format!("request {request} event {n}")).collect();
        let started = Instant::now();
        let status = post(in_port, &(lines.join("\n") + "\n"), Duration::from_secs(60));
        latencies.push(started.elapsed());
        assert_eq!(status, Some(200), "request {request} is accepted; agent log:\n{}", agent_log(dir.path()));
        expected.extend(lines);
    }
    println!("http_server answers with ack_after = fsync took {latencies:?}");
    // The first request may land just before an fsync; each later one is sent right after the
    // fsync that released its predecessor, so it waits about a whole interval for the next.
    for (request, latency) in latencies.iter().enumerate().skip(1) {
        assert!(
            *latency >= Duration::from_millis(800),
            "request {request} was answered before an fsync: {latency:?}"
        );
    }
    assert!(receiver.lines().is_empty(), "the receiver is down: nothing was delivered yet");
    kill(&mut agent, "KILL");
    let _ = agent.wait();

    let mut receiver = receiver;
    receiver.start();
    let mut agent = start_agent(dir.path(), &config);
    let complete = wait_for(Duration::from_secs(60), || {
        let got: BTreeSet<String> = receiver.lines().into_iter().collect();
        (got.len() >= expected.len()).then_some(())
    });
    kill(&mut agent, "TERM");
    let status = agent.wait().unwrap();
    assert!(complete.is_some(), "every acknowledged event arrived; agent log:\n{}", agent_log(dir.path()));
    assert_all_in_order(&receiver.lines(), &expected);
    assert!(status.success(), "agent log:\n{}", agent_log(dir.path()));
}

/// `http_server` -> memory buffer -> `http` sink with its receiver down: the source does not
/// answer 2xx for events that were not delivered. While the sink retries, the request is held
/// (no answer at all); once the sink gives up (`request.retry_attempts`), it is answered 503 so
/// that the client sends the events again.
#[test]
fn http_server_with_a_memory_buffer_never_answers_2xx_for_undelivered_events() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::new(&dir.path().join("received.log"), Flakiness::RELIABLE);
    let (holding_port, giving_up_port) = (free_port(), free_port());
    let config = format!(
        r#"
[sources.holding]
type = "http_server"
address = "127.0.0.1:{holding_port}"

[sources.giving_up]
type = "http_server"
address = "127.0.0.1:{giving_up_port}"
{retrying}{giving_up}"#,
        retrying = http_sink("holding", receiver.port, "").replace("[sinks.out]", "[sinks.to_holding]"),
        giving_up = http_sink("giving_up", receiver.port, "request.retry_attempts = 2")
            .replace("[sinks.out]", "[sinks.to_giving_up]"),
    );
    let mut agent = start_agent(dir.path(), &config);
    for port in [holding_port, giving_up_port] {
        let listening = wait_for(Duration::from_secs(30), || TcpStream::connect(("127.0.0.1", port)).ok());
        assert!(listening.is_some(), "the sources listen; agent log:\n{}", agent_log(dir.path()));
    }
    let giving_up = std::thread::spawn(move || post(giving_up_port, "lost cause\n", Duration::from_secs(60)));
    let held = post(holding_port, "still trying\n", Duration::from_secs(3));
    assert_eq!(held, None, "no answer while the sink still retries");
    let answer = giving_up.join().unwrap();
    assert_eq!(answer, Some(503), "503 once the sink gave up; agent log:\n{}", agent_log(dir.path()));
    kill(&mut agent, "KILL");
    let _ = agent.wait();
}

/// File source -> disk buffer -> `http` sink while the receiver is down: the buffer takes every
/// line, and the source is acknowledged for all of them (its checkpoint reaches the end of the
/// file); when the receiver comes back, every line is delivered, in order, without a restart.
#[test]
fn a_downstream_outage_is_absorbed_by_the_disk_buffer_and_delivered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(&dir.path().join("received.log"), Flakiness::RELIABLE);
    let api_port = free_port();
    let input = dir.path().join("input.log");
    let expected: Vec<String> = (0..20_000).map(|n| format!("line {n} end")).collect();
    let text = expected.join("\n") + "\n";
    std::fs::write(&input, &text).unwrap();
    let config = format!(
        r#"
data_dir = "{data}"

[api]
enabled = true
address = "127.0.0.1:{api_port}"

[sources.tail]
type = "file"
include = ["{input}"]
read_from = "beginning"
{sink}"#,
        data = dir.path().join("data").display(),
        input = input.display(),
        sink = http_sink("tail", receiver.port, "buffer.type = \"disk\"\nbuffer.max_size = 16777216"),
    );
    let mut agent = start_agent(dir.path(), &config);
    let checkpoints = dir.path().join("data/tail/checkpoints.json");
    let acknowledged = wait_for(Duration::from_secs(60), || {
        let checkpoint = std::fs::read_to_string(&checkpoints).ok()?;
        checkpoint.contains(&format!("\"offset\": {}", text.len())).then_some(())
    });
    assert!(
        acknowledged.is_some(),
        "the source was acknowledged for every line; log:\n{}",
        agent_log(dir.path())
    );
    let buffered = wait_for(Duration::from_secs(30), || {
        let body = http_get(api_port, "/metrics")?;
        metric_value(&body, "buffer_size_events", r#"component_id="out""#).filter(|n| *n >= 20_000.0)
    });
    assert!(buffered.is_some(), "the disk buffer holds every line while the receiver is down");
    assert!(receiver.lines().is_empty(), "nothing was delivered yet");

    receiver.start();
    let complete = wait_for(Duration::from_secs(120), || {
        let got: BTreeSet<String> = receiver.lines().into_iter().collect();
        (got.len() >= expected.len()).then_some(())
    });
    kill(&mut agent, "TERM");
    let status = agent.wait().unwrap();
    assert!(
        complete.is_some(),
        "every line arrived once the receiver returned; log:\n{}",
        agent_log(dir.path())
    );
    let received = receiver.lines();
    println!("outage test: {} lines received for {} sent", received.len(), expected.len());
    assert_all_in_order(&received, &expected);
    assert!(status.success(), "agent log:\n{}", agent_log(dir.path()));
}
