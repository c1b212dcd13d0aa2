//! The running `route` transform.

use std::sync::Arc;

use strata_core::{ComponentMetrics, RateLimitedLog, SyncTransform, TransformContext, TransformOutputsBuf};
use strata_event::{BatchStatus, Event};
use vrl::compiler::{Program, TimeZone};

use crate::vrl_program::{Runner, check_or_false};

pub(super) struct Route {
    /// One runner per route, in the order of the declared outputs.
    routes: Vec<Runner>,
    reroute_unmatched: bool,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Route {
    pub(super) fn new(
        programs: Vec<Arc<Program>>,
        timezone: TimeZone,
        reroute_unmatched: bool,
        cx: &TransformContext,
    ) -> Self {
        Self {
            routes: programs.into_iter().map(|program| Runner::new(program, timezone)).collect(),
            reroute_unmatched,
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }
}

impl SyncTransform for Route {
    fn clone_for_concurrency(&self) -> Option<Box<dyn SyncTransform>> {
        Some(Box::new(Self {
            routes: self.routes.iter().map(Runner::fork).collect(),
            reroute_unmatched: self.reroute_unmatched,
            metrics: self.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }))
    }

    fn transform(&mut self, mut event: Event, out: &mut TransformOutputsBuf) {
        let mut matched = Vec::with_capacity(self.routes.len());
        for (index, runner) in self.routes.iter_mut().enumerate() {
            if check_or_false(runner, &mut event, &self.metrics, &self.limiter, "route condition") {
                matched.push(index);
            }
        }
        match matched.split_last() {
            Some((last, rest)) => {
                for index in rest {
                    out.push_index(*index, event.clone());
                }
                out.push_index(*last, event);
            }
            None if self.reroute_unmatched => out.push_index(self.routes.len(), event),
            None => {
                self.metrics.discarded(1);
                event.take_finalizers().update_status(BatchStatus::Delivered);
            }
        }
    }
}
