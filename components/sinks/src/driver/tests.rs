//! Driver tests: batching, backoff, adaptive concurrency, rate limit and the retry loop, with an
//! in-memory service. The `http` sink's tests cover the same paths against a real server.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use strata_core::testing::{sink_context, sink_input};
use strata_event::{
    BatchNotifier, BatchReceipt, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent,
};

use super::batcher::Batcher;
use super::concurrency::{ConcurrencyLimit, Signal};
use super::rate_limit::RateLimiter;
use super::retry::RetryPolicy;
use super::*;

fn event(message: &str) -> Event {
    Event::Log(LogEvent::from_message(message.to_owned(), EventMetadata::default()))
}

fn tracked(count: usize) -> (EventBatch, BatchReceipt) {
    let (notifier, receipt) = BatchNotifier::new();
    let events = (0..count)
        .map(|i| {
            let mut event = event(&format!("event {i}"));
            event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
            event
        })
        .collect();
    (EventBatch::new(events), receipt)
}

/// Answers each send with the next scripted result, then with success; records what it got.
#[derive(Default)]
struct Scripted {
    script: Mutex<Vec<Result<(), SinkError>>>,
    sent: Mutex<Vec<usize>>,
    attempts: AtomicUsize,
    fail_encode: bool,
}

impl Service for Scripted {
    fn encode(&self, events: &[Event]) -> Result<Vec<u8>, SinkError> {
        if self.fail_encode {
            return Err(SinkError::permanent("encode_failed", "cannot encode"));
        }
        Ok(vec![b'x'; events.len()])
    }

    async fn send(&self, payload: &Payload) -> Result<(), SinkError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let next = {
            let mut script = self.script.lock().unwrap();
            if script.is_empty() { Ok(()) } else { script.remove(0) }
        };
        if next.is_ok() {
            self.sent.lock().unwrap().push(payload.events);
        }
        next
    }
}

fn fast_request() -> RequestConfig {
    RequestConfig {
        concurrency: ConcurrencyConfig::Fixed(2),
        retry_initial_backoff_secs: 0.001,
        retry_max_duration_secs: 0.01,
        ..RequestConfig::default()
    }
}

fn scripted(service: Scripted, max_events: usize, request: RequestConfig) -> Driver<Scripted> {
    let batch = BatchConfig { max_events, ..BatchConfig::default() };
    Driver::new(service, &batch, &request, Compression::None, sink_context("test").metrics).unwrap()
}

#[test]
fn the_batcher_splits_by_count_and_by_size() {
    let mut ready = Vec::new();
    let mut batcher = Batcher::new(3, usize::MAX);
    for i in 0..7 {
        batcher.push(event(&format!("{i}")), &mut ready);
    }
    assert_eq!(ready.iter().map(|batch| batch.events.len()).collect::<Vec<_>>(), [3, 3]);
    assert_eq!(batcher.take().events.len(), 1);

    let size = event("aaaa").estimated_size();
    let mut ready = Vec::new();
    let mut batcher = Batcher::new(100, size * 2 + size / 2);
    for _ in 0..5 {
        batcher.push(event("aaaa"), &mut ready);
    }
    assert_eq!(ready.iter().map(|batch| batch.events.len()).collect::<Vec<_>>(), [2, 2]);
    assert!(ready.iter().all(|batch| batch.bytes <= size * 2 + size / 2));

    // An event larger than the limit travels alone.
    let mut ready = Vec::new();
    let mut batcher = Batcher::new(100, 1);
    batcher.push(event("big"), &mut ready);
    batcher.push(event("big"), &mut ready);
    assert_eq!(ready.len(), 2);
    assert!(batcher.is_empty());
}

