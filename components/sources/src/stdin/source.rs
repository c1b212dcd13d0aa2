//! The running `stdin` source.
//!
//! A dedicated thread reads standard input, frames and decodes it, and hands finished batches to
//! the source task over a small bounded channel; the task sends them into the pipeline. Decoding
//! on the reader thread puts it on a core of its own, beside the tasks downstream. When the
//! pipeline is slow the channel fills, the thread blocks, and no more input is read. On shutdown
//! the task returns at once; the thread notices when its next batch cannot be handed over.

use std::io::Read;

use bytes::BytesMut;
use chrono::Utc;
use strata_codecs::{Decoder, FrameError};
use strata_core::{ComponentError, ComponentMetrics, RateLimitedLog, SourceContext};
use strata_event::{Event, EventBatch, EventMetadata, SourceId};
use tokio::sync::mpsc;

use super::StdinConfig;
use crate::common::{StandardFields, report_bad_input};

const READ_SIZE: usize = 128 * 1024;

/// What the reader thread hands to the source task.
enum Chunk {
    /// Decoded events and the raw bytes they came from.
    Events(Vec<Event>, usize),
    Failed(std::io::Error),
}

struct Reader {
    decoder: Decoder,
    /// Set when frames become events as they are (`decoding.codec = "bytes"`): the fast path.
    raw: bool,
    fields: StandardFields,
    source_id: SourceId,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Reader {
    /// Frames and decodes everything complete in `buffer` (and the rest, at the end).
    fn decode(&mut self, buffer: &mut BytesMut, at_end: bool) -> Vec<Event> {
        let now = Utc::now();
        let metadata = EventMetadata::new(self.source_id, "stdin", now);
        let mut events = Vec::new();
        loop {
            let frame = match self.decoder.framer.next_frame(buffer) {
                Ok(None) if at_end => self.decoder.framer.finish(buffer),
                other => other,
            };
            match frame {
                Ok(Some(frame)) if self.raw => {
                    events.push(self.fields.raw_log(frame, metadata.clone(), now));
                }
                Ok(Some(frame)) => {
                    let start = events.len();
                    if let Err(error) = self.decoder.deserialize(frame, &metadata, &mut events) {
                        report_bad_input(&self.metrics, &self.limiter, "decode_failed", &error);
                    }
                    for event in &mut events[start..] {
                        self.fields.apply(event, now);
                    }
                }
                Ok(None) => break,
                Err(error @ FrameError::TooLong { .. }) => {
                    report_bad_input(&self.metrics, &self.limiter, "oversized", &error)
                }
            }
        }
        events
    }

    fn run(mut self, mut input: impl Read, tx: mpsc::Sender<Chunk>) {
        let mut chunk = vec![0u8; READ_SIZE];
        let mut buffer = BytesMut::with_capacity(READ_SIZE * 2);
        loop {
            let (read, at_end) = match input.read(&mut chunk) {
                Ok(0) => (0, true),
                Ok(n) => (n, false),
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    let _ = tx.blocking_send(Chunk::Failed(error));
                    return;
                }
            };
            buffer.extend_from_slice(&chunk[..read]);
            let events = self.decode(&mut buffer, at_end);
            if (!events.is_empty() || read > 0) && tx.blocking_send(Chunk::Events(events, read)).is_err() {
                return;
            }
            if at_end {
                return;
            }
        }
    }
}

pub(super) async fn run(config: StdinConfig, cx: SourceContext) -> Result<(), ComponentError> {
    run_with_input(config, cx, || std::io::stdin().lock()).await
}

/// The source reading from what `input` opens on the reader thread: standard input, or bytes
/// in tests.
pub(super) async fn run_with_input<R: Read>(
    config: StdinConfig,
    mut cx: SourceContext,
    input: impl FnOnce() -> R + Send + 'static,
) -> Result<(), ComponentError> {
    let (tx, mut rx) = mpsc::channel(4);
    let raw = config.decoding.codec == strata_codecs::DeserializerConfig::Bytes;
    let reader = Reader {
        raw,
        decoder: Decoder::new(&config.framing(), &config.decoding),
        fields: StandardFields::new(&cx.globals.log_schema, "stdin", config.host_key.as_deref()),
        source_id: cx.source_id,
        metrics: cx.metrics.clone(),
        limiter: RateLimitedLog::default(),
    };
    std::thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || reader.run(input(), tx))
        .map_err(|e| ComponentError::new(format!("cannot start the stdin reader thread: {e}")))?;
    loop {
        let chunk = tokio::select! {
            biased;
            _ = cx.shutdown.recv() => return Ok(()),
            chunk = rx.recv() => chunk,
        };
        match chunk {
            Some(Chunk::Events(events, bytes)) => {
                cx.metrics.received(events.len(), bytes);
                if cx.out.send_batch(EventBatch::new(events)).await.is_err() {
                    return Ok(());
                }
            }
            Some(Chunk::Failed(error)) => {
                return Err(ComponentError::new(format!("reading standard input failed: {error}")));
            }
            None => return Ok(()),
        }
    }
}
