//! The running `blackhole` sink.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use strata_core::{ComponentError, ComponentMetrics, Sink, SinkInput};
use strata_event::BatchStatus;

use super::BlackholeConfig;

pub(crate) struct Blackhole {
    config: BlackholeConfig,
    metrics: ComponentMetrics,
}

impl Blackhole {
    pub(crate) fn new(config: BlackholeConfig, metrics: ComponentMetrics) -> Self {
        Self { config, metrics }
    }

    /// Consumes the input; returns the number of events and their estimated bytes.
    pub(crate) async fn consume(&self, mut input: SinkInput) -> (u64, u64) {
        let print_every = (self.config.print_interval_secs > 0)
            .then(|| Duration::from_secs(self.config.print_interval_secs));
        let started = Instant::now();
        let mut last_print = Instant::now();
        let (mut events, mut bytes) = (0u64, 0u64);
        while let Some(batch) = input.recv().await {
            let count = batch.len() as u64;
            // Sizing walks every event; only pay for it when someone will read the number.
            let size = if print_every.is_some() { batch.estimated_size() as u64 } else { 0 };
            events += count;
            bytes += size;
            self.metrics.sent(count as usize, size as usize);
            batch.finalize(BatchStatus::Delivered);
            if let Some(rate) = self.config.rate {
                let due = Duration::from_secs_f64(events as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            if let Some(every) = print_every
                && last_print.elapsed() >= every
            {
                tracing::info!(events, bytes, "collected events");
                last_print = Instant::now();
            }
        }
        if print_every.is_some() {
            tracing::info!(events, bytes, "collected events; input ended");
        }
        (events, bytes)
    }
}

#[async_trait]
impl Sink for Blackhole {
    async fn run(self: Box<Self>, input: SinkInput) -> Result<(), ComponentError> {
        self.consume(input).await;
        Ok(())
    }
}
