//! Options of the `remap` transform.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Transform, TransformConfig, TransformContext};

use crate::vrl_program;

pub(super) const EXAMPLE: &str = r#"type = "remap"
inputs = ["my_source"]
source = '''
. = parse_json!(.message)
.processed_at = now()
del(.password)
'''
"#;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemapConfig {
    /// The VRL program, inline. One of `source` and `file` is required.
    #[serde(default)]
    pub source: Option<String>,
    /// A file holding the VRL program.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Drop an event the program fails on (otherwise it passes on unchanged). Default: false.
    #[serde(default)]
    pub drop_on_error: bool,
    /// Drop an event the program aborts on (otherwise it passes on unchanged). Default: true.
    #[serde(default = "yes")]
    pub drop_on_abort: bool,
    /// Send dropped events to the `<id>.dropped` output instead of discarding them. Default: false.
    #[serde(default)]
    pub reroute_dropped: bool,
    /// The time zone VRL's time functions assume, an IANA name or `local`. Default: the global
    /// `timezone`, or local time.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl RemapConfig {
    pub(super) fn program_source(&self) -> Result<String, BuildError> {
        match (&self.source, &self.file) {
            (Some(source), None) => Ok(source.clone()),
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|error| {
                BuildError::new(format!("cannot read VRL file {}: {error}", path.display()))
            }),
            _ => Err(BuildError::new("exactly one of `source` and `file` is required")),
        }
    }
}

#[async_trait]
impl TransformConfig for RemapConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        let source = self.program_source()?;
        let compiled = vrl_program::compile(&source).map_err(|diagnostic| {
            BuildError::new(format!("the VRL program does not compile:\n{diagnostic}"))
        })?;
        if let Some(warnings) = &compiled.warnings {
            tracing::warn!(component_id = %cx.key, "VRL warnings:\n{warnings}");
        }
        let timezone = vrl_program::timezone(self.timezone.as_deref().or(cx.globals.timezone.as_deref()))
            .map_err(BuildError::new)?;
        Ok(Transform::Sync(Box::new(super::transform::Remap::new(self, compiled.program, timezone, cx))))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        let mut outputs = vec![Output::default(input)];
        if self.reroute_dropped {
            outputs.push(Output::named(super::DROPPED, input));
        }
        outputs
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match (&self.source, &self.file) {
            (Some(source), None) => {
                if let Err(diagnostic) = vrl_program::compile(source) {
                    problems
                        .push(format!("option `source`: the VRL program does not compile:\n{diagnostic}"));
                }
            }
            (None, Some(_)) => {}
            (Some(_), Some(_)) => problems.push("options `source` and `file`: set only one".to_owned()),
            (None, None) => {
                problems.push("option `source`: one of `source` and `file` is required".to_owned())
            }
        }
        if let Err(message) = vrl_program::timezone(self.timezone.as_deref()) {
            problems.push(format!("option `timezone`: {message}"));
        }
        problems
    }
}
