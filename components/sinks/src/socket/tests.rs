//! `socket` tests against real sockets: a TCP listener on a loopback port 0 (closed and reopened
//! to test reconnects), UDP and Unix sockets in temporary directories, options and compliance.

use std::collections::BTreeMap;
use std::time::Duration;

use strata_core::testing::{sink_context, sink_input};
use strata_core::{BufferConfig, SinkConfig, SinkInput};
use strata_event::{
    BatchNotifier, BatchReceipt, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, UdpSocket, UnixDatagram, UnixListener};

use super::SocketConfig;

fn config(options: serde_json::Value) -> SocketConfig {
    strata_core::parse_options(options).unwrap()
}

fn tcp_config(port: u16) -> SocketConfig {
    config(serde_json::json!({
        "mode": "tcp", "address": format!("127.0.0.1:{port}"), "encoding": {"codec": "text"},
    }))
}

/// `count` events `event <first + n>`, all reporting to one returned receipt.
fn events(first: usize, count: usize) -> (Vec<Event>, BatchReceipt) {
    let (notifier, receipt) = BatchNotifier::new();
    let events = (first..first + count)
        .map(|n| {
            let mut metadata = EventMetadata::default();
            metadata.add_finalizers(EventFinalizers::new(notifier.clone()));
            Event::Log(LogEvent::from_message(format!("event {n}"), metadata))
        })
        .collect();
    (events, receipt)
}

fn expected(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("event {n}")).collect()
}

/// Runs the sink built from `config` over `batches` to the end.
async fn run(config: &SocketConfig, batches: Vec<EventBatch>) {
    let (sink, _) = config.build(sink_context("socket")).await.unwrap();
    let input = sink_input(batches).await;
    tokio::time::timeout(Duration::from_secs(10), sink.run(input)).await.unwrap().unwrap();
}

/// A listener on `port` (0 for any) that may be reopened on the same port at once.
fn tcp_listener(port: u16) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(([127, 0, 0, 1], port).into()).unwrap();
    socket.listen(16).unwrap()
}

/// Accepts one connection and returns its lines up to the end of the stream.
async fn read_lines(listener: TcpListener) -> Vec<String> {
    let (stream, _) = listener.accept().await.unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut out = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        out.push(line);
    }
    out
}

#[tokio::test]
async fn tcp_lines_arrive_in_order() {
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(read_lines(listener));
    let (all, receipt) = events(0, 100);
    let batches = all.chunks(7).map(|chunk| EventBatch::new(chunk.to_vec())).collect();
    drop(all);
    run(&tcp_config(port), batches).await;
    assert_eq!(server.await.unwrap(), expected(0..100));
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn tcp_reconnects_after_the_listener_restarts_and_loses_nothing() {
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    let cx = sink_context("socket");
    let (tx, rx) = strata_core::buffer::memory_buffer(&BufferConfig::default(), &cx.metrics);
    let (sink, _) = tcp_config(port).build(cx).await.unwrap();
    let metrics = sink_context("socket").metrics;
    let task = tokio::spawn(sink.run(SinkInput::new(rx, metrics)));

    // Phase one: 50 events reach the first server, which then goes away.
    let (first, first_receipt) = events(0, 50);
    tx.send(EventBatch::new(first)).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut received = Vec::new();
    while received.len() < 50 {
        received.push(lines.next_line().await.unwrap().unwrap());
    }
    drop(lines);
    drop(listener);
    assert_eq!(first_receipt.await, BatchStatus::Delivered);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Phase two: events sent while the server is down wait in the sink (and its input) until a
    // new server listens on the same port.
    let (second, second_receipt) = events(50, 50);
    for chunk in second.chunks(10) {
        tx.send(EventBatch::new(chunk.to_vec())).await.unwrap();
    }
    drop(second);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let listener = tcp_listener(port);
    drop(tx);
    received.extend(tokio::time::timeout(Duration::from_secs(10), read_lines(listener)).await.unwrap());
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
    assert_eq!(second_receipt.await, BatchStatus::Delivered);

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in &received {
        *counts.entry(line.clone()).or_default() += 1;
    }
    let duplicates: usize = counts.values().map(|count| count - 1).sum();
    let missing: Vec<String> = expected(0..100).into_iter().filter(|e| !counts.contains_key(e)).collect();
    assert!(missing.is_empty(), "lost events: {missing:?}");
    assert_eq!(counts.len(), 100, "only the events sent arrived: {counts:?}");
    eprintln!("received {} lines, {duplicates} duplicates", received.len());
}

#[tokio::test]
async fn tcp_waits_for_a_server_that_is_not_there_yet() {
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let (all, receipt) = events(0, 5);
    let server = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        read_lines(tcp_listener(port)).await
    };
    let config = tcp_config(port);
    let (lines, ()) = tokio::join!(server, run(&config, vec![EventBatch::new(all)]));
    assert_eq!(lines, expected(0..5));
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn tcp_framing_and_healthcheck() {
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    let config = config(serde_json::json!({
        "mode": "tcp", "address": format!("127.0.0.1:{port}"), "encoding": {"codec": "text"},
        "framing": {"method": "character_delimited", "character_delimited": {"delimiter": ","}},
        "send_buffer_bytes": 65536, "keepalive": {"time_secs": 30},
    }));
    let (_, healthcheck) = config.build(sink_context("socket")).await.unwrap();
    let (health, accepted) = tokio::join!(healthcheck, listener.accept());
    assert_eq!(health, Ok(()));
    drop(accepted);
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        text
    });
    let (all, receipt) = events(0, 3);
    run(&config, vec![EventBatch::new(all)]).await;
    assert_eq!(server.await.unwrap(), "event 0,event 1,event 2,");
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn tcp_healthcheck_fails_without_a_server() {
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let (_, healthcheck) = tcp_config(port).build(sink_context("socket")).await.unwrap();
    let error = healthcheck.await.unwrap_err();
    assert!(error.starts_with(&format!("connecting to tcp://127.0.0.1:{port} failed")), "{error}");
}

