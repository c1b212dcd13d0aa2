//! Options of the `filter` transform.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Transform, TransformConfig, TransformContext};

use crate::vrl_program::{self, ConditionConfig};

pub(super) const EXAMPLE: &str = r#"type = "filter"
inputs = ["my_source"]
condition = '(to_int(.status) ?? 0) >= 500'
"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// A VRL condition (`".level == \"error\""`, or `{ type = "vrl", source = "..." }`). Events for
    /// which it is true pass. Required.
    pub condition: ConditionConfig,
}

#[async_trait]
impl TransformConfig for FilterConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        let program = self.condition.compile().map_err(BuildError::new)?;
        let timezone = vrl_program::timezone(cx.globals.timezone.as_deref()).map_err(BuildError::new)?;
        Ok(Transform::Sync(Box::new(super::transform::Filter::new(program, timezone, cx))))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        vec![Output::default(input)]
    }

    fn validate(&self) -> Vec<String> {
        match self.condition.compile() {
            Ok(_) => Vec::new(),
            Err(message) => vec![format!("option `condition`: {message}")],
        }
    }
}
