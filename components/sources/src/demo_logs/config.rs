//! Options of the `demo_logs` source.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::DecodingConfig;
use strata_core::{BuildError, DataType, Output, SourceConfig, SourceContext};

pub(super) const EXAMPLE: &str = r#"type = "demo_logs"
format = "apache_common"
interval = 1.0
# count = 100
"#;

/// The kind of line to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemoFormat {
    /// JSON objects shaped like an HTTP access log.
    Json,
    /// RFC 5424 syslog lines.
    Syslog,
    /// RFC 3164 (BSD) syslog lines.
    BsdSyslog,
    /// Apache common log format.
    ApacheCommon,
    /// Apache error log format.
    ApacheError,
    /// Lines picked at random from `lines`.
    Shuffle,
}

fn default_interval() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoLogsConfig {
    /// The format of the lines. Required.
    pub format: DemoFormat,
    /// Seconds between lines; 0 generates as fast as the pipeline takes them. Default: 1.0.
    #[serde(default = "default_interval")]
    pub interval: f64,
    /// How many lines to generate before stopping. Default: no limit.
    #[serde(default)]
    pub count: Option<u64>,
    /// The lines to pick from with `format = "shuffle"`.
    #[serde(default)]
    pub lines: Vec<String>,
    /// With `shuffle`, prefix each line with its sequence number. Default: false.
    #[serde(default)]
    pub sequence: bool,
    /// How each line becomes an event. Default: `bytes` (the line is the `message`); `json`
    /// parses the `json` format's lines.
    #[serde(default)]
    pub decoding: DecodingConfig,
}

#[async_trait]
impl SourceConfig for DemoLogsConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        Ok(Box::pin(super::source::run(self.clone(), cx)))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.format == DemoFormat::Shuffle && self.lines.is_empty() {
            problems.push("option `lines`: `format = \"shuffle\"` needs at least one line".to_owned());
        }
        if !self.interval.is_finite() || self.interval < 0.0 {
            problems.push(format!("option `interval`: must be zero or more seconds, got {}", self.interval));
        }
        problems
    }
}
