//! `sample` tests.

use strata_core::testing::{run_sync, transform_context};
use strata_core::{SyncTransform, Transform, TransformConfig};
use strata_event::{BatchNotifier, BatchStatus, Event, EventFinalizers, LogEvent, Value};

use super::*;

async fn sample(options: serde_json::Value) -> Box<dyn SyncTransform> {
    let config: SampleConfig = strata_core::parse_options(options).expect("valid options");
    match config.build(&transform_context("sample")).await.expect("builds") {
        Transform::Sync(transform) => transform,
        Transform::Task(_) => panic!("sample is synchronous"),
    }
}

fn event(fields: &[(&str, Value)]) -> Event {
    let mut log = LogEvent::default();
    for (key, value) in fields {
        log.insert(key, value.clone());
    }
    Event::Log(log)
}

fn numbered(count: usize) -> Vec<Event> {
    (0..count).map(|n| event(&[("n", Value::from(n as i64))])).collect()
}

#[tokio::test]
async fn keeps_one_in_rate_and_adds_the_rate() {
    let mut transform = sample(serde_json::json!({"rate": 10})).await;
    let out = run_sync(transform.as_mut(), &[], numbered(10_000));
    assert_eq!(out.primary().len(), 1000);
    let first = out.primary()[0].as_log().unwrap();
    assert_eq!(first.get("n"), Some(&Value::from(0)));
    assert_eq!(first.get("sample_rate"), Some(&Value::from("10")));
}

#[tokio::test]
async fn key_field_keeps_about_one_in_rate_of_the_keys_and_all_or_none_of_each() {
    let mut transform = sample(serde_json::json!({"rate": 10, "key_field": "request.id"})).await;
    // 2000 keys, 5 events each, interleaved.
    let events: Vec<Event> = (0..10_000)
        .map(|n| {
            event(&[("request.id", Value::from(format!("req-{}", n % 2000))), ("n", Value::from(n as i64))])
        })
        .collect();
    let out = run_sync(transform.as_mut(), &[], events);
    let mut per_key = std::collections::HashMap::<String, usize>::new();
    for kept in out.primary() {
        let key = kept.as_log().unwrap().get("request.id").unwrap().to_string_lossy().into_owned();
        *per_key.entry(key).or_default() += 1;
    }
    assert!(per_key.values().all(|count| *count == 5), "a key was split: {per_key:?}");
    // 1 in 10 of 2000 keys: 200 expected; a fair hash stays well within 140..260.
    assert!((140..=260).contains(&per_key.len()), "kept {} keys", per_key.len());
}

#[tokio::test]
async fn events_without_the_key_field_fall_back_to_the_counter() {
    let mut transform = sample(serde_json::json!({"rate": 4, "key_field": "id"})).await;
    let out = run_sync(transform.as_mut(), &[], numbered(400));
    assert_eq!(out.primary().len(), 100);
}

#[tokio::test]
async fn excluded_events_are_never_sampled_out_nor_annotated() {
    let mut transform = sample(serde_json::json!({"rate": 1000, "exclude": ".level == \"error\""})).await;
    let events: Vec<Event> = (0..3000)
        .map(|n| event(&[("level", Value::from(if n % 3 == 0 { "error" } else { "info" }))]))
        .collect();
    let out = run_sync(transform.as_mut(), &[], events);
    let errors: Vec<&LogEvent> = out
        .primary()
        .iter()
        .map(|e| e.as_log().unwrap())
        .filter(|log| log.get("level") == Some(&Value::from("error")))
        .collect();
    assert_eq!(errors.len(), 1000);
    assert!(errors.iter().all(|log| !log.contains("sample_rate")));
    // 2000 info events at 1 in 1000.
    assert_eq!(out.primary().len() - errors.len(), 2);
}

#[tokio::test]
async fn sampled_out_events_are_reported_delivered() {
    let mut transform = sample(serde_json::json!({"rate": 2, "sample_rate_key": ""})).await;
    let (notifier, receipt) = BatchNotifier::new();
    let mut events = numbered(2);
    for event in &mut events {
        event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
    }
    drop(notifier);
    let out = run_sync(transform.as_mut(), &[], events);
    assert_eq!(out.primary().len(), 1);
    assert!(!out.primary()[0].as_log().unwrap().contains("sample_rate"));
    let mut kept = out.primary()[0].clone();
    drop(out);
    kept.take_finalizers().update_status(BatchStatus::Delivered);
    drop(kept);
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[test]
fn zero_rate_and_bad_paths_are_refused() {
    let config: SampleConfig =
        strata_core::parse_options(serde_json::json!({"rate": 0, "key_field": "a..b"})).unwrap();
    let problems = config.validate();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("`rate`"));
    assert!(problems[1].contains("`key_field`"));
}

#[test]
fn unknown_options_are_refused() {
    let error =
        strata_core::parse_options::<SampleConfig>(serde_json::json!({"rate": 2, "rat": 3})).unwrap_err();
    assert!(error.to_string().contains("rat"), "{error}");
}

#[test]
fn the_example_is_valid() {
    let mut options: serde_json::Value = toml::from_str(super::config::EXAMPLE).expect("the example is TOML");
    options.as_object_mut().expect("a table").retain(|key, _| key != "type" && key != "inputs");
    let config: SampleConfig = strata_core::parse_options(options).expect("the example parses");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn sample_passes_the_compliance_helper() {
    let config: SampleConfig = strata_core::parse_options(serde_json::json!({"rate": 1})).unwrap();
    let output = strata_core::compliance::assert_transform_compliance(
        "sample",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert_eq!(output.len(), 5);
}