#[test]
fn backoff_doubles_up_to_the_cap_with_full_jitter() {
    let request = RequestConfig {
        retry_initial_backoff_secs: 1.0,
        retry_max_duration_secs: 10.0,
        ..Default::default()
    };
    let policy = RetryPolicy::new(&request);
    let ceilings: Vec<u64> = (0..6).map(|retry| policy.ceiling(retry).as_secs()).collect();
    assert_eq!(ceilings, [1, 2, 4, 8, 10, 10]);
    assert_eq!(policy.ceiling(u64::MAX), Duration::from_secs(10));
    let samples: Vec<Duration> = (0..200).map(|_| policy.backoff(3)).collect();
    assert!(samples.iter().all(|backoff| *backoff <= Duration::from_secs(8)));
    assert!(samples.iter().any(|backoff| *backoff < Duration::from_secs(4)), "jitter spreads the waits");
}

fn adaptive(max: usize) -> ConcurrencyLimit {
    let config = AdaptiveConcurrencyConfig { max_concurrency_limit: max, ..Default::default() };
    ConcurrencyLimit::new(ConcurrencyConfig::Adaptive, &config, metrics::gauge!("test"))
}

#[test]
fn adaptive_concurrency_grows_when_saturated_and_backs_off_on_backpressure() {
    let limit = adaptive(5);
    let rtt = Duration::from_millis(10);
    let mut now = Instant::now();
    assert_eq!(limit.current(), 1);
    for _ in 0..10 {
        limit.started(limit.current());
        now += Duration::from_millis(20);
        limit.observe_at(now, rtt, Signal::Response);
    }
    assert_eq!(limit.current(), 5, "additive increase stops at max_concurrency_limit");

    // Not saturated: nothing learnt, no change.
    now += Duration::from_millis(20);
    limit.observe_at(now, rtt, Signal::Response);
    assert_eq!(limit.current(), 5);

    now += Duration::from_millis(20);
    limit.observe_at(now, rtt, Signal::Backpressure);
    assert_eq!(limit.current(), 4, "5 * 0.9 rounds down");
    for _ in 0..10 {
        now += Duration::from_millis(20);
        limit.observe_at(now, rtt, Signal::Backpressure);
    }
    assert_eq!(limit.current(), 1, "never below one");

    // A much slower response counts as a slowdown too.
    limit.started(1);
    now += Duration::from_millis(20);
    limit.observe_at(now, rtt, Signal::Response);
    assert_eq!(limit.current(), 2);
    now += Duration::from_millis(20);
    limit.observe_at(now, rtt * 10, Signal::Response);
    assert_eq!(limit.current(), 1);
}

