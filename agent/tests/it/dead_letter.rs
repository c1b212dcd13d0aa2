//! Dead letters through the real binary: an `http` sink whose receiver refuses some requests
//! with a 400, and a `file` sink reading `out.rejected`. Every event ends up accepted by the
//! receiver or in the dead-letter file, never both, never lost, and `/metrics` counts them.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{Agent, free_port, http_get, wait_for};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts a POST (200) unless its body holds `bad`, which it refuses with a 400. Accepted
/// bodies are appended to the file named by the second argument.
const RECEIVER: &str = r#"
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out = int(sys.argv[1]), sys.argv[2]

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = 400 if b"bad" in body else 200
        if status == 200:
            with open(out, "ab") as f:
                f.write(body if body.endswith(b"\n") else body + b"\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

/// The Python receiver, killed when dropped.
struct Receiver(Child);

impl Receiver {
    fn start(dir: &Path, port: u16, out: &Path) -> Self {
        let script = dir.join("receiver.py");
        std::fs::write(&script, RECEIVER).unwrap();
        let child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let receiver = Self(child);
        let up = wait_for(Duration::from_secs(20), || TcpStream::connect(("127.0.0.1", port)).ok());
        assert!(up.is_some(), "the receiver listens on {port}");
        receiver
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// JSON lines of a file that may not exist yet.
fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A counter's value from `/metrics` for the series whose labels hold every fragment.
fn counter(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with('{'))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

#[test]
fn refused_requests_land_in_the_dead_letter_file_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (receiver_port, api_port) = (free_port(), free_port());
    let accepted_path = dir.path().join("accepted.ndjson");
    let dead_path = dir.path().join("dead.ndjson");
    let _receiver = Receiver::start(dir.path(), receiver_port, &accepted_path);
    let config = format!(
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
framing.method = "newline_delimited"
batch.max_events = 1
request.concurrency = 4
healthcheck.enabled = false

[sinks.dead]
type = "file"
inputs = ["out.rejected"]
path = "{dead}"
encoding.codec = "json"
"#,
        dead = dead_path.display()
    );
    let mut agent = Agent::start(&config);
    let total = 90;
    let expected: BTreeSet<String> =
        (0..total).map(|n| if n % 3 == 0 { format!("bad {n}") } else { format!("good {n}") }).collect();
    for message in &expected {
        writeln!(agent.stdin(), "{message}").unwrap();
    }
    agent.stdin().flush().unwrap();

    // Every event comes out on one side or the other.
    let settled = wait_for(TIMEOUT, || {
        let seen = json_lines(&accepted_path).len() + json_lines(&dead_path).len();
        (seen >= total).then_some(seen)
    });
    assert!(settled.is_some(), "events settle; agent stderr:\n{}", agent.stderr_text());

    let bad = total / 3;
    let metrics = wait_for(TIMEOUT, || {
        let body = http_get(api_port, "/metrics")?;
        let routed = counter(
            &body,
            "component_sent_events_total",
            &[r#"component_id="out""#, r#"output="rejected""#],
        )?;
        (routed >= bad as f64).then_some(body)
    })
    .unwrap_or_else(|| panic!("/metrics counts the dead letters: {:?}", http_get(api_port, "/metrics")));
    let routed =
        counter(&metrics, "component_sent_events_total", &[r#"component_id="out""#, r#"output="rejected""#]);
    assert_eq!(routed, Some(bad as f64));
    let errors = counter(
        &metrics,
        "component_errors_total",
        &[r#"component_id="out""#, r#"error_type="http_client_error""#],
    );
    assert_eq!(errors, Some(bad as f64), "one refused request per bad event");
    let written = counter(&metrics, "component_sent_events_total", &[r#"component_id="dead""#]);
    assert_eq!(written, Some(bad as f64), "the dead-letter sink wrote them");

    agent.close_stdin();
    let status = agent.wait_exit(TIMEOUT);
    assert!(status.success(), "exit {status:?}; stderr:\n{}", agent.stderr_text());

    let accepted: Vec<String> =
        json_lines(&accepted_path).iter().map(|v| v["message"].as_str().unwrap().to_owned()).collect();
    let dead = json_lines(&dead_path);
    let dead_messages: Vec<String> = dead.iter().map(|v| v["message"].as_str().unwrap().to_owned()).collect();
    assert_eq!(accepted.len() + dead_messages.len(), total, "none twice");
    let all: BTreeSet<String> = accepted.iter().chain(&dead_messages).cloned().collect();
    assert_eq!(all, expected, "none lost");
    assert!(accepted.iter().all(|m| m.starts_with("good")), "{accepted:?}");
    assert!(dead_messages.iter().all(|m| m.starts_with("bad")), "{dead_messages:?}");
    for event in &dead {
        let why = &event["metadata"]["dead_letter"];
        assert_eq!(why["component_id"], "out", "{event}");
        assert_eq!(why["component_type"], "http", "{event}");
        assert_eq!(why["reason"], "http_client_error", "{event}");
        assert_eq!(why["http_status"], 400, "{event}");
        assert_eq!(why["retries_exhausted"], false, "{event}");
    }
    assert!(
        agent.stderr_text().contains("out.rejected"),
        "the rejection is logged (rate-limited):\n{}",
        agent.stderr_text()
    );
}
