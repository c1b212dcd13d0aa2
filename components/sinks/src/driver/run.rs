//! The driver loop: read, batch, encode, compress, send with bounded concurrency, retry, finalize.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use metrics::Counter;
use strata_core::{
    BuildError, ComponentError, ComponentMetrics, RateLimitedLog, RejectedOutput, Rejection, Sink, SinkInput,
};
use strata_event::{BatchStatus, Event, EventFinalizers};
use tokio::time::Instant;

use super::batcher::{Batcher, RequestBatch};
use super::concurrency::{ConcurrencyLimit, Signal};
use super::config::{BatchConfig, Compression, RequestConfig};
use super::rate_limit::RateLimiter;
use super::retry::RetryPolicy;
use super::{ErrorKind, Payload, Service, SinkError};

/// How many events ended each way, for tests and the sink's final log line. Events that failed
/// for good count as `rejected` (a permanent error) or `errored` (retries exhausted) whether or
/// not they went on to the `rejected` output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    pub delivered: usize,
    pub rejected: usize,
    pub errored: usize,
}

/// A request-based sink: a [`Service`] plus the shared options. It is itself the running
/// [`Sink`], so a sink's `build` returns `Box::new(Driver::new(...)?)`.
pub struct Driver<S> {
    service: S,
    batch: BatchConfig,
    request: RequestConfig,
    compression: Compression,
    metrics: ComponentMetrics,
    log: RateLimitedLog,
    rejected: RejectedOutput,
}

/// One request batch after encoding, on its way.
struct Prepared {
    /// The body to send, or why there is none.
    body: Result<Payload, Failure>,
    events: usize,
    /// Every finalizer of the batch, merged: settled on success, and on failure unless `kept`
    /// hands the events on.
    finalizers: EventFinalizers,
    /// The events with their own finalizers, kept while the `rejected` output is wired so that a
    /// batch that fails for good can go there.
    kept: Option<Vec<Event>>,
}

/// Why a batch was not delivered.
struct Failure {
    /// What its finalizers get when its events are not dead-lettered.
    status: BatchStatus,
    /// Set when the batch failed for good (a permanent error, or retries exhausted): then its
    /// events may go to the `rejected` output.
    rejection: Option<Rejection>,
}

/// What the in-flight requests share with the loop.
struct Shared<'a> {
    limit: &'a ConcurrencyLimit,
    rate: Option<&'a RateLimiter>,
    policy: &'a RetryPolicy,
    retries: &'a Counter,
}

impl<S: Service> Driver<S> {
    /// Checks the options and builds the driver; an invalid option names itself in the error.
    pub fn new(
        service: S,
        batch: &BatchConfig,
        request: &RequestConfig,
        compression: Compression,
        metrics: ComponentMetrics,
    ) -> Result<Self, BuildError> {
        batch.validate().map_err(BuildError::new)?;
        request.validate().map_err(BuildError::new)?;
        Ok(Self {
            service,
            batch: batch.clone(),
            request: request.clone(),
            compression,
            rejected: RejectedOutput::unwired(metrics.clone()),
            metrics,
            log: RateLimitedLog::default(),
        })
    }

    /// Sends batches that fail for good to the sink's `rejected` output
    /// ([`strata_core::SinkContext::rejected`]). Without it they are only finalized and counted.
    pub fn with_rejected(mut self, rejected: RejectedOutput) -> Self {
        self.rejected = rejected;
        self
    }

    /// The sink's service, as given to [`Driver::new`].
    pub fn service(&self) -> &S {
        &self.service
    }

    /// Runs until the input ends and every request has finished, and counts the outcomes.
    pub async fn drive(&self, mut input: SinkInput) -> RunStats {
        let limit = ConcurrencyLimit::new(
            self.request.concurrency,
            &self.request.adaptive_concurrency,
            self.metrics.gauge("sink_concurrency_limit", &[]),
        );
        let rate = RateLimiter::new(
            self.request.rate_limit_num,
            Duration::from_secs_f64(self.request.rate_limit_duration_secs),
        );
        let policy = RetryPolicy::new(&self.request);
        let retries = self.metrics.counter("sink_retries_total");
        let shared = Shared { limit: &limit, rate: rate.as_ref(), policy: &policy, retries: &retries };

        let mut batcher = Batcher::new(self.batch.max_events, self.batch.max_bytes);
        let mut full = Vec::new();
        let mut ready: VecDeque<RequestBatch> = VecDeque::new();
        let mut in_flight = FuturesUnordered::new();
        let mut deadline: Option<Instant> = None;
        let mut input_open = true;
        let mut stats = RunStats::default();
        loop {
            while in_flight.len() < limit.current()
                && let Some(batch) = ready.pop_front()
            {
                let prepared = self.prepare(batch);
                if prepared.body.is_ok() {
                    limit.started(in_flight.len() + 1);
                }
                // A batch that could not be encoded still goes through `deliver`, which settles
                // it or hands it to the `rejected` output.
                in_flight.push(self.deliver(prepared, &shared));
            }
            if !input_open && !batcher.is_empty() {
                ready.push_back(batcher.take());
                deadline = None;
                continue;
            }
            if !input_open && ready.is_empty() && in_flight.is_empty() {
                break;
            }
            // Backpressure: the input is read only while a request could start right away.
            let can_read = input_open && ready.is_empty() && in_flight.len() < limit.current();
            tokio::select! {
                Some((status, events)) = in_flight.next(), if !in_flight.is_empty() => {
                    stats.add(status, events);
                }
                batch = input.recv(), if can_read => match batch {
                    Some(batch) => {
                        for event in batch.into_events() {
                            batcher.push(event, &mut full);
                        }
                        if !full.is_empty() {
                            ready.extend(full.drain(..));
                            deadline = None;
                        }
                        if !batcher.is_empty() && deadline.is_none() {
                            deadline = Some(Instant::now() + self.batch.timeout());
                        }
                    }
                    None => input_open = false,
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    ready.push_back(batcher.take());
                    deadline = None;
                }
            }
        }
        tracing::debug!(?stats, "sink finished");
        stats
    }