fn udp_config(port: u16) -> SocketConfig {
    config(serde_json::json!({
        "mode": "udp", "address": format!("127.0.0.1:{port}"), "encoding": {"codec": "text"},
    }))
}

async fn datagrams(socket: &UdpSocket, count: usize) -> Vec<String> {
    let mut buf = vec![0; 70_000];
    let mut out = Vec::new();
    while out.len() < count {
        let read =
            tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf)).await.unwrap().unwrap();
        out.push(String::from_utf8(buf[..read].to_vec()).unwrap());
    }
    out
}

#[tokio::test]
async fn udp_sends_one_datagram_per_event() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (all, receipt) = events(0, 20);
    let batches = all.chunks(6).map(|chunk| EventBatch::new(chunk.to_vec())).collect();
    drop(all);
    run(&udp_config(port), batches).await;
    let mut got = datagrams(&server, 20).await;
    got.sort_by_key(|line| line[6..].parse::<usize>().unwrap());
    assert_eq!(got, expected(0..20));
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn udp_rejects_an_event_too_large_for_a_datagram() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (big_notifier, big_receipt) = BatchNotifier::new();
    let mut metadata = EventMetadata::default();
    metadata.add_finalizers(EventFinalizers::new(big_notifier));
    let big = Event::Log(LogEvent::from_message("x".repeat(super::datagram::MAX_UDP_DATAGRAM + 1), metadata));
    let (small, small_receipt) = events(0, 1);
    run(&udp_config(port), vec![EventBatch::new(vec![big]), EventBatch::new(small)]).await;
    assert_eq!(datagrams(&server, 1).await, ["event 0"]);
    assert_eq!(big_receipt.await, BatchStatus::Rejected);
    assert_eq!(small_receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn unix_stream_lines_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sink.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        text
    });
    let config = config(serde_json::json!({
        "mode": "unix", "path": path, "encoding": {"codec": "text"}, "healthcheck": {"enabled": false},
    }));
    let (all, receipt) = events(0, 10);
    run(&config, vec![EventBatch::new(all)]).await;
    let text = server.await.unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected(0..10));
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn unix_datagrams_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sink.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    let config = config(serde_json::json!({
        "mode": "unix", "unix_mode": "datagram", "path": path, "encoding": {"codec": "text"},
    }));
    let (_, healthcheck) = config.build(sink_context("socket")).await.unwrap();
    assert_eq!(healthcheck.await, Ok(()));
    let (all, receipt) = events(0, 5);
    run(&config, vec![EventBatch::new(all)]).await;
    let mut buf = [0; 64];
    for n in 0..5 {
        let read = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..read], format!("event {n}").as_bytes());
    }
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[test]
fn options_are_checked() {
    let parse = |options| strata_core::parse_options::<SocketConfig>(options).map_err(|e| e.to_string());
    let typo = parse(serde_json::json!({"mode": "tcp", "adress": "a:1", "encoding": {"codec": "text"}}));
    assert!(typo.unwrap_err().contains("adress"));
    let udp_framing = parse(serde_json::json!({
        "mode": "udp", "address": "a:1", "encoding": {"codec": "text"}, "framing": {"method": "bytes"},
    }));
    assert!(udp_framing.unwrap_err().contains("framing"));
    assert!(
        parse(serde_json::json!({"mode": "tls", "address": "a:1", "encoding": {"codec": "text"}})).is_err()
    );
}

