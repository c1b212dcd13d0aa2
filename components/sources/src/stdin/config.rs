//! Options of the `stdin` source.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::{DecodingConfig, FramingConfig};
use strata_core::{BuildError, DataType, Output, Resource, SourceConfig, SourceContext};

pub(super) const EXAMPLE: &str = r#"type = "stdin"
# max_length = 102400
# decoding.codec = "bytes"
"#;

fn default_max_length() -> usize {
    strata_codecs::decoding::framing_default_max_length()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinConfig {
    /// The longest line in bytes; longer lines are discarded and counted. Default: 102400.
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    /// The field that receives this host's name; `""` leaves it out. Default: `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// How the input is split into frames. Default: `newline_delimited` with `max_length`.
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// How each frame becomes an event. Default: `bytes` (the frame is the `message`).
    #[serde(default)]
    pub decoding: DecodingConfig,
}

#[async_trait]
impl SourceConfig for StdinConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        Ok(Box::pin(super::source::run(self.clone(), cx)))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }

    fn resources(&self) -> Vec<Resource> {
        vec![Resource::Stdin]
    }

    fn validate(&self) -> Vec<String> {
        self.framing.as_ref().and_then(|f| f.validate().err()).into_iter().collect()
    }
}

impl StdinConfig {
    pub(super) fn framing(&self) -> FramingConfig {
        self.framing.clone().unwrap_or_else(|| FramingConfig::newline(self.max_length))
    }
}
