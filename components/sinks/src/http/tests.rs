//! `http` tests against a real HTTP server on a loopback port, started by each test: batches,
//! compression, retries, rejections, an unreachable server, concurrency, auth and compliance.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use strata_core::testing::{sink_context, sink_input};
use strata_core::{BufferConfig, SinkConfig, SinkInput};
use strata_event::{
    BatchNotifier, BatchReceipt, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent,
};

use super::HttpConfig;
use crate::driver::{Driver, RunStats};

/// One request as the server saw it, body already decompressed.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

/// What the test server does and what it saw.
#[derive(Default)]
struct Server {
    received: Mutex<Vec<Received>>,
    /// Answer this many requests with 503 first.
    fail_503: AtomicUsize,
    /// Answer every request with this status instead of 200, when set.
    status: Mutex<Option<StatusCode>>,
    /// Hold each request this long before answering.
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    attempts: AtomicUsize,
}

impl Server {
    fn bodies(&self) -> Vec<String> {
        self.received.lock().unwrap().iter().map(|r| r.body.clone()).collect()
    }
}

async fn handle(State(server): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    server.attempts.fetch_add(1, Ordering::SeqCst);
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *server.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    let failing = server.fail_503.load(Ordering::SeqCst);
    if failing > 0 {
        server.fail_503.store(failing - 1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if let Some(status) = *server.status.lock().unwrap() {
        return status;
    }
    let body = match headers.get("content-encoding").map(|v| v.to_str().unwrap()) {
        Some("gzip") => {
            let mut out = String::new();
            flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut out).unwrap();
            out
        }
        Some("zstd") => String::from_utf8(zstd::decode_all(&body[..]).unwrap()).unwrap(),
        _ => String::from_utf8(body.to_vec()).unwrap(),
    };
    server.received.lock().unwrap().push(Received { headers, body });
    StatusCode::OK
}

/// Serves on `listener` until the test ends.
fn serve_on(listener: tokio::net::TcpListener, server: Arc<Server>) {
    let app = axum::Router::new().fallback(handle).with_state(server);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

async fn start_server() -> (SocketAddr, Arc<Server>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Server::default());
    serve_on(listener, server.clone());
    (addr, server)
}

fn config(addr: SocketAddr, extra: &str) -> HttpConfig {
    let text = format!(
        "uri = \"http://{addr}/ingest\"\nencoding.codec = \"json\"\nrequest.retry_initial_backoff_secs = 0.05\nrequest.retry_max_duration_secs = 0.2\n{extra}"
    );
    toml::from_str(&text).unwrap()
}

fn events(count: usize) -> Vec<Event> {
    (0..count)
        .map(|i| Event::Log(LogEvent::from_message(format!("event {i}"), EventMetadata::default())))
        .collect()
}

fn tracked(count: usize) -> (EventBatch, BatchReceipt) {
    let (notifier, receipt) = BatchNotifier::new();
    let mut events = events(count);
    for event in &mut events {
        event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
    }
    (EventBatch::new(events), receipt)
}

async fn run_input(config: &HttpConfig, input: SinkInput) -> RunStats {
    let driver = Driver::new(
        config.service().unwrap(),
        &config.batch,
        &config.request,
        config.compression,
        sink_context("http").metrics,
    )
    .unwrap();
    driver.drive(input).await
}

async fn run(config: &HttpConfig, batches: Vec<EventBatch>) -> RunStats {
    run_input(config, sink_input(batches).await).await
}

/// The messages in a JSON array body.
fn messages(body: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value.as_array().unwrap().iter().map(|event| event["message"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn batches_are_split_by_max_events_and_sent_as_json_arrays() {
    let (addr, server) = start_server().await;
    let (batch, receipt) = tracked(7);
    let stats = run(&config(addr, "batch.max_events = 3"), vec![batch]).await;
    assert_eq!(stats, RunStats { delivered: 7, rejected: 0, errored: 0 });
    assert_eq!(receipt.await, BatchStatus::Delivered);
    let mut bodies: Vec<Vec<String>> = server.bodies().iter().map(|body| messages(body)).collect();
    bodies.sort();
    assert_eq!(bodies.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    let mut all: Vec<String> = bodies.concat();
    all.sort();
    assert_eq!(all, (0..7).map(|i| format!("event {i}")).collect::<Vec<_>>());
    let received = server.received.lock().unwrap();
    assert_eq!(received[0].headers["content-type"], "application/json");
}

#[tokio::test]
async fn batches_are_split_by_max_bytes() {
    let (addr, server) = start_server().await;
    let size = events(1)[0].estimated_size();
    let stats =
        run(&config(addr, &format!("batch.max_bytes = {}", size * 2)), vec![EventBatch::new(events(6))])
            .await;
    assert_eq!(stats.delivered, 6);
    let counts: Vec<usize> = server.bodies().iter().map(|body| messages(body).len()).collect();
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.iter().all(|count| *count == 2), "{counts:?}");
}

#[tokio::test]
async fn a_partial_batch_is_flushed_after_the_batch_timeout() {
    let (addr, server) = start_server().await;
    let config = config(addr, "batch.max_events = 100\nbatch.timeout_secs = 0.2");
    let cx = sink_context("http");
    let (tx, rx) = strata_core::buffer::memory_buffer(&BufferConfig::default(), &cx.metrics);
    let input = SinkInput::new(rx, cx.metrics.clone());
    let sink = tokio::spawn(async move { run_input(&config, input).await });
    let start = Instant::now();
    tx.send(EventBatch::new(events(3))).await.unwrap();
    while server.bodies().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(5), "the partial batch was never flushed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(start.elapsed() >= Duration::from_millis(150), "flushed early: {:?}", start.elapsed());
    assert_eq!(messages(&server.bodies()[0]).len(), 3);
    drop(tx);
    assert_eq!(sink.await.unwrap().delivered, 3);
}

#[tokio::test]
async fn gzip_and_zstd_bodies_decode_on_the_server_as_ndjson() {
    for compression in ["gzip", "zstd"] {
        let (addr, server) = start_server().await;
        let extra = format!("compression = \"{compression}\"\nframing.method = \"newline_delimited\"");
        let stats = run(&config(addr, &extra), vec![EventBatch::new(events(3))]).await;
        assert_eq!(stats.delivered, 3);
        let received = server.received.lock().unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].headers["content-encoding"], compression);
        assert_eq!(received[0].headers["content-type"], "application/x-ndjson");
        let lines: Vec<serde_json::Value> =
            received[0].body.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["message"], "event 2");
    }
}

#[tokio::test]
async fn text_is_sent_as_lines_with_put() {
    let (addr, server) = start_server().await;
    let extra = "method = \"put\"";
    let mut config = config(addr, extra);
    config.encoding = strata_codecs::EncodingConfig::new(strata_codecs::SerializerKind::Text);
    run(&config, vec![EventBatch::new(events(2))]).await;
    assert_eq!(server.bodies(), ["event 0\nevent 1\n"]);
    assert_eq!(server.received.lock().unwrap()[0].headers["content-type"], "text/plain");
}

#[test]
fn a_503_twice_then_200_is_delivered_once_and_the_retries_counted() {
    let ((stats, status, server), recorded) = strata_core::compliance::recorded(async {
        let (addr, server) = start_server().await;
        server.fail_503.store(2, Ordering::SeqCst);
        let (batch, receipt) = tracked(4);
        let stats = run(&config(addr, ""), vec![batch]).await;
        (stats, receipt.await, server)
    });
    assert_eq!(stats, RunStats { delivered: 4, rejected: 0, errored: 0 });
    assert_eq!(status, BatchStatus::Delivered);
    assert_eq!(server.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(server.bodies().len(), 1, "delivered exactly once");
    assert_eq!(recorded.counter("sink_retries_total", &[("component_type", "http")]), Some(2));
    let errors = [("error_type", "http_service_unavailable"), ("stage", "sending")];
    assert_eq!(recorded.counter("component_errors_total", &errors), Some(2));
    assert_eq!(recorded.counter("component_sent_events_total", &[]), Some(4));
}

#[test]
fn a_400_is_not_retried_and_rejects_the_events() {
    let ((stats, status, attempts), recorded) = strata_core::compliance::recorded(async {
        let (addr, server) = start_server().await;
        *server.status.lock().unwrap() = Some(StatusCode::BAD_REQUEST);
        let (batch, receipt) = tracked(2);
        let stats = run(&config(addr, ""), vec![batch]).await;
        (stats, receipt.await, server.attempts.load(Ordering::SeqCst))
    });
    assert_eq!(stats, RunStats { delivered: 0, rejected: 2, errored: 0 });
    assert_eq!(status, BatchStatus::Rejected);
    assert_eq!(attempts, 1);
    assert_eq!(recorded.counter("sink_retries_total", &[]).unwrap_or(0), 0);
    assert_eq!(recorded.counter("component_errors_total", &[("error_type", "http_client_error")]), Some(1));
}

#[tokio::test]
async fn a_server_that_is_down_for_a_while_gets_everything_once_it_is_up() {
    // Reserve a port, then close it so that connections are refused.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let server = Arc::new(Server::default());
    let later = server.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        serve_on(tokio::net::TcpListener::bind(addr).await.unwrap(), later);
    });
    let (first, first_receipt) = tracked(5);
    let (second, second_receipt) = tracked(5);
    let start = Instant::now();
    let stats =
        run(&config(addr, "batch.max_events = 3\nrequest.concurrency = 2"), vec![first, second]).await;
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert_eq!(stats, RunStats { delivered: 10, rejected: 0, errored: 0 });
    assert_eq!(first_receipt.await, BatchStatus::Delivered);
    assert_eq!(second_receipt.await, BatchStatus::Delivered);
    let total: usize = server.bodies().iter().map(|body| messages(body).len()).sum();
    assert_eq!(total, 10);
}