#[tokio::test]
async fn invalid_combinations_fail_to_build() {
    let datagram_framing = config(serde_json::json!({
        "mode": "unix", "unix_mode": "datagram", "path": "/tmp/x.sock", "encoding": {"codec": "text"},
        "framing": {"method": "bytes"},
    }));
    let error = datagram_framing.build(sink_context("socket")).await.err().unwrap();
    assert!(error.message.contains("`framing`"), "{}", error.message);
    let wide = config(serde_json::json!({
        "mode": "tcp", "address": "a:1", "encoding": {"codec": "text"},
        "framing": {"method": "character_delimited", "character_delimited": {"delimiter": "é"}},
    }));
    let error = wide.build(sink_context("socket")).await.err().unwrap();
    assert!(error.message.contains("one ASCII character"), "{}", error.message);
}

#[test]
fn the_example_parses() {
    let mut options: serde_json::Value = toml::from_str(super::config::EXAMPLE).unwrap();
    let table = options.as_object_mut().unwrap();
    assert_eq!(table.remove("type"), Some(serde_json::json!("socket")));
    table.remove("inputs");
    (super::REGISTRATION.parse)(options).unwrap();
}

/// The standard metrics and labels, through the compliance helper, over TCP.
#[test]
fn tcp_passes_the_compliance_helper() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::Read;
        let (mut stream, _) = listener.accept().unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    });
    let events = (0..4).map(|n| Event::Log(LogEvent::from_message(format!("event {n}"), Default::default())));
    strata_core::compliance::assert_sink_compliance("socket", &tcp_config(port), events.collect());
    assert_eq!(server.join().unwrap(), "event 0\nevent 1\nevent 2\nevent 3\n");
}

#[tokio::test]
async fn an_event_too_large_for_a_datagram_goes_to_the_rejected_output_when_wired() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (notifier, receipt) = BatchNotifier::new();
    let mut metadata = EventMetadata::default();
    metadata.add_finalizers(EventFinalizers::new(notifier));
    let big = Event::Log(LogEvent::from_message("x".repeat(super::datagram::MAX_UDP_DATAGRAM + 1), metadata));
    let (cx, mut dead_letters) = strata_core::testing::sink_context_with_rejected("socket");
    let (sink, _) = udp_config(port).build(cx).await.unwrap();
    sink.run(sink_input(vec![EventBatch::new(vec![big])]).await).await.unwrap();
    let routed = strata_core::testing::collect(&mut dead_letters, 1, Duration::from_secs(5)).await;
    assert_eq!(routed.len(), 1);
    let reason = routed[0].as_log().unwrap().get("metadata.dead_letter.reason").cloned();
    assert_eq!(reason, Some("datagram_too_large".into()));
    // Dropped by the dead-letter side without an outcome: not delivered, and not the sink's say.
    drop(routed);
    assert_eq!(receipt.await, BatchStatus::Errored);
}

// TLS.

use strata_tls::testing::{Authority, Identity};
use strata_tls::{ServerTlsConfig, TlsAcceptor};

