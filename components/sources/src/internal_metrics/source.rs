//! The running `internal_metrics` source.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use strata_core::telemetry::{InternalRegistry, SnapshotValue};
use strata_core::{ComponentError, SourceContext};
use strata_event::{EventBatch, EventMetadata, Metric, MetricKind, MetricValue, Sample, StatisticKind};

use super::InternalMetricsConfig;

/// Turns a registry snapshot into metric events.
pub(super) fn to_events(
    snapshot: Vec<(metrics::Key, SnapshotValue)>,
    namespace: &str,
    metadata: &EventMetadata,
) -> Vec<strata_event::Event> {
    let now = metadata.ingest_timestamp();
    snapshot
        .into_iter()
        .map(|(key, value)| {
            let tags: BTreeMap<String, String> =
                key.labels().map(|label| (label.key().to_owned(), label.value().to_owned())).collect();
            let value = match value {
                SnapshotValue::Counter(count) => MetricValue::Counter { value: count as f64 },
                SnapshotValue::Gauge(value) => MetricValue::Gauge { value },
                SnapshotValue::Histogram(samples) => MetricValue::Distribution {
                    samples: samples.into_iter().map(|value| Sample { value, rate: 1 }).collect(),
                    statistic: StatisticKind::Histogram,
                },
            };
            // Histogram samples are handed over once, so they are increments; the rest are totals.
            let kind = match value {
                MetricValue::Distribution { .. } => MetricKind::Incremental,
                _ => MetricKind::Absolute,
            };
            Metric::new(key.name().to_owned(), kind, value)
                .with_namespace(Some(namespace))
                .with_tags(tags)
                .with_timestamp(now)
                .with_metadata(metadata.clone())
                .into()
        })
        .collect()
}

pub(super) async fn run(config: InternalMetricsConfig, mut cx: SourceContext) -> Result<(), ComponentError> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(config.scrape_interval_secs));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            _ = cx.shutdown.recv() => return Ok(()),
            _ = ticker.tick() => {}
        }
        let Some(registry) = InternalRegistry::global() else {
            // No registry installed (a library embedding without the agent): nothing to report.
            continue;
        };
        let metadata = EventMetadata::new(cx.source_id, "internal_metrics", Utc::now());
        let events = to_events(registry.snapshot(), &config.namespace, &metadata);
        cx.metrics.received(events.len(), 0);
        if cx.out.send_batch(EventBatch::new(events)).await.is_err() {
            return Ok(());
        }
    }
}
