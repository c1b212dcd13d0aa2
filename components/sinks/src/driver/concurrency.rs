//! The request concurrency limit: fixed, or adaptive (AIMD).
//!
//! Adaptive concurrency is a simple take on Vector's idea. The limit starts at
//! `initial_concurrency`. Time is cut into windows of about one round-trip time (the moving
//! average, `ewma_alpha`). At the end of each window the limit changes once:
//!
//! - it is multiplied by `decrease_ratio` (multiplicative decrease, never below 1) if any response
//!   in the window was backpressure (a 429 or 503, or a timeout) or took longer than the average
//!   round-trip time times `rtt_threshold_ratio`;
//! - otherwise it grows by one (additive increase, at most `max_concurrency_limit`), but only if
//!   the window actually used every slot; an idle sink has learnt nothing about a larger limit.
//!
//! Unlike Vector it does not keep a deviation statistic of the round-trip time; a fixed ratio over
//! the moving average stands in for it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use metrics::Gauge;

use super::config::{AdaptiveConcurrencyConfig, ConcurrencyConfig};

/// How one attempt went, as far as the limit is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A response that was not backpressure (a success or an ordinary error).
    Response,
    /// Backpressure: a 429, a 503 or a timeout.
    Backpressure,
}

#[derive(Debug)]
struct Adaptive {
    config: AdaptiveConcurrencyConfig,
    limit: usize,
    /// The moving average of round-trip times, in seconds; none before the first response.
    average_rtt: Option<f64>,
    window_end: Instant,
    slowed: bool,
    saturated: bool,
}

/// The current limit on requests in flight. Shared by the in-flight requests, which report each
/// attempt; the lock is never held across an await.
#[derive(Debug)]
pub(crate) struct ConcurrencyLimit {
    fixed: Option<usize>,
    adaptive: Mutex<Adaptive>,
    gauge: Gauge,
}

impl ConcurrencyLimit {
    pub(crate) fn new(config: ConcurrencyConfig, adaptive: &AdaptiveConcurrencyConfig, gauge: Gauge) -> Self {
        let fixed = match config {
            ConcurrencyConfig::None => Some(1),
            ConcurrencyConfig::Fixed(limit) => Some(limit),
            ConcurrencyConfig::Adaptive => None,
        };
        let limit = fixed.unwrap_or(adaptive.initial_concurrency);
        gauge.set(limit as f64);
        let state = Adaptive {
            config: adaptive.clone(),
            limit,
            average_rtt: None,
            window_end: Instant::now(),
            slowed: false,
            saturated: false,
        };
        Self { fixed, adaptive: Mutex::new(state), gauge }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Adaptive> {
        // The state is a few numbers updated without any call that could panic halfway; a
        // poisoned lock still holds a usable limit.
        self.adaptive.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many requests may be in flight now.
    pub(crate) fn current(&self) -> usize {
        match self.fixed {
            Some(limit) => limit,
            None => self.state().limit,
        }
    }

    /// Notes that a request starts with `in_flight` requests (itself included) in flight.
    pub(crate) fn started(&self, in_flight: usize) {
        if self.fixed.is_none() {
            let mut state = self.state();
            if in_flight >= state.limit {
                state.saturated = true;
            }
        }
    }

    /// Records one attempt's round-trip time and outcome, and adjusts the limit at the end of a
    /// window.
    pub(crate) fn observe(&self, rtt: Duration, signal: Signal) {
        self.observe_at(Instant::now(), rtt, signal);
    }

    pub(crate) fn observe_at(&self, now: Instant, rtt: Duration, signal: Signal) {
        if self.fixed.is_some() {
            return;
        }
        let mut state = self.state();
        let rtt = rtt.as_secs_f64();
        match signal {
            Signal::Backpressure => state.slowed = true,
            Signal::Response => {
                let alpha = state.config.ewma_alpha;
                let threshold = state.config.rtt_threshold_ratio;
                match state.average_rtt {
                    Some(average) => {
                        if rtt > average * threshold {
                            state.slowed = true;
                        }
                        state.average_rtt = Some(average + alpha * (rtt - average));
                    }
                    None => state.average_rtt = Some(rtt),
                }
            }
        }
        if now < state.window_end {
            return;
        }
        if state.slowed {
            let decreased = (state.limit as f64 * state.config.decrease_ratio).floor() as usize;
            state.limit = decreased.max(1);
        } else if state.saturated {
            state.limit = (state.limit + 1).min(state.config.max_concurrency_limit);
        }
        state.slowed = false;
        state.saturated = false;
        let window = Duration::from_secs_f64(state.average_rtt.unwrap_or(rtt).clamp(0.001, 60.0));
        state.window_end = now + window;
        self.gauge.set(state.limit as f64);
    }
}
