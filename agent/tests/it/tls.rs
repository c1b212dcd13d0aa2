//! Two real agents over TLS: a `socket` sink with a client certificate into a `socket` source
//! that requires one, and an `http` sink posting over HTTPS to an `http_server` source.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use strata_tls::testing::{Authority, Identity};

use crate::harness::{Agent, Options, free_port, wait_for};

/// TOML for a path: a quoted basic string.
fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

struct Pki {
    dir: tempfile::TempDir,
    ca: Authority,
    server: Identity,
    client: Identity,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(dir.path(), "test");
    let server = ca.server(dir.path(), "server");
    let client = ca.client(dir.path(), "client");
    Pki { dir, ca, server, client }
}

impl Pki {
    /// The `tls` table of a listener that requires client certificates from the authority.
    fn listener_tls(&self) -> String {
        format!(
            "tls.enabled = true\ntls.crt_file = {}\ntls.key_file = {}\ntls.ca_file = {}\ntls.verify_certificate = true\n",
            toml_path(&self.server.crt_file),
            toml_path(&self.server.key_file),
            toml_path(&self.ca.ca_file),
        )
    }

    /// The `tls` options of a sink that trusts the authority and presents the client certificate.
    fn sink_tls(&self) -> String {
        format!(
            "tls.ca_file = {}\ntls.crt_file = {}\ntls.key_file = {}\n",
            toml_path(&self.ca.ca_file),
            toml_path(&self.client.crt_file),
            toml_path(&self.client.key_file),
        )
    }
}

fn quiet() -> Options {
    Options { log_level: "warn", ..Default::default() }
}

#[test]
fn a_socket_sink_with_a_client_certificate_delivers_every_event_to_a_tls_socket_source() {
    let pki = pki();
    let port = free_port();
    let output = pki.dir.path().join("received.log");
    let receiver_config = format!(
        r#"
[sources.tls_in]
type = "socket"
mode = "tcp"
address = "127.0.0.1:{port}"
{listener_tls}
[sinks.out]
type = "file"
inputs = ["tls_in"]
path = {output}
encoding.codec = "text"
"#,
        listener_tls = pki.listener_tls(),
        output = toml_path(&output),
    );
    let sender_config = format!(
        r#"
[sources.in]
type = "stdin"

[sinks.tls_out]
type = "socket"
inputs = ["in"]
mode = "tcp"
address = "localhost:{port}"
encoding.codec = "text"
tls.enabled = true
{sink_tls}"#,
        sink_tls = pki.sink_tls(),
    );
    let mut receiver = Agent::start_with(&receiver_config, quiet());
    // The sender's healthcheck and first connect retry until the receiver listens.
    let mut sender = Agent::start_with(&sender_config, quiet());
    for n in 0..1000 {
        writeln!(sender.stdin(), "tls line {n}").unwrap();
    }
    sender.stdin().flush().unwrap();
    sender.close_stdin();
    assert!(
        sender.wait_exit(Duration::from_secs(30)).success(),
        "the sender drains and exits: {}",
        sender.stderr_text()
    );

    let expected: BTreeSet<String> = (0..1000).map(|n| format!("tls line {n}")).collect();
    let received = wait_for(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&output).ok()?;
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        (lines.len() >= 1000).then_some(lines)
    });
    let lines = received
        .unwrap_or_else(|| panic!("not every line arrived; receiver stderr:\n{}", receiver.stderr_text()));
    assert_eq!(lines.len(), 1000, "none twice");
    assert_eq!(lines.into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(!receiver.stderr_text().contains("refused a connection"), "{}", receiver.stderr_text());
    receiver.signal("TERM");
    assert!(receiver.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn an_http_sink_posts_over_https_to_an_http_server_source() {
    let pki = pki();
    let port = free_port();
    let receiver_config = format!(
        r#"
[sources.https_in]
type = "http_server"
address = "127.0.0.1:{port}"
path = "/ingest"
decoding.codec = "json"
{listener_tls}
[sinks.out]
type = "console"
inputs = ["https_in"]
encoding.codec = "text"
"#,
        listener_tls = pki.listener_tls(),
    );
    let sender_config = format!(
        r#"
[sources.in]
type = "stdin"

[sinks.https_out]
type = "http"
inputs = ["in"]
uri = "https://localhost:{port}/ingest"
encoding.codec = "json"
batch.max_events = 50
batch.timeout_secs = 0.2
request.retry_initial_backoff_secs = 0.2
healthcheck.enabled = false
{sink_tls}"#,
        sink_tls = pki.sink_tls(),
    );
    let receiver = Agent::start_with(&receiver_config, quiet());
    let mut sender = Agent::start_with(&sender_config, quiet());
    for n in 0..300 {
        writeln!(sender.stdin(), "https msg {n}").unwrap();
    }
    sender.stdin().flush().unwrap();
    let lines = receiver.wait_for_lines(300, Duration::from_secs(60));
    let expected: BTreeSet<String> = (0..300).map(|n| format!("https msg {n}")).collect();
    assert_eq!(
        lines.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every event arrived; receiver stderr:\n{}\nsender stderr:\n{}",
        receiver.stderr_text(),
        sender.stderr_text()
    );
    assert_eq!(lines.len(), 300, "none twice");
    sender.close_stdin();
    assert!(sender.wait_exit(Duration::from_secs(30)).success(), "the sender drains and exits");
    receiver.signal("TERM");
}
