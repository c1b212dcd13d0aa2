//! The event model: what flows through a pipeline.
//!
//! An [`Event`] is a log, a metric or a trace span. Events travel between tasks in an
//! [`EventBatch`], never one at a time. Log and trace fields are VRL [`Value`]s, so the `remap`
//! transform works on them without conversion. Fields sit behind an `Arc`: fanning a batch out to
//! several consumers clones pointers, and the first write through [`LogEvent::fields_mut`] copies.
//!
//! Every event carries [`EventMetadata`]: the source it came from, when it was ingested (with
//! nanosecond precision) and the [`EventFinalizers`] that report its delivery back to the source.
//!
//! This crate knows nothing of tokio, channels or components.

mod batch;
mod finalization;
mod log;
mod metadata;
mod metric;
pub mod proto;
mod size;
mod trace;

pub use batch::EventBatch;
pub use finalization::{BatchNotifier, BatchReceipt, BatchStatus, EventFinalizers};
pub use log::{LogEvent, RawLogSchema, RawParts};
pub use metadata::{EventMetadata, SourceId};
pub use metric::{Bucket, Metric, MetricKind, MetricValue, Quantile, Sample, StatisticKind};
pub use trace::TraceEvent;
pub use vrl::value::{KeyString, ObjectMap, Value};

/// The kinds of data a component can produce or accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataType(u8);

impl DataType {
    pub const LOG: Self = Self(1);
    pub const METRIC: Self = Self(2);
    pub const TRACE: Self = Self(4);
    pub const ALL: Self = Self(7);
    pub const NONE: Self = Self(0);

    /// True when every kind in `other` is also in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when `self` and `other` share at least one kind.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = [(Self::LOG, "logs"), (Self::METRIC, "metrics"), (Self::TRACE, "traces")]
            .into_iter()
            .filter(|(kind, _)| self.contains(*kind))
            .map(|(_, name)| name)
            .collect();
        if names.is_empty() { f.write_str("nothing") } else { f.write_str(&names.join(", ")) }
    }
}

/// One unit of observability data.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Log(LogEvent),
    Metric(Metric),
    Trace(TraceEvent),
}

impl Event {
    pub fn data_type(&self) -> DataType {
        match self {
            Event::Log(_) => DataType::LOG,
            Event::Metric(_) => DataType::METRIC,
            Event::Trace(_) => DataType::TRACE,
        }
    }

    pub fn metadata(&self) -> &EventMetadata {
        match self {
            Event::Log(log) => log.metadata(),
            Event::Metric(metric) => metric.metadata(),
            Event::Trace(trace) => trace.metadata(),
        }
    }

    pub fn metadata_mut(&mut self) -> &mut EventMetadata {
        match self {
            Event::Log(log) => log.metadata_mut(),
            Event::Metric(metric) => metric.metadata_mut(),
            Event::Trace(trace) => trace.metadata_mut(),
        }
    }

    pub fn as_log(&self) -> Option<&LogEvent> {
        match self {
            Event::Log(log) => Some(log),
            _ => None,
        }
    }

    pub fn as_metric(&self) -> Option<&Metric> {
        match self {
            Event::Metric(metric) => Some(metric),
            _ => None,
        }
    }

    /// Takes the delivery finalizers out of the event, leaving it with none.
    pub fn take_finalizers(&mut self) -> EventFinalizers {
        self.metadata_mut().take_finalizers()
    }

    /// An estimate of the event's size in memory, for byte-based buffer limits and metrics.
    /// It walks the fields, so callers use it only where a byte count is configured or needed.
    pub fn estimated_size(&self) -> usize {
        match self {
            Event::Log(log) => log.estimated_size(),
            Event::Metric(metric) => metric.estimated_size(),
            Event::Trace(trace) => size::value_size(trace.value()),
        }
    }
}

impl From<LogEvent> for Event {
    fn from(log: LogEvent) -> Self {
        Event::Log(log)
    }
}

impl From<Metric> for Event {
    fn from(metric: Metric) -> Self {
        Event::Metric(metric)
    }
}

impl From<TraceEvent> for Event {
    fn from(trace: TraceEvent) -> Self {
        Event::Trace(trace)
    }
}
