//! The logfmt serializer: `key=value` pairs separated by spaces, nested keys joined with dots.

use std::io::Write;

use strata_event::Value;

use crate::TimestampFormat;
use crate::json::write_json_value;

pub(super) fn write(out: &mut Vec<u8>, value: &Value, timestamps: TimestampFormat) {
    let mut first = true;
    match value {
        Value::Object(_) => write_fields(out, "", value, timestamps, &mut first),
        other => write_pair(out, "message", other, timestamps, &mut first),
    }
}

fn write_fields(
    out: &mut Vec<u8>,
    prefix: &str,
    value: &Value,
    timestamps: TimestampFormat,
    first: &mut bool,
) {
    match value {
        Value::Object(map) => {
            for (key, field) in map {
                let name = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
                write_fields(out, &name, field, timestamps, first);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                write_fields(out, &format!("{prefix}[{index}]"), item, timestamps, first);
            }
        }
        other => write_pair(out, prefix, other, timestamps, first),
    }
}

fn write_pair(out: &mut Vec<u8>, key: &str, value: &Value, timestamps: TimestampFormat, first: &mut bool) {
    if !*first {
        out.push(b' ');
    }
    *first = false;
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    let text: std::borrow::Cow<'_, str> = match value {
        Value::Bytes(bytes) => String::from_utf8_lossy(bytes),
        Value::String(text) => std::borrow::Cow::Borrowed(&**text),
        Value::Timestamp(_) | Value::Float(_) | Value::Integer(_) | Value::Boolean(_) => {
            let mut raw = Vec::new();
            write_json_value(&mut raw, value, timestamps);
            // Numbers and booleans are written bare; a timestamp keeps its JSON quotes stripped.
            let raw = String::from_utf8_lossy(&raw).trim_matches('"').to_owned();
            raw.into()
        }
        Value::Null => "".into(),
        Value::Regex(regex) => regex.as_str().to_owned().into(),
        Value::Object(_) | Value::Array(_) => "".into(),
    };
    if text.is_empty() || text.contains([' ', '=', '"', '\n', '\t']) {
        // A Vec writer never fails; `{:?}` quotes and escapes the text.
        let _ = write!(out, "{text:?}");
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}