#[test]
fn a_fixed_limit_never_moves() {
    let limit =
        ConcurrencyLimit::new(ConcurrencyConfig::Fixed(3), &Default::default(), metrics::gauge!("test"));
    limit.started(3);
    limit.observe(Duration::from_secs(100), Signal::Backpressure);
    assert_eq!(limit.current(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_requests_into_windows() {
    let limiter = RateLimiter::new(2, Duration::from_secs(1)).unwrap();
    let start = tokio::time::Instant::now();
    let mut waits = Vec::new();
    for _ in 0..5 {
        limiter.acquire().await;
        waits.push(start.elapsed().as_millis() / 100);
    }
    assert_eq!(waits, [0, 0, 10, 10, 20]);
    assert!(RateLimiter::new(u64::MAX, Duration::from_secs(1)).is_none());
}

#[test]
fn concurrency_parses_numbers_adaptive_and_none() {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        request: RequestConfig,
    }
    let parse = |text: &str| toml::from_str::<Wrapper>(text).map(|wrapper| wrapper.request.concurrency);
    assert_eq!(parse("request.concurrency = 4").unwrap(), ConcurrencyConfig::Fixed(4));
    assert_eq!(parse("request.concurrency = \"adaptive\"").unwrap(), ConcurrencyConfig::Adaptive);
    assert_eq!(parse("request.concurrency = \"none\"").unwrap(), ConcurrencyConfig::None);
    assert_eq!(parse("request.timeout_secs = 5").unwrap(), ConcurrencyConfig::Adaptive);
    assert!(parse("request.concurrency = 0").unwrap_err().to_string().contains("at least 1"));
    assert!(parse("request.concurrency = \"lots\"").unwrap_err().to_string().contains("`lots`"));
    assert!(parse("request.retry_attemps = 3").unwrap_err().to_string().contains("retry_attemps"));
}

#[test]
fn invalid_options_are_refused_by_name() {
    let error = |batch: BatchConfig, request: RequestConfig| {
        Driver::new(Scripted::default(), &batch, &request, Compression::None, sink_context("test").metrics)
            .err()
            .unwrap()
            .to_string()
    };
    assert!(
        error(BatchConfig { max_events: 0, ..Default::default() }, Default::default())
            .contains("batch.max_events")
    );
    assert!(
        error(Default::default(), RequestConfig { timeout_secs: -1.0, ..Default::default() })
            .contains("request.timeout_secs")
    );
    let adaptive = AdaptiveConcurrencyConfig { max_concurrency_limit: 0, ..Default::default() };
    assert!(
        error(Default::default(), RequestConfig { adaptive_concurrency: adaptive, ..Default::default() })
            .contains("max_concurrency_limit")
    );
}

#[tokio::test]
async fn retryable_errors_are_retried_until_delivered() {
    let service = Scripted {
        script: Mutex::new(vec![
            Err(SinkError::retryable("boom", "boom")),
            Err(SinkError::backpressure("slow", "slow")),
        ]),
        ..Default::default()
    };
    let driver = scripted(service, 10, fast_request());
    let (batch, receipt) = tracked(5);
    let stats = driver.drive(sink_input(vec![batch]).await).await;
    assert_eq!(stats, RunStats { delivered: 5, rejected: 0, errored: 0 });
    assert_eq!(receipt.await, BatchStatus::Delivered);
    assert_eq!(driver.service().attempts.load(Ordering::SeqCst), 3);
    assert_eq!(*driver.service().sent.lock().unwrap(), [5]);
}

#[tokio::test]
async fn exhausted_retries_report_errored_and_permanent_errors_rejected() {
    let service = Scripted {
        script: Mutex::new(vec![Err(SinkError::retryable("boom", "boom")); 3]),
        ..Default::default()
    };
    let driver = scripted(service, 10, RequestConfig { retry_attempts: 2, ..fast_request() });
    let (batch, receipt) = tracked(2);
    let stats = driver.drive(sink_input(vec![batch]).await).await;
    assert_eq!(stats, RunStats { delivered: 0, rejected: 0, errored: 2 });
    assert_eq!(receipt.await, BatchStatus::Errored);
    assert_eq!(driver.service().attempts.load(Ordering::SeqCst), 3, "one attempt and two retries");

    let service =
        Scripted { script: Mutex::new(vec![Err(SinkError::permanent("bad", "bad"))]), ..Default::default() };
    let driver = scripted(service, 10, fast_request());
    let (batch, receipt) = tracked(2);
    let stats = driver.drive(sink_input(vec![batch]).await).await;
    assert_eq!(stats, RunStats { delivered: 0, rejected: 2, errored: 0 });
    assert_eq!(receipt.await, BatchStatus::Rejected);
    assert_eq!(driver.service().attempts.load(Ordering::SeqCst), 1, "never retried");

    let driver = scripted(Scripted { fail_encode: true, ..Default::default() }, 10, fast_request());
    let (batch, receipt) = tracked(2);
    let stats = driver.drive(sink_input(vec![batch]).await).await;
    assert_eq!(stats.rejected, 2);
    assert_eq!(receipt.await, BatchStatus::Rejected);
}

/// A service that never answers.
struct Hanging;

impl Service for Hanging {
    fn encode(&self, events: &[Event]) -> Result<Vec<u8>, SinkError> {
        Ok(vec![0; events.len()])
    }
    async fn send(&self, _: &Payload) -> Result<(), SinkError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_that_times_out_is_retried_and_finally_errored() {
    let request = RequestConfig { timeout_secs: 5.0, retry_attempts: 1, ..fast_request() };
    let driver =
        Driver::new(Hanging, &BatchConfig::default(), &request, Compression::None, sink_context("t").metrics)
            .unwrap();
    let (batch, receipt) = tracked(1);
    let start = tokio::time::Instant::now();
    let stats = driver.drive(sink_input(vec![batch]).await).await;
    assert_eq!(stats.errored, 1);
    assert_eq!(receipt.await, BatchStatus::Errored);
    assert!(start.elapsed() >= Duration::from_secs(10), "two attempts of 5 s each");
}

#[tokio::test]
async fn dropping_the_driver_mid_request_reports_errored() {
    let driver = Driver::new(
        Hanging,
        &BatchConfig::default(),
        &fast_request(),
        Compression::None,
        sink_context("t").metrics,
    )
    .unwrap();
    let (batch, receipt) = tracked(3);
    let input = sink_input(vec![batch]).await;
    let run = tokio::time::timeout(Duration::from_millis(50), driver.drive(input)).await;
    assert!(run.is_err(), "the request never finishes");
    assert_eq!(receipt.await, BatchStatus::Errored);
}

#[test]
fn compression_round_trips() {
    use std::io::Read;
    let body = b"hello hello hello hello".repeat(10);
    let gzip = Compression::Gzip.compress(body.clone()).unwrap();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gzip[..]).read_to_end(&mut decoded).unwrap();
    assert_eq!(decoded, body);
    let zstd = Compression::Zstd.compress(body.clone()).unwrap();
    assert_eq!(zstd::decode_all(&zstd[..]).unwrap(), body);
    assert_eq!(Compression::None.compress(body.clone()).unwrap(), body);
    assert_eq!(Compression::Gzip.content_encoding(), Some("gzip"));
}

/// Refuses, for good and with a 400, every batch whose first event says "bad".
struct Picky {
    script: Mutex<Vec<Result<(), SinkError>>>,
}

impl Service for Picky {
    fn encode(&self, events: &[Event]) -> Result<Vec<u8>, SinkError> {
        let message = events.first().and_then(|event| event.as_log()?.message()?.as_bytes().cloned());
        let bad = message.is_some_and(|message| message.starts_with(b"bad"));
        Ok(if bad { b"bad".to_vec() } else { b"good".to_vec() })
    }

    async fn send(&self, payload: &Payload) -> Result<(), SinkError> {
        if payload.body.as_ref() == b"bad" {
            return Err(
                SinkError::permanent("http_client_error", "the server answered 400").with_http_status(400)
            );
        }
        let mut script = self.script.lock().unwrap();
        if script.is_empty() { Ok(()) } else { script.remove(0) }
    }
}

fn tracked_as(prefix: &str, count: usize) -> (EventBatch, BatchReceipt) {
    let (notifier, receipt) = BatchNotifier::new();
    let events = (0..count)
        .map(|i| {
            let mut event = event(&format!("{prefix} {i}"));
            event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
            event
        })
        .collect();
    (EventBatch::new(events), receipt)
}

fn field<'a>(event: &'a Event, path: &str) -> Option<&'a strata_event::Value> {
    event.as_log()?.get(path)
}

