//! The running `dedupe` transform.

use strata_core::{ComponentMetrics, SyncTransform, TransformContext, TransformOutputsBuf};
use strata_event::{BatchStatus, Event, LogEvent, Value};

use super::cache::LruSet;
use super::config::Comparison;

/// What identifies an event: the compared values, `None` where a matched field is missing, so
/// that a missing field and a null one differ.
type Key = Vec<Option<Value>>;

pub(super) struct Dedupe {
    comparison: Comparison,
    seen: LruSet<Key>,
    metrics: ComponentMetrics,
}

impl Dedupe {
    pub(super) fn new(comparison: Comparison, num_events: usize, cx: &TransformContext) -> Self {
        Self { comparison, seen: LruSet::new(num_events), metrics: cx.metrics.clone() }
    }

    fn key(&self, log: &LogEvent) -> Key {
        match &self.comparison {
            Comparison::Match(paths) => paths.iter().map(|path| log.get_path(path).cloned()).collect(),
            Comparison::Ignore(paths) => {
                let mut fields = log.value().clone();
                for path in paths {
                    fields.remove(path, true);
                }
                vec![Some(fields)]
            }
        }
    }
}

impl SyncTransform for Dedupe {
    fn transform(&mut self, mut event: Event, out: &mut TransformOutputsBuf) {
        // Only logs are declared as input; anything else passes untouched.
        let Event::Log(log) = &event else { return out.push(event) };
        let key = self.key(log);
        if self.seen.touch(key) {
            self.metrics.discarded(1);
            // Dropping a repeat is the pipeline's intent: the source may take it as done.
            event.take_finalizers().update_status(BatchStatus::Delivered);
        } else {
            out.push(event);
        }
    }
}
