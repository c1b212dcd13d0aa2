//! `demo_logs` tests: the lines it makes and how many.

use std::time::Duration;

use strata_core::SourceConfig;
use strata_core::testing::{collect, source_context};
use strata_event::Value;

use super::*;

async fn generate(config: DemoLogsConfig, count: usize) -> Vec<strata_event::Event> {
    let (cx, mut rx) = source_context("demo_logs", Default::default());
    let source = config.build(cx).await.expect("builds");
    let task = tokio::spawn(source);
    let events = collect(&mut rx, count, Duration::from_secs(5)).await;
    task.await.expect("no panic").expect("no error");
    events
}

fn config(format: DemoFormat, count: u64) -> DemoLogsConfig {
    strata_core::parse_options(serde_json::json!({"format": format, "interval": 0.0, "count": count}))
        .unwrap()
}

#[tokio::test]
async fn count_bounds_the_output_and_fields_are_standard() {
    let events = generate(config(DemoFormat::ApacheCommon, 1234), 2000).await;
    assert_eq!(events.len(), 1234);
    let log = events[0].as_log().unwrap();
    assert!(matches!(log.get("timestamp"), Some(Value::Timestamp(_))));
    assert_eq!(log.get("source_type"), Some(&Value::from("demo_logs")));
    let message = log.get("message").and_then(|m| m.as_bytes()).unwrap();
    assert!(String::from_utf8_lossy(message).contains("HTTP/1.1\""), "{message:?}");
}

#[tokio::test]
async fn json_format_decodes_into_fields() {
    let mut config = config(DemoFormat::Json, 5);
    config.decoding.codec = strata_codecs::DeserializerConfig::Json;
    let events = generate(config, 5).await;
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.as_log().unwrap().contains("status")));
}

#[tokio::test]
async fn shuffle_with_sequence_numbers() {
    let config: DemoLogsConfig = strata_core::parse_options(serde_json::json!({
        "format": "shuffle", "lines": ["only line"], "sequence": true, "interval": 0.0, "count": 3
    }))
    .unwrap();
    let events = generate(config, 3).await;
    let messages: Vec<String> = events
        .iter()
        .map(|e| e.as_log().unwrap().get("message").unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(messages, vec!["0 only line", "1 only line", "2 only line"]);
}

#[test]
fn shuffle_without_lines_is_invalid() {
    let config: DemoLogsConfig =
        strata_core::parse_options(serde_json::json!({"format": "shuffle"})).unwrap();
    assert_eq!(config.validate().len(), 1);
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn demo_logs_passes_the_compliance_helper() {
    let config = config(DemoFormat::Syslog, 50);
    let events = strata_core::compliance::assert_source_compliance("demo_logs", &config, 50);
    assert_eq!(events.len(), 50);
}
