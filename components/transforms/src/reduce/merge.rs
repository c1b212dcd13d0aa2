//! Merge strategies: how `reduce` combines the values one field takes across a group's events.

use std::collections::HashSet;
use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strata_event::{LogEvent, Value};
use vrl::path::{OwnedSegment, OwnedValuePath};

/// How to merge one field, named as in `merge_strategies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeStrategy {
    /// Keep the first value.
    Discard,
    /// Keep the last value that is not null.
    Retain,
    /// Add numbers up.
    Sum,
    /// Keep the largest number.
    Max,
    /// Keep the smallest number.
    Min,
    /// Collect every value into an array.
    Array,
    /// Join strings with a space, or arrays into one array.
    Concat,
    /// Join strings with a newline.
    ConcatNewline,
    /// Join strings with nothing between them.
    ConcatRaw,
    /// Keep the shortest array (the first of equals).
    ShortestArray,
    /// Keep the longest array (the first of equals).
    LongestArray,
    /// Collect the distinct values, flattening arrays and the values of objects.
    FlatUnique,
}

/// A value the strategy cannot merge; it is left out of the merged event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MergeError {
    expected: &'static str,
    found: String,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

fn mismatch(expected: &'static str, value: &Value) -> MergeError {
    MergeError { expected, found: value.kind().to_string() }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(int) => Some(Number::Int(*int)),
            Value::Float(float) => Some(Number::Float(float.into_inner())),
            _ => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Number::Int(int) => int as f64,
            Number::Float(float) => float,
        }
    }

    /// Integers stay integers until a float joins or the sum overflows.
    fn add(self, other: Self) -> Self {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => {
                a.checked_add(b).map_or(Number::Float(a as f64 + b as f64), Number::Int)
            }
            (a, b) => Number::Float(a.as_f64() + b.as_f64()),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Number::Int(int) => Value::Integer(int),
            Number::Float(float) => Value::from_f64_or_zero(float),
        }
    }
}

/// The merged state of one field.
#[derive(Debug, Clone)]
pub(super) enum Merger {
    First(Value),
    Last(Value),
    Sum(Number),
    Max(Number),
    Min(Number),
    Array(Vec<Value>),
    Text {
        text: Vec<u8>,
        separator: &'static [u8],
    },
    Arrays(Vec<Value>),
    Shortest(Vec<Value>),
    Longest(Vec<Value>),
    FlatUnique {
        seen: HashSet<Value>,
        values: Vec<Value>,
    },
    /// A timestamp's first and last values; the last goes to `<field>_end`.
    Span {
        first: Value,
        last: Value,
    },
}

impl Merger {
    /// The state after a field's first value, by `strategy`, or by the value's type without one.
    pub(super) fn start(value: Value, strategy: Option<MergeStrategy>) -> Result<Self, MergeError> {
        let Some(strategy) = strategy else {
            return Ok(match value {
                Value::Integer(_) | Value::Float(_) => {
                    Merger::Sum(Number::of(&value).unwrap_or(Number::Int(0)))
                }
                Value::Timestamp(_) => Merger::Span { first: value.clone(), last: value },
                other => Merger::First(other),
            });
        };
        let number = |value: &Value| Number::of(value).ok_or_else(|| mismatch("a number", value));
        let text = |value: &Value| {
            value.as_bytes().map(|bytes| bytes.to_vec()).ok_or_else(|| mismatch("a string", value))
        };
        Ok(match strategy {
            MergeStrategy::Discard => Merger::First(value),
            MergeStrategy::Retain => Merger::Last(value),
            MergeStrategy::Sum => Merger::Sum(number(&value)?),
            MergeStrategy::Max => Merger::Max(number(&value)?),
            MergeStrategy::Min => Merger::Min(number(&value)?),
            MergeStrategy::Array => Merger::Array(vec![value]),
            MergeStrategy::Concat => match value {
                Value::Array(items) => Merger::Arrays(items),
                other => Merger::Text {
                    text: text(&other).map_err(|_| mismatch("a string or an array", &other))?,
                    separator: b" ",
                },
            },
            MergeStrategy::ConcatNewline => Merger::Text { text: text(&value)?, separator: b"\n" },
            MergeStrategy::ConcatRaw => Merger::Text { text: text(&value)?, separator: b"" },
            MergeStrategy::ShortestArray => Merger::Shortest(array(value)?),
            MergeStrategy::LongestArray => Merger::Longest(array(value)?),
            MergeStrategy::FlatUnique => {
                let mut merger = Merger::FlatUnique { seen: HashSet::new(), values: Vec::new() };
                merger.add(value)?;
                merger
            }
        })
    }

