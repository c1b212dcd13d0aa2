//! The running `sample` transform.

use std::sync::Arc;

use strata_core::{ComponentMetrics, RateLimitedLog, SyncTransform, TransformContext, TransformOutputsBuf};
use strata_event::{BatchStatus, Event, Value};
use vrl::compiler::{Program, TimeZone};
use vrl::path::OwnedValuePath;

use crate::vrl_program::{Runner, check_or_false};

pub(super) struct Sample {
    rate: u64,
    key_field: Option<OwnedValuePath>,
    rate_field: Option<OwnedValuePath>,
    /// The rate as a string, built once: what `sample_rate_key` receives.
    rate_value: Value,
    exclude: Option<Runner>,
    /// Position in the current run of `rate` events without a key.
    counter: u64,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Sample {
    pub(super) fn new(
        rate: u64,
        key_field: Option<OwnedValuePath>,
        rate_field: Option<OwnedValuePath>,
        exclude: Option<Arc<Program>>,
        timezone: TimeZone,
        cx: &TransformContext,
    ) -> Self {
        Self {
            rate,
            key_field,
            rate_field,
            rate_value: Value::from(rate.to_string()),
            exclude: exclude.map(|program| Runner::new(program, timezone)),
            counter: 0,
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }

    /// True when `exclude` is set and true. A failing condition counts as false: the event is
    /// then sampled like any other.
    fn excluded(&mut self, event: &mut Event) -> bool {
        let Some(runner) = self.exclude.as_mut() else { return false };
        check_or_false(runner, event, &self.metrics, &self.limiter, "sample exclude condition")
    }

    fn keep(&mut self, event: &Event) -> bool {
        let key = self.key_field.as_ref().and_then(|path| field(event, path));
        match key {
            Some(value) => key_hash(value).is_multiple_of(self.rate),
            None => {
                let keep = self.counter == 0;
                self.counter = (self.counter + 1) % self.rate;
                keep
            }
        }
    }
}

impl SyncTransform for Sample {
    fn transform(&mut self, mut event: Event, out: &mut TransformOutputsBuf) {
        if self.excluded(&mut event) {
            return out.push(event);
        }
        if self.keep(&event) {
            if let Some(path) = &self.rate_field {
                insert(&mut event, path, self.rate_value.clone());
            }
            out.push(event);
        } else {
            self.metrics.discarded(1);
            // Sampling out is the pipeline's intent: the source may take the event as done.
            event.take_finalizers().update_status(BatchStatus::Delivered);
        }
    }
}

fn field<'a>(event: &'a Event, path: &OwnedValuePath) -> Option<&'a Value> {
    match event {
        Event::Log(log) => log.get_path(path),
        Event::Trace(trace) => trace.value().get(path),
        Event::Metric(_) => None,
    }
}

fn insert(event: &mut Event, path: &OwnedValuePath, value: Value) {
    match event {
        Event::Log(log) => {
            log.insert_path(path, value);
        }
        Event::Trace(trace) => {
            trace.value_mut().insert(path, value);
        }
        Event::Metric(_) => {}
    }
}

/// A hash of the key's text that is the same on every run, build and machine, so several agents
/// sampling the same stream keep the same keys: FNV-1a, then a 64-bit finalizer so that the low
/// bits, which the modulo uses, depend on every input byte.
fn key_hash(value: &Value) -> u64 {
    let text = value.to_string_lossy();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}
