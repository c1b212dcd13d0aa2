//! Joining lines into one event (`multiline`), the way Vector's line aggregation does.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use regex::bytes::Regex;

use super::config::{MultilineConfig, MultilineMode};

/// The compiled `multiline` options.
#[derive(Debug, Clone)]
pub(super) struct Rules {
    start: Regex,
    condition: Regex,
    mode: MultilineMode,
    pub(super) timeout: Duration,
}

impl Rules {
    pub(super) fn new(config: &MultilineConfig) -> Result<Self, String> {
        let compile = |name: &str, pattern: &str| {
            Regex::new(pattern)
                .map_err(|e| format!("`multiline.{name}` {pattern:?} is not a valid regex: {e}"))
        };
        Ok(Self {
            start: compile("start_pattern", &config.start_pattern)?,
            condition: compile("condition_pattern", &config.condition_pattern)?,
            mode: config.mode,
            timeout: Duration::from_millis(config.timeout_ms),
        })
    }
}

/// An event being assembled, with the offset where its first line starts.
#[derive(Debug)]
struct Pending {
    text: BytesMut,
    start: u64,
    updated: Instant,
}

/// One file's line aggregation. Events come out with the offset where their first line starts.
#[derive(Debug, Default)]
pub(super) struct Aggregator {
    pending: Option<Pending>,
}

impl Aggregator {
    /// The offset where the event being assembled starts: nothing before the next committed
    /// offset may pass it.
    pub(super) fn pending_start(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.start)
    }

    /// Takes one line that starts at `start`; pushes complete events.
    pub(super) fn push(
        &mut self,
        rules: &Rules,
        line: Bytes,
        start: u64,
        max_bytes: usize,
        out: &mut Vec<(Bytes, u64)>,
    ) {
        let now = Instant::now();
        let Some(pending) = self.pending.as_mut() else {
            return self.begin(rules, line, start, now, out);
        };
        let matched = rules.condition.is_match(&line);
        let (continues, ends_with_line) = match rules.mode {
            MultilineMode::ContinueThrough => (matched, false),
            MultilineMode::ContinuePast => (true, !matched),
            MultilineMode::HaltBefore => (!matched, false),
            MultilineMode::HaltWith => (true, matched),
        };
        if !continues {
            self.flush_into(out);
            return self.begin(rules, line, start, now, out);
        }
        pending.text.extend_from_slice(b"\n");
        pending.text.extend_from_slice(&line);
        pending.updated = now;
        // A runaway event is cut rather than held without bound.
        if ends_with_line || pending.text.len() > max_bytes {
            self.flush_into(out);
        }
    }

    fn begin(&mut self, rules: &Rules, line: Bytes, start: u64, now: Instant, out: &mut Vec<(Bytes, u64)>) {
        if rules.start.is_match(&line) {
            self.pending = Some(Pending { text: BytesMut::from(&line[..]), start, updated: now });
        } else {
            out.push((line, start));
        }
    }

    /// Sends the pending event if it got no line for `timeout` (or `force`).
    pub(super) fn flush_if_stale(&mut self, rules: &Rules, force: bool, out: &mut Vec<(Bytes, u64)>) {
        if self.pending.as_ref().is_some_and(|p| force || p.updated.elapsed() >= rules.timeout) {
            self.flush_into(out);
        }
    }

    fn flush_into(&mut self, out: &mut Vec<(Bytes, u64)>) {
        if let Some(pending) = self.pending.take() {
            out.push((pending.text.freeze(), pending.start));
        }
    }
}
