//! `throttle` tests, on a clock the test moves by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use strata_core::testing::{run_sync, transform_context};
use strata_core::{SyncTransform, Transform, TransformConfig};
use strata_event::{BatchNotifier, BatchStatus, Event, EventFinalizers, LogEvent, Value};

use super::transform::{Clock, Limits, Throttle};
use super::*;

/// A clock that stands still until the test advances it.
#[derive(Clone)]
struct ManualClock {
    start: Instant,
    elapsed_ms: Arc<AtomicU64>,
}

impl ManualClock {
    fn new() -> Self {
        Self { start: Instant::now(), elapsed_ms: Arc::new(AtomicU64::new(0)) }
    }

    fn advance(&self, by: Duration) {
        self.elapsed_ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + Duration::from_millis(self.elapsed_ms.load(Ordering::SeqCst))
    }
}

fn throttle(options: serde_json::Value, clock: ManualClock) -> Throttle<ManualClock> {
    let config: ThrottleConfig = strata_core::parse_options(options).expect("valid options");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let exclude = config.exclude.as_ref().map(|condition| condition.compile().unwrap());
    let limits = Limits::new(config.threshold, config.window().unwrap());
    let key = config.key_path().unwrap();
    Throttle::new(limits, key, exclude, Default::default(), clock, &transform_context("throttle"))
}

fn event(service: Option<&str>, level: &str) -> Event {
    let mut log = LogEvent::default();
    if let Some(service) = service {
        log.insert("service", service);
    }
    log.insert("level", level);
    Event::Log(log)
}

fn burst(service: Option<&str>, count: usize) -> Vec<Event> {
    (0..count).map(|_| event(service, "info")).collect()
}

#[test]
fn drops_over_the_threshold_within_a_window_and_admits_again_in_the_next() {
    let clock = ManualClock::new();
    let mut transform = throttle(serde_json::json!({"threshold": 5, "window_secs": 10}), clock.clone());
    assert_eq!(run_sync(&mut transform, &[], burst(None, 8)).primary().len(), 5);
    clock.advance(Duration::from_secs(5));
    // Half a window refills half the bucket (the limiter is smooth, like Vector's).
    assert_eq!(run_sync(&mut transform, &[], burst(None, 8)).primary().len(), 2);
    clock.advance(Duration::from_millis(500));
    assert_eq!(run_sync(&mut transform, &[], burst(None, 1)).primary().len(), 0);
    // Once the bucket has drained, at 14 s, the whole burst is available again.
    clock.advance(Duration::from_millis(8500));
    assert_eq!(run_sync(&mut transform, &[], burst(None, 8)).primary().len(), 5);
}

#[test]
fn over_a_long_run_admits_threshold_per_window() {
    let clock = ManualClock::new();
    let mut transform = throttle(serde_json::json!({"threshold": 100, "window_secs": 1}), clock.clone());
    let mut admitted = 0;
    // 1000 events a second for 10 seconds, one every millisecond.
    for _ in 0..10_000 {
        admitted += run_sync(&mut transform, &[], burst(None, 1)).primary().len();
        clock.advance(Duration::from_millis(1));
    }
    // A burst of about 110 (the bucket refills while it drains), then 100 per second after it.
    assert!((1050..=1110).contains(&admitted), "admitted {admitted}");
}

#[test]
fn each_key_has_its_own_threshold_and_missing_keys_share_one() {
    let clock = ManualClock::new();
    let mut transform = throttle(
        serde_json::json!({"threshold": 2, "window_secs": 60, "key_field": "{{ service }}"}),
        clock.clone(),
    );
    let mut events = burst(Some("api"), 5);
    events.extend(burst(Some("db"), 5));
    events.extend(burst(None, 5));
    let out = run_sync(&mut transform, &[], events);
    let count = |service: Option<&str>| {
        let service = service.map(Value::from);
        out.primary().iter().filter(|e| e.as_log().unwrap().get("service") == service.as_ref()).count()
    };
    assert_eq!((count(Some("api")), count(Some("db")), count(None)), (2, 2, 2));
    assert_eq!(transform.bucket_count(), 3);
    // A window later every bucket is at rest and the next event sweeps them away.
    clock.advance(Duration::from_secs(60));
    assert_eq!(run_sync(&mut transform, &[], burst(Some("api"), 3)).primary().len(), 2);
    assert_eq!(transform.bucket_count(), 1);
}

#[test]
fn excluded_events_pass_and_do_not_use_up_the_bucket() {
    let clock = ManualClock::new();
    let mut transform = throttle(
        serde_json::json!({"threshold": 3, "window_secs": 1, "exclude": ".level == \"error\""}),
        clock,
    );
    let events = (0..20).map(|n| event(None, if n % 2 == 0 { "error" } else { "info" })).collect();
    let out = run_sync(&mut transform, &[], events);
    let errors =
        out.primary().iter().filter(|e| e.as_log().unwrap().get("level") == Some(&Value::from("error")));
    assert_eq!(errors.count(), 10);
    assert_eq!(out.primary().len(), 13);
}

#[tokio::test]
async fn throttled_events_are_reported_delivered() {
    let mut transform = throttle(serde_json::json!({"threshold": 1, "window_secs": 1}), ManualClock::new());
    let (notifier, receipt) = BatchNotifier::new();
    let mut dropped = event(None, "info");
    dropped.metadata_mut().add_finalizers(EventFinalizers::new(notifier));
    let out = run_sync(&mut transform, &[], vec![event(None, "info"), dropped]);
    assert_eq!(out.primary().len(), 1);
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn builds_from_config_and_refuses_bad_options() {
    let config: ThrottleConfig =
        strata_core::parse_options(serde_json::json!({"threshold": 1, "window_secs": 0.5})).unwrap();
    let Transform::Sync(mut built) = config.build(&transform_context("throttle")).await.unwrap() else {
        panic!("throttle is synchronous")
    };
    let built: &mut dyn SyncTransform = built.as_mut();
    assert_eq!(run_sync(built, &[], burst(None, 3)).primary().len(), 1);

    let bad: ThrottleConfig = strata_core::parse_options(
        serde_json::json!({"threshold": 0, "window_secs": -1, "key_field": "a..b"}),
    )
    .unwrap();
    let problems = bad.validate();
    assert_eq!(problems.len(), 3, "{problems:?}");
    let unknown =
        strata_core::parse_options::<ThrottleConfig>(serde_json::json!({"threshold": 1, "window_sec": 1}));
    assert!(unknown.unwrap_err().to_string().contains("window_sec"));
}

#[test]
fn the_example_is_valid() {
    let mut options: serde_json::Value = toml::from_str(super::config::EXAMPLE).expect("the example is TOML");
    options.as_object_mut().expect("a table").retain(|key, _| key != "type" && key != "inputs");
    let config: ThrottleConfig = strata_core::parse_options(options).expect("the example parses");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn throttle_passes_the_compliance_helper() {
    let config: ThrottleConfig =
        strata_core::parse_options(serde_json::json!({"threshold": 3, "window_secs": 60})).unwrap();
    let output = strata_core::compliance::assert_transform_compliance(
        "throttle",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert_eq!(output.len(), 3);
}