/// An authority with a server certificate for `localhost` and `127.0.0.1` and a client
/// certificate, as PEM files in a temporary directory.
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
    /// A TLS server's acceptor that requires a client certificate from the authority.
    fn acceptor(&self, server: &Identity) -> TlsAcceptor {
        let options = ServerTlsConfig {
            enabled: Some(true),
            crt_file: Some(server.crt_file.clone()),
            key_file: Some(server.key_file.clone()),
            ca_file: Some(self.ca.ca_file.clone()),
            verify_certificate: true,
            alpn_protocols: Vec::new(),
        };
        options.acceptor().unwrap().unwrap()
    }

    /// The sink's options: TLS to `host:port`, trusting the authority, with the client certificate.
    fn sink(&self, host: &str, port: u16) -> SocketConfig {
        config(serde_json::json!({
            "mode": "tcp", "address": format!("{host}:{port}"), "encoding": {"codec": "text"},
            "tls": {
                "enabled": true, "ca_file": self.ca.ca_file,
                "crt_file": self.client.crt_file, "key_file": self.client.key_file,
            },
        }))
    }
}

/// Accepts TLS connections until one completes its handshake, then reads `count` lines from it
/// (or up to its end when `count` is `None`), all within 10 seconds.
async fn read_tls_lines(listener: &TcpListener, acceptor: &TlsAcceptor, count: Option<usize>) -> Vec<String> {
    let read = read_tls_lines_unbounded(listener, acceptor, count);
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("the lines arrive in time")
}

async fn read_tls_lines_unbounded(
    listener: &TcpListener,
    acceptor: &TlsAcceptor,
    count: Option<usize>,
) -> Vec<String> {
    let stream = loop {
        let (tcp, _) = listener.accept().await.unwrap();
        // A healthcheck's connection, or one refused, may come first.
        if let Ok(stream) = acceptor.accept(tcp, Duration::from_secs(10)).await {
            break stream;
        }
    };
    let mut lines = BufReader::new(stream).lines();
    let mut out = Vec::new();
    while count.is_none_or(|count| out.len() < count) {
        match lines.next_line().await {
            Ok(Some(line)) => out.push(line),
            _ => break,
        }
    }
    out
}

#[tokio::test]
async fn tls_lines_arrive_with_a_client_certificate_and_the_healthcheck_shakes_hands() {
    let pki = pki();
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    let acceptor = pki.acceptor(&pki.server);
    let config = pki.sink("localhost", port);
    assert_eq!(config.validate(), Vec::<String>::new());

    let (sink, healthcheck) = config.build(sink_context("socket")).await.unwrap();
    // The healthcheck connects while the server accepts: both must run at once.
    let accept = async { acceptor.accept(listener.accept().await.unwrap().0, Duration::from_secs(10)).await };
    let (server_side, checked) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(accept, healthcheck) })
            .await
            .unwrap();
    checked.expect("the healthcheck completes a handshake");
    drop(server_side.expect("and the server accepted it"));

    let server = tokio::spawn(async move { read_tls_lines(&listener, &acceptor, None).await });
    let (all, receipt) = events(0, 100);
    let batches = all.chunks(7).map(|chunk| EventBatch::new(chunk.to_vec())).collect();
    drop(all);
    let input = sink_input(batches).await;
    tokio::time::timeout(Duration::from_secs(10), sink.run(input)).await.unwrap().unwrap();
    assert_eq!(server.await.unwrap(), expected(0..100));
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn tls_reconnects_after_the_server_closes_and_loses_nothing() {
    let pki = pki();
    let listener = tcp_listener(0);
    let port = listener.local_addr().unwrap().port();
    let acceptor = pki.acceptor(&pki.server);
    let cx = sink_context("socket");
    let (tx, rx) = strata_core::buffer::memory_buffer(&BufferConfig::default(), &cx.metrics);
    let (sink, _) = pki.sink("127.0.0.1", port).build(cx).await.unwrap();
    let task = tokio::spawn(sink.run(SinkInput::new(rx, sink_context("socket").metrics)));

    let (first, first_receipt) = events(0, 20);
    tx.send(EventBatch::new(first)).await.unwrap();
    // The server reads the first batch and closes the connection (with `close_notify`).
    assert_eq!(read_tls_lines(&listener, &acceptor, Some(20)).await, expected(0..20));
    assert_eq!(first_receipt.await, BatchStatus::Delivered);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The sink sees the close through TLS before its next write, and reconnects.
    let (second, second_receipt) = events(20, 20);
    tx.send(EventBatch::new(second)).await.unwrap();
    assert_eq!(read_tls_lines(&listener, &acceptor, Some(20)).await, expected(20..40));
    assert_eq!(second_receipt.await, BatchStatus::Delivered);
    drop(tx);
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
}

