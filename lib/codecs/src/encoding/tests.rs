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
    assert_eq!(
        encode(EncodingConfig::new(SerializerKind::Logfmt), &event),
        "http.status=200 msg=\"two words\"\n"
    );
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

fn csv_config(fields: &[&str]) -> EncodingConfig {
    let mut config = EncodingConfig::new(SerializerKind::Csv);
    config.csv = Some(CsvOptions::new(fields.iter().map(|field| field.to_string()).collect()));
    config
}

#[test]
fn csv_writes_columns_in_order_with_missing_ones_empty() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let event = log(&[
        ("host", Value::from("web-1")),
        ("http.status", Value::from(200)),
        ("ok", Value::Boolean(true)),
        ("timestamp", Value::Timestamp(at)),
        ("tags", Value::Array(vec![Value::from("a"), Value::from(1)])),
    ]);
    let config = csv_config(&["timestamp", "host", "http.status", "missing", "ok", "tags"]);
    assert_eq!(encode(config, &event), "2026-01-02T03:04:05.000000000Z,web-1,200,,true,\"[\"\"a\"\",1]\"\n");
}

#[test]
fn csv_quotes_commas_quotes_and_newlines() {
    let event = log(&[
        ("a", Value::from("one, two")),
        ("b", Value::from("say \"hi\"")),
        ("c", Value::from("line\nbreak")),
        ("d", Value::from("plain")),
    ]);
    assert_eq!(
        encode(csv_config(&["a", "b", "c", "d"]), &event),
        "\"one, two\",\"say \"\"hi\"\"\",\"line\nbreak\",plain\n"
    );
}

#[test]
fn csv_delimiter_and_quote_style_options() {
    let event = log(&[("a", Value::from("x;y")), ("b", Value::from(5)), ("c", Value::from("z"))]);
    let mut config = csv_config(&["a", "b", "c"]);
    config.csv.as_mut().unwrap().delimiter = ';';
    assert_eq!(encode(config.clone(), &event), "\"x;y\";5;z\n");
    config.csv.as_mut().unwrap().quote_style = CsvQuoteStyle::NonNumeric;
    assert_eq!(encode(config, &event), "\"x;y\";5;\"z\"\n");
}

#[test]
fn csv_options_are_checked() {
    let config = EncodingConfig::new(SerializerKind::Csv);
    assert_eq!(
        Encoder::new(&config, SinkFraming::Bytes).unwrap_err(),
        EncodeError::MissingOption { option: "encoding.csv.fields" }
    );
    let mut config = csv_config(&["a"]);
    config.csv.as_mut().unwrap().delimiter = '§';
    assert_eq!(
        Encoder::new(&config, SinkFraming::Bytes).unwrap_err().to_string(),
        "invalid `encoding.csv.delimiter`: must be one ASCII character, got '§'"
    );
    assert!(matches!(
        Encoder::new(&csv_config(&["a["]), SinkFraming::Bytes),
        Err(EncodeError::InvalidPath { option: "encoding.csv.fields", .. })
    ));
}

#[test]
fn csv_options_deserialize_with_vector_names() {
    let config: EncodingConfig =
        serde_json::from_str(r#"{"codec":"csv","csv":{"fields":["message"],"delimiter":"\t"}}"#)
            .expect("valid");
    assert_eq!(encode(config, &log(&[("message", Value::from("a b"))])), "a b\n");
    let typo = serde_json::from_str::<EncodingConfig>(r#"{"codec":"csv","csv":{"field":["message"]}}"#);
    assert!(typo.unwrap_err().to_string().contains("unknown field `field`"));
}

/// Encodes `messages` as text with `framing`, then frames the bytes back with `method`.
fn round_trip(framing: SinkFraming, method: crate::FramingMethod, messages: &[&str]) -> Vec<u8> {
    let encoder = Encoder::new(&EncodingConfig::new(SerializerKind::Text), framing).expect("valid config");
    let mut out = Vec::new();
    for message in messages {
        encoder.encode(&log(&[("message", Value::from(*message))]), &mut out);
    }
    let mut framer = crate::Framer::new(&crate::FramingConfig::method(method));
    let mut buf = bytes::BytesMut::from(&out[..]);
    let mut frames = Vec::new();
    while let Some(frame) = framer.next_frame(&mut buf).expect("no oversized frame") {
        frames.push(String::from_utf8_lossy(&frame).into_owned());
    }
    assert_eq!(frames, messages, "the framer reads back what the encoder framed");
    out
}

#[test]
fn length_delimited_sink_framing_prefixes_a_big_endian_length() {
    let out =
        round_trip(SinkFraming::LengthDelimited, crate::FramingMethod::LengthDelimited, &["hi", "", "there"]);
    assert_eq!(out, b"\0\0\0\x02hi\0\0\0\0\0\0\0\x05there");
}

#[test]
fn octet_counting_sink_framing_prefixes_a_decimal_length() {
    let long = "x".repeat(123);
    let out = round_trip(SinkFraming::OctetCounting, crate::FramingMethod::OctetCounting, &["a\nb", &long]);
    assert_eq!(out[..7], *b"3 a\nb12");
    assert_eq!(out.len(), 7 + 2 + 123);
}

#[test]
fn a_raw_line_encodes_exactly_like_its_built_map() {
    use strata_event::{KeyString, RawLogSchema};
    let schema = RawLogSchema::new(
        "message",
        "timestamp",
        vec![
            (KeyString::from("source_type"), Value::from("file")),
            (KeyString::from("host"), Value::from("box \"1\"")),
        ],
    )
    .with_constants([(KeyString::from("file"), Value::from("/var/log/ä.log"))]);
    let at = Utc.timestamp_opt(1_700_000_000, 5).unwrap();
    let raw = LogEvent::raw("line with \"quotes\" and \\".into(), at, &schema, EventMetadata::default());
    let built = LogEvent::from_map(raw.as_map().unwrap().clone(), EventMetadata::default());
    let raw = LogEvent::raw("line with \"quotes\" and \\".into(), at, &schema, EventMetadata::default());
    for codec in
        [SerializerKind::Json, SerializerKind::Text, SerializerKind::RawMessage, SerializerKind::Logfmt]
    {
        for format in [TimestampFormat::Rfc3339, TimestampFormat::Unix, TimestampFormat::UnixNs] {
            let mut config = EncodingConfig::new(codec);
            config.timestamp_format = format;
            let from_raw = encode(config.clone(), &Event::Log(raw.clone()));
            assert_eq!(from_raw, encode(config, &Event::Log(built.clone())), "{codec:?} {format:?}");
        }
    }
    assert!(raw.is_raw(), "json, text and raw_message wrote the line without building its map");
}
