//! The running `throttle` transform: one rate limiter per key, on an injectable clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_core::{ComponentMetrics, RateLimitedLog, SyncTransform, TransformContext, TransformOutputsBuf};
use strata_event::{BatchStatus, Event, Value};
use vrl::compiler::{Program, TimeZone};
use vrl::path::OwnedValuePath;

use crate::vrl_program::{Runner, check_or_false};

/// Where the transform reads the time; tests use a clock they move by hand.
pub(super) trait Clock: Send + 'static {
    fn now(&self) -> Instant;
}

pub(super) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The generic cell rate algorithm's two constants, derived from `threshold` per `window`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The time one event "costs": `window / threshold`.
    interval: Duration,
    /// How far ahead of now a bucket may be booked: `window - interval`, so that a bucket at
    /// rest admits a burst of exactly `threshold`.
    tolerance: Duration,
    window: Duration,
}

impl Limits {
    pub(super) fn new(threshold: u32, window: Duration) -> Self {
        let interval = window / threshold.max(1);
        Self { interval, tolerance: window.saturating_sub(interval), window }
    }
}

/// The state of one bucket: the theoretical arrival time of its next event. A bucket whose time
/// is not in the future is as good as new, which is what lets idle buckets be forgotten.
type Booked = Instant;

pub(super) struct Throttle<C> {
    limits: Limits,
    key_field: Option<OwnedValuePath>,
    exclude: Option<Runner>,
    /// `None` is the bucket of events without the key field (or of all events, without one).
    buckets: HashMap<Option<Value>, Booked>,
    /// When buckets at rest were last forgotten; done at most once per window.
    last_sweep: Instant,
    clock: C,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl<C: Clock> Throttle<C> {
    pub(super) fn new(
        limits: Limits,
        key_field: Option<OwnedValuePath>,
        exclude: Option<Arc<Program>>,
        timezone: TimeZone,
        clock: C,
        cx: &TransformContext,
    ) -> Self {
        Self {
            limits,
            key_field,
            exclude: exclude.map(|program| Runner::new(program, timezone)),
            buckets: HashMap::new(),
            last_sweep: clock.now(),
            clock,
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }

    /// True when `exclude` is set and true. A failing condition counts as false: the event is
    /// then throttled like any other.
    fn excluded(&mut self, event: &mut Event) -> bool {
        let Some(runner) = self.exclude.as_mut() else { return false };
        check_or_false(runner, event, &self.metrics, &self.limiter, "throttle exclude condition")
    }

    fn key(&self, event: &Event) -> Option<Value> {
        let path = self.key_field.as_ref()?;
        match event {
            Event::Log(log) => log.get_path(path).cloned(),
            Event::Trace(trace) => trace.value().get(path).cloned(),
            Event::Metric(_) => None,
        }
    }

    /// Books one event in the bucket of `key` at `now`; false when the bucket is full.
    fn admit(&mut self, key: Option<Value>, now: Instant) -> bool {
        let booked = self.buckets.get(&key).copied().map_or(now, |booked| booked.max(now));
        if booked.saturating_duration_since(now) > self.limits.tolerance {
            return false;
        }
        self.buckets.insert(key, booked + self.limits.interval);
        true
    }

    /// Forgets buckets at rest, so that a key seen once does not stay in memory for ever.
    fn sweep(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sweep) >= self.limits.window {
            self.buckets.retain(|_, booked| *booked > now);
            self.last_sweep = now;
        }
    }

    #[cfg(test)]
    pub(super) fn bucket_count(&self) -> usize {
        self.buckets.len()
    }
}

impl<C: Clock> SyncTransform for Throttle<C> {
    fn transform(&mut self, mut event: Event, out: &mut TransformOutputsBuf) {
        if self.excluded(&mut event) {
            return out.push(event);
        }
        let now = self.clock.now();
        self.sweep(now);
        let key = self.key(&event);
        if self.admit(key, now) {
            out.push(event);
        } else {
            self.metrics.discarded(1);
            // Throttling is the pipeline's intent: the source may take the event as done.
            event.take_finalizers().update_status(BatchStatus::Delivered);
        }
    }
}
