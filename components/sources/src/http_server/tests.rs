//! `http_server` tests: a real server on a loopback port, real HTTP/1.1 requests written by hand
//! (and one by `curl`), events and responses out.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use strata_core::testing::{collect, source_context};
use strata_core::{BufferReceiver, ComponentError, GlobalOptions, ShutdownSignal, SourceConfig};
use strata_event::{BatchStatus, Event, EventBatch, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

struct Running {
    shutdown: ShutdownSignal,
    task: JoinHandle<Result<(), ComponentError>>,
    rx: BufferReceiver,
    address: SocketAddr,
}

impl Running {
    async fn stop(self) -> BufferReceiver {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.task).await.expect("stops").expect("no panic").expect("ok");
        self.rx
    }

    async fn events(&mut self, count: usize) -> Vec<Event> {
        let events = collect(&mut self.rx, count, WAIT).await;
        assert_eq!(events.len(), count, "{events:?}");
        events
    }

    /// Asserts nothing more arrives for a moment.
    async fn no_events(&mut self) {
        let extra = collect(&mut self.rx, 1, Duration::from_millis(200)).await;
        assert!(extra.is_empty(), "unexpected events: {extra:?}");
    }
}

fn config(extra: serde_json::Value) -> HttpServerConfig {
    let mut options = serde_json::json!({"address": "127.0.0.1:0"});
    options.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let config: HttpServerConfig = strata_core::parse_options(options).expect("valid options");
    assert_eq!(config.validate(), Vec::<String>::new());
    config
}

async fn start_with(extra: serde_json::Value, acknowledgements: bool) -> Running {
    let config = config(extra);
    let listener = server::bind(config.address).await.expect("binds");
    let address = listener.local_addr().unwrap();
    let (mut cx, rx) = source_context("http_server", GlobalOptions::default());
    cx.acknowledgements = acknowledgements;
    let shutdown = cx.shutdown.clone();
    let tls = server::acceptor(&config).expect("the TLS files load");
    let task = tokio::spawn(server::run(config, listener, tls, cx));
    Running { shutdown, task, rx, address }
}

async fn start(extra: serde_json::Value) -> Running {
    start_with(extra, false).await
}

#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// One request on a fresh connection (`Connection: close`), the whole response read back.
async fn request(address: SocketAddr, head: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut text = format!("{head} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding")) {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    // The server may answer and stop reading before the whole body is written (a 413).
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.expect("a response").unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").expect("a complete response");
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status line");
    Reply { status, head: head.to_owned(), body: body.to_owned() }
}

async fn post(address: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    request(address, "POST /", headers, body).await
}

