//! Options of the `sample` transform.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Transform, TransformConfig, TransformContext};
use vrl::path::{OwnedValuePath, parse_value_path};

use crate::vrl_program::{self, ConditionConfig};

pub(super) const EXAMPLE: &str = r#"type = "sample"
inputs = ["my_source"]
rate = 10
key_field = "trace_id"
exclude = '.level == "error"'
"#;

fn default_sample_rate_key() -> String {
    "sample_rate".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    /// Keep one event in this many: `10` keeps 10%. `1` keeps everything. Required.
    pub rate: u64,
    /// A field whose value decides: events with equal values are all kept or all dropped. Events
    /// without it are sampled by the counter. Default: none (the counter decides for all).
    #[serde(default)]
    pub key_field: Option<String>,
    /// A VRL condition; events for which it is true are never sampled out. Default: none.
    #[serde(default)]
    pub exclude: Option<ConditionConfig>,
    /// The field that receives the rate (as a string) on every sampled event that is kept. An
    /// empty string adds nothing. Default: `sample_rate`.
    #[serde(default = "default_sample_rate_key")]
    pub sample_rate_key: String,
}

impl SampleConfig {
    pub(super) fn key_path(&self) -> Result<Option<OwnedValuePath>, String> {
        self.key_field.as_deref().map(|field| field_path("key_field", field)).transpose()
    }

    pub(super) fn rate_path(&self) -> Result<Option<OwnedValuePath>, String> {
        match self.sample_rate_key.as_str() {
            "" => Ok(None),
            field => field_path("sample_rate_key", field).map(Some),
        }
    }
}

fn field_path(option: &str, field: &str) -> Result<OwnedValuePath, String> {
    match parse_value_path(field) {
        Ok(path) if !path.is_root() => Ok(path),
        _ => Err(format!("option `{option}`: `{field}` is not a field path")),
    }
}

#[async_trait]
impl TransformConfig for SampleConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        if let Some(problem) = self.validate().into_iter().next() {
            return Err(BuildError::new(problem));
        }
        let exclude = match &self.exclude {
            Some(condition) => Some(condition.compile().map_err(BuildError::new)?),
            None => None,
        };
        let timezone = vrl_program::timezone(cx.globals.timezone.as_deref()).map_err(BuildError::new)?;
        let key_field = self.key_path().map_err(BuildError::new)?;
        let rate_field = self.rate_path().map_err(BuildError::new)?;
        let sample = super::transform::Sample::new(self.rate, key_field, rate_field, exclude, timezone, cx);
        Ok(Transform::Sync(Box::new(sample)))
    }

    fn input(&self) -> DataType {
        DataType::LOG.union(DataType::TRACE)
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        vec![Output::default(input)]
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.rate == 0 {
            problems.push("option `rate`: must be at least 1".to_owned());
        }
        if let Err(problem) = self.key_path() {
            problems.push(problem);
        }
        if let Err(problem) = self.rate_path() {
            problems.push(problem);
        }
        if let Some(Err(message)) = self.exclude.as_ref().map(ConditionConfig::compile) {
            problems.push(format!("option `exclude`: {message}"));
        }
        problems
    }
}
