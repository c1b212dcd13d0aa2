//! Retry policy: how many times, and how long to wait between attempts.

use std::time::Duration;

use rand::Rng;

use super::config::RequestConfig;

/// Exponential backoff with full jitter: before retry `n` (from 0) the driver sleeps a uniformly
/// random time between zero and `min(max, initial * 2^n)`. Full jitter spreads the retries of
/// many sinks hitting one recovering destination instead of synchronising them.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) attempts: u64,
    initial: Duration,
    max: Duration,
    /// The smallest share of the ceiling a backoff may be: 0 is full jitter.
    jitter_floor: f64,
}

impl RetryPolicy {
    pub(crate) fn new(config: &RequestConfig) -> Self {
        Self {
            attempts: config.retry_attempts,
            initial: Duration::from_secs_f64(config.retry_initial_backoff_secs),
            max: Duration::from_secs_f64(config.retry_max_duration_secs),
            jitter_floor: 0.0,
        }
    }

    /// Unbounded attempts between `initial` and `max`, waiting at least `jitter_floor` of each
    /// ceiling: for reconnect loops, which must never retry at once.
    pub(crate) fn reconnect(initial: Duration, max: Duration, jitter_floor: f64) -> Self {
        Self { attempts: u64::MAX, initial, max, jitter_floor }
    }

    /// The upper bound of the backoff before retry `retry` (counted from 0).
    pub(crate) fn ceiling(&self, retry: u64) -> Duration {
        let factor = 2u32.saturating_pow(u32::try_from(retry).unwrap_or(u32::MAX).min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// A random backoff before retry `retry`.
    pub(crate) fn backoff(&self, retry: u64) -> Duration {
        let ceiling = self.ceiling(retry);
        ceiling.mul_f64(rand::rng().random_range(self.jitter_floor..=1.0))
    }
}
