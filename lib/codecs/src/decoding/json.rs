//! The `json` deserializer: an object is one event, an array of objects several.

use strata_event::{ObjectMap, Value};

use super::DecodeError;

/// The objects in `text`; anything else is an error and yields none of them.
pub(super) fn parse(text: &str) -> Result<Vec<ObjectMap>, DecodeError> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| DecodeError::Json { reason: error.to_string() })?;
    match value {
        Value::Object(map) => Ok(vec![map]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                other => Err(DecodeError::NotAnObject { kind: kind_name(&other) }),
            })
            .collect(),
        other => Err(DecodeError::NotAnObject { kind: kind_name(&other) }),
    }
}

pub(super) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Bytes(_) | Value::String(_) | Value::Regex(_) => "string",
        Value::Integer(_) | Value::Float(_) => "number",
        Value::Boolean(_) => "boolean",
        Value::Timestamp(_) => "timestamp",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::Null => "null",
    }
}