#[tokio::test]
async fn no_more_than_the_concurrency_limit_is_in_flight() {
    let (addr, server) = start_server().await;
    *server.delay.lock().unwrap() = Duration::from_millis(100);
    let stats = run(
        &config(addr, "batch.max_events = 1\nrequest.concurrency = 3"),
        vec![EventBatch::new(events(12))],
    )
    .await;
    assert_eq!(stats.delivered, 12);
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn adaptive_concurrency_delivers_everything_and_stays_bounded() {
    let (addr, server) = start_server().await;
    *server.delay.lock().unwrap() = Duration::from_millis(20);
    server.fail_503.store(3, Ordering::SeqCst);
    let extra = "batch.max_events = 1\nrequest.concurrency = \"adaptive\"\nrequest.adaptive_concurrency.max_concurrency_limit = 4";
    let stats = run(&config(addr, extra), vec![EventBatch::new(events(40))]).await;
    assert_eq!(stats.delivered, 40);
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=4).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn basic_and_bearer_auth_headers_are_sent() {
    let (addr, server) = start_server().await;
    let basic = "auth.strategy = \"basic\"\nauth.user = \"alice\"\nauth.password = \"s3cret\"\nheaders.X-Tenant = \"a\"";
    run(&config(addr, basic), vec![EventBatch::new(events(1))]).await;
    let bearer = "auth.strategy = \"bearer\"\nauth.token = \"tok\"";
    run(&config(addr, bearer), vec![EventBatch::new(events(1))]).await;
    let received = server.received.lock().unwrap();
    // base64("alice:s3cret")
    assert_eq!(received[0].headers["authorization"], "Basic YWxpY2U6czNjcmV0");
    assert_eq!(received[0].headers["x-tenant"], "a");
    assert_eq!(received[1].headers["authorization"], "Bearer tok");
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let config = config(addr, "auth.strategy = \"basic\"\nauth.user = \"alice\"\nauth.password = \"s3cret\"");
    let shown = format!("{config:?}");
    assert!(shown.contains("alice") && !shown.contains("s3cret"), "{shown}");
    let config = config_with_token(addr);
    assert!(!format!("{config:?}").contains("tok3n"));
}

fn config_with_token(addr: SocketAddr) -> HttpConfig {
    config(addr, "auth.strategy = \"bearer\"\nauth.token = \"tok3n\"")
}

#[tokio::test]
async fn bad_options_fail_the_build_by_name() {
    let build = |text: &str| {
        let config: HttpConfig = toml::from_str(text).unwrap();
        async move { config.build(sink_context("http")).await.err().unwrap().to_string() }
    };
    let ftp = build("uri = \"ftp://example.com\"\nencoding.codec = \"json\"").await;
    assert!(ftp.contains("not an http:// or https:// URI"), "{ftp}");
    let header = build("uri = \"http://a\"\nencoding.codec = \"json\"\nheaders.\"bad header\" = \"x\"").await;
    assert!(header.contains("headers.bad header"), "{header}");
    let batch = build("uri = \"http://a\"\nencoding.codec = \"json\"\nbatch.max_events = 0").await;
    assert!(batch.contains("batch.max_events"), "{batch}");
    let typo =
        toml::from_str::<HttpConfig>("uri = \"http://a\"\nencoding.codec = \"json\"\nmethods = \"put\"");
    assert!(typo.unwrap_err().to_string().contains("methods"));
}

#[tokio::test]
async fn the_healthcheck_passes_when_reachable_and_fails_when_not() {
    let (addr, _server) = start_server().await;
    let (_, healthcheck) = config(addr, "").build(sink_context("http")).await.unwrap();
    healthcheck.await.unwrap();
    let down = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let (_, healthcheck) = config(down, "").build(sink_context("http")).await.unwrap();
    let error = healthcheck.await.unwrap_err();
    assert!(error.contains("HEAD"), "{error}");
    let (_, healthcheck) =
        config(down, "healthcheck.enabled = false").build(sink_context("http")).await.unwrap();
    healthcheck.await.unwrap();
}

#[test]
fn the_http_sink_is_compliant() {
    // The compliance helper runs on its own runtime; the server needs one that outlives it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (addr, server) = runtime.block_on(start_server());
    strata_core::compliance::assert_sink_compliance("http", &config(addr, ""), events(5));
    let total: usize = server.bodies().iter().map(|body| messages(body).len()).sum();
    assert_eq!(total, 5);
}

#[test]
fn the_example_parses_and_builds() {
    let mut options: toml::Table = toml::from_str(super::config::EXAMPLE).unwrap();
    options.remove("type");
    options.remove("inputs");
    let config: HttpConfig = options.try_into().unwrap();
    assert_eq!(config.batch.max_events, 500);
    assert!(config.service().is_ok());
}

// HTTPS.

use strata_tls::testing::{Authority, Identity};
use strata_tls::{ServerTlsConfig, TlsAcceptor};

/// A TLS listener for the test server: each handshake runs inline, which is enough for a test.
struct TlsTestListener {
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsTestListener {
    type Io = strata_tls::tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let Ok((tcp, peer)) = self.listener.accept().await else { continue };
            if let Ok(tls) = self.acceptor.accept(tcp, Duration::from_secs(5)).await {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An HTTPS test server with `server`'s certificate; with `ca`, it requires client certificates
/// from that authority.
async fn start_tls_server(server: &Identity, ca: Option<&Authority>) -> (SocketAddr, Arc<Server>) {
    let options = ServerTlsConfig {
        enabled: Some(true),
        crt_file: Some(server.crt_file.clone()),
        key_file: Some(server.key_file.clone()),
        ca_file: ca.map(|ca| ca.ca_file.clone()),
        verify_certificate: ca.is_some(),
        alpn_protocols: Vec::new(),
    };
    let acceptor = options.acceptor().unwrap().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Server::default());
    let app = axum::Router::new().fallback(handle).with_state(state.clone());
    tokio::spawn(async move { axum::serve(TlsTestListener { listener, acceptor }, app).await.unwrap() });
    (addr, state)
}

/// The sink's options for `uri` with `tls` options; a failing request is retried twice, quickly.
fn https_config(uri: &str, tls: &[(&str, String)]) -> HttpConfig {
    let mut text = format!(
        "uri = \"{uri}\"\nencoding.codec = \"json\"\nrequest.retry_initial_backoff_secs = 0.05\nrequest.retry_max_duration_secs = 0.2\nrequest.retry_attempts = 2\n"
    );
    for (option, value) in tls {
        text.push_str(&format!("tls.{option} = {value:?}\n"));
    }
    toml::from_str(&text).unwrap()
}

/// `run`, bounded: a sink that never finishes fails the test instead of hanging it.
async fn run_tls(config: &HttpConfig, batches: Vec<EventBatch>) -> RunStats {
    tokio::time::timeout(Duration::from_secs(20), run(config, batches)).await.expect("the sink finishes")
}

fn path(path: &std::path::Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn https_delivers_to_a_server_that_requires_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(dir.path(), "test");
    let (addr, server) = start_tls_server(&ca.server(dir.path(), "server"), Some(&ca)).await;
    let client = ca.client(dir.path(), "client");
    let tls = [
        ("ca_file", path(&ca.ca_file)),
        ("crt_file", path(&client.crt_file)),
        ("key_file", path(&client.key_file)),
    ];
    let config = https_config(&format!("https://localhost:{}/ingest", addr.port()), &tls);
    assert_eq!(config.validate(), Vec::<String>::new());
    let (_, healthcheck) = config.build(sink_context("http")).await.unwrap();
    healthcheck.await.expect("the healthcheck reaches the server over TLS");
    let (batch, receipt) = tracked(3);
    let stats = run_tls(&config, vec![batch]).await;
    assert_eq!(stats, RunStats { delivered: 3, rejected: 0, errored: 0 });
    assert_eq!(receipt.await, BatchStatus::Delivered);
    // The healthcheck's `HEAD` has an empty body.
    let all: Vec<String> =
        server.bodies().iter().filter(|body| !body.is_empty()).flat_map(|body| messages(body)).collect();
    assert_eq!(all, ["event 0", "event 1", "event 2"]);

    // Without the client certificate the server refuses the handshake: retried, then errored.
    let anonymous = https_config(&format!("https://localhost:{}/ingest", addr.port()), &tls[..1]);
    let stats = run_tls(&anonymous, vec![EventBatch::new(events(2))]).await;
    assert_eq!(stats, RunStats { delivered: 0, rejected: 0, errored: 2 });
}

#[tokio::test]
async fn https_checks_the_server_against_the_roots_and_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(dir.path(), "test");
    let named = ca.server_for(dir.path(), "named", &["collector.test"]);
    let (addr, server) = start_tls_server(&named, None).await;
    let uri = format!("https://127.0.0.1:{}/ingest", addr.port());

    // The built-in roots do not know the test authority.
    let (_, healthcheck) = https_config(&uri, &[]).build(sink_context("http")).await.unwrap();
    let error = healthcheck.await.expect_err("an unknown authority is refused");
    assert!(error.contains("certificate"), "{error}");
    // The authority is trusted, but the certificate is not for 127.0.0.1.
    let trusted = [("ca_file", path(&ca.ca_file))];
    let stats = run_tls(&https_config(&uri, &trusted), vec![EventBatch::new(events(1))]).await;
    assert_eq!(stats.errored, 1);
    assert!(server.bodies().is_empty());
    // `server_name` names the certificate's host.
    let renamed = [("ca_file", path(&ca.ca_file)), ("server_name", "collector.test".to_owned())];
    let stats = run_tls(&https_config(&uri, &renamed), vec![EventBatch::new(events(1))]).await;
    assert_eq!(stats.delivered, 1);
    assert_eq!(server.bodies().len(), 1);
}

#[tokio::test]
async fn tls_options_are_checked_and_a_bad_file_fails_the_build_by_name() {
    let enabled: HttpConfig =
        toml::from_str("uri = \"https://a\"\nencoding.codec = \"json\"\ntls.enabled = true").unwrap();
    assert!(enabled.validate()[0].contains("`tls.enabled` does not apply"), "{:?}", enabled.validate());
    let missing = std::env::temp_dir().join("strata-no-such-dir/ca.pem");
    let config = https_config("https://a", &[("ca_file", path(&missing))]);
    let error = config.build(sink_context("http")).await.err().unwrap().to_string();
    assert!(error.contains("`tls.ca_file`") && error.contains(&path(&missing)), "{error}");
}
