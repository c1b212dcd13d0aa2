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
