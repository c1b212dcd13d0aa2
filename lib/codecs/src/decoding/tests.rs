//! Framing and deserializing tests: bytes in, frames and events out.

use bytes::BytesMut;
use strata_event::EventMetadata;

use super::*;

fn frames(framer: &mut Framer, input: &[u8]) -> Vec<Result<String, FrameError>> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match framer.next_frame(&mut buf) {
            Ok(Some(frame)) => out.push(Ok(String::from_utf8_lossy(&frame).into_owned())),
            Ok(None) => break,
            Err(error) => out.push(Err(error)),
        }
    }
    if let Ok(Some(last)) = framer.finish(&mut buf) {
        out.push(Ok(String::from_utf8_lossy(&last).into_owned()));
    }
    out
}

#[test]
fn newline_frames_and_keeps_last_partial_at_eof() {
    let mut framer = Framer::new(&FramingConfig::default());
    assert_eq!(frames(&mut framer, b"a\nbb\n\nccc"), vec![Ok("a".into()), Ok("bb".into()), Ok("".into()), Ok("ccc".into())]);
}

#[test]
fn oversized_frame_is_discarded_across_chunks() {
    let mut framer = Framer::new(&FramingConfig::newline(4));
    let mut buf = BytesMut::from(&b"0123456789"[..]);
    assert_eq!(framer.next_frame(&mut buf), Err(FrameError::TooLong { max_length: 4 }));
    assert!(buf.is_empty(), "the oversized prefix is not kept in memory");
    buf.extend_from_slice(b"more-of-it\nok\n");
    assert_eq!(framer.next_frame(&mut buf).unwrap().as_deref(), Some(&b"ok"[..]));
}

#[test]
fn character_delimited() {
    let config = FramingConfig {
        method: FramingMethod::CharacterDelimited,
        character_delimited: Some(framing::CharacterOptions { delimiter: ',', max_length: None }),
        ..Default::default()
    };
    assert!(config.validate().is_ok());
    let mut framer = Framer::new(&config);
    assert_eq!(frames(&mut framer, b"x,y"), vec![Ok("x".into()), Ok("y".into())]);
}

#[test]
fn json_objects_and_arrays() {
    let decoder = Decoder::new(&FramingConfig::default(), &DecodingConfig { codec: DeserializerConfig::Json });
    let mut out = Vec::new();
    decoder.deserialize(Bytes::from_static(br#"[{"a":1},{"a":2}]"#), &EventMetadata::default(), &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].as_log().unwrap().get("a"), Some(&Value::from(2)));
    let error = decoder.deserialize(Bytes::from_static(b"{nope"), &EventMetadata::default(), &mut out);
    assert!(matches!(error, Err(DecodeError::Json { .. })));
    let error = decoder.deserialize(Bytes::from_static(b"3"), &EventMetadata::default(), &mut out);
    assert_eq!(error, Err(DecodeError::NotAnObject { kind: "number" }));
}
