//! Batches: the unit in which events move between tasks.

use crate::{BatchStatus, Event, EventFinalizers};

/// Events that travel together through a channel.
///
/// Channels carry batches so that per-message costs (a channel send, a wake-up, a metric update)
/// are paid once per batch rather than once per event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventBatch {
    events: Vec<Event>,
}

impl EventBatch {
    pub fn new(events: Vec<Event>) -> Self {
        Self { events }
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Self { events: Vec::with_capacity(capacity) }
    }

    pub fn push(&mut self, event: impl Into<Event>) {
        self.events.push(event.into());
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn events_mut(&mut self) -> &mut Vec<Event> {
        &mut self.events
    }

    pub fn into_events(self) -> Vec<Event> {
        self.events
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.events.iter()
    }

    /// Takes every event's finalizers, merged, leaving the events with none.
    pub fn take_finalizers(&mut self) -> EventFinalizers {
        let mut all = EventFinalizers::default();
        for event in &mut self.events {
            let finalizers = event.take_finalizers();
            if !finalizers.is_empty() {
                all.merge(finalizers);
            }
        }
        all
    }

    /// Records a delivery outcome for every event of the batch and drops their references.
    pub fn finalize(mut self, status: BatchStatus) {
        self.take_finalizers().update_status(status);
    }

    /// The summed [`Event::estimated_size`] of the batch.
    pub fn estimated_size(&self) -> usize {
        self.events.iter().map(Event::estimated_size).sum()
    }
}

impl From<Vec<Event>> for EventBatch {
    fn from(events: Vec<Event>) -> Self {
        Self { events }
    }
}

impl From<Event> for EventBatch {
    fn from(event: Event) -> Self {
        Self { events: vec![event] }
    }
}

impl IntoIterator for EventBatch {
    type Item = Event;
    type IntoIter = std::vec::IntoIter<Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

impl Extend<Event> for EventBatch {
    fn extend<T: IntoIterator<Item = Event>>(&mut self, iter: T) {
        self.events.extend(iter);
    }
}
