//! Metric events: counters, gauges, distributions, histograms, summaries and sets.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::EventMetadata;

/// Whether a value is a change since the last report or the current total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Incremental,
    Absolute,
}

/// One sampled value and how many times it was seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub value: f64,
    pub rate: u32,
}

/// A histogram bucket: how many samples were at most `upper_limit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub upper_limit: f64,
    pub count: u64,
}

/// A summary quantile: the value below which `quantile` of the samples fall.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    pub quantile: f64,
    pub value: f64,
}

/// How a distribution's samples are meant to be aggregated downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatisticKind {
    Histogram,
    Summary,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Counter { value: f64 },
    Gauge { value: f64 },
    Set { values: BTreeSet<String> },
    Distribution { samples: Vec<Sample>, statistic: StatisticKind },
    AggregatedHistogram { buckets: Vec<Bucket>, count: u64, sum: f64 },
    AggregatedSummary { quantiles: Vec<Quantile>, count: u64, sum: f64 },
}

impl MetricValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            MetricValue::Counter { .. } => "counter",
            MetricValue::Gauge { .. } => "gauge",
            MetricValue::Set { .. } => "set",
            MetricValue::Distribution { .. } => "distribution",
            MetricValue::AggregatedHistogram { .. } => "histogram",
            MetricValue::AggregatedSummary { .. } => "summary",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    name: String,
    namespace: Option<String>,
    tags: BTreeMap<String, String>,
    kind: MetricKind,
    value: MetricValue,
    timestamp: Option<DateTime<Utc>>,
    metadata: EventMetadata,
}

impl Metric {
    pub fn new(name: impl Into<String>, kind: MetricKind, value: MetricValue) -> Self {
        Self {
            name: name.into(),
            namespace: None,
            tags: BTreeMap::new(),
            kind,
            value,
            timestamp: None,
            metadata: EventMetadata::default(),
        }
    }

    pub fn with_namespace(mut self, namespace: Option<impl Into<String>>) -> Self {
        self.namespace = namespace.map(Into::into);
        self
    }

    pub fn with_tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    pub fn with_timestamp(mut self, timestamp: Option<DateTime<Utc>>) -> Self {
        self.timestamp = timestamp;
        self
    }

    pub fn with_metadata(mut self, metadata: EventMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    pub fn tags_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.tags
    }

    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    pub fn value(&self) -> &MetricValue {
        &self.value
    }

    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        self.timestamp
    }

    pub fn metadata(&self) -> &EventMetadata {
        &self.metadata
    }

    pub fn metadata_mut(&mut self) -> &mut EventMetadata {
        &mut self.metadata
    }

    pub(crate) fn estimated_size(&self) -> usize {
        let tags: usize = self.tags.iter().map(|(key, value)| key.len() + value.len()).sum();
        let value = match &self.value {
            MetricValue::Set { values } => values.iter().map(String::len).sum(),
            MetricValue::Distribution { samples, .. } => samples.len() * std::mem::size_of::<Sample>(),
            MetricValue::AggregatedHistogram { buckets, .. } => buckets.len() * std::mem::size_of::<Bucket>(),
            MetricValue::AggregatedSummary { quantiles, .. } => {
                quantiles.len() * std::mem::size_of::<Quantile>()
            }
            MetricValue::Counter { .. } | MetricValue::Gauge { .. } => 0,
        };
        std::mem::size_of::<Self>() + self.name.len() + tags + value
    }
}
