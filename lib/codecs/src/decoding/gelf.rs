//! The `gelf` deserializer: one GELF 1.1 JSON message (uncompressed, unchunked) into fields.
//!
//! `version`, `host` and `short_message` are required; `short_message` becomes `message`. A
//! `timestamp` in seconds (with a fraction) becomes a timestamp, `level` stays an integer, and
//! additional fields lose their leading underscore (`_user_id` becomes `user_id`) unless that
//! would overwrite a standard field, in which case they keep it. Anything the GELF spec forbids
//! (a missing required field, `_id`, a nested value in an additional field) is a decoding error,
//! because a sender producing it is misconfigured and silently reshaping its data hides that.

use std::borrow::Cow;

use chrono::DateTime;
use strata_event::{KeyString, ObjectMap, Value};

use super::DecodeError;
use super::json::kind_name;

/// The versions accepted: 1.1, and 1.0 which old clients still send with the same fields.
const VERSIONS: [&str; 2] = ["1.1", "1.0"];

pub(super) fn parse(text: &str) -> Result<ObjectMap, DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|error| invalid(format!("not JSON: {error}")))?;
    let Value::Object(input) = value else {
        return Err(invalid(format!("a GELF message is a JSON object, not {}", kind_name(&value))));
    };
    for required in ["version", "host", "short_message"] {
        if !input.contains_key(required) {
            return Err(invalid(format!("missing required field `{required}`")));
        }
    }
    let mut fields = ObjectMap::new();
    // Standard fields first, so that an additional field can tell whether it would overwrite one.
    let (additional, standard): (Vec<_>, Vec<_>) =
        input.into_iter().partition(|(key, _)| key.starts_with('_'));
    for (key, value) in standard {
        let (name, value) = match key.as_str() {
            "version" => {
                let version = string(&key, &value)?;
                if !VERSIONS.contains(&version.as_ref()) {
                    return Err(invalid(format!("unsupported version {version:?}, expected \"1.1\"")));
                }
                (key, value)
            }
            "host" | "full_message" => {
                string(&key, &value)?;
                (key, value)
            }
            "short_message" => {
                string(&key, &value)?;
                (KeyString::from("message"), value)
            }
            "timestamp" => (key, Value::Timestamp(timestamp(&value)?)),
            "level" => match value {
                Value::Integer(_) => (key, value),
                other => {
                    return Err(invalid(format!("`level` must be an integer, got {}", kind_name(&other))));
                }
            },
            // Deprecated (`facility`, `file`, `line`) or non-standard fields: kept as sent.
            _ => (key, value),
        };
        fields.insert(name, value);
    }
    for (key, value) in additional {
        let name = &key[1..];
        if name == "id" {
            return Err(invalid("additional field `_id` is reserved".into()));
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(invalid(format!("invalid additional field name {:?}", key.as_str())));
        }
        if !(value.is_bytes() || matches!(value, Value::Integer(_) | Value::Float(_))) {
            return Err(invalid(format!(
                "additional field `{key}` must be a string or a number, got {}",
                kind_name(&value)
            )));
        }
        let name = if fields.contains_key(name) { key.clone() } else { KeyString::from(name) };
        fields.insert(name, value);
    }
    Ok(fields)
}

fn invalid(reason: String) -> DecodeError {
    DecodeError::Gelf { reason }
}

/// The text of a field that must be a string.
fn string<'a>(key: &str, value: &'a Value) -> Result<Cow<'a, str>, DecodeError> {
    match value.to_str_lossy() {
        Some(text) => Ok(text),
        _ => Err(invalid(format!("`{key}` must be a string, got {}", kind_name(value)))),
    }
}

/// Seconds since the epoch, with a fraction, as GELF sends them.
fn timestamp(value: &Value) -> Result<DateTime<chrono::Utc>, DecodeError> {
    let seconds = match value {
        Value::Integer(seconds) => *seconds as f64,
        Value::Float(seconds) => seconds.into_inner(),
        other => return Err(invalid(format!("`timestamp` must be a number, got {}", kind_name(other)))),
    };
    // Rounded to microseconds: senders write milliseconds or microseconds, and the f64 nearest
    // to `.3072` is not exactly it, so keeping nanoseconds would invent digits nobody sent.
    let micros = (seconds * 1e6).round();
    let out_of_range = || invalid(format!("`timestamp` {seconds:e} is out of range"));
    if !micros.is_finite() || micros.abs() >= i64::MAX as f64 {
        return Err(out_of_range());
    }
    DateTime::from_timestamp_micros(micros as i64).ok_or_else(out_of_range)
}
