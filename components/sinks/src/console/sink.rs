//! The running `console` sink.

use async_trait::async_trait;
use strata_codecs::Encoder;
use strata_core::{ComponentError, ComponentMetrics, Sink, SinkInput};
use strata_event::{BatchStatus, EventBatch};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::ConsoleTarget;
use crate::coalesce::{WRITE_SIZE, encode_ready};

pub(crate) struct ConsoleSink {
    target: ConsoleTarget,
    encoder: Encoder,
    metrics: ComponentMetrics,
}

impl ConsoleSink {
    pub(crate) fn new(target: ConsoleTarget, encoder: Encoder, metrics: ComponentMetrics) -> Self {
        Self { target, encoder, metrics }
    }

    /// Encodes, writes and finalizes everything from `input` into `writer` until the input ends.
    pub(crate) async fn run_with<W: AsyncWrite + Unpin + Send>(
        &self,
        mut input: SinkInput,
        writer: &mut W,
    ) -> Result<(), ComponentError> {
        let mut out = Vec::with_capacity(WRITE_SIZE);
        let mut pending: Vec<EventBatch> = Vec::new();
        while let Some(first) = input.recv().await {
            let events = encode_ready(first, &mut input, &self.encoder, &mut out, &mut pending);
            let written = writer.write_all(&out).await;
            let written = match written {
                Ok(()) => writer.flush().await,
                Err(error) => Err(error),
            };
            if let Err(error) = written {
                for batch in pending.drain(..) {
                    batch.finalize(BatchStatus::Errored);
                }
                self.metrics.error("write_failed", "sending");
                return Err(ComponentError::new(format!("writing to {:?} failed: {error}", self.target)));
            }
            self.metrics.sent(events, out.len());
            for batch in pending.drain(..) {
                batch.finalize(BatchStatus::Delivered);
            }
            out.clear();
        }
        Ok(())
    }
}

#[async_trait]
impl Sink for ConsoleSink {
    async fn run(self: Box<Self>, input: SinkInput) -> Result<(), ComponentError> {
        match self.target {
            ConsoleTarget::Stdout => self.run_with(input, &mut tokio::io::stdout()).await,
            ConsoleTarget::Stderr => self.run_with(input, &mut tokio::io::stderr()).await,
        }
    }
}
