//! The driver loop: read, batch, encode, compress, send with bounded concurrency, retry, finalize.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use metrics::Counter;
use strata_core::{BuildError, ComponentError, ComponentMetrics, RateLimitedLog, Sink, SinkInput};
use strata_event::{BatchStatus, EventFinalizers};
use tokio::time::Instant;

use super::batcher::{Batcher, RequestBatch};
use super::concurrency::{ConcurrencyLimit, Signal};
use super::config::{BatchConfig, Compression, RequestConfig};
use super::rate_limit::RateLimiter;
use super::retry::RetryPolicy;
use super::{ErrorKind, Payload, Service, SinkError};

/// How many events ended each way, for tests and the sink's final log line.
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
            metrics,
            log: RateLimitedLog::default(),
        })
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
                let events = batch.events.len();
                match self.prepare(batch) {
                    Ok((payload, finalizers)) => {
                        limit.started(in_flight.len() + 1);
                        in_flight.push(self.deliver(payload, finalizers, &shared));
                    }
                    Err((status, finalizers)) => {
                        finalizers.update_status(status);
                        stats.add(status, events);
                    }
                }
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

    /// Encodes and compresses a batch. On failure, the status its events get.
    fn prepare(
        &self,
        mut batch: RequestBatch,
    ) -> Result<(Payload, EventFinalizers), (BatchStatus, EventFinalizers)> {
        let finalizers = std::mem::take(&mut batch.finalizers);
        let body = match self.service.encode(&batch.events) {
            Ok(body) => body,
            Err(error) => {
                self.metrics.error(error.error_type, "processing");
                tracing::error!(%error, events = batch.events.len(), "encoding a request failed; events rejected");
                let status = if error.kind == ErrorKind::Permanent {
                    BatchStatus::Rejected
                } else {
                    BatchStatus::Errored
                };
                return Err((status, finalizers));
            }
        };
        match self.compression.compress(body) {
            Ok(body) => Ok((
                Payload { body: body.into(), compression: self.compression, events: batch.events.len() },
                finalizers,
            )),
            Err(error) => {
                self.metrics.error("compression_failed", "processing");
                tracing::error!(%error, "compressing a request failed; events errored");
                Err((BatchStatus::Errored, finalizers))
            }
        }
    }

    /// Sends one payload until it succeeds, fails for good, or runs out of retries; records the
    /// outcome on its finalizers and returns it with the number of events.
    async fn deliver(
        &self,
        payload: Payload,
        finalizers: EventFinalizers,
        shared: &Shared<'_>,
    ) -> (BatchStatus, usize) {
        let timeout = Duration::from_secs_f64(self.request.timeout_secs);
        let mut retry = 0;
        let status = loop {
            if let Some(rate) = shared.rate {
                rate.acquire().await;
            }
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, self.service.send(&payload)).await {
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
                    break BatchStatus::Delivered;
                }
                Err(error) => error,
            };
            self.metrics.error(error.error_type, "sending");
            if !error.is_retryable() {
                tracing::error!(%error, events = payload.events, "request failed permanently; events rejected");
                break BatchStatus::Rejected;
            }
            if retry >= shared.policy.attempts {
                tracing::error!(%error, events = payload.events, retries = retry, "retries exhausted; events errored");
                break BatchStatus::Errored;
            }
            let backoff = shared.policy.backoff(retry);
            if let Some(suppressed) = self.log.check() {
                tracing::warn!(%error, retry = retry + 1, ?backoff, suppressed, "request failed; retrying");
            }
            shared.retries.increment(1);
            retry += 1;
            tokio::time::sleep(backoff).await;
        };
        finalizers.update_status(status);
        (status, payload.events)
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
