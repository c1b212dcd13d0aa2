//! What a running source gets: its context and the sender for its outputs.

use futures::future::BoxFuture;
use strata_event::{Event, EventBatch, SourceId};

use crate::{
    ComponentError, ComponentKey, ComponentMeta, ComponentMetrics, Fanout, GlobalOptions, ShutdownSignal,
};

/// A running source: a future that reads until its input ends or shutdown is signalled.
pub type Source = BoxFuture<'static, Result<(), ComponentError>>;

/// Everything a source may use. It never sees the topology.
pub struct SourceContext {
    pub key: ComponentKey,
    pub meta: ComponentMeta,
    /// The interned id stamped on every event's metadata.
    pub source_id: SourceId,
    pub globals: GlobalOptions,
    pub shutdown: ShutdownSignal,
    pub out: SourceSender,
    /// True when at least one sink downstream wants delivery acknowledged.
    pub acknowledgements: bool,
    pub metrics: ComponentMetrics,
}

/// Sends a source's batches to its outputs, counting them.
pub struct SourceSender {
    default: Option<Fanout>,
    named: Vec<(String, Fanout)>,
    metrics: ComponentMetrics,
}

impl std::fmt::Debug for SourceSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSender").field("default", &self.default).finish_non_exhaustive()
    }
}

/// Every downstream consumer is gone; the source should stop.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no component is receiving this source's events any more")]
pub struct SendClosed;

impl SourceSender {
    pub fn new(default: Option<Fanout>, named: Vec<(String, Fanout)>, metrics: ComponentMetrics) -> Self {
        Self { default, named, metrics }
    }

    /// Sends a batch to the default output, waiting while downstream is full.
    pub async fn send_batch(&mut self, batch: EventBatch) -> Result<(), SendClosed> {
        if batch.is_empty() {
            return Ok(());
        }
        let events = batch.len();
        let Some(fanout) = self.default.as_mut() else {
            return Err(SendClosed);
        };
        if fanout.send(batch).await == 0 {
            return Err(SendClosed);
        }
        self.metrics.sent(events, 0);
        Ok(())
    }

    pub async fn send_event(&mut self, event: impl Into<Event>) -> Result<(), SendClosed> {
        self.send_batch(EventBatch::from(event.into())).await
    }

    /// Sends a batch to a named output.
    pub async fn send_batch_to(&mut self, port: &str, batch: EventBatch) -> Result<(), SendClosed> {
        let events = batch.len();
        let Some((_, fanout)) = self.named.iter_mut().find(|(name, _)| name == port) else {
            return Err(SendClosed);
        };
        if fanout.send(batch).await == 0 {
            return Err(SendClosed);
        }
        self.metrics.sent_to(port, events);
        Ok(())
    }
}
