//! GELF deserializer tests.

use chrono::{TimeZone, Utc};
use strata_event::Value;

use super::{DecodeError, DecodingConfig, DeserializerConfig, decode, decode_one, decode_with, object};

fn gelf_error(frame: &str) -> String {
    match decode(DeserializerConfig::Gelf, frame.as_bytes()) {
        Err(DecodeError::Gelf { reason }) => reason,
        other => panic!("expected a GELF error for {frame}, got {other:?}"),
    }
}

#[test]
fn gelf_message_becomes_fields() {
    let fields = decode_one(
        DeserializerConfig::Gelf,
        br#"{"version":"1.1","host":"example.org","short_message":"A short message","full_message":"Backtrace here",
            "timestamp":1385053862.3072,"level":1,"_user_id":9001,"_some_info":"foo","_some.env-name":"prod"}"#,
    );
    let at = Utc.with_ymd_and_hms(2013, 11, 21, 17, 11, 2).unwrap() + chrono::Duration::microseconds(307_200);
    assert_eq!(
        fields,
        object(&[
            ("version", Value::from("1.1")),
            ("host", Value::from("example.org")),
            ("message", Value::from("A short message")),
            ("full_message", Value::from("Backtrace here")),
            ("timestamp", Value::Timestamp(at)),
            ("level", Value::from(1)),
            ("user_id", Value::from(9001)),
            ("some_info", Value::from("foo")),
            ("some.env-name", Value::from("prod")),
        ])
    );
}

#[test]
fn gelf_additional_field_never_overwrites_a_standard_one() {
    let fields = decode_one(
        DeserializerConfig::Gelf,
        br#"{"version":"1.1","host":"real","short_message":"m","_host":"fake"}"#,
    );
    assert_eq!(fields.get("host"), Some(&Value::from("real")));
    assert_eq!(fields.get("_host"), Some(&Value::from("fake")));
}

#[test]
fn gelf_integer_timestamp() {
    let fields = decode_one(
        DeserializerConfig::Gelf,
        br#"{"version":"1.1","host":"h","short_message":"m","timestamp":10}"#,
    );
    assert_eq!(fields.get("timestamp"), Some(&Value::Timestamp(Utc.timestamp_opt(10, 0).unwrap())));
}

#[test]
fn gelf_missing_required_fields_are_errors() {
    assert_eq!(gelf_error(r#"{"host":"h","short_message":"m"}"#), "missing required field `version`");
    assert_eq!(gelf_error(r#"{"version":"1.1","short_message":"m"}"#), "missing required field `host`");
    assert_eq!(
        gelf_error(r#"{"version":"1.1","host":"h","message":"m"}"#),
        "missing required field `short_message`"
    );
}

#[test]
fn gelf_wrong_types_are_errors() {
    assert_eq!(
        gelf_error(r#"{"version":"2.0","host":"h","short_message":"m"}"#),
        "unsupported version \"2.0\", expected \"1.1\""
    );
    assert_eq!(
        gelf_error(r#"{"version":"1.1","host":7,"short_message":"m"}"#),
        "`host` must be a string, got number"
    );
    assert_eq!(
        gelf_error(r#"{"version":"1.1","host":"h","short_message":"m","timestamp":"now"}"#),
        "`timestamp` must be a number, got string"
    );
    assert_eq!(
        gelf_error(r#"{"version":"1.1","host":"h","short_message":"m","level":"high"}"#),
        "`level` must be an integer, got string"
    );
    assert_eq!(
        gelf_error(r#"{"version":"1.1","host":"h","short_message":"m","timestamp":1e300}"#),
        "`timestamp` 1e300 is out of range"
    );
}

#[test]
fn gelf_invalid_additional_fields_are_errors() {
    let base = r#""version":"1.1","host":"h","short_message":"m""#;
    assert_eq!(gelf_error(&format!(r#"{{{base},"_id":"x"}}"#)), "additional field `_id` is reserved");
    assert_eq!(gelf_error(&format!(r#"{{{base},"_a b":"x"}}"#)), "invalid additional field name \"_a b\"");
    assert_eq!(
        gelf_error(&format!(r#"{{{base},"_nested":{{"a":1}}}}"#)),
        "additional field `_nested` must be a string or a number, got object"
    );
}

#[test]
fn gelf_that_is_not_a_json_object_is_an_error() {
    assert!(gelf_error("short message").starts_with("not JSON: "));
    assert_eq!(gelf_error(r#"["version"]"#), "a GELF message is a JSON object, not array");
}

#[test]
fn gelf_strict_utf8_rejects_bad_bytes() {
    let frame = b"{\"version\":\"1.1\",\"host\":\"h\",\"short_message\":\"\xff\"}";
    let mut config = DecodingConfig::new(DeserializerConfig::Gelf);
    assert_eq!(decode_with(&config, frame).expect("lossy")[0].get("message"), Some(&Value::from("\u{fffd}")));
    config.gelf.lossy = false;
    assert!(matches!(decode_with(&config, frame), Err(DecodeError::InvalidUtf8 { codec: "gelf", .. })));
}
