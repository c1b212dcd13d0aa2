//! Options of the `internal_metrics` source.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, SourceConfig, SourceContext};

pub(super) const EXAMPLE: &str = r#"type = "internal_metrics"
scrape_interval_secs = 2.0
"#;

fn default_interval() -> f64 {
    1.0
}

fn default_namespace() -> String {
    "strata".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalMetricsConfig {
    /// Seconds between snapshots. Default: 1.0.
    #[serde(default = "default_interval")]
    pub scrape_interval_secs: f64,
    /// The namespace of every metric. Default: `strata`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

#[async_trait]
impl SourceConfig for InternalMetricsConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        Ok(Box::pin(super::source::run(self.clone(), cx)))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::METRIC)]
    }

    fn validate(&self) -> Vec<String> {
        if self.scrape_interval_secs.is_finite() && self.scrape_interval_secs > 0.0 {
            Vec::new()
        } else {
            vec![format!(
                "option `scrape_interval_secs`: must be above zero, got {}",
                self.scrape_interval_secs
            )]
        }
    }
}
