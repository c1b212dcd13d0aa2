//! `syslog` tests: real TCP, UDP and Unix sockets, RFC 5424 and RFC 3164 messages, and the real
//! `logger` command from util-linux as a sender.

use std::net::SocketAddr;
use std::time::Duration;

use strata_core::testing::{collect, source_context};
use strata_core::{GlobalOptions, Resource, SourceConfig};
use strata_event::{Event, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket, UnixStream};

use super::*;
use crate::socket::tests::{Running, text};

const WAIT: Duration = Duration::from_secs(10);

const RFC5424: &str = r#"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] 'su root' failed on /dev/pts/8"#;
const RFC3164: &str = "<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: Use the BFG!";

fn config(options: serde_json::Value) -> SyslogConfig {
    let config: SyslogConfig = strata_core::parse_options(options).expect("valid options");
    assert_eq!(config.validate(), Vec::<String>::new());
    config
}

async fn start(options: serde_json::Value) -> Running {
    let config = config(options);
    let bound = source::bind(&config).await.expect("binds");
    let address = bound.local_addr();
    let (cx, rx) = source_context("syslog", GlobalOptions::default());
    let shutdown = cx.shutdown.clone();
    let task = tokio::spawn(source::run(config, bound, cx));
    Running { shutdown, task, rx, address }
}

fn sd(event: &Event, id: &str, param: &str) -> String {
    match event.as_log().unwrap().get(id) {
        Some(Value::Object(params)) => params[param].to_string_lossy().into_owned(),
        other => panic!("no structured data `{id}` in {event:?}: {other:?}"),
    }
}

fn assert_rfc5424(event: &Event) {
    assert_eq!(text(event, "message"), "'su root' failed on /dev/pts/8");
    assert_eq!(text(event, "appname"), "su");
    assert_eq!(text(event, "hostname"), "mymachine.example.com");
    // `host` is the message's own hostname; the peer is in `source_ip`.
    assert_eq!(text(event, "host"), "mymachine.example.com");
    assert_eq!(text(event, "source_ip"), "127.0.0.1");
    assert_eq!(event.as_log().unwrap().get("procid"), Some(&Value::from(77)));
    assert_eq!(text(event, "msgid"), "ID47");
    assert_eq!(text(event, "facility"), "auth");
    assert_eq!(text(event, "severity"), "crit");
    assert_eq!(sd(event, "exampleSDID@32473", "iut"), "3");
    assert_eq!(sd(event, "exampleSDID@32473", "eventSource"), "Application");
    assert_eq!(text(event, "source_type"), "syslog");
}

