//! Sinks: where events leave the pipeline.

use async_trait::async_trait;
use futures::future::BoxFuture;
use strata_event::EventBatch;

use crate::{
    BufferReceiver, ComponentError, ComponentKey, ComponentMeta, ComponentMetrics, GlobalOptions,
    RejectedOutput,
};

/// Checks at start that the destination is reachable. Failure is logged, and fatal only with
/// `--require-healthy`.
pub type Healthcheck = BoxFuture<'static, Result<(), String>>;

/// A healthcheck that always passes, for sinks with nothing to check.
pub fn healthy() -> Healthcheck {
    Box::pin(async { Ok(()) })
}

/// Everything a sink may use while it is built.
pub struct SinkContext {
    pub key: ComponentKey,
    pub meta: ComponentMeta,
    pub globals: GlobalOptions,
    pub metrics: ComponentMetrics,
    /// True when sources wait for this sink's delivery outcome.
    pub acknowledgements: bool,
    /// The sink's `rejected` output (`<id>.rejected`): where it hands events its destination
    /// refused for good. The sink keeps it for as long as it runs.
    pub rejected: RejectedOutput,
}

/// A running sink. It reads its input until the input ends, delivers every batch, records each
/// batch's outcome on its finalizers, and returns.
#[async_trait]
pub trait Sink: Send + 'static {
    async fn run(self: Box<Self>, input: SinkInput) -> Result<(), ComponentError>;
}

/// A sink's input stream, counted as received.
pub struct SinkInput {
    rx: BufferReceiver,
    metrics: ComponentMetrics,
}

impl SinkInput {
    pub fn new(rx: BufferReceiver, metrics: ComponentMetrics) -> Self {
        Self { rx, metrics }
    }

    /// The next batch; `None` once every upstream has finished and the buffer is drained.
    pub async fn recv(&mut self) -> Option<EventBatch> {
        let batch = self.rx.recv().await?;
        self.metrics.received(batch.len(), 0);
        Some(batch)
    }

    /// The next batch if one is ready now, to coalesce small batches into one write.
    pub fn try_recv(&mut self) -> Option<EventBatch> {
        let batch = self.rx.try_recv()?;
        self.metrics.received(batch.len(), 0);
        Some(batch)
    }
}
