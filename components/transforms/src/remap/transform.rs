//! The running `remap` transform.

use std::sync::Arc;

use strata_core::{ComponentMetrics, RateLimitedLog, SyncTransform, TransformContext, TransformOutputsBuf};
use strata_event::{BatchStatus, Event, KeyString, ObjectMap, Value};
use vrl::compiler::runtime::Terminate;
use vrl::compiler::{Program, TimeZone};

use super::{DROPPED, RemapConfig};
use crate::vrl_program::Runner;

pub(super) struct Remap {
    runner: Runner,
    /// Keep a copy of each event to pass on or reroute when the program fails.
    keep_original: bool,
    drop_on_error: bool,
    drop_on_abort: bool,
    reroute_dropped: bool,
    component_id: String,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Remap {
    pub(super) fn new(
        config: &RemapConfig,
        program: Arc<Program>,
        timezone: TimeZone,
        cx: &TransformContext,
    ) -> Self {
        let info = program.info();
        let forward_on_error = !config.drop_on_error || config.reroute_dropped;
        let forward_on_abort = !config.drop_on_abort || config.reroute_dropped;
        // Copying costs a deep copy on first write, so only programs that can fail pay for it.
        let keep_original = (info.fallible && forward_on_error) || (info.abortable && forward_on_abort);
        Self {
            runner: Runner::new(program, timezone),
            keep_original,
            drop_on_error: config.drop_on_error,
            drop_on_abort: config.drop_on_abort,
            reroute_dropped: config.reroute_dropped,
            component_id: cx.key.id().to_owned(),
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }

    fn emit(&self, mut event: Event, out: &mut TransformOutputsBuf) {
        // A program may replace the root with an array of objects: one event each.
        let array = match &mut event {
            Event::Log(log) => match log.value_mut() {
                Value::Array(items) => Some(std::mem::take(items)),
                _ => None,
            },
            _ => None,
        };
        match array {
            None => out.push(event),
            Some(items) => {
                let Event::Log(log) = event else { return };
                let (_, metadata) = log.into_parts();
                for item in items {
                    out.push(Event::Log(strata_event::LogEvent::from_value(item, metadata.clone())));
                }
            }
        }
    }

    /// Handles a failed run. `finalizers` are the failed event's; when no copy was kept they are
    /// the only record of the event, and report it rejected.
    fn failed(
        &self,
        original: Option<Event>,
        finalizers: strata_event::EventFinalizers,
        reason: &'static str,
        message: String,
        out: &mut TransformOutputsBuf,
    ) {
        let drop = if reason == "abort" { self.drop_on_abort } else { self.drop_on_error };
        if reason == "error" {
            self.metrics.error("conversion_failed", "processing");
        }
        if let Some(suppressed) = self.limiter.check() {
            tracing::warn!(reason, suppressed, "VRL program failed: {message}");
        }
        let Some(mut original) = original else {
            self.metrics.discarded(1);
            finalizers.update_status(BatchStatus::Rejected);
            return;
        };
        if self.reroute_dropped {
            if let Event::Log(log) = &mut original {
                let mut dropped = ObjectMap::new();
                dropped.insert(KeyString::from("reason"), Value::from(reason));
                dropped.insert(KeyString::from("message"), Value::from(message));
                dropped.insert(KeyString::from("component_id"), Value::from(self.component_id.as_str()));
                dropped.insert(KeyString::from("component_type"), Value::from("remap"));
                dropped.insert(KeyString::from("component_kind"), Value::from("transform"));
                log.insert("metadata.dropped", Value::Object(dropped));
            }
            out.push_named(DROPPED, original);
        } else if drop {
            self.metrics.discarded(1);
            original.take_finalizers().update_status(BatchStatus::Rejected);
        } else {
            out.push(original);
        }
    }
}

impl SyncTransform for Remap {
    fn clone_for_concurrency(&self) -> Option<Box<dyn SyncTransform>> {
        Some(Box::new(Self {
            runner: self.runner.fork(),
            keep_original: self.keep_original,
            drop_on_error: self.drop_on_error,
            drop_on_abort: self.drop_on_abort,
            reroute_dropped: self.reroute_dropped,
            component_id: self.component_id.clone(),
            metrics: self.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }))
    }

    fn transform(&mut self, mut event: Event, out: &mut TransformOutputsBuf) {
        let original = self.keep_original.then(|| event.clone());
        let (reason, message) = match self.runner.run(&mut event) {
            Ok(_) => return self.emit(event, out),
            Err(Terminate::Abort(error)) => ("abort", error.to_string()),
            Err(Terminate::Error(error)) => ("error", error.to_string()),
            Err(Terminate::Interrupted) => ("error", "interrupted".to_owned()),
        };
        let finalizers = event.take_finalizers();
        self.failed(original, finalizers, reason, message, out);
    }
}
