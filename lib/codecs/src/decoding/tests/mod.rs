//! Deserializer tests: frames in, events (or errors) out. One file per codec with much to test.

mod gelf;
mod syslog;

use bytes::{Bytes, BytesMut};
use strata_event::{EventMetadata, ObjectMap, SourceId, Value};

use super::*;

/// Decodes one frame with `codec` and default options.
fn decode(codec: DeserializerConfig, frame: &[u8]) -> Result<Vec<ObjectMap>, DecodeError> {
    decode_with(&DecodingConfig::new(codec), frame)
}

fn decode_with(config: &DecodingConfig, frame: &[u8]) -> Result<Vec<ObjectMap>, DecodeError> {
    let decoder = Decoder::new(&FramingConfig::default(), config);
    let mut out = Vec::new();
    decoder.deserialize(Bytes::copy_from_slice(frame), &EventMetadata::default(), &mut out)?;
    Ok(out
        .into_iter()
        .map(|event| event.as_log().and_then(|log| log.as_map()).cloned().unwrap_or_default())
        .collect())
}

/// Decodes a frame that must yield exactly one event.
fn decode_one(codec: DeserializerConfig, frame: &[u8]) -> ObjectMap {
    let mut events = decode(codec, frame).expect("frame decodes");
    assert_eq!(events.len(), 1, "one event from {:?}", String::from_utf8_lossy(frame));
    events.remove(0)
}

fn object(entries: &[(&str, Value)]) -> ObjectMap {
    entries.iter().map(|(key, value)| ((*key).into(), value.clone())).collect()
}

#[test]
fn newline_frames_and_keeps_last_partial_at_eof() {
    let mut framer = Framer::new(&FramingConfig::default());
    let mut buf = BytesMut::from(&b"a\nbb\n\nccc"[..]);
    let mut frames = Vec::new();
    while let Some(frame) = framer.next_frame(&mut buf).expect("no oversized frame") {
        frames.push(frame);
    }
    frames.extend(framer.finish(&mut buf).expect("no oversized frame"));
    assert_eq!(frames, vec!["a", "bb", "", "ccc"]);
}

#[test]
fn character_delimited_requires_an_ascii_delimiter() {
    let mut config = FramingConfig::method(FramingMethod::CharacterDelimited);
    assert!(config.validate().unwrap_err().contains("is required"));
    config.character_delimited = Some(CharacterOptions { delimiter: 'é', max_length: None });
    assert!(config.validate().unwrap_err().contains("must be ASCII"));
}

#[test]
fn bytes_keeps_the_frame_and_the_metadata() {
    let decoder = Decoder::new(&FramingConfig::default(), &DecodingConfig::default());
    let metadata = EventMetadata::new(SourceId::intern("in"), "stdin", chrono::Utc::now());
    let mut out = Vec::new();
    decoder.deserialize(Bytes::from_static(b"raw \xff line"), &metadata, &mut out).expect("bytes never fail");
    let log = out[0].as_log().expect("a log");
    assert_eq!(log.message(), Some(&Value::Bytes(Bytes::from_static(b"raw \xff line"))));
    assert_eq!(log.metadata(), &metadata);
}

#[test]
fn json_objects_and_arrays() {
    let events = decode(DeserializerConfig::Json, br#"[{"a":1},{"a":2}]"#).expect("valid JSON");
    assert_eq!(events, vec![object(&[("a", Value::from(1))]), object(&[("a", Value::from(2))])]);
    assert!(matches!(decode(DeserializerConfig::Json, b"{nope"), Err(DecodeError::Json { .. })));
    assert_eq!(decode(DeserializerConfig::Json, b"3"), Err(DecodeError::NotAnObject { kind: "number" }));
}

#[test]
fn json_array_with_a_non_object_yields_nothing() {
    let decoder = Decoder::new(&FramingConfig::default(), &DecodingConfig::new(DeserializerConfig::Json));
    let mut out = Vec::new();
    let result =
        decoder.deserialize(Bytes::from_static(br#"[{"a":1},"x"]"#), &EventMetadata::default(), &mut out);
    assert_eq!(result, Err(DecodeError::NotAnObject { kind: "string" }));
    assert!(out.is_empty(), "a half-decoded array is not emitted");
}

#[test]
fn json_lossy_replaces_invalid_utf8_unless_disabled() {
    let frame = b"{\"msg\":\"bad \xff byte\"}";
    let events = decode(DeserializerConfig::Json, frame).expect("lossy by default");
    assert_eq!(events[0].get("msg"), Some(&Value::from("bad \u{fffd} byte")));

    let strict: DecodingConfig =
        serde_json::from_str(r#"{"codec":"json","json":{"lossy":false}}"#).expect("valid");
    assert!(matches!(decode_with(&strict, frame), Err(DecodeError::InvalidUtf8 { codec: "json", .. })));
}

#[test]
fn decoding_options_reject_unknown_keys() {
    let error =
        serde_json::from_str::<DecodingConfig>(r#"{"codec":"syslog","syslog":{"lossey":true}}"#).unwrap_err();
    assert!(error.to_string().contains("unknown field `lossey`"), "{error}");
}

#[test]
fn logfmt_pairs_quotes_and_flags() {
    let fields = decode_one(
        DeserializerConfig::Logfmt,
        br#"level=info msg="hello \"world\"\n" http.status=200 empty= debug path=/a=b"#,
    );
    assert_eq!(
        fields,
        object(&[
            ("level", Value::from("info")),
            ("msg", Value::from("hello \"world\"\n")),
            ("http.status", Value::from("200")),
            ("empty", Value::from("")),
            ("debug", Value::Boolean(true)),
            ("path", Value::from("/a=b")),
        ])
    );
}

#[test]
fn logfmt_keeps_the_last_of_repeated_keys_and_skips_blank_lines() {
    assert_eq!(decode_one(DeserializerConfig::Logfmt, b"a=1 a=2"), object(&[("a", Value::from("2"))]));
    assert_eq!(decode(DeserializerConfig::Logfmt, b"  \t "), Ok(vec![]));
}

#[test]
fn logfmt_errors_name_the_problem() {
    let error = |frame: &[u8]| match decode(DeserializerConfig::Logfmt, frame) {
        Err(DecodeError::Logfmt { reason }) => reason,
        other => panic!("expected a logfmt error, got {other:?}"),
    };
    assert_eq!(error(br#"a="open"#), "unterminated quoted value of `a` starting at byte 2");
    assert_eq!(error(b"a=1 =2"), "expected a key at byte 4, found `=`");
    assert_eq!(error(br#"a="x"y"#), "unexpected `y` at byte 5 after the quoted value of `a`");
    assert_eq!(error(br#"ke"y=1"#), "unexpected `\"` at byte 2 in key `ke`");
}
