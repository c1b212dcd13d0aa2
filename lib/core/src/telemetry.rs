//! The agent's telemetry about itself: per-component metrics, an in-process registry that the
//! `internal_metrics` source reads, and rate-limited logging for per-event problems.
//!
//! Metrics go through the `metrics` facade. The agent installs one recorder that fans out to the
//! Prometheus exporter (for `/metrics`) and to [`InternalRegistry`] (for `internal_metrics`), so
//! both see the same numbers. Without a recorder (unit tests) every update is a no-op.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{AtomicStorage, Registry};

use crate::ComponentMeta;

/// The standard counters of one component, labelled `component_id`, `component_kind` and
/// `component_type`. Handles are resolved once; an update is an atomic add.
#[derive(Clone)]
pub struct ComponentMetrics {
    labels: Vec<Label>,
    received_events: Counter,
    received_bytes: Counter,
    sent_events: Counter,
    sent_bytes: Counter,
    discarded_events: Counter,
    ports: Arc<Mutex<HashMap<String, Counter>>>,
}

impl std::fmt::Debug for ComponentMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentMetrics").field("labels", &self.labels).finish_non_exhaustive()
    }
}

impl ComponentMetrics {
    pub fn new(meta: &ComponentMeta) -> Self {
        let labels: Vec<Label> = meta.labels().into_iter().map(|(k, v)| Label::new(k, v)).collect();
        let counter = |name: &'static str| metrics::counter!(name, labels.clone());
        Self {
            received_events: counter("component_received_events_total"),
            received_bytes: counter("component_received_bytes_total"),
            sent_events: counter("component_sent_events_total"),
            sent_bytes: counter("component_sent_bytes_total"),
            discarded_events: counter("component_discarded_events_total"),
            ports: Arc::default(),
            labels,
        }
    }

    /// Events taken in: for a source, from outside; for others, from their inputs.
    pub fn received(&self, events: usize, bytes: usize) {
        self.received_events.increment(events as u64);
        if bytes > 0 {
            self.received_bytes.increment(bytes as u64);
        }
    }

    pub fn received_bytes(&self, bytes: usize) {
        self.received_bytes.increment(bytes as u64);
    }

    /// Events passed on: to the default output, or (for a sink) delivered downstream.
    pub fn sent(&self, events: usize, bytes: usize) {
        self.sent_events.increment(events as u64);
        if bytes > 0 {
            self.sent_bytes.increment(bytes as u64);
        }
    }

    /// Events passed on through a named output, counted with an `output` label.
    pub fn sent_to(&self, port: &str, events: usize) {
        let mut ports = self.ports.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let counter = ports.entry(port.to_owned()).or_insert_with(|| {
            let mut labels = self.labels.clone();
            labels.push(Label::new("output", port.to_owned()));
            metrics::counter!("component_sent_events_total", labels)
        });
        counter.increment(events as u64);
    }

    /// Counts an error. `error_type` is a short stable code such as `parse_failed`.
    pub fn error(&self, error_type: &'static str, stage: &'static str) {
        let mut labels = self.labels.clone();
        labels.push(Label::new("error_type", error_type));
        labels.push(Label::new("stage", stage));
        metrics::counter!("component_errors_total", labels).increment(1);
    }

    /// Counts events dropped on purpose or by policy.
    pub fn discarded(&self, events: usize) {
        self.discarded_events.increment(events as u64);
    }

    /// A gauge carrying this component's labels plus `extra`.
    pub fn gauge(&self, name: &'static str, extra: &[(&'static str, String)]) -> Gauge {
        let mut labels = self.labels.clone();
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, v.clone())));
        metrics::gauge!(name, labels)
    }

    /// A counter carrying this component's labels.
    pub fn counter(&self, name: &'static str) -> Counter {
        metrics::counter!(name, self.labels.clone())
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }
}

/// Lets one message through per interval and counts the rest, so a flood of bad events cannot
/// flood the agent's own log.
#[derive(Debug)]
pub struct RateLimitedLog {
    interval: Duration,
    start: Instant,
    next_at_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl Default for RateLimitedLog {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl RateLimitedLog {
    pub fn new(interval: Duration) -> Self {
        Self { interval, start: Instant::now(), next_at_ms: AtomicU64::new(0), suppressed: AtomicU64::new(0) }
    }

    /// `Some(suppressed_since_last)` when this occurrence should be logged, `None` otherwise.
    pub fn check(&self) -> Option<u64> {
        let now = self.start.elapsed().as_millis() as u64;
        let next = self.next_at_ms.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_at_ms
                .compare_exchange(
                    next,
                    now + self.interval.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// A metric's value at one moment, as read by `internal_metrics`.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotValue {
    Counter(u64),
    Gauge(f64),
    /// Samples recorded since the previous snapshot.
    Histogram(Vec<f64>),
}

/// A recorder that keeps every metric in process, for the `internal_metrics` source.
#[derive(Clone)]
pub struct InternalRegistry {
    inner: Arc<Registry<Key, AtomicStorage>>,
}

impl Default for InternalRegistry {
    fn default() -> Self {
        Self { inner: Arc::new(Registry::atomic()) }
    }
}

impl InternalRegistry {
    /// The process-wide registry, once the agent has installed it.
    pub fn global() -> Option<&'static InternalRegistry> {
        GLOBAL.get()
    }

    /// Makes this registry the one `internal_metrics` reads. Only the first call takes effect.
    pub fn set_global(registry: InternalRegistry) -> bool {
        GLOBAL.set(registry).is_ok()
    }

    /// Every metric's current value. Histograms hand over their samples and start afresh.
    pub fn snapshot(&self) -> Vec<(Key, SnapshotValue)> {
        let mut out = Vec::new();
        self.inner.visit_counters(|key, counter| {
            out.push((key.clone(), SnapshotValue::Counter(counter.load(Ordering::Relaxed))));
        });
        self.inner.visit_gauges(|key, gauge| {
            out.push((key.clone(), SnapshotValue::Gauge(f64::from_bits(gauge.load(Ordering::Relaxed)))));
        });
        self.inner.visit_histograms(|key, histogram| {
            let mut samples = Vec::new();
            histogram.clear_with(|chunk| samples.extend_from_slice(chunk));
            out.push((key.clone(), SnapshotValue::Histogram(samples)));
        });
        out
    }
}

static GLOBAL: OnceLock<InternalRegistry> = OnceLock::new();

impl Recorder for InternalRegistry {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.inner.get_or_create_counter(key, |counter| Counter::from_arc(Arc::clone(counter)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.inner.get_or_create_gauge(key, |gauge| Gauge::from_arc(Arc::clone(gauge)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.inner.get_or_create_histogram(key, |histogram| Histogram::from_arc(Arc::clone(histogram)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_log_counts_what_it_suppresses() {
        let log = RateLimitedLog::new(Duration::from_secs(3600));
        assert_eq!(log.check(), Some(0));
        assert_eq!(log.check(), None);
        assert_eq!(log.check(), None);
        assert_eq!(log.suppressed.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn internal_registry_sees_counter_updates() {
        let registry = InternalRegistry::default();
        let key = Key::from_parts("x_total", vec![Label::new("component_id", "a")]);
        let metadata = metrics::Metadata::new("t", metrics::Level::INFO, None);
        registry.register_counter(&key, &metadata).increment(3);
        registry.register_counter(&key, &metadata).increment(2);
        assert_eq!(registry.snapshot(), vec![(key, SnapshotValue::Counter(5))]);
    }
}