    /// Takes the finalizers off a batch (or, while the `rejected` output is wired, copies them
    /// and keeps the events), then encodes and compresses it.
    fn prepare(&self, batch: RequestBatch) -> Prepared {
        let mut events = batch.events;
        let keep = self.rejected.is_wired();
        let mut finalizers = EventFinalizers::default();
        for event in &mut events {
            let own = if keep { event.metadata().finalizers().clone() } else { event.take_finalizers() };
            if !own.is_empty() {
                finalizers.merge(own);
            }
        }
        let count = events.len();
        let body = self.encode(&events);
        Prepared { body, events: count, finalizers, kept: keep.then_some(events) }
    }

    fn encode(&self, events: &[Event]) -> Result<Payload, Failure> {
        let body = self.service.encode(events).map_err(|error| {
            self.metrics.error(error.error_type, "processing");
            if error.kind == ErrorKind::Permanent {
                let rejection = error.rejection(false);
                return Failure { status: BatchStatus::Rejected, rejection: Some(rejection) };
            }
            tracing::error!(%error, events = events.len(), "encoding a request failed; events errored");
            Failure { status: BatchStatus::Errored, rejection: None }
        })?;
        match self.compression.compress(body) {
            Ok(body) => {
                Ok(Payload { body: body.into(), compression: self.compression, events: events.len() })
            }
            Err(error) => {
                self.metrics.error("compression_failed", "processing");
                tracing::error!(%error, "compressing a request failed; events errored");
                Err(Failure { status: BatchStatus::Errored, rejection: None })
            }
        }
    }

    /// Sends a prepared batch, settles its finalizers or hands its events to the `rejected`
    /// output, and returns its outcome with the number of events.
    async fn deliver(&self, prepared: Prepared, shared: &Shared<'_>) -> (BatchStatus, usize) {
        let Prepared { body, events, finalizers, kept } = prepared;
        let failure = match body {
            Ok(payload) => match self.send(&payload, shared).await {
                Ok(()) => {
                    finalizers.update_status(BatchStatus::Delivered);
                    return (BatchStatus::Delivered, events);
                }
                Err(failure) => failure,
            },
            Err(failure) => failure,
        };
        match (failure.rejection, kept) {
            (Some(rejection), Some(kept)) => {
                // The kept events carry their own finalizers; the merged copy must not settle
                // them, or the dead-letter destination's outcome would not count.
                drop(finalizers);
                self.rejected.reject(kept, &rejection).await;
            }
            (Some(rejection), None) => self.rejected.discard(finalizers, events, &rejection),
            (None, _) => finalizers.update_status(failure.status),
        }
        (failure.status, events)
    }

    /// Sends one payload until it succeeds, fails for good, or runs out of retries.
    async fn send(&self, payload: &Payload, shared: &Shared<'_>) -> Result<(), Failure> {
        let timeout = Duration::from_secs_f64(self.request.timeout_secs);
        let mut retry = 0;
        loop {
            if let Some(rate) = shared.rate {
                rate.acquire().await;
            }
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, self.service.send(payload)).await {
                Ok(result) => result,
                Err(_) => Err(SinkError::backpressure(
                    "request_timed_out",
                    format!("request timed out after {}s", self.request.timeout_secs),
                )),
            };
            let signal = match &result {
                Err(error) if error.kind == ErrorKind::Backpressure => Signal::Backpressure,
                _ => Signal::Response,
            };
            shared.limit.observe(started.elapsed(), signal);
            let error = match result {
                Ok(()) => {
                    self.metrics.sent(payload.events, payload.body.len());
                    return Ok(());
                }
                Err(error) => error,
            };
            self.metrics.error(error.error_type, "sending");
            if !error.is_retryable() {
                let rejection = error.rejection(false);
                return Err(Failure { status: BatchStatus::Rejected, rejection: Some(rejection) });
            }
            if retry >= shared.policy.attempts {
                let mut rejection = error.rejection(true);
                rejection.message =
                    format!("retries exhausted after {} attempts: {}", retry + 1, error.message);
                return Err(Failure { status: BatchStatus::Errored, rejection: Some(rejection) });
            }
            let backoff = shared.policy.backoff(retry);
            if let Some(suppressed) = self.log.check() {
                tracing::warn!(%error, retry = retry + 1, ?backoff, suppressed, "request failed; retrying");
            }
            shared.retries.increment(1);
            retry += 1;
            tokio::time::sleep(backoff).await;
        }
    }
}

impl RunStats {
    fn add(&mut self, status: BatchStatus, events: usize) {
        match status {
            BatchStatus::Delivered => self.delivered += events,
            BatchStatus::Rejected => self.rejected += events,
            BatchStatus::Errored => self.errored += events,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[async_trait]
impl<S: Service> Sink for Driver<S> {
    async fn run(self: Box<Self>, input: SinkInput) -> Result<(), ComponentError> {
        self.drive(input).await;
        Ok(())
    }
}
