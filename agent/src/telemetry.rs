//! The agent's own logs and metrics.

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use metrics_util::layers::FanoutBuilder;
use strata_core::telemetry::InternalRegistry;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Logs go to standard error; the level comes from `AGENT_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("AGENT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // A second initialisation (tests) is harmless; ignore it.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Installs the metrics recorder: Prometheus for `/metrics` and the internal registry for the
/// `internal_metrics` source, fed by the same calls. Returns the handle `/metrics` renders.
pub fn install_metrics(expire_after: Option<Duration>) -> anyhow::Result<PrometheusHandle> {
    let mut builder = PrometheusBuilder::new();
    if let Some(expire_after) = expire_after {
        builder = builder.idle_timeout(MetricKindMask::ALL, Some(expire_after));
    }
    let prometheus = builder.build_recorder();
    let handle = prometheus.handle();
    let internal = InternalRegistry::default();
    InternalRegistry::set_global(internal.clone());
    let fanout = FanoutBuilder::default().add_recorder(prometheus).add_recorder(internal).build();
    metrics::set_global_recorder(fanout)
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    Ok(handle)
}
