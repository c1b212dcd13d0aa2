//! The running `stdin` source.
//!
//! A dedicated thread does the blocking reads and hands raw chunks to the source task over a
//! small bounded channel. The task frames and decodes them and sends one batch per chunk. When the
//! pipeline is slow, the channel fills, the thread blocks, and no more input is read. On shutdown
//! the task returns at once; the thread notices on its next chunk and exits.

use std::io::Read;

use bytes::{Bytes, BytesMut};
use chrono::Utc;
use strata_codecs::{Decoder, FrameError};
use strata_core::{ComponentError, RateLimitedLog, SourceContext};
use strata_event::{EventBatch, EventMetadata};
use tokio::sync::mpsc;

use super::StdinConfig;
use crate::common::{StandardFields, report_bad_input};

const READ_SIZE: usize = 128 * 1024;

fn spawn_reader(tx: mpsc::Sender<std::io::Result<Bytes>>) -> std::io::Result<()> {
    std::thread::Builder::new().name("stdin-reader".into()).spawn(move || {
        let stdin = std::io::stdin();
        let mut stdin = stdin.lock();
        loop {
            let mut chunk = vec![0u8; READ_SIZE];
            let result = match stdin.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    chunk.truncate(n);
                    Ok(Bytes::from(chunk))
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => Err(error),
            };
            let failed = result.is_err();
            if tx.blocking_send(result).is_err() || failed {
                break;
            }
        }
    })?;
    Ok(())
}

pub(super) async fn run(config: StdinConfig, mut cx: SourceContext) -> Result<(), ComponentError> {
    let (tx, mut rx) = mpsc::channel(4);
    spawn_reader(tx).map_err(|e| ComponentError::new(format!("cannot start the stdin reader thread: {e}")))?;
    let mut decoder = Decoder::new(&config.framing(), &config.decoding);
    let fields = StandardFields::new(&cx.globals.log_schema, "stdin", config.host_key.as_deref());
    let limiter = RateLimitedLog::default();
    let mut buffer = BytesMut::with_capacity(READ_SIZE * 2);
    loop {
        let chunk = tokio::select! {
            biased;
            _ = cx.shutdown.recv() => return Ok(()),
            chunk = rx.recv() => chunk,
        };
        let at_end = match chunk {
            Some(Ok(chunk)) => {
                cx.metrics.received_bytes(chunk.len());
                buffer.extend_from_slice(&chunk);
                false
            }
            Some(Err(error)) => return Err(ComponentError::new(format!("reading standard input failed: {error}"))),
            None => true,
        };
        let now = Utc::now();
        let metadata = EventMetadata::new(cx.source_id, "stdin", now);
        let mut events = Vec::new();
        loop {
            let frame = match decoder.framer.next_frame(&mut buffer) {
                Ok(None) if at_end => decoder.framer.finish(&mut buffer),
                other => other,
            };
            match frame {
                Ok(Some(frame)) => {
                    let start = events.len();
                    if let Err(error) = decoder.deserialize(frame, &metadata, &mut events) {
                        report_bad_input(&cx.metrics, &limiter, "decode_failed", &error);
                    }
                    for event in &mut events[start..] {
                        fields.apply(event, now);
                    }
                }
                Ok(None) => break,
                Err(error @ FrameError::TooLong { .. }) => report_bad_input(&cx.metrics, &limiter, "oversized", &error),
            }
        }
        if !events.is_empty() {
            cx.metrics.received(events.len(), 0);
            if cx.out.send_batch(EventBatch::new(events)).await.is_err() {
                return Ok(());
            }
        }
        if at_end {
            return Ok(());
        }
    }
}
