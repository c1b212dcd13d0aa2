//! The running `filter` transform.

use std::sync::Arc;

use strata_core::{ComponentMetrics, RateLimitedLog, SyncTransform, TransformContext, TransformOutputsBuf};
use strata_event::{BatchStatus, Event};
use vrl::compiler::{Program, TimeZone};

use crate::vrl_program::{Runner, check_or_false};

pub(super) struct Filter {
    runner: Runner,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Filter {
    pub(super) fn new(program: Arc<Program>, timezone: TimeZone, cx: &TransformContext) -> Self {
        Self {
            runner: Runner::new(program, timezone),
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }
}

impl SyncTransform for Filter {
    fn clone_for_concurrency(&self) -> Option<Box<dyn SyncTransform>> {
        Some(Box::new(Self {
            runner: self.runner.fork(),
            metrics: self.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }))
    }

    fn transform(&mut self, mut event: Event, out: &mut TransformOutputsBuf) {
        let keep =
            check_or_false(&mut self.runner, &mut event, &self.metrics, &self.limiter, "filter condition");
        if keep {
            out.push(event);
        } else {
            self.metrics.discarded(1);
            // Filtering out is the pipeline's intent: the source may take the event as done.
            event.take_finalizers().update_status(BatchStatus::Delivered);
        }
    }
}