#[test]
fn an_untrusted_server_fails_the_handshake_and_is_counted_and_retried() {
    let pki = pki();
    let impostor = Authority::new(pki.dir.path(), "impostor").server(pki.dir.path(), "impostor");
    let acceptor = pki.acceptor(&impostor);
    let (attempts, recorded) = strata_core::compliance::recorded(async {
        let listener = tcp_listener(0);
        let port = listener.local_addr().unwrap().port();
        let config = pki.sink("localhost", port);
        let (sink, healthcheck) = config.build(sink_context("socket")).await.unwrap();
        let server = tokio::spawn(async move {
            let mut attempts = 0;
            while let Ok((tcp, _)) = listener.accept().await {
                attempts += 1;
                let _ = acceptor.accept(tcp, Duration::from_secs(10)).await;
            }
            attempts
        });
        let error = healthcheck.await.expect_err("the healthcheck fails");
        assert!(error.contains("certificate"), "{error}");

        let (batch, receipt) = events(0, 1);
        let input = sink_input(vec![EventBatch::new(batch)]).await;
        let run = tokio::time::timeout(Duration::from_millis(900), sink.run(input)).await;
        assert!(run.is_err(), "the sink keeps retrying");
        server.abort();
        // The sink was stopped mid-retry: the batch was never delivered.
        assert_eq!(receipt.await, BatchStatus::Errored);
        server.await.map_or(0, |attempts| attempts)
    });
    let failed = recorded.counter("component_errors_total", &[("error_type", "connect_failed")]).unwrap_or(0);
    assert!(failed >= 2, "each failed handshake is counted: {failed} (server saw {attempts})");
}

#[tokio::test]
async fn tls_options_are_checked_and_a_bad_file_fails_the_build_by_name() {
    let forgotten = config(serde_json::json!({
        "mode": "tcp", "address": "localhost:9000", "encoding": {"codec": "text"}, "tls": {"ca_file": "ca.pem"},
    }));
    assert!(forgotten.validate()[0].contains("`tls.enabled` is not set"), "{:?}", forgotten.validate());
    let pki = pki();
    let missing = pki.dir.path().join("missing-ca.pem");
    let bad = config(serde_json::json!({
        "mode": "tcp", "address": "localhost:9000", "encoding": {"codec": "text"},
        "tls": {"enabled": true, "ca_file": missing},
    }));
    let error = bad.build(sink_context("socket")).await.err().unwrap().to_string();
    assert!(error.contains("`tls.ca_file`") && error.contains(&missing.display().to_string()), "{error}");
    assert!(
        strata_core::parse_options::<SocketConfig>(serde_json::json!({
            "mode": "udp", "address": "localhost:9000", "encoding": {"codec": "text"}, "tls": {"enabled": true},
        }))
        .is_err(),
        "udp has no TLS"
    );
}

/// The standard metrics and labels over TLS, with a blocking rustls server in a thread.
#[test]
fn tls_passes_the_compliance_helper() {
    use std::io::Read;
    use strata_tls::rustls;
    let pki = pki();
    let server_options = ServerTlsConfig {
        enabled: Some(true),
        crt_file: Some(pki.server.crt_file.clone()),
        key_file: Some(pki.server.key_file.clone()),
        ca_file: Some(pki.ca.ca_file.clone()),
        verify_certificate: true,
        alpn_protocols: Vec::new(),
    };
    let server_config = std::sync::Arc::new(server_options.server_config().unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(server_config).unwrap(), tcp);
        let mut text = String::new();
        tls.read_to_string(&mut text).unwrap();
        text
    });
    let events = (0..4).map(|n| Event::Log(LogEvent::from_message(format!("event {n}"), Default::default())));
    strata_core::compliance::assert_sink_compliance("socket", &pki.sink("127.0.0.1", port), events.collect());
    assert_eq!(server.join().unwrap(), "event 0\nevent 1\nevent 2\nevent 3\n");
}