fn assert_rfc3164(event: &Event) {
    assert_eq!(text(event, "message"), "Use the BFG!");
    assert_eq!(text(event, "appname"), "myapp");
    assert_eq!(event.as_log().unwrap().get("procid"), Some(&Value::from(123)));
    assert_eq!(text(event, "host"), "10.0.0.99");
    assert_eq!(text(event, "facility"), "user");
    assert_eq!(text(event, "severity"), "notice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_octet_counted_and_newline_framed_messages() {
    let mut running = start(serde_json::json!({"mode": "tcp", "address": "127.0.0.1:0"})).await;
    let mut client = TcpStream::connect(running.address.unwrap()).await.unwrap();
    // Two octet-counted messages back to back (the second split across writes), then a line.
    let counted = format!("{} {RFC5424}", RFC5424.len());
    let (head, tail) = counted.split_at(40);
    client.write_all(format!("{counted}{head}").as_bytes()).await.unwrap();
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.write_all(format!("{tail}{RFC3164}\n").as_bytes()).await.unwrap();
    let events = collect(&mut running.rx, 3, WAIT).await;
    assert_eq!(events.len(), 3);
    assert_rfc5424(&events[0]);
    assert_rfc5424(&events[1]);
    assert_rfc3164(&events[2]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_garbage_and_oversized_messages_are_skipped() {
    let options = serde_json::json!({"mode": "tcp", "address": "127.0.0.1:0", "max_length": 200});
    let mut running = start(options).await;
    let mut client = TcpStream::connect(running.address.unwrap()).await.unwrap();
    let oversized = "z".repeat(500);
    let input = format!("\n500 {oversized}{} {RFC5424}", RFC5424.len());
    client.write_all(input.as_bytes()).await.unwrap();
    let events = collect(&mut running.rx, 1, WAIT).await;
    assert_eq!(events.len(), 1);
    assert_rfc5424(&events[0]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_are_one_message_each() {
    let mut running = start(serde_json::json!({"mode": "udp", "address": "127.0.0.1:0"})).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(RFC5424.as_bytes(), running.address.unwrap()).await.unwrap();
    client.send_to(RFC3164.as_bytes(), running.address.unwrap()).await.unwrap();
    let events = collect(&mut running.rx, 2, WAIT).await;
    assert_eq!(events.len(), 2);
    assert_rfc5424(&events[0]);
    assert_rfc3164(&events[1]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_stream_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syslog.sock");
    let mut running = start(serde_json::json!({"mode": "unix", "path": path})).await;
    let mut client = UnixStream::connect(&path).await.unwrap();
    // Without a hostname in the message, `host` is the socket path.
    client.write_all(b"<13>1 2003-10-11T22:14:15Z - app - - - no host here\n").await.unwrap();
    let events = collect(&mut running.rx, 1, WAIT).await;
    assert_eq!(text(&events[0], "message"), "no host here");
    assert_eq!(text(&events[0], "host"), path.to_string_lossy());
    assert_eq!(events[0].as_log().unwrap().get("source_ip"), None);
    running.stop().await;
}

/// Sends one message with util-linux `logger` and returns its exit status.
async fn logger(address: SocketAddr, transport: &'static str) {
    let port = address.port().to_string();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("/usr/bin/logger")
            .args(["--server", "127.0.0.1", "--port", &port, transport, "--rfc5424"])
            .args(["--tag", "strata-test", "--id=4242", "--msgid", "TESTID", "hello from logger"])
            .status()
    })
    .await
    .unwrap()
    .expect("logger runs");
    assert!(status.success(), "logger failed: {status}");
}

fn assert_from_logger(event: &Event) {
    assert_eq!(text(event, "message"), "hello from logger");
    assert_eq!(text(event, "appname"), "strata-test");
    assert_eq!(event.as_log().unwrap().get("procid"), Some(&Value::from(4242)));
    assert_eq!(text(event, "msgid"), "TESTID");
    assert_eq!(text(event, "facility"), "user");
    assert_eq!(text(event, "severity"), "notice");
    assert_eq!(event.as_log().unwrap().get("version"), Some(&Value::from(1)));
    assert_eq!(text(event, "source_ip"), "127.0.0.1");
    // logger adds RFC 5424 structured data about its clock.
    assert!(matches!(event.as_log().unwrap().get("timeQuality"), Some(Value::Object(_))), "{event:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_the_logger_command_over_tcp_and_udp() {
    let mut tcp = start(serde_json::json!({"mode": "tcp", "address": "127.0.0.1:0"})).await;
    logger(tcp.address.unwrap(), "--tcp").await;
    let events = collect(&mut tcp.rx, 1, WAIT).await;
    assert_eq!(events.len(), 1);
    assert_from_logger(&events[0]);
    tcp.stop().await;

    let mut udp = start(serde_json::json!({"mode": "udp", "address": "127.0.0.1:0"})).await;
    logger(udp.address.unwrap(), "--udp").await;
    let events = collect(&mut udp.rx, 1, WAIT).await;
    assert_eq!(events.len(), 1);
    assert_from_logger(&events[0]);
    udp.stop().await;
}

#[test]
fn vector_options_parse() {
    let tcp = config(serde_json::json!({
        "mode": "tcp", "address": "127.0.0.1:514", "max_length": 4096, "host_key": "origin",
        "connection_limit": 8, "receive_buffer_bytes": 65536,
    }));
    let settings = source::settings(&tcp);
    assert_eq!(settings.framing.method, strata_codecs::FramingMethod::OctetCounting);
    assert_eq!(settings.framing.max_length(), 4096);
    assert_eq!(settings.max_connections, Some(8));
    assert_eq!(settings.host_key.as_deref(), Some("origin"));
    assert_eq!(tcp.resources(), [Resource::Tcp("127.0.0.1:514".parse().unwrap())]);

    let udp = config(serde_json::json!({"mode": "udp", "address": "127.0.0.1:514"}));
    assert_eq!(source::settings(&udp).framing.method, strata_codecs::FramingMethod::Bytes);
    assert_eq!(udp.resources(), [Resource::Udp("127.0.0.1:514".parse().unwrap())]);

    let unix =
        config(serde_json::json!({"mode": "unix", "path": "/run/syslog.sock", "socket_file_mode": 0o666}));
    assert_eq!(unix.resources(), [Resource::Path("/run/syslog.sock".into())]);
}

#[test]
fn the_example_parses() {
    let table: toml::Table = toml::from_str(config::EXAMPLE).unwrap();
    let mut options = serde_json::to_value(table).unwrap();
    options.as_object_mut().unwrap().remove("type");
    assert!(
        matches!(config(options), SyslogConfig::Tcp(SyslogTcpConfig { address, .. }) if address.ip().is_loopback())
    );
}

#[test]
fn bad_options_are_refused() {
    let typo = strata_core::parse_options::<SyslogConfig>(
        serde_json::json!({"mode": "tcp", "address": "127.0.0.1:514", "conection_limit": 1}),
    )
    .unwrap_err();
    assert_eq!(typo.suggestion.as_deref(), Some("connection_limit"));
    // Syslog's framing and codec are fixed.
    assert!(
        strata_core::parse_options::<SyslogConfig>(
            serde_json::json!({"mode": "udp", "address": "127.0.0.1:514", "decoding": {"codec": "json"}}),
        )
        .is_err()
    );
    let zero: SyslogConfig = strata_core::parse_options(
        serde_json::json!({"mode": "tcp", "address": "127.0.0.1:514", "max_length": 0}),
    )
    .unwrap();
    assert_eq!(zero.validate(), ["`max_length` must be at least 1"]);
}

/// RFC 5425: octet-counted messages over TLS with a client certificate; a plaintext sender and one
/// without a certificate are refused and counted, and the listener goes on.
#[test]
fn tcp_messages_over_tls_with_client_certificates() {
    use crate::socket::tests::{errors, pki};
    let pki = pki();
    let ((), recorded) = strata_core::compliance::recorded(async {
        let options = serde_json::json!({"mode": "tcp", "address": "127.0.0.1:0", "tls": pki.listener(true)});
        let mut running = start(options).await;
        let address = running.address.unwrap();

        let mut plain = TcpStream::connect(address).await.unwrap();
        plain.write_all(format!("{} {RFC5424}", RFC5424.len()).as_bytes()).await.unwrap();
        let mut anonymous = pki.connect(address, None).await.expect("the client's side completes");
        let _ = anonymous.write_all(format!("{RFC3164}\n").as_bytes()).await;
        let _ = anonymous.flush().await;

        let mut client = pki.connect(address, Some(&pki.client)).await.expect("a trusted client connects");
        client.write_all(format!("{} {RFC5424}{RFC3164}\n", RFC5424.len()).as_bytes()).await.unwrap();
        client.flush().await.unwrap();
        let events = collect(&mut running.rx, 2, WAIT).await;
        assert_eq!(events.len(), 2);
        assert_rfc5424(&events[0]);
        assert_rfc3164(&events[1]);
        assert!(collect(&mut running.rx, 1, Duration::from_millis(300)).await.is_empty());
        running.stop().await;
    });
    assert_eq!(errors(&recorded, "tls_handshake_failed"), 2);
}

#[test]
fn tls_belongs_to_tcp_only() {
    let options = serde_json::json!({"mode": "udp", "address": "127.0.0.1:514", "tls": {"enabled": true}});
    assert!(strata_core::parse_options::<SyslogConfig>(options).is_err());
    let incomplete: SyslogConfig = strata_core::parse_options(
        serde_json::json!({"mode": "tcp", "address": "127.0.0.1:514", "tls": {"enabled": true}}),
    )
    .unwrap();
    assert_eq!(incomplete.validate().len(), 2, "{:?}", incomplete.validate());
}
