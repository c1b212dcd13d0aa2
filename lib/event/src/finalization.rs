//! Delivery finalizers: how a sink tells a source that the events it emitted were delivered.
//!
//! A source that can acknowledge (a file checkpoint, an HTTP response, a Kafka offset) creates one
//! [`BatchNotifier`] per batch it emits and attaches it to every event of the batch. Each event
//! holds a reference; fanned-out copies share it. Sinks record an outcome with
//! [`EventFinalizers::update_status`]. When the last reference is dropped the source's
//! [`BatchReceipt`] resolves to the worst outcome recorded: one sink's failure outweighs another
//! sink's success.
//!
//! A reference dropped without any outcome counts as [`BatchStatus::Errored`]: an event that leaves
//! the pipeline by an unplanned path (a panic, a bug) is never taken as delivered. Components that
//! drop events on purpose (a filter) record [`BatchStatus::Delivered`] first.
//!
//! Without acknowledgements no notifier exists, and finalizers cost nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures::channel::oneshot;
use smallvec::SmallVec;

/// The outcome of delivering a batch, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BatchStatus {
    /// Every event reached its destination, or was dropped on purpose by the pipeline.
    Delivered,
    /// Delivery failed in a way that may succeed if tried again; the source should not commit.
    Errored,
    /// A destination refused the events for good (a 400, a schema error); retrying will not help.
    Rejected,
}

const UNSET: u8 = 0;

impl BatchStatus {
    fn to_u8(self) -> u8 {
        match self {
            BatchStatus::Delivered => 1,
            BatchStatus::Errored => 2,
            BatchStatus::Rejected => 3,
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            1 => BatchStatus::Delivered,
            3 => BatchStatus::Rejected,
            // UNSET lands here on purpose: see the module documentation.
            _ => BatchStatus::Errored,
        }
    }
}

/// Collects the delivery outcome of one batch and reports it when the last event is finalized.
#[derive(Debug)]
pub struct BatchNotifier {
    status: AtomicU8,
    sender: Mutex<Option<oneshot::Sender<BatchStatus>>>,
}

impl BatchNotifier {
    /// A notifier to attach to a batch's events, and the receipt the source awaits.
    pub fn new() -> (Arc<Self>, BatchReceipt) {
        let (sender, receiver) = oneshot::channel();
        let notifier = Arc::new(Self { status: AtomicU8::new(UNSET), sender: Mutex::new(Some(sender)) });
        (notifier, BatchReceipt { receiver })
    }

    fn update(&self, status: BatchStatus) {
        self.status.fetch_max(status.to_u8(), Ordering::AcqRel);
    }
}

impl Drop for BatchNotifier {
    fn drop(&mut self) {
        let status = BatchStatus::from_u8(self.status.load(Ordering::Acquire));
        let sender = self.sender.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(sender) = sender {
            // The source may have stopped waiting (shutdown); then nobody needs the outcome.
            let _ = sender.send(status);
        }
    }
}

/// Resolves to the outcome of a batch once every event of it is finalized.
#[derive(Debug)]
pub struct BatchReceipt {
    receiver: oneshot::Receiver<BatchStatus>,
}

impl Future for BatchReceipt {
    type Output = BatchStatus;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BatchStatus> {
        // The notifier always sends on drop, so a cancelled channel cannot happen in practice;
        // if it ever does, the safe reading is "not delivered".
        Pin::new(&mut self.receiver).poll(cx).map(|result| result.unwrap_or(BatchStatus::Errored))
    }
}

/// The notifiers an event reports to: usually none or one, more after events are merged.
#[derive(Debug, Clone, Default)]
pub struct EventFinalizers(SmallVec<[Arc<BatchNotifier>; 1]>);

impl EventFinalizers {
    pub fn new(notifier: Arc<BatchNotifier>) -> Self {
        let mut list = SmallVec::new();
        list.push(notifier);
        Self(list)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds `other`'s notifiers, as when two events are merged into one.
    pub fn merge(&mut self, other: EventFinalizers) {
        for notifier in other.0 {
            if !self.0.iter().any(|existing| Arc::ptr_eq(existing, &notifier)) {
                self.0.push(notifier);
            }
        }
    }

    /// Records an outcome; the worst outcome recorded for a batch wins.
    pub fn update_status(&self, status: BatchStatus) {
        for notifier in &self.0 {
            notifier.update(status);
        }
    }
}
