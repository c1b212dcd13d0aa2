//! `dedupe` tests.

use strata_core::testing::{run_sync, transform_context};
use strata_core::{SyncTransform, Transform, TransformConfig};
use strata_event::{BatchNotifier, BatchStatus, Event, EventFinalizers, LogEvent, Value};

use super::*;

async fn dedupe(options: serde_json::Value) -> Box<dyn SyncTransform> {
    let config: DedupeConfig = strata_core::parse_options(options).expect("valid options");
    match config.build(&transform_context("dedupe")).await.expect("builds") {
        Transform::Sync(transform) => transform,
        Transform::Task(_) => panic!("dedupe is synchronous"),
    }
}

fn event(fields: serde_json::Value) -> Event {
    let value = Value::from(fields);
    Event::Log(LogEvent::from_value(value, Default::default()))
}

fn messages(out: &strata_core::TransformOutputsBuf) -> Vec<String> {
    out.primary()
        .iter()
        .map(|e| e.as_log().unwrap().get("message").unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn drops_repeats_of_the_default_fields() {
    let mut transform = dedupe(serde_json::json!({})).await;
    let out = run_sync(
        transform.as_mut(),
        &[],
        vec![
            event(serde_json::json!({"message": "a", "host": "h1", "other": 1})),
            event(serde_json::json!({"message": "a", "host": "h1", "other": 2})),
            event(serde_json::json!({"message": "a", "host": "h2"})),
            event(serde_json::json!({"message": "b", "host": "h1"})),
            event(serde_json::json!({"message": "a", "host": "h1"})),
        ],
    );
    assert_eq!(messages(&out), ["a", "a", "b"]);
}

#[tokio::test]
async fn match_compares_only_the_listed_fields_and_tells_missing_from_null() {
    let mut transform = dedupe(serde_json::json!({"fields": {"match": ["message", "user.id"]}})).await;
    let out = run_sync(
        transform.as_mut(),
        &[],
        vec![
            event(serde_json::json!({"message": "login", "user": {"id": 7}, "at": 1})),
            event(serde_json::json!({"message": "login", "user": {"id": 7}, "at": 2})),
            event(serde_json::json!({"message": "login", "user": {"id": "7"}})),
            event(serde_json::json!({"message": "login"})),
            event(serde_json::json!({"message": "login", "user": {"id": null}})),
            event(serde_json::json!({"message": "login"})),
        ],
    );
    // Integer 7, string "7", missing and null are four different keys.
    assert_eq!(out.primary().len(), 4);
}

#[tokio::test]
async fn ignore_compares_everything_else() {
    let mut transform = dedupe(serde_json::json!({"fields": {"ignore": ["timestamp", "meta.seq"]}})).await;
    let out = run_sync(
        transform.as_mut(),
        &[],
        vec![
            event(serde_json::json!({"message": "x", "timestamp": 1, "meta": {"seq": 1, "shard": 1}})),
            event(serde_json::json!({"message": "x", "timestamp": 2, "meta": {"seq": 2, "shard": 1}})),
            event(serde_json::json!({"message": "x", "timestamp": 3, "meta": {"seq": 3, "shard": 2}})),
        ],
    );
    assert_eq!(out.primary().len(), 2);
}

#[tokio::test]
async fn the_cache_remembers_only_num_events() {
    let mut transform =
        dedupe(serde_json::json!({"fields": {"match": ["message"]}, "cache": {"num_events": 2}})).await;
    let lines = ["a", "b", "a", "c", "b", "a", "c"];
    let events = lines.iter().map(|m| event(serde_json::json!({"message": m}))).collect();
    let out = run_sync(transform.as_mut(), &[], events);
    // a b (a: repeat, refreshed) c (forgets b) b (new, forgets a) a (new, forgets c) c (new).
    assert_eq!(messages(&out), ["a", "b", "c", "b", "a", "c"]);
}

#[tokio::test]
async fn repeats_are_reported_delivered() {
    let mut transform = dedupe(serde_json::json!({"fields": {"match": ["message"]}})).await;
    let (notifier, receipt) = BatchNotifier::new();
    let mut repeat = event(serde_json::json!({"message": "a"}));
    repeat.metadata_mut().add_finalizers(EventFinalizers::new(notifier));
    let out = run_sync(transform.as_mut(), &[], vec![event(serde_json::json!({"message": "a"})), repeat]);
    assert_eq!(out.primary().len(), 1);
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[test]
fn match_and_ignore_together_are_refused() {
    let config: DedupeConfig =
        strata_core::parse_options(serde_json::json!({"fields": {"match": ["a"], "ignore": ["b"]}})).unwrap();
    assert!(config.validate()[0].contains("set only one"), "{:?}", config.validate());
    let error = strata_core::parse_options::<DedupeConfig>(serde_json::json!({"cache": {"num_event": 3}}))
        .unwrap_err();
    assert!(error.to_string().contains("num_event"), "{error}");
}

#[test]
fn the_example_is_valid() {
    let mut options: serde_json::Value = toml::from_str(super::config::EXAMPLE).expect("the example is TOML");
    options.as_object_mut().expect("a table").retain(|key, _| key != "type" && key != "inputs");
    let config: DedupeConfig = strata_core::parse_options(options).expect("the example parses");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn dedupe_passes_the_compliance_helper() {
    let config: DedupeConfig =
        strata_core::parse_options(serde_json::json!({"fields": {"match": ["n"]}})).unwrap();
    let output = strata_core::compliance::assert_transform_compliance(
        "dedupe",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert_eq!(output.len(), 5);
}
