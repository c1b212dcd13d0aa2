//! `socket` tests: real sockets on loopback and in temporary directories, a real runtime, events
//! out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use strata_core::testing::{collect, source_context};
use strata_core::{BufferReceiver, ComponentError, GlobalOptions, Resource, ShutdownSignal, SourceConfig};
use strata_event::{Event, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket, UnixDatagram, UnixStream};
use tokio::task::JoinHandle;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Running {
    pub shutdown: ShutdownSignal,
    pub task: JoinHandle<Result<(), ComponentError>>,
    pub rx: BufferReceiver,
    /// The bound address of a TCP or UDP source.
    pub address: Option<SocketAddr>,
}

impl Running {
    pub async fn stop(self) -> BufferReceiver {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.task).await.expect("stops").expect("no panic").expect("ok");
        self.rx
    }
}

fn config(options: serde_json::Value) -> SocketConfig {
    let config: SocketConfig = strata_core::parse_options(options).expect("valid options");
    assert_eq!(config.validate(), Vec::<String>::new());
    config
}

async fn start(options: serde_json::Value) -> Running {
    let config = config(options);
    let bound = source::bind(&config).await.expect("binds");
    let address = bound.local_addr();
    let (cx, rx) = source_context("socket", GlobalOptions::default());
    let shutdown = cx.shutdown.clone();
    let task = tokio::spawn(source::run(config.settings(), bound, cx));
    Running { shutdown, task, rx, address }
}

async fn start_tcp(extra: serde_json::Value) -> (Running, SocketAddr) {
    let mut options = serde_json::json!({"mode": "tcp", "address": "127.0.0.1:0"});
    options.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let running = start(options).await;
    let address = running.address.expect("a tcp address");
    (running, address)
}

pub(crate) fn text(event: &Event, key: &str) -> String {
    match event.as_log().unwrap().get(key) {
        Some(value) => value.to_string_lossy().into_owned(),
        None => panic!("no `{key}` in {event:?}"),
    }
}

fn messages(events: &[Event]) -> Vec<String> {
    events.iter().map(|event| text(event, "message")).collect()
}

