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
