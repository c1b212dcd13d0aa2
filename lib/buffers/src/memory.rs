//! The in-memory buffer: a bounded channel whose limit counts events or bytes, not messages.
//!
//! Items are batches of events, and batches vary in size, so a limit in messages would bound
//! nothing. Each send first takes permits from a semaphore, one per event (or byte) of the item;
//! the receiver returns them when it takes the item out. An item heavier than the whole limit
//! takes every permit, so it still passes, alone.
//!
//! When the permits run out, [`WhenFull::Block`] makes `send` wait, which is how backpressure
//! travels upstream; [`WhenFull::DropNewest`] hands the item back as dropped instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, mpsc};

use crate::{Weighted, WhenFull};

/// What a memory buffer's limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLimit {
    Events(usize),
    Bytes(usize),
}

impl MemoryLimit {
    fn capacity(self) -> usize {
        match self {
            // The semaphore's permit count is bounded; a larger limit is as good as unlimited.
            MemoryLimit::Events(n) | MemoryLimit::Bytes(n) => n.clamp(1, Semaphore::MAX_PERMITS >> 1),
        }
    }
}

/// Live counts of what the buffer holds, for gauges.
#[derive(Debug, Default)]
pub struct BufferUsage {
    events: AtomicUsize,
    bytes: AtomicUsize,
}

impl BufferUsage {
    pub fn events(&self) -> usize {
        self.events.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

struct Shared {
    permits: Semaphore,
    limit: MemoryLimit,
    capacity: usize,
    when_full: WhenFull,
    usage: BufferUsage,
}

struct Envelope<T> {
    item: T,
    permits: u32,
    events: usize,
    bytes: usize,
}

/// The sending half; cheap to clone, one per upstream.
pub struct Sender<T> {
    shared: Arc<Shared>,
    inner: mpsc::UnboundedSender<Envelope<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared), inner: self.inner.clone() }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("limit", &self.shared.limit).finish_non_exhaustive()
    }
}

/// A sender that does not keep the channel open: for wiring new upstreams later without
/// stopping the channel from closing when every real upstream has finished.
pub struct WeakSender<T> {
    shared: Arc<Shared>,
    inner: mpsc::WeakUnboundedSender<Envelope<T>>,
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared), inner: self.inner.clone() }
    }
}

impl<T> WeakSender<T> {
    /// A real sender again, unless the channel has closed.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        Some(Sender { shared: Arc::clone(&self.shared), inner: self.inner.upgrade()? })
    }
}

/// The receiving half, owned by the downstream component.
pub struct Receiver<T> {
    shared: Arc<Shared>,
    inner: mpsc::UnboundedReceiver<Envelope<T>>,
}

/// The receiver is gone; the item comes back so the caller can account for it.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed<T>(pub T);

impl<T> std::fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("buffer receiver is closed")
    }
}

impl<T: std::fmt::Debug> std::error::Error for Closed<T> {}

/// The result of a send that did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome<T> {
    Sent,
    /// The buffer was full and its policy is [`WhenFull::DropNewest`]: the item was not buffered.
    Dropped(T),
}

