//! Options of the `route` transform.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Transform, TransformConfig, TransformContext};

use super::UNMATCHED;
use crate::vrl_program::{self, ConditionConfig};

pub(super) const EXAMPLE: &str = r#"type = "route"
inputs = ["my_source"]
route.errors = '.level == "error"'
route.audit = 'exists(.audit)'
"#;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Output name -> VRL condition. Each becomes the output `<id>.<name>`. Required.
    pub route: BTreeMap<String, ConditionConfig>,
    /// Send events that match no route to `<id>._unmatched`. Default: true.
    #[serde(default = "yes")]
    pub reroute_unmatched: bool,
}

#[async_trait]
impl TransformConfig for RouteConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        let timezone = vrl_program::timezone(cx.globals.timezone.as_deref()).map_err(BuildError::new)?;
        let mut routes = Vec::new();
        for (name, condition) in &self.route {
            let program = condition.compile().map_err(|e| BuildError::new(format!("route `{name}`: {e}")))?;
            routes.push(program);
        }
        Ok(Transform::Sync(Box::new(super::transform::Route::new(
            routes,
            timezone,
            self.reroute_unmatched,
            cx,
        ))))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        let mut outputs: Vec<Output> =
            self.route.keys().map(|name| Output::named(name.clone(), input)).collect();
        if self.reroute_unmatched {
            outputs.push(Output::named(UNMATCHED, input));
        }
        outputs
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.route.is_empty() {
            problems.push("option `route`: at least one route is required".to_owned());
        }
        for (name, condition) in &self.route {
            if name == UNMATCHED {
                problems.push(format!("option `route.{name}`: `{UNMATCHED}` is reserved"));
            }
            if let Err(message) = condition.compile() {
                problems.push(format!("option `route.{name}`: {message}"));
            }
        }
        problems
    }
}
