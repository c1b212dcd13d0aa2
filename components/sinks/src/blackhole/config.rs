//! Options of the `blackhole` sink.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::sink::healthy;
use strata_core::{BuildError, DataType, Healthcheck, Sink, SinkConfig, SinkContext};

pub(super) const EXAMPLE: &str = r#"type = "blackhole"
inputs = ["my_source"]
print_interval_secs = 10
"#;

fn default_print_interval() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackholeConfig {
    /// Log how many events arrived every this many seconds; 0 turns it off. Default: 1.
    #[serde(default = "default_print_interval")]
    pub print_interval_secs: u64,
    /// Take at most this many events per second, to simulate a slow destination. Default: no
    /// limit.
    #[serde(default)]
    pub rate: Option<u64>,
}

#[async_trait]
impl SinkConfig for BlackholeConfig {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        if self.rate == Some(0) {
            return Err(BuildError::new("option `rate`: must be above zero"));
        }
        Ok((Box::new(super::sink::Blackhole::new(self.clone(), cx.metrics)), healthy()))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }
}
