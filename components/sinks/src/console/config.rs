//! Options of the `console` sink.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::{Encoder, EncodingConfig, SinkFraming};
use strata_core::sink::healthy;
use strata_core::{BuildError, DataType, Healthcheck, Sink, SinkConfig, SinkContext};

pub(super) const EXAMPLE: &str = r#"type = "console"
inputs = ["my_source"]
target = "stdout"
encoding.codec = "json"
"#;

/// Which stream to write to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleTarget {
    #[default]
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// `stdout` or `stderr`. Default: `stdout`.
    #[serde(default)]
    pub target: ConsoleTarget,
    /// How events are written (`encoding.codec` = `json`, `text`, `logfmt`, ...). Required.
    pub encoding: EncodingConfig,
}

#[async_trait]
impl SinkConfig for ConsoleConfig {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        let encoder = Encoder::new(&self.encoding, SinkFraming::NewlineDelimited)
            .map_err(|error| BuildError::new(format!("option `encoding`: {error}")))?;
        let sink = super::sink::ConsoleSink::new(self.target, encoder, cx.metrics);
        Ok((Box::new(sink), healthy()))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }
}