#[tokio::test]
async fn rejected_batches_go_to_the_rejected_output_and_answer_to_it() {
    let (cx, mut dead_letters) = strata_core::testing::sink_context_with_rejected("picky");
    let batch = BatchConfig { max_events: 2, ..BatchConfig::default() };
    let driver = Driver::new(
        Picky { script: Mutex::default() },
        &batch,
        &fast_request(),
        Compression::None,
        cx.metrics,
    )
    .unwrap()
    .with_rejected(cx.rejected);
    let (good, good_receipt) = tracked_as("good", 2);
    let (kept, kept_receipt) = tracked_as("bad kept", 2);
    let (lost, lost_receipt) = tracked_as("bad lost", 2);
    let stats = driver.drive(sink_input(vec![good, kept, lost]).await).await;
    assert_eq!(stats, RunStats { delivered: 2, rejected: 4, errored: 0 });
    assert_eq!(good_receipt.await, BatchStatus::Delivered);

    let mut routed = strata_core::testing::collect(&mut dead_letters, 4, Duration::from_secs(5)).await;
    let messages: Vec<_> = routed.iter().map(|e| field(e, "message").cloned()).collect();
    assert_eq!(
        messages,
        ["bad kept 0", "bad kept 1", "bad lost 0", "bad lost 1"].map(|m| Some(strata_event::Value::from(m)))
    );
    for event in &routed {
        assert_eq!(field(event, "metadata.dead_letter.reason"), Some(&"http_client_error".into()));
        assert_eq!(field(event, "metadata.dead_letter.http_status"), Some(&400.into()));
        assert_eq!(field(event, "metadata.dead_letter.component_id"), Some(&"test_picky".into()));
        assert_eq!(field(event, "metadata.dead_letter.component_kind"), Some(&"sink".into()));
        assert_eq!(field(event, "metadata.dead_letter.retries_exhausted"), Some(&false.into()));
    }
    // The dead-letter side stores the first batch and loses the second: each source hears that,
    // not the sink's `Rejected`.
    let lost_events = routed.split_off(2);
    for event in &mut routed {
        event.take_finalizers().update_status(BatchStatus::Delivered);
    }
    drop(routed);
    drop(lost_events);
    assert_eq!(kept_receipt.await, BatchStatus::Delivered);
    assert_eq!(lost_receipt.await, BatchStatus::Errored);
}

