//! Fan-out: one output feeding the input buffers of every component that lists it.
//!
//! The topology changes who listens while the pipeline runs (reload) by sending
//! [`ControlMessage`]s; the fan-out applies them between batches, so no batch is half-sent.
//! `Replace` swaps a consumer's buffer in one step, so a component being rebuilt misses nothing.
//! Every consumer but the last gets a clone of the batch; cloning shares event fields, it does not
//! copy them.

use strata_event::EventBatch;
use tokio::sync::mpsc;

use crate::{BufferSender, ComponentKey};

#[derive(Debug)]
pub enum ControlMessage {
    /// Start sending to a new consumer.
    Add(ComponentKey, BufferSender),
    /// Stop sending to a consumer.
    Remove(ComponentKey),
    /// Send to a new buffer for an existing consumer from the next batch on.
    Replace(ComponentKey, BufferSender),
}

pub type ControlSender = mpsc::UnboundedSender<ControlMessage>;

pub struct Fanout {
    consumers: Vec<(ComponentKey, BufferSender)>,
    control: mpsc::UnboundedReceiver<ControlMessage>,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<_> = self.consumers.iter().map(|(key, _)| key.id()).collect();
        f.debug_struct("Fanout").field("consumers", &keys).finish()
    }
}

impl Fanout {
    pub fn new() -> (Self, ControlSender) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { consumers: Vec::new(), control: rx }, tx)
    }

    fn apply_control(&mut self) {
        while let Ok(message) = self.control.try_recv() {
            match message {
                ControlMessage::Add(key, sender) => {
                    self.consumers.retain(|(existing, _)| existing != &key);
                    self.consumers.push((key, sender));
                }
                ControlMessage::Remove(key) => self.consumers.retain(|(existing, _)| existing != &key),
                ControlMessage::Replace(key, sender) => {
                    match self.consumers.iter_mut().find(|(existing, _)| existing == &key) {
                        Some(slot) => slot.1 = sender,
                        None => self.consumers.push((key, sender)),
                    }
                }
            }
        }
    }

    /// Sends the batch to every consumer, waiting on any that is full (backpressure).
    /// Returns the number of consumers that received it.
    pub async fn send(&mut self, batch: EventBatch) -> usize {
        self.apply_control();
        let Some(last) = self.consumers.len().checked_sub(1) else {
            return 0;
        };
        let mut closed = Vec::new();
        let mut batch = Some(batch);
        for index in 0..=last {
            let to_send = if index == last { batch.take() } else { batch.clone() };
            let Some(to_send) = to_send else { break };
            if self.consumers[index].1.send(to_send).await.is_err() {
                closed.push(index);
            }
        }
        let delivered = self.consumers.len() - closed.len();
        for index in closed.into_iter().rev() {
            let (key, _) = self.consumers.remove(index);
            tracing::debug!(component_id = %key, "consumer is gone; no longer sending to it");
        }
        delivered
    }

    pub fn consumer_count(&mut self) -> usize {
        self.apply_control();
        self.consumers.len()
    }
}
