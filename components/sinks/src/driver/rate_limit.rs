//! `request.rate_limit_num` requests per `request.rate_limit_duration_secs`, as a sliding window.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Lets at most `num` requests start in any window of `duration`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    num: usize,
    duration: Duration,
    /// The start times handed out for the last `num` requests, oldest first.
    starts: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    /// `None` when the limit is so large that it never applies.
    pub(crate) fn new(num: u64, duration: Duration) -> Option<Self> {
        // Past a million requests per window the window's bookkeeping costs more than it saves;
        // such a limit is treated as no limit.
        let num = usize::try_from(num).ok().filter(|num| *num <= 1_000_000)?;
        Some(Self { num, duration, starts: Mutex::new(VecDeque::with_capacity(num.min(1024))) })
    }

    /// Waits until one more request may start.
    pub(crate) async fn acquire(&self) {
        let at = {
            // Only plain arithmetic happens under the lock, so it cannot be poisoned halfway.
            let mut starts = self.starts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let at = if starts.len() < self.num {
                now
            } else {
                let oldest = starts.pop_front().unwrap_or(now);
                (oldest + self.duration).max(now)
            };
            starts.push_back(at);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}