#[tokio::test]
async fn exhausted_retries_and_encoding_failures_are_dead_lettered_too() {
    let (cx, mut dead_letters) = strata_core::testing::sink_context_with_rejected("picky");
    let failing = vec![Err(SinkError::retryable("http_server_error", "the server answered 500")); 2];
    let request = RequestConfig { retry_attempts: 1, ..fast_request() };
    let driver = Driver::new(
        Picky { script: Mutex::new(failing) },
        &BatchConfig::default(),
        &request,
        Compression::None,
        cx.metrics,
    )
    .unwrap()
    .with_rejected(cx.rejected);
    let (batch, receipt) = tracked_as("good", 3);
    let stats = driver.drive(sink_input(vec![batch]).await).await;
    assert_eq!(stats, RunStats { delivered: 0, rejected: 0, errored: 3 });
    let mut routed = strata_core::testing::collect(&mut dead_letters, 3, Duration::from_secs(5)).await;
    assert_eq!(routed.len(), 3);
    assert_eq!(field(&routed[0], "metadata.dead_letter.retries_exhausted"), Some(&true.into()));
    assert_eq!(field(&routed[0], "metadata.dead_letter.reason"), Some(&"http_server_error".into()));
    assert_eq!(field(&routed[0], "metadata.dead_letter.http_status"), None);
    for event in &mut routed {
        event.take_finalizers().update_status(BatchStatus::Delivered);
    }
    drop(routed);
    assert_eq!(receipt.await, BatchStatus::Delivered);

    let (cx, mut dead_letters) = strata_core::testing::sink_context_with_rejected("encoder");
    let service = Scripted { fail_encode: true, ..Default::default() };
    let driver =
        Driver::new(service, &BatchConfig::default(), &fast_request(), Compression::None, cx.metrics)
            .unwrap()
            .with_rejected(cx.rejected);
    let (batch, receipt) = tracked(2);
    assert_eq!(driver.drive(sink_input(vec![batch]).await).await.rejected, 2);
    assert_eq!(driver.service().attempts.load(Ordering::SeqCst), 0, "nothing was sent");
    let routed = strata_core::testing::collect(&mut dead_letters, 2, Duration::from_secs(5)).await;
    assert_eq!(routed.len(), 2);
    assert_eq!(field(&routed[0], "metadata.dead_letter.reason"), Some(&"encode_failed".into()));
    // Dropped unsettled by the dead-letter side: not delivered, and not the sink's `Rejected`.
    drop(routed);
    assert_eq!(receipt.await, BatchStatus::Errored);
}
