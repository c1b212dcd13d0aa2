//! JSON output for VRL values, with timestamps in the configured format.
//!
//! Written by hand rather than through `serde_json`'s serializer: encoding is most of a JSON
//! sink's work, and `serde_json` escapes strings one byte at a time. This writer skips eight bytes
//! at a time over text with nothing to escape and writes RFC 3339 timestamps without formatting
//! machinery. Its output is byte for byte what `serde_json` writes for the same value; the tests
//! hold it to that.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use vrl::value::Value;

use crate::TimestampFormat;

/// Writes `timestamp` as RFC 3339 with nine fractional digits and a `Z` suffix.
pub fn write_rfc3339_nanos(out: &mut Vec<u8>, timestamp: &DateTime<Utc>) {
    let (year, nanos) = (timestamp.year(), timestamp.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Years beyond four digits and leap seconds: rare enough for chrono's general formatter.
        let text = timestamp.to_rfc3339_opts(SecondsFormat::Nanos, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    let mut put = |at: usize, width: usize, mut number: u32| {
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (number % 10) as u8;
            number /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, timestamp.month());
    put(8, 2, timestamp.day());
    put(11, 2, timestamp.hour());
    put(14, 2, timestamp.minute());
    put(17, 2, timestamp.second());
    put(20, 9, nanos);
    out.extend_from_slice(&text);
}

/// Serializes `value` as compact JSON into `out`.
pub fn write_json_value(out: &mut Vec<u8>, value: &Value, timestamps: TimestampFormat) {
    match value {
        Value::Bytes(bytes) => match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => write_str(out, text),
            Err(_) => write_str(out, &String::from_utf8_lossy(bytes)),
        },
        Value::String(text) => write_str(out, text),
        Value::Regex(regex) => write_str(out, regex.as_str()),
        Value::Integer(number) => out.extend_from_slice(itoa::Buffer::new().format(*number).as_bytes()),
        Value::Float(number) => write_float(out, number.into_inner()),
        Value::Boolean(flag) => out.extend_from_slice(if *flag { b"true" } else { b"false" }),
        Value::Timestamp(timestamp) => write_timestamp(out, timestamp, timestamps),
        Value::Object(map) => write_json_fields(out, timestamps, |visit| {
            for (key, value) in map {
                visit(key.as_str(), value);
            }
        }),
        Value::Array(items) => {
            out.push(b'[');
            for (index, value) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json_value(out, value, timestamps);
            }
            out.push(b']');
        }
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// Serializes an object given as its fields in order (`fields` calls its argument once per field)
/// as compact JSON into `out`: the same bytes as the object built and written whole.
pub(crate) fn write_json_fields(
    out: &mut Vec<u8>,
    timestamps: TimestampFormat,
    fields: impl FnOnce(&mut dyn FnMut(&str, &Value)),
) {
    out.push(b'{');
    let mut first = true;
    fields(&mut |key, value| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, key);
        out.push(b':');
        write_json_value(out, value, timestamps);
    });
    out.push(b'}');
}

fn write_timestamp(out: &mut Vec<u8>, timestamp: &DateTime<Utc>, format: TimestampFormat) {
    let number = match format {
        TimestampFormat::Rfc3339 => {
            out.push(b'"');
            write_rfc3339_nanos(out, timestamp);
            out.push(b'"');
            return;
        }
        TimestampFormat::Unix => timestamp.timestamp(),
        TimestampFormat::UnixMs => timestamp.timestamp_millis(),
        TimestampFormat::UnixNs => timestamp.timestamp_nanos_opt().unwrap_or(i64::MAX),
    };
    out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
}

/// Floats are rare in logs; `serde_json` writes them (shortest round-trip digits, `null` for
/// infinities) so the two writers cannot drift apart.
fn write_float(out: &mut Vec<u8>, number: f64) {
    // Writing a float into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &number);
}

