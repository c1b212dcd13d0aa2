//! The shared sink driver: batching, compression, request concurrency, rate limiting, timeouts,
//! retries with backoff, finalization and metrics, written once for every request-based sink.
//!
//! A sink built on it is "its config plus how it turns a batch into a request": it implements
//! [`Service`] (encode a batch of events into a body, send one body) and hands the service to
//! [`Driver::run`] with the shared [`BatchConfig`], [`RequestConfig`] and [`Compression`] options.
//!
//! What the driver does, in order:
//!
//! 1. It reads [`strata_core::SinkInput`] and cuts the events into request batches of at most
//!    `batch.max_events` events and `batch.max_bytes` bytes (by [`strata_event::Event::estimated_size`]),
//!    flushing a partial batch `batch.timeout_secs` after its first event arrived.
//! 2. It encodes a batch with [`Service::encode`] and compresses the body (`compression`).
//! 3. It sends up to `request.concurrency` requests at once. When every slot is busy it stops
//!    reading its input, so backpressure reaches the buffer in front of the sink.
//! 4. Each attempt waits for the rate limit (`request.rate_limit_num` per
//!    `request.rate_limit_duration_secs`) and is cut off after `request.timeout_secs`.
//! 5. A failed attempt is retried only when its [`SinkError`] says so, after an exponential backoff
//!    with full jitter, up to `request.retry_attempts` retries. The sink never retries by itself.
//!
//! Delivery: a batch's finalizers are marked [`strata_event::BatchStatus::Delivered`] only once
//! its request succeeded, `Rejected` on a permanent error (including a permanent encoding
//! error), and `Errored` when retries are exhausted. If the sink task is dropped with requests
//! unsent (a shutdown deadline), the finalizers are dropped without an outcome, which counts as
//! `Errored`.
//!
//! Dead letters: a batch that fails for good, by a permanent error or by running out of retries,
//! goes to the sink's `rejected` output ([`strata_core::RejectedOutput`], set with
//! [`Driver::with_rejected`]) when something consumes it. Its events carry their own finalizers
//! there, so the source hears the dead-letter destination's outcome, and each is annotated under
//! `metadata.dead_letter`. Retries-exhausted batches are dead-lettered too (with
//! `retries_exhausted = true`): the sink has given up on them just as surely, and an operator who
//! wires a dead-letter output wants them kept rather than dropped. While the output is wired, the
//! driver keeps each batch's events until its request ends, so a request in flight costs the
//! events' memory as well as the body's. A batch encoded while nothing consumed the output is
//! finalized as before if it then fails.
//!
//! Metrics: `component_sent_events_total`/`component_sent_bytes_total` (compressed body bytes) on
//! success, `component_errors_total` (with the error's `error_type`, stage `sending`) on every
//! failed attempt, `sink_retries_total` for every retry, and the `sink_concurrency_limit` gauge.
//! Events that failed for good count in `component_sent_events_total{output="rejected"}` when
//! dead-lettered and in `component_discarded_events_total` otherwise.

mod batcher;
mod concurrency;
mod config;
mod rate_limit;
pub(crate) mod retry;
mod run;

use std::future::Future;

use bytes::Bytes;
use strata_core::Rejection;
use strata_event::Event;

pub use config::{
    AdaptiveConcurrencyConfig, BatchConfig, Compression, ConcurrencyConfig, HealthcheckConfig, RequestConfig,
};
pub use run::{Driver, RunStats};

/// Why a request failed, and whether trying again may help. The driver decides what to do with
/// it; a sink only classifies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    /// What happens next with the batch.
    pub kind: ErrorKind,
    /// A short stable code for `component_errors_total`, such as `http_status_503`.
    pub error_type: &'static str,
    /// What failed, for the log.
    pub message: String,
    /// The destination's HTTP status, when it answered with one; it goes into a dead-lettered
    /// event's annotation.
    pub http_status: Option<u16>,
}

/// The three ways a request can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A transient failure (a connection error, a 5xx): retry after a backoff.
    Retryable,
    /// The destination is overloaded (a 429, a 503): retry, and adaptive concurrency backs off.
    Backpressure,
    /// The destination refused the data for good (a 400): do not retry, reject the batch.
    Permanent,
}

impl SinkError {
    pub fn retryable(error_type: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Retryable, error_type, message: message.into(), http_status: None }
    }

    pub fn backpressure(error_type: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Backpressure, error_type, message: message.into(), http_status: None }
    }

    pub fn permanent(error_type: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Permanent, error_type, message: message.into(), http_status: None }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind != ErrorKind::Permanent
    }

    /// The same error, naming the HTTP status the destination answered.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// The error as the reason events are handed to the sink's `rejected` output.
    pub(crate) fn rejection(&self, retries_exhausted: bool) -> Rejection {
        Rejection {
            reason: self.error_type,
            message: self.message.clone(),
            http_status: self.http_status,
            retries_exhausted,
        }
    }
}

/// One request's body, ready to send: encoded, compressed, and shared between retries.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The (compressed) body.
    pub body: Bytes,
    /// How `body` is compressed; its `Content-Encoding` is [`Compression::content_encoding`].
    pub compression: Compression,
    /// How many events the body holds.
    pub events: usize,
}

/// What a request-based sink implements: how a batch becomes a body, and how a body is sent.
pub trait Service: Send + Sync + 'static {
    /// Encodes a batch of events into one uncompressed request body. An error here is usually
    /// permanent (the events cannot be encoded), and the batch is rejected.
    fn encode(&self, events: &[Event]) -> Result<Vec<u8>, SinkError>;

    /// Sends one request. The driver applies the timeout, retries and rate limit around it, and
    /// may call it again with the same payload.
    fn send(&self, payload: &Payload) -> impl Future<Output = Result<(), SinkError>> + Send;
}

#[cfg(test)]
mod tests;