/// A bounded, weighted channel.
pub fn channel<T: Weighted>(limit: MemoryLimit, when_full: WhenFull) -> (Sender<T>, Receiver<T>) {
    let capacity = limit.capacity();
    let shared = Arc::new(Shared {
        permits: Semaphore::new(capacity),
        limit,
        capacity,
        when_full,
        usage: BufferUsage::default(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    (Sender { shared: Arc::clone(&shared), inner: tx }, Receiver { shared, inner: rx })
}

impl<T: Weighted> Sender<T> {
    /// Sends `item`, waiting for room (or dropping it) as the buffer's policy says.
    pub async fn send(&self, item: T) -> Result<SendOutcome<T>, Closed<T>> {
        let events = item.event_count();
        let bytes = match self.shared.limit {
            MemoryLimit::Bytes(_) => item.size_bytes(),
            MemoryLimit::Events(_) => 0,
        };
        let weight = match self.shared.limit {
            MemoryLimit::Events(_) => events,
            MemoryLimit::Bytes(_) => bytes,
        };
        // `capacity` fits in u32 by construction (MAX_PERMITS is below u32::MAX).
        let permits = weight.clamp(1, self.shared.capacity) as u32;
        let acquired = match self.shared.when_full {
            WhenFull::Block => self.shared.permits.acquire_many(permits).await,
            WhenFull::DropNewest => match self.shared.permits.try_acquire_many(permits) {
                Ok(permit) => Ok(permit),
                Err(tokio::sync::TryAcquireError::NoPermits) => return Ok(SendOutcome::Dropped(item)),
                Err(tokio::sync::TryAcquireError::Closed) => return Err(Closed(item)),
            },
        };
        match acquired {
            Ok(permit) => permit.forget(),
            Err(_) => return Err(Closed(item)),
        }
        self.shared.usage.events.fetch_add(events, Ordering::Relaxed);
        self.shared.usage.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.inner.send(Envelope { item, permits, events, bytes }).map_err(|returned| {
            let envelope = returned.0;
            self.shared.usage.events.fetch_sub(envelope.events, Ordering::Relaxed);
            self.shared.usage.bytes.fetch_sub(envelope.bytes, Ordering::Relaxed);
            Closed(envelope.item)
        })?;
        Ok(SendOutcome::Sent)
    }

    pub fn usage(&self) -> &BufferUsage {
        &self.shared.usage
    }

    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender { shared: Arc::clone(&self.shared), inner: self.inner.downgrade() }
    }

    /// True when both senders feed the same receiver.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Receiver<T> {
    /// The next item, or `None` once every sender is gone and the buffer is empty.
    pub async fn recv(&mut self) -> Option<T> {
        let envelope = self.inner.recv().await?;
        Some(self.release(envelope))
    }

    /// The next item if one is ready now.
    pub fn try_recv(&mut self) -> Option<T> {
        let envelope = self.inner.try_recv().ok()?;
        Some(self.release(envelope))
    }

    fn release(&self, envelope: Envelope<T>) -> T {
        self.shared.usage.events.fetch_sub(envelope.events, Ordering::Relaxed);
        self.shared.usage.bytes.fetch_sub(envelope.bytes, Ordering::Relaxed);
        self.shared.permits.add_permits(envelope.permits as usize);
        envelope.item
    }

    pub fn usage(&self) -> &BufferUsage {
        &self.shared.usage
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Wake senders blocked on a full buffer: nobody will make room any more.
        self.shared.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Batch(usize);

    impl Weighted for Batch {
        fn event_count(&self) -> usize {
            self.0
        }
        fn size_bytes(&self) -> usize {
            self.0 * 10
        }
    }

    #[tokio::test]
    async fn block_waits_until_the_receiver_makes_room() {
        let (tx, mut rx) = channel(MemoryLimit::Events(10), WhenFull::Block);
        assert_eq!(tx.send(Batch(8)).await.unwrap(), SendOutcome::Sent);
        let blocked = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(Batch(5)).await.map(|_| ()) }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!blocked.is_finished(), "a send beyond the limit waits");
        assert_eq!(tx.usage().events(), 8);
        assert_eq!(rx.recv().await.map(|b| b.0), Some(8));
        blocked.await.unwrap().unwrap();
        assert_eq!(rx.recv().await.map(|b| b.0), Some(5));
    }

    #[tokio::test]
    async fn drop_newest_hands_the_item_back() {
        let (tx, _rx) = channel(MemoryLimit::Bytes(100), WhenFull::DropNewest);
        assert_eq!(tx.send(Batch(6)).await.unwrap(), SendOutcome::Sent);
        match tx.send(Batch(6)).await.unwrap() {
            SendOutcome::Dropped(batch) => assert_eq!(batch.0, 6),
            SendOutcome::Sent => panic!("a full buffer with drop_newest must drop"),
        }
    }

    #[tokio::test]
    async fn oversized_item_passes_alone() {
        let (tx, mut rx) = channel(MemoryLimit::Events(4), WhenFull::Block);
        tx.send(Batch(100)).await.unwrap();
        assert_eq!(rx.recv().await.map(|b| b.0), Some(100));
    }

    #[tokio::test]
    async fn a_weak_sender_does_not_hold_the_channel_open() {
        let (tx, mut rx) = channel::<Batch>(MemoryLimit::Events(4), WhenFull::Block);
        let weak = tx.downgrade();
        assert!(weak.upgrade().is_some());
        drop(tx);
        assert!(rx.recv().await.is_none(), "the channel closed with its last real sender");
        assert!(weak.upgrade().is_none());
    }

    #[tokio::test]
    async fn dropped_receiver_fails_blocked_senders() {
        let (tx, rx) = channel(MemoryLimit::Events(1), WhenFull::Block);
        tx.send(Batch(1)).await.unwrap();
        let blocked = tokio::spawn(async move { tx.send(Batch(1)).await.is_err() });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(rx);
        assert!(blocked.await.unwrap(), "the blocked send returns the item as closed");
    }
}