/// What follows a backslash for each byte that JSON requires escaped; 0 for the rest.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// True when any of the eight bytes is a control character, a quote or a backslash. (The
/// classic "has a byte less than n" and "has a zero byte" word tricks: exact as a yes or no.)
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    control | quote | backslash != 0
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut start, mut at) = (0, 0);
    while at < bytes.len() {
        if let Some(word) = bytes.get(at..at + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            if !word_needs_escape(word) {
                at += 8;
                continue;
            }
        }
        let byte = bytes[at];
        let escape = ESCAPE[usize::from(byte)];
        at += 1;
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..at - 1]);
        out.push(b'\\');
        out.push(escape);
        if escape == b'u' {
            out.extend_from_slice(&[b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
        }
        start = at;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use vrl::value::{KeyString, ObjectMap};

    use super::*;

    /// What `serde_json` writes for the same value: the reference this writer must match.
    fn reference(value: &Value) -> String {
        fn convert(value: &Value) -> serde_json::Value {
            match value {
                Value::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
                Value::String(text) => text.to_string().into(),
                Value::Regex(regex) => regex.as_str().into(),
                Value::Integer(number) => (*number).into(),
                Value::Float(number) => serde_json::Number::from_f64(number.into_inner())
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                Value::Boolean(flag) => (*flag).into(),
                Value::Timestamp(at) => at.to_rfc3339_opts(SecondsFormat::Nanos, true).into(),
                Value::Object(map) => {
                    map.iter().map(|(key, value)| (key.to_string(), convert(value))).collect()
                }
                Value::Array(items) => items.iter().map(convert).collect(),
                Value::Null => serde_json::Value::Null,
            }
        }
        serde_json::to_string(&convert(value)).unwrap()
    }

    fn written(value: &Value) -> String {
        let mut out = Vec::new();
        write_json_value(&mut out, value, TimestampFormat::Rfc3339);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_exactly_as_serde_json_does() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        let mut cases = vec![
            String::new(),
            "plain text longer than one word of eight bytes".to_owned(),
            every_ascii.clone(),
            format!("{every_ascii}{every_ascii}"),
            "quote\" at 6, backslash\\ and tab\tand é, 日本, 🦀 \u{7f}".to_owned(),
        ];
        // Every special byte at every offset of a word, so the word test must find each one.
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
            for at in 0..17 {
                let mut text = "abcdefghijklmnopq".to_owned();
                text.insert(at, special);
                cases.push(text);
            }
        }
        for text in cases {
            let value = Value::Bytes(text.clone().into());
            assert_eq!(written(&value), reference(&value), "{text:?}");
        }
        let invalid = Value::Bytes(bytes::Bytes::from_static(b"bad \xff\xfe utf-8 \"q\""));
        assert_eq!(written(&invalid), reference(&invalid));
    }

    #[test]
    fn numbers_and_nesting_match_serde_json() {
        let floats = [0.0, -0.0, 1.5, 1e300, -2.5e-300, 0.1, 123456789.125, f64::INFINITY, f64::NEG_INFINITY];
        let mut map = ObjectMap::new();
        for (index, float) in floats.into_iter().enumerate() {
            let value = Value::from_f64_or_zero(float);
            map.insert(KeyString::from(format!("f{index}")), value);
        }
        map.insert("i".into(), Value::Integer(i64::MIN));
        map.insert("j".into(), Value::Integer(i64::MAX));
        map.insert("b".into(), Value::Boolean(false));
        map.insert("n".into(), Value::Null);
        map.insert(
            "k\"ey".into(),
            Value::Array(vec![Value::Integer(1), Value::Array(vec![]), Value::Object(ObjectMap::new())]),
        );
        let value = Value::Object(map);
        assert_eq!(written(&value), reference(&value));
        assert_eq!(
            written(&Value::from_f64_or_zero(f64::MAX)),
            reference(&Value::from_f64_or_zero(f64::MAX))
        );
    }

    #[test]
    fn timestamps_match_chrono_across_the_range() {
        let mut seconds: i64 = -62_135_596_800; // 0001-01-01
        while seconds < 253_402_300_799 {
            // 9999-12-31
            for nanos in [0, 1, 999_999_999, 123_456_789] {
                let at = Utc.timestamp_opt(seconds, nanos).unwrap();
                let mut out = Vec::new();
                write_rfc3339_nanos(&mut out, &at);
                assert_eq!(String::from_utf8(out).unwrap(), at.to_rfc3339_opts(SecondsFormat::Nanos, true));
            }
            seconds += 987_654_321;
        }
        let far = Utc.timestamp_opt(400_000_000_000, 5).unwrap();
        let mut out = Vec::new();
        write_rfc3339_nanos(&mut out, &far);
        assert_eq!(String::from_utf8(out).unwrap(), far.to_rfc3339_opts(SecondsFormat::Nanos, true));
    }
}
