//! Encoder tests: events in, bytes out.

use chrono::{TimeZone, Utc};
use strata_event::{Event, EventMetadata, LogEvent, Metric, MetricKind, MetricValue, Value};

use super::*;

fn log(fields: &[(&str, Value)]) -> Event {
    let mut log = LogEvent::from_map(Default::default(), EventMetadata::default());
    for (key, value) in fields {
        log.insert(key, value.clone());
    }
    Event::Log(log)
}

fn encode(config: EncodingConfig, event: &Event) -> String {
    let encoder = Encoder::new(&config, SinkFraming::NewlineDelimited).expect("valid config");
    let mut out = Vec::new();
    encoder.encode(event, &mut out);
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn json_writes_nanosecond_timestamps() {
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 8, 5).unwrap() + chrono::Duration::nanoseconds(7);
    let event = log(&[("message", Value::from("hi")), ("timestamp", Value::Timestamp(at))]);
    assert_eq!(
        encode(EncodingConfig::new(SerializerKind::Json), &event),
        "{\"message\":\"hi\",\"timestamp\":\"2026-11-25T09:08:05.000000007Z\"}\n"
    );
}

#[test]
fn json_timestamp_formats() {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let event = log(&[("t", Value::Timestamp(at))]);
    let mut config = EncodingConfig::new(SerializerKind::Json);
    config.timestamp_format = TimestampFormat::UnixMs;
    assert_eq!(encode(config, &event), "{\"t\":1767225600000}\n");
}

#[test]
fn only_and_except_fields_shape_a_copy() {
    let event = log(&[("a", Value::from(1)), ("b", Value::from(2)), ("c.d", Value::from(3))]);
    let mut config = EncodingConfig::new(SerializerKind::Json);
    config.only_fields = Some(vec!["a".into(), "c".into()]);
    config.except_fields = vec!["c.d".into()];
    assert_eq!(encode(config, &event), "{\"a\":1}\n");
    assert!(event.as_log().unwrap().contains("b"), "the event itself is untouched");
}

#[test]
fn text_writes_the_message() {
    let event = log(&[("message", Value::from("plain line")), ("other", Value::from(1))]);
    assert_eq!(encode(EncodingConfig::new(SerializerKind::Text), &event), "plain line\n");
}

#[test]
fn logfmt_flattens_and_quotes() {
    let event = log(&[("msg", Value::from("two words")), ("http.status", Value::from(200))]);
    assert_eq!(encode(EncodingConfig::new(SerializerKind::Logfmt), &event), "http.status=200 msg=\"two words\"\n");
}

#[test]
fn metrics_encode_as_json_objects() {
    let metric = Metric::new("requests", MetricKind::Incremental, MetricValue::Counter { value: 2.0 });
    let out = encode(EncodingConfig::new(SerializerKind::Json), &Event::Metric(metric));
    assert_eq!(out, "{\"counter\":{\"value\":2.0},\"kind\":\"incremental\",\"name\":\"requests\"}\n");
}

#[test]
fn bad_field_path_is_an_error() {
    let mut config = EncodingConfig::new(SerializerKind::Json);
    config.except_fields = vec!["a[".into()];
    assert!(matches!(
        Encoder::new(&config, SinkFraming::Bytes),
        Err(EncodeError::InvalidPath { option: "except_fields", .. })
    ));
}
