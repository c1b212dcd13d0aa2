//! `internal_metrics` tests: snapshots become metric events with labels as tags.

use metrics::{Key, Label};
use strata_core::telemetry::SnapshotValue;
use strata_event::{EventMetadata, MetricKind, MetricValue};

use super::source::to_events;

#[test]
fn counters_become_absolute_counters_with_tags() {
    let key = Key::from_parts("component_sent_events_total", vec![Label::new("component_id", "out")]);
    let events = to_events(vec![(key, SnapshotValue::Counter(42))], "strata", &EventMetadata::default());
    let metric = events[0].as_metric().expect("a metric");
    assert_eq!(metric.name(), "component_sent_events_total");
    assert_eq!(metric.namespace(), Some("strata"));
    assert_eq!(metric.kind(), MetricKind::Absolute);
    assert_eq!(metric.value(), &MetricValue::Counter { value: 42.0 });
    assert_eq!(metric.tags().get("component_id").map(String::as_str), Some("out"));
}

#[test]
fn histogram_samples_are_incremental() {
    let key = Key::from_name("latency_seconds");
    let events =
        to_events(vec![(key, SnapshotValue::Histogram(vec![0.5, 1.5]))], "strata", &EventMetadata::default());
    let metric = events[0].as_metric().unwrap();
    assert_eq!(metric.kind(), MetricKind::Incremental);
    assert!(matches!(metric.value(), MetricValue::Distribution { samples, .. } if samples.len() == 2));
}

/// The standard metrics and labels, through the compliance helper, with a registry installed as
/// the agent installs it.
#[test]
fn internal_metrics_passes_the_compliance_helper() {
    use strata_core::telemetry::InternalRegistry;
    // Only the first call in this test binary installs it; either way there is one now.
    InternalRegistry::set_global(InternalRegistry::default());
    let registry = InternalRegistry::global().expect("a registry is installed");
    metrics::with_local_recorder(registry, || metrics::counter!("compliance_probe_total").increment(3));
    let config: super::InternalMetricsConfig =
        strata_core::parse_options(serde_json::json!({"scrape_interval_secs": 0.05})).unwrap();
    let events = strata_core::compliance::assert_source_compliance("internal_metrics", &config, 1);
    let probe =
        events.iter().filter_map(|event| event.as_metric()).find(|m| m.name() == "compliance_probe_total");
    assert!(probe.is_some(), "the probe counter is reported: {events:?}");
}
