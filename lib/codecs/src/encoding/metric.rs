//! How metrics look when a sink writes them as JSON, logfmt or text.

use std::io::Write;

use strata_event::{KeyString, Metric, MetricKind, MetricValue, ObjectMap, Value};

fn float(number: f64) -> Value {
    // NaN has no JSON form; null says "no value" without inventing one.
    if number.is_nan() { Value::Null } else { Value::from_f64_or_zero(number) }
}

fn object(entries: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(entries.into_iter().map(|(key, value)| (KeyString::from(key), value)).collect())
}

/// A metric as an object: `name`, `namespace`, `tags`, `timestamp`, `kind`, and one key named
/// after its type (`counter`, `gauge`, `set`, `distribution`, `aggregated_histogram`,
/// `aggregated_summary`) holding the value.
pub fn metric_to_value(metric: &Metric) -> Value {
    let mut map = ObjectMap::new();
    map.insert("name".into(), Value::from(metric.name()));
    if let Some(namespace) = metric.namespace() {
        map.insert("namespace".into(), Value::from(namespace));
    }
    if !metric.tags().is_empty() {
        let tags = metric
            .tags()
            .iter()
            .map(|(key, value)| (KeyString::from(key.as_str()), Value::from(value.as_str())));
        map.insert("tags".into(), Value::Object(tags.collect()));
    }
    if let Some(timestamp) = metric.timestamp() {
        map.insert("timestamp".into(), Value::Timestamp(timestamp));
    }
    let kind = match metric.kind() {
        MetricKind::Incremental => "incremental",
        MetricKind::Absolute => "absolute",
    };
    map.insert("kind".into(), Value::from(kind));
    let (key, value) = match metric.value() {
        MetricValue::Counter { value } => ("counter", object([("value", float(*value))])),
        MetricValue::Gauge { value } => ("gauge", object([("value", float(*value))])),
        MetricValue::Set { values } => (
            "set",
            object([("values", Value::Array(values.iter().map(|v| Value::from(v.as_str())).collect()))]),
        ),
        MetricValue::Distribution { samples, statistic } => {
            let samples = samples
                .iter()
                .map(|sample| object([("value", float(sample.value)), ("rate", Value::from(sample.rate))]))
                .collect();
            let statistic = format!("{statistic:?}").to_lowercase();
            (
                "distribution",
                object([("samples", Value::Array(samples)), ("statistic", Value::from(statistic))]),
            )
        }
        MetricValue::AggregatedHistogram { buckets, count, sum } => {
            let buckets = buckets
                .iter()
                .map(|bucket| {
                    object([
                        ("upper_limit", float(bucket.upper_limit)),
                        ("count", Value::from(bucket.count as i64)),
                    ])
                })
                .collect();
            (
                "aggregated_histogram",
                object([
                    ("buckets", Value::Array(buckets)),
                    ("count", Value::from(*count as i64)),
                    ("sum", float(*sum)),
                ]),
            )
        }
        MetricValue::AggregatedSummary { quantiles, count, sum } => {
            let quantiles = quantiles
                .iter()
                .map(|q| object([("quantile", float(q.quantile)), ("value", float(q.value))]))
                .collect();
            (
                "aggregated_summary",
                object([
                    ("quantiles", Value::Array(quantiles)),
                    ("count", Value::from(*count as i64)),
                    ("sum", float(*sum)),
                ]),
            )
        }
    };
    map.insert(key.into(), value);
    Value::Object(map)
}

/// One line for people: `namespace_name{tag="value"} kind type value`.
pub(super) fn write_text(metric: &Metric, out: &mut Vec<u8>) {
    if let Some(namespace) = metric.namespace() {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b'_');
    }
    out.extend_from_slice(metric.name().as_bytes());
    if !metric.tags().is_empty() {
        let tags: Vec<String> = metric.tags().iter().map(|(key, value)| format!("{key}={value:?}")).collect();
        let _ = write!(out, "{{{}}}", tags.join(","));
    }
    let value = match metric.value() {
        MetricValue::Counter { value } | MetricValue::Gauge { value } => value.to_string(),
        MetricValue::Set { values } => values.len().to_string(),
        MetricValue::Distribution { samples, .. } => format!("{} samples", samples.len()),
        MetricValue::AggregatedHistogram { count, sum, .. }
        | MetricValue::AggregatedSummary { count, sum, .. } => {
            format!("count={count} sum={sum}")
        }
    };
    // A Vec writer never fails.
    let _ = write!(out, " {} {}", metric.value().type_name(), value);
}
