//! Buffers between pipeline stages: a bounded in-memory channel and a durable disk buffer.
//!
//! This crate stores opaque items and records. It never sees the event model: the memory channel
//! is generic over anything that can say how many events and bytes it weighs ([`Weighted`]), and the
//! disk buffer ([`disk`]) stores byte records that the caller encodes and decodes.

pub mod disk;
pub mod memory;

use serde::{Deserialize, Serialize};

/// What a buffer does when it is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for room: the writer, and so everything upstream of it, slows down (backpressure).
    #[default]
    Block,
    /// Drop the incoming item and count it as discarded; what is already buffered is kept.
    DropNewest,
}

/// How much an item weighs in a buffer, in events and in bytes.
pub trait Weighted {
    /// The number of events in the item; a buffer's `max_events` limit counts these.
    fn event_count(&self) -> usize;
    /// An estimate of the item's in-memory size in bytes; a buffer's `max_size` limit counts these.
    fn size_bytes(&self) -> usize;
}
