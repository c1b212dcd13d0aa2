//! Options of the `throttle` transform.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Transform, TransformConfig, TransformContext};
use vrl::path::{OwnedValuePath, parse_value_path};

use crate::vrl_program::{self, ConditionConfig};

pub(super) const EXAMPLE: &str = r#"type = "throttle"
inputs = ["my_source"]
threshold = 100
window_secs = 1.0
key_field = "service"
exclude = '.level == "error"'
"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// The most events let through per window, per key. Required; at least 1.
    pub threshold: u32,
    /// The length of the window, in seconds; fractions allowed. Required; more than 0.
    pub window_secs: f64,
    /// A field whose value picks the bucket: each value gets its own `threshold`. A Vector
    /// template naming a single field (`"{{ service }}"`) is accepted too. Default: none (one
    /// bucket for all events).
    #[serde(default)]
    pub key_field: Option<String>,
    /// A VRL condition; events for which it is true are never throttled nor counted. Default: none.
    #[serde(default)]
    pub exclude: Option<ConditionConfig>,
}

impl ThrottleConfig {
    pub(super) fn window(&self) -> Result<Duration, String> {
        Duration::try_from_secs_f64(self.window_secs)
            .ok()
            .filter(|window| !window.is_zero())
            .ok_or_else(|| format!("option `window_secs`: must be more than 0, not {}", self.window_secs))
    }

    pub(super) fn key_path(&self) -> Result<Option<OwnedValuePath>, String> {
        let Some(field) = self.key_field.as_deref() else { return Ok(None) };
        // Only the template form Vector users write most, `{{ field }}`, is understood.
        let path = match field.trim().strip_prefix("{{").and_then(|rest| rest.strip_suffix("}}")) {
            Some(inner) => inner.trim(),
            None => field,
        };
        match parse_value_path(path) {
            Ok(parsed) if !parsed.is_root() => Ok(Some(parsed)),
            _ => Err(format!("option `key_field`: `{field}` is not a field path")),
        }
    }
}

#[async_trait]
impl TransformConfig for ThrottleConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        if let Some(problem) = self.validate().into_iter().next() {
            return Err(BuildError::new(problem));
        }
        let exclude = match &self.exclude {
            Some(condition) => Some(condition.compile().map_err(BuildError::new)?),
            None => None,
        };
        let timezone = vrl_program::timezone(cx.globals.timezone.as_deref()).map_err(BuildError::new)?;
        let limits = super::transform::Limits::new(self.threshold, self.window().map_err(BuildError::new)?);
        let key_field = self.key_path().map_err(BuildError::new)?;
        let throttle = super::transform::Throttle::new(
            limits,
            key_field,
            exclude,
            timezone,
            super::transform::SystemClock,
            cx,
        );
        Ok(Transform::Sync(Box::new(throttle)))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        vec![Output::default(input)]
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.threshold == 0 {
            problems.push("option `threshold`: must be at least 1".to_owned());
        }
        if let Err(problem) = self.window() {
            problems.push(problem);
        }
        if let Err(problem) = self.key_path() {
            problems.push(problem);
        }
        if let Some(Err(message)) = self.exclude.as_ref().map(ConditionConfig::compile) {
            problems.push(format!("option `exclude`: {message}"));
        }
        problems
    }
}
