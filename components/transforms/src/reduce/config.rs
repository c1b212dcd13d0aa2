//! Options of the `reduce` transform.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Transform, TransformConfig, TransformContext};
use vrl::path::{OwnedSegment, OwnedValuePath, parse_value_path};

use super::MergeStrategy;
use crate::vrl_program::{self, ConditionConfig};

pub(super) const EXAMPLE: &str = r#"type = "reduce"
inputs = ["my_source"]
group_by = ["host", "pid"]
starts_when = '!starts_with(string(.message) ?? "", " ")'
merge_strategies.message = "concat_newline"
"#;

fn default_expire_after_ms() -> u64 {
    30_000
}

fn default_flush_period_ms() -> u64 {
    1_000
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceConfig {
    /// Fields whose values pick the group; each group is merged on its own. Default: none (one
    /// group for all events).
    #[serde(default)]
    pub group_by: Vec<String>,
    /// A VRL condition marking the first event of a group: the group before it is sent and the
    /// event starts a new one. Default: none. Not together with `ends_when`.
    #[serde(default)]
    pub starts_when: Option<ConditionConfig>,
    /// A VRL condition marking the last event of a group: it is merged and the group is sent.
    /// Default: none. Not together with `starts_when`.
    #[serde(default)]
    pub ends_when: Option<ConditionConfig>,
    /// Send a group once no event joined it for this long, in milliseconds. Default: 30000.
    #[serde(default = "default_expire_after_ms")]
    pub expire_after_ms: u64,
    /// How often to look for expired groups, in milliseconds. Default: 1000.
    #[serde(default = "default_flush_period_ms")]
    pub flush_period_ms: u64,
    /// Send a group once it is this old, in milliseconds, however busy. Default: none.
    #[serde(default)]
    pub end_every_period_ms: Option<u64>,
    /// Send a group once it holds this many events. Default: no limit.
    #[serde(default)]
    pub max_events: Option<NonZeroUsize>,
    /// Field path -> how to merge it: `discard` (keep the first), `retain` (keep the last
    /// non-null), `sum`, `max`, `min`, `array`, `concat` (strings joined by a space, or arrays
    /// joined), `concat_newline`, `concat_raw`, `shortest_array`, `longest_array`, `flat_unique`.
    /// Default: none (numbers summed, timestamps spanned, the rest kept first).
    #[serde(default)]
    pub merge_strategies: BTreeMap<String, MergeStrategy>,
}

/// The options, checked and parsed, as the running transform needs them.
pub(super) struct Settings {
    pub(super) group_by: Vec<OwnedValuePath>,
    pub(super) strategies: Vec<(OwnedValuePath, MergeStrategy)>,
    pub(super) expire_after: Duration,
    pub(super) flush_period: Duration,
    pub(super) end_every_period: Option<Duration>,
    pub(super) max_events: Option<usize>,
}

fn field_path(option: &str, field: &str) -> Result<OwnedValuePath, String> {
    match parse_value_path(field) {
        Ok(path) if path.is_root() => Err(format!("option `{option}`: `{field}` is not a field path")),
        Ok(path) if path.segments.iter().any(|segment| matches!(segment, OwnedSegment::Index(_))) => {
            Err(format!("option `{option}`: `{field}` has an array index, which is not supported"))
        }
        Ok(path) => Ok(path),
        Err(_) => Err(format!("option `{option}`: `{field}` is not a field path")),
    }
}

impl ReduceConfig {
    pub(super) fn settings(&self) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        let mut group_by = Vec::new();
        for field in &self.group_by {
            match field_path("group_by", field) {
                Ok(path) => group_by.push(path),
                Err(problem) => problems.push(problem),
            }
        }
        let mut strategies = Vec::new();
        for (field, strategy) in &self.merge_strategies {
            match field_path(&format!("merge_strategies.{field}"), field) {
                Ok(path) => strategies.push((path, *strategy)),
                Err(problem) => problems.push(problem),
            }
        }
        if self.starts_when.is_some() && self.ends_when.is_some() {
            problems.push("options `starts_when` and `ends_when`: set only one".to_owned());
        }
        for (option, condition) in [("starts_when", &self.starts_when), ("ends_when", &self.ends_when)] {
            if let Some(Err(message)) = condition.as_ref().map(ConditionConfig::compile) {
                problems.push(format!("option `{option}`: {message}"));
            }
        }
        if self.flush_period_ms == 0 {
            problems.push("option `flush_period_ms`: must be at least 1".to_owned());
        }
        if self.end_every_period_ms == Some(0) {
            problems.push("option `end_every_period_ms`: must be at least 1".to_owned());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Settings {
            group_by,
            strategies,
            expire_after: Duration::from_millis(self.expire_after_ms),
            flush_period: Duration::from_millis(self.flush_period_ms),
            end_every_period: self.end_every_period_ms.map(Duration::from_millis),
            max_events: self.max_events.map(NonZeroUsize::get),
        })
    }
}

#[async_trait]
impl TransformConfig for ReduceConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        let settings = self.settings().map_err(|problems| BuildError::new(problems.join("; ")))?;
        let compile =
            |condition: &Option<ConditionConfig>| condition.as_ref().map(|c| c.compile()).transpose();
        let starts_when = compile(&self.starts_when).map_err(BuildError::new)?;
        let ends_when = compile(&self.ends_when).map_err(BuildError::new)?;
        let timezone = vrl_program::timezone(cx.globals.timezone.as_deref()).map_err(BuildError::new)?;
        let reduce = super::transform::Reduce::new(settings, starts_when, ends_when, timezone, cx);
        Ok(Transform::Task(Box::new(reduce)))
    }

    fn input(&self) -> DataType {
        DataType::LOG
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        vec![Output::default(input)]
    }

    fn validate(&self) -> Vec<String> {
        self.settings().err().unwrap_or_default()
    }
}