    /// Merges a later value in. A value of the wrong type is refused and the state kept.
    pub(super) fn add(&mut self, value: Value) -> Result<(), MergeError> {
        match self {
            Merger::First(_) => {}
            Merger::Last(last) => {
                if !value.is_null() {
                    *last = value;
                }
            }
            Merger::Sum(sum) => {
                *sum = sum.add(Number::of(&value).ok_or_else(|| mismatch("a number", &value))?)
            }
            Merger::Max(max) => {
                let number = Number::of(&value).ok_or_else(|| mismatch("a number", &value))?;
                if number.as_f64() > max.as_f64() {
                    *max = number;
                }
            }
            Merger::Min(min) => {
                let number = Number::of(&value).ok_or_else(|| mismatch("a number", &value))?;
                if number.as_f64() < min.as_f64() {
                    *min = number;
                }
            }
            Merger::Array(items) => items.push(value),
            Merger::Text { text, separator } => {
                let bytes = value.as_bytes().ok_or_else(|| mismatch("a string", &value))?;
                text.extend_from_slice(separator);
                text.extend_from_slice(bytes);
            }
            Merger::Arrays(items) => match value {
                Value::Array(more) => items.extend(more),
                other => items.push(other),
            },
            Merger::Shortest(items) => {
                let candidate = array(value)?;
                if candidate.len() < items.len() {
                    *items = candidate;
                }
            }
            Merger::Longest(items) => {
                let candidate = array(value)?;
                if candidate.len() > items.len() {
                    *items = candidate;
                }
            }
            Merger::FlatUnique { seen, values } => {
                let flattened: Vec<Value> = match value {
                    Value::Array(items) => items,
                    Value::Object(map) => map.into_values().collect(),
                    other => vec![other],
                };
                for item in flattened {
                    if seen.insert(item.clone()) {
                        values.push(item);
                    }
                }
            }
            Merger::Span { last, .. } => {
                if !value.is_timestamp() {
                    return Err(mismatch("a timestamp", &value));
                }
                *last = value;
            }
        }
        Ok(())
    }

    /// Writes the merged value at `path`.
    pub(super) fn finish(self, path: &OwnedValuePath, log: &mut LogEvent) {
        let value = match self {
            Merger::First(value) | Merger::Last(value) => value,
            Merger::Sum(number) | Merger::Max(number) | Merger::Min(number) => number.into_value(),
            Merger::Array(items)
            | Merger::Arrays(items)
            | Merger::Shortest(items)
            | Merger::Longest(items)
            | Merger::FlatUnique { values: items, .. } => Value::Array(items),
            Merger::Text { text, .. } => Value::from_utf8_or_bytes(Bytes::from(text)),
            Merger::Span { first, last } => {
                if let Some(end) = end_path(path) {
                    log.insert_path(&end, last);
                }
                first
            }
        };
        log.insert_path(path, value);
    }
}

fn array(value: Value) -> Result<Vec<Value>, MergeError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(mismatch("an array", &other)),
    }
}

/// `a.time` -> `a.time_end`.
fn end_path(path: &OwnedValuePath) -> Option<OwnedValuePath> {
    let mut end = path.clone();
    match end.segments.last_mut()? {
        OwnedSegment::Field(name) => *name = format!("{name}_end").into(),
        OwnedSegment::Index(_) => return None,
    }
    Some(end)
}
