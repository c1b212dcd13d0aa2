//! Size estimates of values, for byte-based limits.

use vrl::value::Value;

/// An estimate of a value's footprint: payload bytes plus a fixed cost per node.
pub(crate) fn value_size(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    match value {
        Value::Bytes(bytes) => NODE + bytes.len(),
        Value::String(string) => NODE + string.len(),
        Value::Regex(regex) => NODE + regex.as_str().len(),
        Value::Object(map) => {
            NODE + map.iter().map(|(key, value)| key.len() + value_size(value)).sum::<usize>()
        }
        Value::Array(items) => NODE + items.iter().map(value_size).sum::<usize>(),
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Timestamp(_) | Value::Null => NODE,
    }
}