/// Waits for the peer to close: a read returns end of input or a reset.
async fn closed_by_peer(stream: &mut (impl AsyncReadExt + Unpin)) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(WAIT, stream.read(&mut byte)).await, Ok(Ok(0)) | Ok(Err(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_lines_become_events_with_peer_host_and_port() {
    let (mut running, address) = start_tcp(serde_json::json!({})).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    let client_port = client.local_addr().unwrap().port();
    client.write_all(b"first line\nsecond line\n").await.unwrap();
    let events = collect(&mut running.rx, 2, WAIT).await;
    assert_eq!(messages(&events), ["first line", "second line"]);
    for event in &events {
        assert_eq!(text(event, "host"), "127.0.0.1");
        assert_eq!(event.as_log().unwrap().get("port"), Some(&Value::Integer(i64::from(client_port))));
        assert_eq!(text(event, "source_type"), "socket");
        assert!(matches!(event.as_log().unwrap().get("timestamp"), Some(Value::Timestamp(_))));
    }
    // Shutdown closes the connection it had open.
    running.stop().await;
    assert!(closed_by_peer(&mut client).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_last_line_without_newline_is_kept_at_close() {
    let (mut running, address) =
        start_tcp(serde_json::json!({"host_key": "peer", "port_key": "", "decoding": {"codec": "json"}}))
            .await;
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(b"{\"n\":1}\nnot json\n{\"n\":2}").await.unwrap();
    client.shutdown().await.unwrap();
    let events = collect(&mut running.rx, 2, WAIT).await;
    assert_eq!(events.iter().map(|e| text(e, "n")).collect::<Vec<_>>(), ["1", "2"]);
    let log = events[0].as_log().unwrap();
    assert_eq!(log.get("peer"), Some(&Value::from("127.0.0.1")));
    assert_eq!(log.get("port"), None);
    assert_eq!(log.get("host"), None);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_read_independently() {
    let (mut running, address) = start_tcp(serde_json::json!({})).await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    let mut quick = TcpStream::connect(address).await.unwrap();
    // An unfinished line on one connection does not hold back the other.
    slow.write_all(b"slow begins").await.unwrap();
    quick.write_all(b"quick\n").await.unwrap();
    assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["quick"]);
    slow.write_all(b" and ends\n").await.unwrap();
    assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["slow begins and ends"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_are_one_event_each() {
    let mut running = start(serde_json::json!({"mode": "udp", "address": "127.0.0.1:0"})).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client_port = client.local_addr().unwrap().port();
    let address = running.address.unwrap();
    client.send_to(b"one", address).await.unwrap();
    client.send_to(b"two\nstill two", address).await.unwrap();
    let events = collect(&mut running.rx, 2, WAIT).await;
    assert_eq!(messages(&events), ["one", "two\nstill two"]);
    assert_eq!(text(&events[0], "host"), "127.0.0.1");
    assert_eq!(events[1].as_log().unwrap().get("port"), Some(&Value::Integer(i64::from(client_port))));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_oversized_datagram_is_discarded() {
    let options = serde_json::json!({"mode": "udp", "address": "127.0.0.1:0", "max_length": 8});
    let mut running = start(options).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = running.address.unwrap();
    client.send_to(b"far too long for eight", address).await.unwrap();
    client.send_to(b"fits", address).await.unwrap();
    let events = collect(&mut running.rx, 1, WAIT).await;
    assert_eq!(messages(&events), ["fits"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_stream_lines_carry_the_socket_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.sock");
    let options = serde_json::json!({"mode": "unix_stream", "path": path, "socket_file_mode": 0o600});
    let mut running = start(options).await;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o600);
    let mut client = UnixStream::connect(&path).await.unwrap();
    client.write_all(b"over unix\n").await.unwrap();
    let events = collect(&mut running.rx, 1, WAIT).await;
    assert_eq!(messages(&events), ["over unix"]);
    assert_eq!(text(&events[0], "host"), path.to_string_lossy());
    assert_eq!(events[0].as_log().unwrap().get("port"), None);
    running.stop().await;
    assert!(closed_by_peer(&mut client).await);
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_datagrams_replace_a_stale_socket_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dgram.sock");
    // A socket file left by an earlier run.
    drop(std::os::unix::net::UnixDatagram::bind(&path).unwrap());
    let mut running = start(serde_json::json!({"mode": "unix_datagram", "path": path})).await;
    let client = UnixDatagram::unbound().unwrap();
    client.send_to(b"a datagram", &path).await.unwrap();
    let events = collect(&mut running.rx, 1, WAIT).await;
    assert_eq!(messages(&events), ["a datagram"]);
    assert_eq!(text(&events[0], "host"), path.to_string_lossy());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regular_file_at_the_path_fails_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-socket");
    std::fs::write(&path, "keep me").unwrap();
    let config = config(serde_json::json!({"mode": "unix_stream", "path": path}));
    let (cx, _rx) = source_context("socket", GlobalOptions::default());
    let error = config.build(cx).await.err().expect("the build fails");
    assert!(error.message.contains("not a socket"), "{}", error.message);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_fails_the_build() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let config = config(serde_json::json!({"mode": "tcp", "address": address}));
    let (cx, _rx) = source_context("socket", GlobalOptions::default());
    let error = config.build(cx).await.err().expect("the build fails");
    assert!(
        error.message.starts_with(&format!("cannot listen on tcp address {address}")),
        "{}",
        error.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_refused() {
    let (mut running, address) = start_tcp(serde_json::json!({"max_connections": 1})).await;
    let mut first = TcpStream::connect(address).await.unwrap();
    first.write_all(b"first\n").await.unwrap();
    assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["first"]);

    let mut second = TcpStream::connect(address).await.unwrap();
    assert!(closed_by_peer(&mut second).await, "the connection over the limit is closed");
    first.write_all(b"still served\n").await.unwrap();
    assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["still served"]);

    // Closing the first connection frees its place.
    drop(first);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut third = TcpStream::connect(address).await.unwrap();
        if third.write_all(b"third\n").await.is_ok() {
            let events = collect(&mut running.rx, 1, Duration::from_millis(500)).await;
            if !events.is_empty() {
                assert_eq!(messages(&events), ["third"]);
                break;
            }
        }
        assert!(Instant::now() < deadline, "a place never came free");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_timeout() {
    let (mut running, address) = start_tcp(serde_json::json!({"connection_timeout_secs": 1})).await;
    let mut talker = TcpStream::connect(address).await.unwrap();
    talker.write_all(b"hello\n").await.unwrap();
    assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["hello"]);
    let started = Instant::now();
    let mut silent = TcpStream::connect(address).await.unwrap();
    assert!(closed_by_peer(&mut silent).await, "the silent connection is closed");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_discarded_and_the_connection_goes_on() {
    let (mut running, address) = start_tcp(serde_json::json!({"max_length": 16})).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(b"short\n").await.unwrap();
    client.write_all(&[b'x'; 1000]).await.unwrap();
    client.write_all(b"\nafter\n").await.unwrap();
    let events = collect(&mut running.rx, 2, WAIT).await;
    assert_eq!(messages(&events), ["short", "after"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pipeline_stops_reading_and_the_sender_blocks() {
    let (running, address) = start_tcp(serde_json::json!({"receive_buffer_bytes": 16384})).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    let line = format!("{}\n", "y".repeat(99));
    let chunk = line.repeat(640).into_bytes();
    let mut written = 0usize;
    // Nothing reads the pipeline: the source must stop reading, and writes must stop going
    // through once the kernel's buffers are full.
    let blocked = loop {
        match tokio::time::timeout(Duration::from_secs(1), client.write_all(&chunk)).await {
            Ok(result) => result.unwrap(),
            Err(_) => break true,
        }
        written += chunk.len();
        if written > 256 << 20 {
            break false;
        }
    };
    assert!(blocked, "wrote {written} bytes without blocking");
    assert!(written < 64 << 20, "wrote {written} bytes before blocking");

    // Reading the pipeline lets the sender go on.
    let Running { shutdown, task, mut rx, .. } = running;
    let reader = tokio::spawn(async move {
        let mut events = 0;
        while let Some(batch) = rx.recv().await {
            events += batch.len();
        }
        events
    });
    tokio::time::timeout(WAIT, client.write_all(&chunk)).await.expect("the sender is unblocked").unwrap();
    shutdown.trigger();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap().unwrap();
    drop(reader);
}

#[test]
fn vector_options_parse() {
    let config = config(serde_json::json!({
        "mode": "tcp", "address": "127.0.0.1:9000", "max_length": 10, "connection_limit": 5,
        "host_key": "peer", "port_key": "peer_port", "receive_buffer_bytes": 65536,
        "decoding": {"codec": "json"},
    }));
    let settings = config.settings();
    assert_eq!(settings.framing.newline_delimited.max_length, Some(10));
    assert_eq!(settings.max_connections, Some(5));
    assert_eq!(settings.port_key.as_deref(), Some("peer_port"));
    assert_eq!(config.resources(), [Resource::Tcp("127.0.0.1:9000".parse().unwrap())]);

    let udp = self::config(serde_json::json!({"mode": "udp", "address": "127.0.0.1:9000"}));
    assert_eq!(udp.settings().framing.method, strata_codecs::FramingMethod::Bytes);
    assert_eq!(udp.settings().port_key.as_deref(), Some("port"));
    assert_eq!(udp.resources(), [Resource::Udp("127.0.0.1:9000".parse().unwrap())]);

    let unix = self::config(serde_json::json!({"mode": "unix_stream", "path": "/run/strata.sock"}));
    assert_eq!(unix.resources(), [Resource::Path("/run/strata.sock".into())]);
    assert_eq!(unix.settings().framing.method, strata_codecs::FramingMethod::NewlineDelimited);
}

#[test]
fn framing_keeps_its_own_limit_over_max_length() {
    let config = config(serde_json::json!({
        "mode": "tcp", "address": "127.0.0.1:9000", "max_length": 10,
        "framing": {"method": "octet_counting", "octet_counting": {"max_length": 99}},
    }));
    assert_eq!(config.settings().framing.max_length(), 99);
}

#[test]
fn the_example_parses() {
    let table: toml::Table = toml::from_str(config::EXAMPLE).unwrap();
    let mut options = serde_json::to_value(table).unwrap();
    assert_eq!(options["type"], "socket");
    options.as_object_mut().unwrap().remove("type");
    let config = config(options);
    assert!(matches!(config, SocketConfig::Tcp(TcpConfig { address, .. }) if address.ip().is_loopback()));
}

#[test]
fn bad_options_are_refused() {
    let typo = strata_core::parse_options::<SocketConfig>(
        serde_json::json!({"mode": "tcp", "address": "127.0.0.1:9000", "max_lenght": 10}),
    )
    .unwrap_err();
    assert_eq!(typo.suggestion.as_deref(), Some("max_length"));
    // UDP has no connections to limit.
    assert!(
        strata_core::parse_options::<SocketConfig>(
            serde_json::json!({"mode": "udp", "address": "127.0.0.1:9000", "max_connections": 1}),
        )
        .is_err()
    );
    assert!(strata_core::parse_options::<SocketConfig>(serde_json::json!({"mode": "tcp"})).is_err());
    assert!(
        strata_core::parse_options::<SocketConfig>(serde_json::json!({"mode": "sctp", "address": "x"}))
            .is_err()
    );
    let invalid: SocketConfig = strata_core::parse_options(serde_json::json!({
        "mode": "unix_stream", "path": "/tmp/x.sock", "max_connections": 0, "socket_file_mode": 0o17777,
    }))
    .unwrap();
    assert_eq!(invalid.validate().len(), 2, "{:?}", invalid.validate());
}

// TLS: the helpers are shared with the `syslog` and `http_server` tests.

/// Certificates for TLS tests, as PEM files in a temporary directory: an authority, a server
/// certificate for `localhost` and `127.0.0.1`, a client certificate from the same authority, and
/// one from another authority.
pub(crate) struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: strata_tls::testing::Authority,
    pub server: strata_tls::testing::Identity,
    pub client: strata_tls::testing::Identity,
    pub stranger: strata_tls::testing::Identity,
}

pub(crate) fn pki() -> Pki {
    use strata_tls::testing::Authority;
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(dir.path(), "test");
    let server = ca.server(dir.path(), "server");
    let client = ca.client(dir.path(), "client");
    let stranger = Authority::new(dir.path(), "other").client(dir.path(), "stranger");
    Pki { dir, ca, server, client, stranger }
}

impl Pki {
    /// A listener's `tls` table; with `verify_certificate`, clients must present a certificate.
    pub fn listener(&self, verify_certificate: bool) -> serde_json::Value {
        serde_json::json!({
            "enabled": true,
            "crt_file": self.server.crt_file,
            "key_file": self.server.key_file,
            "ca_file": self.ca.ca_file,
            "verify_certificate": verify_certificate,
        })
    }

    /// A TLS connection to `address` that trusts the test authority, presenting `identity`.
    pub async fn connect(
        &self,
        address: SocketAddr,
        identity: Option<&strata_tls::testing::Identity>,
    ) -> std::io::Result<strata_tls::tokio_rustls::client::TlsStream<TcpStream>> {
        let options = strata_tls::ClientTlsConfig {
            enabled: Some(true),
            ca_file: Some(self.ca.ca_file.clone()),
            crt_file: identity.map(|identity| identity.crt_file.clone()),
            key_file: identity.map(|identity| identity.key_file.clone()),
            ..Default::default()
        };
        let connector = options.connector("localhost").expect("the client config builds");
        let tcp = TcpStream::connect(address).await?;
        connector.connect(tcp, WAIT).await.map_err(std::io::Error::other)
    }
}

/// `component_errors_total` for one `error_type`, as recorded.
pub(crate) fn errors(recorded: &strata_core::compliance::Recorded, error_type: &str) -> u64 {
    recorded.counter("component_errors_total", &[("error_type", error_type)]).unwrap_or(0)
}

#[test]
fn tls_lines_arrive_and_a_plaintext_client_is_refused_and_counted() {
    let pki = pki();
    let ((), recorded) = strata_core::compliance::recorded(async {
        let (mut running, address) = start_tcp(serde_json::json!({"tls": pki.listener(false)})).await;
        let mut secure = pki.connect(address, None).await.expect("the handshake succeeds");
        secure.write_all(b"over tls\nsecond\n").await.unwrap();
        secure.flush().await.unwrap();
        let events = collect(&mut running.rx, 2, WAIT).await;
        assert_eq!(messages(&events), ["over tls", "second"]);
        assert_eq!(text(&events[0], "host"), "127.0.0.1");

        let mut plain = TcpStream::connect(address).await.unwrap();
        plain.write_all(b"in the clear\n").await.unwrap();
        // The server may answer with an alert before it closes: read to the end.
        let mut answer = Vec::new();
        let read = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the plaintext client is refused");
        // The listener and the connection already open go on.
        secure.write_all(b"still served\n").await.unwrap();
        secure.flush().await.unwrap();
        assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["still served"]);
        let mut again = pki.connect(address, None).await.expect("a new handshake succeeds");
        again.write_all(b"and a new one\n").await.unwrap();
        again.flush().await.unwrap();
        assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["and a new one"]);
        running.stop().await;
    });
    assert_eq!(errors(&recorded, "tls_handshake_failed"), 1);
    let labels = [("component_kind", "source"), ("component_type", "socket"), ("stage", "receiving")];
    assert_eq!(recorded.counter("component_errors_total", &labels), Some(1));
}

#[test]
fn client_certificates_are_required_and_must_come_from_the_authority() {
    let pki = pki();
    let ((), recorded) = strata_core::compliance::recorded(async {
        let (mut running, address) = start_tcp(serde_json::json!({"tls": pki.listener(true)})).await;
        let mut trusted = pki.connect(address, Some(&pki.client)).await.expect("a trusted client connects");
        trusted.write_all(b"with a certificate\n").await.unwrap();
        trusted.flush().await.unwrap();
        assert_eq!(messages(&collect(&mut running.rx, 1, WAIT).await), ["with a certificate"]);

        // TLS 1.3 clients finish their side of the handshake before the server has checked their
        // certificate: the refusal shows as the connection closing, and nothing arrives.
        for identity in [None, Some(&pki.stranger)] {
            let Ok(mut refused) = pki.connect(address, identity).await else { continue };
            let _ = refused.write_all(b"should not arrive\n").await;
            let _ = refused.flush().await;
            assert!(closed_by_peer(&mut refused).await, "refused: {identity:?}");
        }
        assert!(collect(&mut running.rx, 1, Duration::from_millis(300)).await.is_empty());
        running.stop().await;
    });
    assert_eq!(errors(&recorded, "tls_handshake_failed"), 2);
}

#[test]
fn a_client_that_says_nothing_is_closed_after_the_handshake_deadline() {
    let pki = pki();
    let ((), recorded) = strata_core::compliance::recorded(async {
        let options = serde_json::json!({"tls": pki.listener(false), "connection_timeout_secs": 1});
        let (running, address) = start_tcp(options).await;
        let started = Instant::now();
        let mut silent = TcpStream::connect(address).await.unwrap();
        assert!(closed_by_peer(&mut silent).await, "the silent connection is closed");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
        running.stop().await;
    });
    assert_eq!(errors(&recorded, "tls_handshake_timed_out"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_sends_lines_with_a_client_certificate() {
    use std::io::Write;
    let pki = pki();
    let (mut running, address) = start_tcp(serde_json::json!({"tls": pki.listener(true)})).await;
    let mut openssl = std::process::Command::new("/usr/bin/openssl")
        .args(["s_client", "-quiet", "-no_ign_eof", "-verify_return_error", "-servername", "localhost"])
        .arg("-connect")
        .arg(address.to_string())
        .arg("-CAfile")
        .arg(&pki.ca.ca_file)
        .arg("-cert")
        .arg(&pki.client.crt_file)
        .arg("-key")
        .arg(&pki.client.key_file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl runs");
    openssl.stdin.take().unwrap().write_all(b"from openssl\nline two\n").unwrap();
    let events = collect(&mut running.rx, 2, WAIT).await;
    let output = tokio::task::spawn_blocking(move || openssl.wait_with_output().unwrap()).await.unwrap();
    assert_eq!(messages(&events), ["from openssl", "line two"], "{output:?}");
    assert!(output.status.success(), "{output:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_tls_file_fails_the_build_and_names_the_file() {
    let pki = pki();
    let missing = pki.dir.path().join("missing.key");
    let mut tls = pki.listener(false);
    tls["key_file"] = serde_json::json!(missing);
    let config = config(serde_json::json!({"mode": "tcp", "address": "127.0.0.1:0", "tls": tls}));
    let (cx, _rx) = source_context("socket", GlobalOptions::default());
    let error = config.build(cx).await.err().expect("the build fails");
    assert!(error.message.contains("`tls.key_file`"), "{}", error.message);
    assert!(error.message.contains(&missing.display().to_string()), "{}", error.message);
}

#[test]
fn tls_options_are_checked_and_belong_to_tcp_only() {
    let forgotten: SocketConfig = strata_core::parse_options(serde_json::json!({
        "mode": "tcp", "address": "127.0.0.1:9000", "tls": {"crt_file": "c.pem", "key_file": "k.pem"},
    }))
    .unwrap();
    assert!(forgotten.validate().iter().any(|error| error.contains("`tls.enabled` is not set")));
    let no_ca: SocketConfig = strata_core::parse_options(serde_json::json!({
        "mode": "tcp", "address": "127.0.0.1:9000",
        "tls": {"enabled": true, "crt_file": "c.pem", "key_file": "k.pem", "verify_certificate": true},
    }))
    .unwrap();
    assert!(no_ca.validate().iter().any(|error| error.contains("`tls.ca_file`")), "{:?}", no_ca.validate());
    let udp = strata_core::parse_options::<SocketConfig>(
        serde_json::json!({"mode": "udp", "address": "127.0.0.1:9000", "tls": {"enabled": true}}),
    );
    assert!(udp.is_err());
}

/// The compliance helper builds the source itself on a port chosen first; a thread connects with
/// rustls's blocking client, presenting a client certificate, until the source answers.
#[test]
fn tls_source_compliance() {
    use std::io::{Read, Write};
    use strata_tls::rustls;
    let pki = pki();
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = config(serde_json::json!({"mode": "tcp", "address": address, "tls": pki.listener(true)}));
    let client_options = strata_tls::ClientTlsConfig {
        ca_file: Some(pki.ca.ca_file.clone()),
        crt_file: Some(pki.client.crt_file.clone()),
        key_file: Some(pki.client.key_file.clone()),
        ..Default::default()
    };
    let client_config = std::sync::Arc::new(client_options.client_config().unwrap());
    let client = std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let Ok(tcp) = std::net::TcpStream::connect(address) else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            let connection =
                rustls::ClientConnection::new(client_config, "localhost".try_into().unwrap()).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, tcp);
            tls.write_all(b"a\nb\n").unwrap();
            tls.flush().unwrap();
            // Held open until the source closes it at shutdown.
            let _ = tls.read_to_end(&mut Vec::new());
            return;
        }
        panic!("the source never listened on {address}");
    });
    let events = strata_core::compliance::assert_source_compliance("socket", &config, 2);
    assert_eq!(messages(&events), ["a", "b"]);
    client.join().unwrap();
}
