//! Cutting the input into request batches by event count and size.

use strata_event::Event;

/// One request's worth of events. They keep their finalizers: the driver decides, when it encodes
/// them, whether to keep the events for the sink's `rejected` output.
#[derive(Debug, Default)]
pub(crate) struct RequestBatch {
    pub(crate) events: Vec<Event>,
    /// The summed estimated size of `events`.
    pub(crate) bytes: usize,
}

/// Accumulates events into one open batch and hands out full batches.
#[derive(Debug)]
pub(crate) struct Batcher {
    max_events: usize,
    max_bytes: usize,
    open: RequestBatch,
}

impl Batcher {
    pub(crate) fn new(max_events: usize, max_bytes: usize) -> Self {
        Self { max_events, max_bytes, open: RequestBatch::default() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.open.events.is_empty()
    }

    /// Adds `event`; pushes every batch that became full onto `ready`. An event that would take
    /// the open batch past `max_bytes` closes it first, and one larger than `max_bytes` goes
    /// alone.
    pub(crate) fn push(&mut self, event: Event, ready: &mut Vec<RequestBatch>) {
        let size = event.estimated_size();
        if !self.is_empty() && self.open.bytes + size > self.max_bytes {
            ready.push(self.take());
        }
        self.open.events.push(event);
        self.open.bytes += size;
        if self.open.events.len() >= self.max_events || self.open.bytes >= self.max_bytes {
            ready.push(self.take());
        }
    }

    /// The open batch, leaving an empty one.
    pub(crate) fn take(&mut self) -> RequestBatch {
        std::mem::take(&mut self.open)
    }
}
