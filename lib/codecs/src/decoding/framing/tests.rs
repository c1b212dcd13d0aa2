//! Framer tests: bytes in (in chunks), frames and errors out.

use bytes::BytesMut;

use super::*;

type Outcome = Result<String, FrameError>;

/// Feeds `chunks` one at a time, as a socket would, then ends the input.
fn frame_chunks(config: &FramingConfig, chunks: &[&[u8]]) -> Vec<Outcome> {
    let mut framer = Framer::new(config);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match framer.next_frame(&mut buf) {
                Ok(Some(frame)) => out.push(Ok(String::from_utf8_lossy(&frame).into_owned())),
                Ok(None) => break,
                Err(error) => out.push(Err(error)),
            }
        }
        assert!(buf.len() <= framer.max_length() + 24, "buffered {} bytes over the limit", buf.len());
    }
    match framer.finish(&mut buf) {
        Ok(Some(last)) => out.push(Ok(String::from_utf8_lossy(&last).into_owned())),
        Ok(None) => {}
        Err(error) => out.push(Err(error)),
    }
    assert_eq!(framer.finish(&mut buf), Ok(None), "finish resets the framer");
    out
}

fn ok(text: &str) -> Outcome {
    Ok(text.to_owned())
}

fn too_long(max_length: usize) -> Outcome {
    Err(FrameError::TooLong { max_length })
}

fn with_max(method: FramingMethod, max_length: usize) -> FramingConfig {
    let limit = MaxLengthOptions { max_length: Some(max_length) };
    let mut config = FramingConfig::method(method);
    match method {
        FramingMethod::NewlineDelimited => config.newline_delimited.max_length = Some(max_length),
        FramingMethod::CharacterDelimited => {
            config.character_delimited =
                Some(CharacterOptions { delimiter: ';', max_length: Some(max_length) })
        }
        FramingMethod::Bytes => config.bytes = limit,
        FramingMethod::OctetCounting => config.octet_counting = limit,
        FramingMethod::LengthDelimited => config.length_delimited = limit,
    }
    assert_eq!(config.validate(), Ok(()));
    config
}

fn prefixed(frame: &[u8]) -> Vec<u8> {
    let mut out = (frame.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(frame);
    out
}

#[test]
fn newline_oversized_frame_across_chunks_is_dropped_and_framing_resumes() {
    let config = with_max(FramingMethod::NewlineDelimited, 4);
    let out = frame_chunks(&config, &[b"ok\n0123", b"456789", b"abc\nfine\n", b"tail"]);
    assert_eq!(out, vec![ok("ok"), too_long(4), ok("fine"), ok("tail")]);
}

#[test]
fn character_delimited_oversized_frame_across_chunks() {
    let config = with_max(FramingMethod::CharacterDelimited, 3);
    let out = frame_chunks(&config, &[b"a;bbbb", b"bbbb;c", b"c;"]);
    assert_eq!(out, vec![ok("a"), too_long(3), ok("cc")]);
}

#[test]
fn bytes_framing_is_one_frame_and_drops_oversized_input() {
    let config = with_max(FramingMethod::Bytes, 8);
    assert_eq!(frame_chunks(&config, &[b"one\n", b"two"]), vec![ok("one\ntwo")]);
    assert_eq!(frame_chunks(&config, &[b"12345", b"67890", b"more"]), vec![too_long(8)]);
}

#[test]
fn length_delimited_frames_split_anywhere() {
    let config = FramingConfig::method(FramingMethod::LengthDelimited);
    let mut stream = prefixed(b"hello");
    stream.extend(prefixed(b""));
    stream.extend(prefixed(b"world!"));
    // Every split point, including inside the prefix, yields the same frames.
    for split in 0..=stream.len() {
        let (head, tail) = stream.split_at(split);
        assert_eq!(
            frame_chunks(&config, &[head, tail]),
            vec![ok("hello"), ok(""), ok("world!")],
            "split {split}"
        );
    }
}

#[test]
fn length_delimited_oversized_frame_across_chunks() {
    let config = with_max(FramingMethod::LengthDelimited, 4);
    let big = prefixed(b"0123456789");
    let mut after = prefixed(b"ok");
    after.extend_from_slice(&[0, 0]);
    let out = frame_chunks(&config, &[&big[..6], &big[6..11], &big[11..], &after]);
    // The trailing two bytes are a prefix cut short by the end of input: dropped.
    assert_eq!(out, vec![too_long(4), ok("ok")]);
}

#[test]
fn octet_counting_frames_messages_with_newlines_inside() {
    let config = FramingConfig::method(FramingMethod::OctetCounting);
    let out = frame_chunks(&config, &[b"11 <34>a\nb c d", b"5 hello3 abc"]);
    assert_eq!(out, vec![ok("<34>a\nb c d"), ok("hello"), ok("abc")]);
}

#[test]
fn octet_counting_falls_back_to_lines() {
    let config = FramingConfig::method(FramingMethod::OctetCounting);
    let out = frame_chunks(&config, &[b"<13>plain line\n5 hello", b"\n12abc line\n", b"<14>last"]);
    assert_eq!(out, vec![ok("<13>plain line"), ok("hello"), ok("12abc line"), ok("<14>last")]);
}

#[test]
fn octet_counting_waits_for_a_split_header() {
    let config = FramingConfig::method(FramingMethod::OctetCounting);
    assert_eq!(frame_chunks(&config, &[b"1", b"0", b" 0123456789"]), vec![ok("0123456789")]);
}

#[test]
fn octet_counting_length_over_max_is_skipped_across_chunks() {
    let config = with_max(FramingMethod::OctetCounting, 5);
    let out = frame_chunks(&config, &[b"12 0123", b"45678", b"9ab2 ok"]);
    assert_eq!(out, vec![too_long(5), ok("ok")]);
}

#[test]
fn octet_counting_huge_length_does_not_overflow() {
    let config = with_max(FramingMethod::OctetCounting, 5);
    let out = frame_chunks(&config, &[b"9999999999999999999 x"]);
    assert_eq!(out, vec![too_long(5)]);
}

#[test]
fn octet_counting_oversized_fallback_line_across_chunks() {
    let config = with_max(FramingMethod::OctetCounting, 5);
    let out = frame_chunks(&config, &[b"<1>too", b" long line", b"\n<2>ok\n"]);
    assert_eq!(out, vec![too_long(5), ok("<2>ok")]);
}

#[test]
fn zero_max_length_is_rejected() {
    let mut config = FramingConfig::method(FramingMethod::LengthDelimited);
    config.length_delimited.max_length = Some(0);
    assert_eq!(config.validate(), Err("`framing.length_delimited.max_length` must be at least 1".into()));
}

#[test]
fn options_deserialize_with_vector_names() {
    let config: FramingConfig =
        serde_json::from_str(r#"{"method":"octet_counting","octet_counting":{"max_length":9}}"#)
            .expect("valid framing");
    assert_eq!(Framer::new(&config).max_length(), 9);
    let typo = serde_json::from_str::<FramingConfig>(
        r#"{"method":"length_delimited","length_delimited":{"max_len":9}}"#,
    );
    assert!(typo.unwrap_err().to_string().contains("unknown field `max_len`"));
}
