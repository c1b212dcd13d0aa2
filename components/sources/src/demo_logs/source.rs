//! The running `demo_logs` source.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use strata_codecs::{Decoder, FramingConfig};
use strata_core::{ComponentError, RateLimitedLog, SourceContext};
use strata_event::{EventBatch, EventMetadata};

use super::DemoLogsConfig;
use super::lines::line;
use crate::common::{StandardFields, report_bad_input};

/// Lines per batch when generating as fast as possible.
const FAST_BATCH: u64 = 500;

pub(super) async fn run(config: DemoLogsConfig, mut cx: SourceContext) -> Result<(), ComponentError> {
    let decoder = Decoder::new(&FramingConfig::default(), &config.decoding);
    let fields = StandardFields::new(&cx.globals.log_schema, "demo_logs", None);
    let limiter = RateLimitedLog::default();
    let mut rng = SmallRng::from_os_rng();
    let limit = config.count.unwrap_or(u64::MAX);
    let mut ticker = (config.interval > 0.0).then(|| {
        let mut interval = tokio::time::interval(Duration::from_secs_f64(config.interval));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    let mut produced = 0u64;
    while produced < limit {
        if let Some(ticker) = ticker.as_mut() {
            tokio::select! {
                biased;
                _ = cx.shutdown.recv() => return Ok(()),
                _ = ticker.tick() => {}
            }
        } else if cx.shutdown.is_triggered() {
            return Ok(());
        }
        let now = Utc::now();
        let metadata = EventMetadata::new(cx.source_id, "demo_logs", now);
        let count = if ticker.is_some() { 1 } else { FAST_BATCH.min(limit - produced) };
        let mut events = Vec::with_capacity(count as usize);
        let mut bytes = 0;
        for n in 0..count {
            let sequence = config.sequence.then_some(produced + n);
            let text = line(config.format, &mut rng, now, &config.lines, sequence);
            bytes += text.len();
            let start = events.len();
            if let Err(error) = decoder.deserialize(Bytes::from(text), &metadata, &mut events) {
                report_bad_input(&cx.metrics, &limiter, "decode_failed", &error);
            }
            for event in &mut events[start..] {
                fields.apply(event, now);
            }
        }
        produced += count;
        cx.metrics.received(events.len(), bytes);
        let send = cx.out.send_batch(EventBatch::new(events));
        tokio::select! {
            biased;
            _ = cx.shutdown.recv() => return Ok(()),
            sent = send => if sent.is_err() { return Ok(()) },
        }
        if ticker.is_none() {
            // Generating flat out must not starve the other tasks on this worker.
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}