fn text(event: &Event, key: &str) -> String {
    match event.as_log().unwrap().get(key) {
        Some(value) => value.to_string_lossy().into_owned(),
        None => panic!("no `{key}` in {event:?}"),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_object_and_array_bodies_become_events() {
    let mut running = start(serde_json::json!({"decoding": {"codec": "json"}})).await;
    let body = br#"{"message": "one", "level": "info",
        "nested": {"n": 1}}"#;
    assert_eq!(post(running.address, &[], body).await.status, 200);
    let reply = post(running.address, &[], br#"[{"message": "two"}, {"message": "three"}]"#).await;
    assert_eq!(reply.status, 200);
    let events = running.events(3).await;
    let messages: Vec<String> = events.iter().map(|event| text(event, "message")).collect();
    assert_eq!(messages, ["one", "two", "three"]);
    assert_eq!(text(&events[0], "level"), "info");
    assert_eq!(text(&events[0], "nested.n"), "1");
    assert_eq!(text(&events[0], "path"), "/");
    assert_eq!(text(&events[0], "host"), "127.0.0.1");
    assert_eq!(text(&events[0], "source_type"), "http_server");
    assert!(events[0].as_log().unwrap().get("timestamp").is_some());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_and_text_lines_become_one_event_each() {
    let options =
        serde_json::json!({"decoding": {"codec": "json"}, "framing": {"method": "newline_delimited"}});
    let mut running = start(options).await;
    assert_eq!(post(running.address, &[], b"{\"a\": 1}\n{\"a\": 2}\n").await.status, 200);
    let events = running.events(2).await;
    assert_eq!((text(&events[0], "a"), text(&events[1], "a")), ("1".into(), "2".into()));
    running.stop().await;

    let mut running = start(serde_json::json!({})).await;
    assert_eq!(post(running.address, &[], b"first line\nsecond line\nno newline").await.status, 200);
    let events = running.events(3).await;
    let messages: Vec<String> = events.iter().map(|event| text(event, "message")).collect();
    assert_eq!(messages, ["first line", "second line", "no newline"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_zstd_and_deflate_bodies_are_decompressed() {
    let mut running = start(serde_json::json!({})).await;
    let gzipped = gzip(b"gz one\ngz two\n");
    assert_eq!(post(running.address, &[("Content-Encoding", "gzip")], &gzipped).await.status, 200);
    let zstd_body = zstd::stream::encode_all(&b"zstd line\n"[..], 3).unwrap();
    assert_eq!(post(running.address, &[("Content-Encoding", "zstd")], &zstd_body).await.status, 200);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(b"deflate line\n").unwrap();
    let deflated = deflate.finish().unwrap();
    assert_eq!(post(running.address, &[("Content-Encoding", "deflate")], &deflated).await.status, 200);
    let events = running.events(4).await;
    let messages: Vec<String> = events.iter().map(|event| text(event, "message")).collect();
    assert_eq!(messages, ["gz one", "gz two", "zstd line", "deflate line"]);

    let reply = post(running.address, &[("Content-Encoding", "br")], b"x").await;
    assert_eq!(reply.status, 415, "{reply:?}");
    let reply = post(running.address, &[("Content-Encoding", "gzip")], b"not gzip at all").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    running.no_events().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_refused_with_413() {
    let mut running = start(serde_json::json!({"max_body_bytes": 1024})).await;
    let body = vec![b'a'; 5000];
    let reply = post(running.address, &[], &body).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.body.contains("1024-byte limit"), "{reply:?}");
    // Without a declared length the limit applies while the body streams in.
    let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
    chunked.extend_from_slice(&body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let reply = post(running.address, &[("Transfer-Encoding", "chunked")], &chunked).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    // A body at the limit is fine.
    assert_eq!(post(running.address, &[], &vec![b'b'; 1024]).await.status, 200);
    assert_eq!(running.events(1).await.len(), 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bomb_is_refused_with_413() {
    // 50 members of 1 MiB of zeros each: 50 MiB once decompressed, about 50 KiB on the wire.
    let member = gzip(&vec![0u8; 1024 * 1024]);
    let bomb: Vec<u8> = member.iter().copied().cycle().take(member.len() * 50).collect();
    assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
    let mut running = start(serde_json::json!({"max_body_bytes": 1024 * 1024})).await;
    let reply = post(running.address, &[("Content-Encoding", "gzip")], &bomb).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    running.no_events().await;
    // The decompressor stops one byte past the limit instead of inflating everything.
    let error = body::decompress(bomb.into(), &[body::Encoding::Gzip], 1024 * 1024).unwrap_err();
    assert_eq!(error, body::BodyError::TooLarge { limit: 1024 * 1024 });
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_refused_with_400_and_the_source_keeps_serving() {
    let mut running = start(serde_json::json!({"decoding": {"codec": "json"}})).await;
    let reply = post(running.address, &[], b"{\"message\": ").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.body.contains("not valid JSON"), "{reply:?}");
    let reply = post(running.address, &[], b"42").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    running.no_events().await;
    assert_eq!(post(running.address, &[], br#"{"message": "fine"}"#).await.status, 200);
    assert_eq!(text(&running.events(1).await[0], "message"), "fine");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_accepts_the_right_credentials_only() {
    let auth = serde_json::json!({"auth": {"strategy": "basic", "username": "agent", "password": "s3cret"}});
    let mut running = start(auth).await;
    let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("agent:s3cret"));
    let bad = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("agent:wrong"));
    assert_eq!(post(running.address, &[("Authorization", &good)], b"hello").await.status, 200);
    for headers in [vec![("Authorization", bad.as_str())], vec![], vec![("Authorization", "Bearer s3cret")]] {
        let reply = post(running.address, &headers, b"denied").await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert!(reply.head.to_ascii_lowercase().contains("www-authenticate: basic"), "{reply:?}");
    }
    assert_eq!(text(&running.events(1).await[0], "message"), "hello");
    running.no_events().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_auth_accepts_the_right_token_only() {
    let mut running = start(serde_json::json!({"auth": {"strategy": "bearer", "token": "t0ken"}})).await;
    assert_eq!(post(running.address, &[("Authorization", "Bearer t0ken")], b"hello").await.status, 200);
    for token in ["Bearer t0ke", "Bearer t0ken2", "Basic t0ken"] {
        let reply = post(running.address, &[("Authorization", token)], b"denied").await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert!(reply.head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{reply:?}");
    }
    assert_eq!(running.events(1).await.len(), 1);
    running.no_events().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_query_parameters_are_copied() {
    let options = serde_json::json!({
        "headers": ["User-Agent", "X-Missing"],
        "query_parameters": ["app", "tag", "absent"],
        "path": "/logs",
        "path_key": "url_path",
        "host_key": "client",
    });
    let mut running = start(options).await;
    let head = "POST /logs?app=web%20shop&tag=a&tag=b";
    assert_eq!(request(running.address, head, &[("User-Agent", "tester/1.0")], b"line").await.status, 200);
    let event = running.events(1).await.remove(0);
    let log = event.as_log().unwrap();
    assert_eq!(text(&event, "\"User-Agent\""), "tester/1.0");
    assert_eq!(log.get("\"X-Missing\""), Some(&Value::Null));
    assert_eq!(text(&event, "app"), "web shop");
    assert_eq!(log.get("tag"), Some(&Value::Array(vec![Value::from("a"), Value::from("b")])));
    assert_eq!(log.get("absent"), Some(&Value::Null));
    assert_eq!(text(&event, "url_path"), "/logs");
    assert_eq!(text(&event, "client"), "127.0.0.1");
    assert!(log.get("host").is_none(), "{event:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_and_method_are_checked() {
    let mut running =
        start(serde_json::json!({"path": "/logs", "method": "PUT", "response_code": 202})).await;
    assert_eq!(request(running.address, "PUT /logs", &[], b"a").await.status, 202);
    assert_eq!(request(running.address, "PUT /logs/app", &[], b"b").await.status, 404);
    assert_eq!(request(running.address, "PUT /other", &[], b"c").await.status, 404);
    assert_eq!(request(running.address, "POST /logs", &[], b"d").await.status, 405);
    assert_eq!(text(&running.events(1).await[0], "message"), "a");
    running.no_events().await;
    running.stop().await;

    let mut running = start(serde_json::json!({"path": "/logs", "strict_path": false})).await;
    assert_eq!(request(running.address, "POST /logs/app", &[], b"a").await.status, 200);
    assert_eq!(request(running.address, "POST /logsx", &[], b"b").await.status, 404);
    assert_eq!(text(&running.events(1).await[0], "path"), "/logs/app");
    running.stop().await;
}

/// Sends a request with acknowledgements on, checks it is not answered before the events are
/// finalized with `status`, and returns the eventual response status.
async fn acknowledged_status(status: BatchStatus) -> u16 {
    let mut running = start_with(serde_json::json!({}), true).await;
    let address = running.address;
    let client = tokio::spawn(async move { post(address, &[], b"one\ntwo\n").await });
    let events = running.events(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!client.is_finished(), "answered before the events were finalized");
    EventBatch::new(events).finalize(status);
    let reply = tokio::time::timeout(WAIT, client).await.expect("answered").unwrap();
    running.stop().await;
    reply.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_request_waits_for_delivery() {
    assert_eq!(acknowledged_status(BatchStatus::Delivered).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_request_failing_delivery_is_answered_503() {
    assert_eq!(acknowledged_status(BatchStatus::Errored).await, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_request_rejected_downstream_is_answered_400() {
    assert_eq!(acknowledged_status(BatchStatus::Rejected).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_a_request_waiting_for_acknowledgement_with_503() {
    let mut running = start_with(serde_json::json!({}), true).await;
    let address = running.address;
    let client = tokio::spawn(async move { post(address, &[], b"held\n").await });
    let held = running.events(1).await;
    running.shutdown.trigger();
    let reply = tokio::time::timeout(WAIT, client).await.expect("answered").unwrap();
    assert_eq!(reply.status, 503, "{reply:?}");
    tokio::time::timeout(WAIT, running.task).await.expect("stops").expect("no panic").expect("ok");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pipeline_holds_requests_until_there_is_room() {
    let mut running = start(serde_json::json!({})).await;
    let address = running.address;
    let fill = "line\n".repeat(strata_core::buffer::DEFAULT_MAX_EVENTS);
    assert_eq!(post(address, &[], fill.as_bytes()).await.status, 200);
    let waiting = tokio::spawn(async move { post(address, &[], b"one more\n").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "answered while the pipeline was full");
    let mut events = running.events(strata_core::buffer::DEFAULT_MAX_EVENTS).await;
    let reply = tokio::time::timeout(WAIT, waiting).await.expect("answered").unwrap();
    assert_eq!(reply.status, 200);
    events.extend(running.events(1).await);
    assert_eq!(text(events.last().unwrap(), "message"), "one more");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_can_send_events() {
    let mut running = start(serde_json::json!({})).await;
    let url = format!("http://{}/", running.address);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("/usr/bin/curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--data-binary",
                "from curl\nsecond\n",
                &url,
            ])
            .output()
            .expect("curl runs")
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "200", "{output:?}");
    let events = running.events(2).await;
    assert_eq!(
        (text(&events[0], "message"), text(&events[1], "message")),
        ("from curl".into(), "second".into())
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting() {
    let running = start(serde_json::json!({})).await;
    let address = running.address;
    running.stop().await;
    assert!(TcpStream::connect(address).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_fails_the_build() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let config = config(serde_json::json!({"address": address.to_string()}));
    let (cx, _rx) = source_context("http_server", GlobalOptions::default());
    let error = config.build(cx).await.err().expect("the build fails");
    assert!(error.message.contains(&format!("cannot listen on {address}")), "{error}");
}

/// The compliance helper builds the source itself, so the client must find the port on its own:
/// a free port is chosen first, and a thread posts to it until the source answers.
#[test]
fn source_compliance() {
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = config(serde_json::json!({"address": address.to_string()}));
    let client = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            if let Ok(mut stream) = std::net::TcpStream::connect(address) {
                let request =
                    "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\na\nb\n";
                stream.write_all(request.as_bytes()).unwrap();
                let mut response = String::new();
                std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
                return response;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the source never listened on {address}");
    });
    let events = strata_core::compliance::assert_source_compliance("http_server", &config, 2);
    assert_eq!(events.len(), 2);
    assert!(client.join().unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn vector_options_parse_and_are_checked() {
    let options = serde_json::json!({
        "address": "0.0.0.0:8080", "path": "/events", "strict_path": false, "method": "PUT",
        "headers": ["User-Agent"], "query_parameters": ["app"], "host_key": "client", "path_key": "",
        "auth": {"strategy": "basic", "username": "u", "password": "p"}, "response_code": 204,
        "decoding": {"codec": "json"}, "framing": {"method": "newline_delimited"},
    });
    let config: HttpServerConfig = strata_core::parse_options(options).unwrap();
    assert_eq!(config.method, HttpMethod::Put);
    assert_eq!(config.validate(), Vec::<String>::new());
    assert!(config.can_acknowledge());
    assert_eq!(config.resources(), vec![strata_core::Resource::Tcp("0.0.0.0:8080".parse().unwrap())]);

    let bad = serde_json::json!({"address": "127.0.0.1:1", "path": "events", "response_code": 404});
    let config: HttpServerConfig = strata_core::parse_options(bad).unwrap();
    assert_eq!(config.validate().len(), 2, "{:?}", config.validate());

    let error = strata_core::parse_options::<HttpServerConfig>(
        serde_json::json!({"address": "127.0.0.1:1", "strict_pth": true}),
    )
    .unwrap_err();
    assert_eq!(error.suggestion.as_deref(), Some("strict_path"));
}

#[test]
fn secrets_are_redacted_from_debug_output() {
    let options =
        serde_json::json!({"address": "127.0.0.1:1", "auth": {"strategy": "bearer", "token": "hunter2"}});
    let config: HttpServerConfig = strata_core::parse_options(options).unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
    let options = serde_json::json!({"strategy": "basic", "username": "u", "password": "hunter2"});
    let auth: AuthConfig = strata_core::parse_options(options).unwrap();
    assert!(!format!("{auth:?}").contains("hunter2"));
}

#[test]
fn the_example_is_valid() {
    let value: toml::Value = toml::from_str(config::EXAMPLE).unwrap();
    let mut json = serde_json::to_value(value).unwrap();
    json.as_object_mut().unwrap().remove("type");
    let config: HttpServerConfig = strata_core::parse_options(json).unwrap();
    assert_eq!(config.validate(), Vec::<String>::new());
}

/// One HTTPS request on a fresh TLS connection; the whole response as text.
async fn https_post(
    pki: &crate::socket::tests::Pki,
    address: SocketAddr,
    identity: Option<&strata_tls::testing::Identity>,
    body: &str,
) -> std::io::Result<String> {
    let mut stream = pki.connect(address, identity).await?;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(format!("{head}{body}").as_bytes()).await?;
    stream.flush().await?;
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.map_err(std::io::Error::other)??;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

#[test]
fn https_requests_are_served_and_plaintext_or_silent_clients_do_not_stop_the_listener() {
    let pki = crate::socket::tests::pki();
    let ((), recorded) = strata_core::compliance::recorded(async {
        let mut running = start(serde_json::json!({"tls": pki.listener(false)})).await;
        // A client that connects and says nothing does not hold up anyone else.
        let _silent = TcpStream::connect(running.address).await.unwrap();

        let response = https_post(&pki, running.address, None, "over https\n").await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let events = running.events(1).await;
        assert_eq!(text(&events[0], "message"), "over https");
        assert_eq!(text(&events[0], "host"), "127.0.0.1");

        let mut plain = TcpStream::connect(running.address).await.unwrap();
        plain.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nno\n").await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer)).await.expect("closed");
        assert!(read.is_err() || !answer.starts_with(b"HTTP/"), "a plaintext request gets no answer");
        running.no_events().await;

        let response = https_post(&pki, running.address, None, "after\n").await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert_eq!(text(&running.events(1).await[0], "message"), "after");
        let address = running.address;
        running.stop().await;
        assert!(TcpStream::connect(address).await.is_err(), "the port is closed at shutdown");
    });
    assert_eq!(crate::socket::tests::errors(&recorded, "tls_handshake_failed"), 1);
}

#[test]
fn client_certificates_are_checked_on_https() {
    let pki = crate::socket::tests::pki();
    let ((), recorded) = strata_core::compliance::recorded(async {
        let mut running = start(serde_json::json!({"tls": pki.listener(true)})).await;
        let response = https_post(&pki, running.address, Some(&pki.client), "trusted\n").await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert_eq!(text(&running.events(1).await[0], "message"), "trusted");
        for identity in [None, Some(&pki.stranger)] {
            let response = https_post(&pki, running.address, identity, "refused\n").await;
            assert!(response.is_err(), "{identity:?} is refused: {response:?}");
        }
        running.no_events().await;
        running.stop().await;
    });
    assert_eq!(crate::socket::tests::errors(&recorded, "tls_handshake_failed"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_posts_over_https() {
    let pki = crate::socket::tests::pki();
    let mut running = start(serde_json::json!({"tls": pki.listener(true)})).await;
    let url = format!("https://localhost:{}/", running.address.port());
    let curl = |with_certificate: bool| {
        let mut command = std::process::Command::new("/usr/bin/curl");
        command.args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
            "from curl\nsecond\n",
        ]);
        command.arg("--cacert").arg(&pki.ca.ca_file);
        if with_certificate {
            command.arg("--cert").arg(&pki.client.crt_file).arg("--key").arg(&pki.client.key_file);
        }
        command.arg(&url);
        command
    };
    let mut trusted = curl(true);
    let output = tokio::task::spawn_blocking(move || trusted.output().expect("curl runs")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "200", "{output:?}");
    let events = running.events(2).await;
    assert_eq!(
        (text(&events[0], "message"), text(&events[1], "message")),
        ("from curl".into(), "second".into())
    );
    let mut anonymous = curl(false);
    let output = tokio::task::spawn_blocking(move || anonymous.output().expect("curl runs")).await.unwrap();
    assert!(!output.status.success(), "curl without a client certificate is refused: {output:?}");
    running.no_events().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_tls_file_fails_the_build_and_names_the_file() {
    let pki = crate::socket::tests::pki();
    let mut tls = pki.listener(false);
    tls["crt_file"] = serde_json::json!(pki.server.key_file);
    let config = config(serde_json::json!({"tls": tls}));
    let (cx, _rx) = source_context("http_server", GlobalOptions::default());
    let error = config.build(cx).await.err().expect("the build fails");
    assert!(error.message.contains("`tls.crt_file`"), "{}", error.message);
    assert!(error.message.contains(&pki.server.key_file.display().to_string()), "{}", error.message);
}
