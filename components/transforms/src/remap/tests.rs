//! `remap` tests: events in, events out, through the real VRL compiler and runtime.

use strata_core::testing::{run_sync, transform_context};
use strata_core::{Transform, TransformConfig};
use strata_event::{BatchNotifier, BatchStatus, Event, EventFinalizers, EventMetadata, LogEvent, Value};

use super::*;

async fn remap(options: serde_json::Value) -> (Box<dyn strata_core::SyncTransform>, Vec<String>) {
    let config: RemapConfig = strata_core::parse_options(options).expect("valid options");
    let ports = config.outputs(strata_core::DataType::LOG).into_iter().filter_map(|o| o.port).collect();
    match config.build(&transform_context("remap")).await.expect("builds") {
        Transform::Sync(transform) => (transform, ports),
        Transform::Task(_) => panic!("remap is synchronous"),
    }
}

fn line(message: &str) -> Event {
    Event::Log(LogEvent::from_message(message.to_owned(), EventMetadata::default()))
}

#[tokio::test]
async fn parses_adds_and_deletes_fields() {
    let (mut transform, ports) = remap(serde_json::json!({
        "source": ". = parse_json!(.message)\n.added = \"yes\"\ndel(.secret)"
    }))
    .await;
    let out = run_sync(transform.as_mut(), &ports, vec![line(r#"{"a":1,"secret":"x"}"#)]);
    let log = out.primary()[0].as_log().unwrap();
    assert_eq!(log.get("a"), Some(&Value::from(1)));
    assert_eq!(log.get("added"), Some(&Value::from("yes")));
    assert!(!log.contains("secret"));
}

#[tokio::test]
async fn runtime_error_passes_the_original_on_by_default() {
    let (mut transform, ports) = remap(serde_json::json!({"source": ". = parse_json!(.message)"})).await;
    let out = run_sync(transform.as_mut(), &ports, vec![line("not json")]);
    assert_eq!(out.primary().len(), 1);
    assert_eq!(out.primary()[0].as_log().unwrap().get("message"), Some(&Value::from("not json")));
}

#[tokio::test]
async fn reroute_dropped_sends_failures_to_the_dropped_output_with_the_reason() {
    let (mut transform, ports) = remap(serde_json::json!({
        "source": ". = parse_json!(.message)", "drop_on_error": true, "reroute_dropped": true
    }))
    .await;
    let out = run_sync(transform.as_mut(), &ports, vec![line("{bad"), line(r#"{"ok":true}"#)]);
    assert_eq!(out.primary().len(), 1);
    let dropped = out.named(DROPPED);
    assert_eq!(dropped.len(), 1);
    let log = dropped[0].as_log().unwrap();
    assert_eq!(log.get("metadata.dropped.reason"), Some(&Value::from("error")));
    assert_eq!(log.get("message"), Some(&Value::from("{bad")));
}

#[tokio::test]
async fn dropped_events_are_reported_rejected_not_delivered() {
    let (mut transform, ports) = remap(serde_json::json!({
        "source": ". = parse_json!(.message)", "drop_on_error": true
    }))
    .await;
    let (notifier, receipt) = BatchNotifier::new();
    let mut event = line("{bad");
    event.metadata_mut().add_finalizers(EventFinalizers::new(notifier));
    let out = run_sync(transform.as_mut(), &ports, vec![event]);
    assert!(out.is_empty());
    assert_eq!(receipt.await, BatchStatus::Rejected);
}

#[tokio::test]
async fn abort_drops_by_default() {
    let (mut transform, ports) =
        remap(serde_json::json!({"source": "if .message == \"skip\" { abort }"})).await;
    let out = run_sync(transform.as_mut(), &ports, vec![line("skip"), line("keep")]);
    assert_eq!(out.primary().len(), 1);
}

#[tokio::test]
async fn array_root_becomes_several_events() {
    let (mut transform, ports) = remap(serde_json::json!({"source": ". = [{\"n\": 1}, {\"n\": 2}]"})).await;
    let out = run_sync(transform.as_mut(), &ports, vec![line("x")]);
    assert_eq!(out.primary().len(), 2);
}

#[test]
fn compile_errors_show_the_vrl_diagnostic() {
    let config: RemapConfig =
        strata_core::parse_options(serde_json::json!({"source": ". = parse_json(.message"})).unwrap();
    let problems = config.validate();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("error[E"), "{}", problems[0]);
}

#[test]
fn unhandled_fallible_call_is_a_compile_error() {
    let config: RemapConfig =
        strata_core::parse_options(serde_json::json!({"source": ". = parse_json(.message)"})).unwrap();
    assert!(config.validate()[0].contains("unhandled"), "{:?}", config.validate());
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn remap_passes_the_compliance_helper() {
    let config: RemapConfig =
        strata_core::parse_options(serde_json::json!({"source": ".seen = true"})).unwrap();
    let output = strata_core::compliance::assert_transform_compliance(
        "remap",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert_eq!(output.len(), 5);
}
