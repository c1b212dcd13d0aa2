//! Every sink's `rejected` output: where events that a destination refused for good go, so that a
//! permanently rejected event is counted and can be kept instead of silently lost.
//!
//! The topology gives every sink a [`RejectedOutput`] in its [`SinkContext`](crate::SinkContext),
//! backed by a fan-out that other components reach by listing `<sink_id>.rejected` in their
//! `inputs`. A sink hands it the events it gives up on:
//!
//! - When something consumes the output, the events are sent there with their own finalizers
//!   still attached, so the source's acknowledgement is the dead-letter destination's outcome.
//!   Each log (and trace) event is annotated under [`DEAD_LETTER_FIELD`] with why (see
//!   [`Rejection`]). They are counted in `component_sent_events_total{output="rejected"}`.
//! - When nothing consumes it, the events are finalized `Rejected` (or `Errored` when retries ran
//!   out) as before, and counted in `component_discarded_events_total`.
//!
//! Either way the sink has already counted the failure in `component_errors_total` with its
//! `error_type`, and this handle logs at a bounded rate.
//!
//! Sending waits while the consumer's buffer is full: a slow dead-letter destination slows the
//! sink, as any consumer slows its producer.

use strata_event::{BatchStatus, Event, EventBatch, EventFinalizers, KeyString, ObjectMap, Value};
use tokio::sync::Mutex;

use crate::{ComponentMeta, ComponentMetrics, Fanout, RateLimitedLog};

/// The name of every sink's dead-letter output: `<sink_id>.rejected`.
pub const REJECTED_OUTPUT: &str = "rejected";

/// Where a routed event's annotation goes: an object with `component_id`, `component_type`,
/// `component_kind` (`"sink"`), `reason` (the `error_type` also counted in
/// `component_errors_total`, such as `http_client_error`), `message`, `retries_exhausted`
/// (a boolean), and `http_status` (a number) when the destination answered with one. It sits
/// beside `metadata.dropped`, which `remap` writes for the events it reroutes.
pub const DEAD_LETTER_FIELD: &str = "metadata.dead_letter";

/// Why a sink gave up on events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A short stable code, the `error_type` of `component_errors_total`.
    pub reason: &'static str,
    /// What happened, for people.
    pub message: String,
    /// The destination's HTTP status, when it answered with one.
    pub http_status: Option<u16>,
    /// True when the failure was retriable but the retries ran out; such events are finalized
    /// `Errored`, not `Rejected`, when nothing consumes the output.
    pub retries_exhausted: bool,
}

impl Rejection {
    /// A permanent refusal.
    pub fn permanent(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into(), http_status: None, retries_exhausted: false }
    }

    /// The status events get when they are not routed.
    pub fn status(&self) -> BatchStatus {
        if self.retries_exhausted { BatchStatus::Errored } else { BatchStatus::Rejected }
    }
}

/// A sink's handle on its `rejected` output. Not `Clone`: the fan-out inside keeps the consumers'
/// inputs open, so it must go away with the sink.
pub struct RejectedOutput {
    /// `None` for a sink run outside a topology (most tests).
    fanout: Option<Mutex<Fanout>>,
    component_id: String,
    component_type: String,
    metrics: ComponentMetrics,
    log: RateLimitedLog,
}

impl std::fmt::Debug for RejectedOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectedOutput").field("component_id", &self.component_id).finish_non_exhaustive()
    }
}

impl RejectedOutput {
    /// The output of the sink `meta`, sending through `fanout`.
    pub fn new(fanout: Fanout, meta: &ComponentMeta, metrics: ComponentMetrics) -> Self {
        Self {
            fanout: Some(Mutex::new(fanout)),
            component_id: meta.key.id().to_owned(),
            component_type: meta.type_name.to_owned(),
            metrics,
            log: RateLimitedLog::default(),
        }
    }

    /// An output nothing can consume: every rejection is finalized and counted as discarded.
    pub fn unwired(metrics: ComponentMetrics) -> Self {
        let label = |key: &str| {
            metrics.labels().iter().find(|label| label.key() == key).map(|label| label.value().to_owned())
        };
        Self {
            fanout: None,
            component_id: label("component_id").unwrap_or_default(),
            component_type: label("component_type").unwrap_or_default(),
            metrics,
            log: RateLimitedLog::default(),
        }
    }

    /// True when some component consumes the output now. A sink that must decide in advance
    /// whether to keep events for a possible rejection (the driver, which otherwise drops them
    /// once encoded) asks this. While another rejection is being sent the answer is `true`
    /// without waiting, since waiting here could stall the task that is sending.
    pub fn is_wired(&self) -> bool {
        match &self.fanout {
            None => false,
            Some(fanout) => fanout.try_lock().map_or(true, |mut fanout| fanout.consumer_count() > 0),
        }
    }

    /// Hands over `events`, all refused for the same reason. Returns true when they went to the
    /// output; false when they were finalized here (nothing consumes it) or lost on the way.
    pub async fn reject(&self, events: Vec<Event>, rejection: &Rejection) -> bool {
        if events.is_empty() {
            return false;
        }
        let annotation = self.annotation(rejection);
        match self.route(events, rejection, |event| annotate(event, &annotation)).await {
            Ok(routed) => routed,
            Err(events) => {
                let count = events.len();
                EventBatch::new(events).finalize(rejection.status());
                self.discarded(count, rejection, "nothing consumes the rejected output");
                false
            }
        }
    }

    /// Hands over events refused for reasons of their own. Returns how many went to the output.
    pub async fn reject_each(&self, events: Vec<(Event, Rejection)>) -> usize {
        let count = events.len();
        let (events, rejections): (Vec<Event>, Vec<Rejection>) = events.into_iter().unzip();
        let Some(first) = rejections.first() else { return 0 };
        let mut annotations = rejections.iter().map(|rejection| self.annotation(rejection));
        let annotate_next = |event: &mut Event| {
            if let Some(annotation) = annotations.next() {
                annotate(event, &annotation);
            }
        };
        match self.route(events, first, annotate_next).await {
            Ok(true) => count,
            Ok(false) => 0,
            Err(events) => {
                for (mut event, rejection) in events.into_iter().zip(&rejections) {
                    event.take_finalizers().update_status(rejection.status());
                    self.discarded(1, rejection, "nothing consumes the rejected output");
                }
                0
            }
        }
    }

    /// Settles the finalizers of `events` events that are no longer at hand (a body already
    /// encoded), counting and logging them as discarded.
    pub fn discard(&self, finalizers: EventFinalizers, events: usize, rejection: &Rejection) {
        finalizers.update_status(rejection.status());
        self.discarded(events, rejection, "the events were not kept");
    }

    /// Annotates and sends `events` when something consumes the output: `Ok(true)` once sent,
    /// `Ok(false)` when every consumer went away during the send. Gives the events back untouched
    /// when nothing consumes the output.
    async fn route(
        &self,
        mut events: Vec<Event>,
        rejection: &Rejection,
        annotate: impl FnMut(&mut Event),
    ) -> Result<bool, Vec<Event>> {
        let count = events.len();
        let Some(fanout) = &self.fanout else { return Err(events) };
        let mut fanout = fanout.lock().await;
        if count == 0 || fanout.consumer_count() == 0 {
            return Err(events);
        }
        events.iter_mut().for_each(annotate);
        let consumers = fanout.send(EventBatch::new(events)).await;
        drop(fanout);
        if consumers == 0 {
            // The batch is gone and its finalizers, never settled, report `Errored`.
            self.discarded(count, rejection, "the rejected output's consumers went away");
            return Ok(false);
        }
        self.metrics.sent_to(REJECTED_OUTPUT, count);
        if let Some(suppressed) = self.log.check() {
            tracing::warn!(
                reason = rejection.reason,
                events = count,
                suppressed,
                "events refused for good: {}; sent to `{}.{REJECTED_OUTPUT}`",
                rejection.message,
                self.component_id,
            );
        }
        Ok(true)
    }

    fn discarded(&self, events: usize, rejection: &Rejection, why: &str) {
        self.metrics.discarded(events);
        if let Some(suppressed) = self.log.check() {
            tracing::error!(
                reason = rejection.reason,
                events,
                suppressed,
                "events refused for good: {}; discarded ({why})",
                rejection.message,
            );
        }
    }

    fn annotation(&self, rejection: &Rejection) -> Value {
        let mut map = ObjectMap::new();
        map.insert(KeyString::from("component_id"), Value::from(self.component_id.as_str()));
        map.insert(KeyString::from("component_type"), Value::from(self.component_type.as_str()));
        map.insert(KeyString::from("component_kind"), Value::from("sink"));
        map.insert(KeyString::from("reason"), Value::from(rejection.reason));
        map.insert(KeyString::from("message"), Value::from(rejection.message.as_str()));
        map.insert(KeyString::from("retries_exhausted"), Value::from(rejection.retries_exhausted));
        if let Some(status) = rejection.http_status {
            map.insert(KeyString::from("http_status"), Value::from(i64::from(status)));
        }
        Value::Object(map)
    }
}

/// Writes the annotation into a log or trace; metrics have no fields and travel as they are.
fn annotate(event: &mut Event, annotation: &Value) {
    match event {
        Event::Log(log) => {
            log.insert(DEAD_LETTER_FIELD, annotation.clone());
        }
        Event::Trace(trace) => {
            trace.insert(DEAD_LETTER_FIELD, annotation.clone());
        }
        Event::Metric(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use strata_event::{BatchNotifier, EventMetadata, LogEvent};

    use super::*;
    use crate::buffer::memory_buffer;
    use crate::testing::collect;
    use crate::{BufferConfig, ComponentKey, ComponentKind, ControlMessage};

    fn tracked(message: &str) -> (Event, strata_event::BatchReceipt) {
        let (notifier, receipt) = BatchNotifier::new();
        let mut event = Event::Log(LogEvent::from_message(message.to_owned(), EventMetadata::default()));
        event.metadata_mut().add_finalizers(EventFinalizers::new(notifier));
        (event, receipt)
    }

    fn output() -> (RejectedOutput, crate::fanout::ControlSender, ComponentMetrics) {
        let meta = ComponentMeta::new(ComponentKey::new("out"), ComponentKind::Sink, "http");
        let metrics = ComponentMetrics::new(&meta);
        let (fanout, control) = Fanout::new();
        (RejectedOutput::new(fanout, &meta, metrics.clone()), control, metrics)
    }

    #[tokio::test]
    async fn unwired_rejections_are_finalized_by_their_kind() {
        let (output, _control, _) = output();
        assert!(!output.is_wired());
        let (event, receipt) = tracked("a");
        assert!(!output.reject(vec![event], &Rejection::permanent("bad", "bad")).await);
        assert_eq!(receipt.await, BatchStatus::Rejected);

        let exhausted = Rejection { retries_exhausted: true, ..Rejection::permanent("boom", "boom") };
        let (event, receipt) = tracked("b");
        assert!(!output.reject(vec![event], &exhausted).await);
        assert_eq!(receipt.await, BatchStatus::Errored);
    }

    #[tokio::test]
    async fn wired_rejections_carry_their_finalizers_and_the_annotation() {
        let (output, control, metrics) = output();
        let (tx, mut rx) = memory_buffer(&BufferConfig::default(), &metrics);
        control.send(ControlMessage::Add(ComponentKey::new("dlq"), tx)).unwrap();
        assert!(output.is_wired());
        let (event, receipt) = tracked("a");
        let rejection =
            Rejection { http_status: Some(400), ..Rejection::permanent("http_client_error", "400") };
        assert!(output.reject(vec![event], &rejection).await);
        let mut routed = collect(&mut rx, 1, Duration::from_secs(5)).await;
        assert_eq!(routed.len(), 1);
        let log = routed[0].as_log().unwrap();
        assert_eq!(log.get("metadata.dead_letter.component_id"), Some(&Value::from("out")));
        assert_eq!(log.get("metadata.dead_letter.reason"), Some(&Value::from("http_client_error")));
        assert_eq!(log.get("metadata.dead_letter.http_status"), Some(&Value::from(400)));
        assert_eq!(log.get("metadata.dead_letter.retries_exhausted"), Some(&Value::from(false)));
        // The dead-letter side decides the outcome.
        routed[0].take_finalizers().update_status(BatchStatus::Delivered);
        drop(routed);
        assert_eq!(receipt.await, BatchStatus::Delivered);

        let (one, first) = tracked("one");
        let (two, second) = tracked("two");
        let each = vec![
            (one, Rejection::permanent("template_rejected", "missing field")),
            (two, Rejection::permanent("template_rejected", "leaves the directory")),
        ];
        assert_eq!(output.reject_each(each).await, 2);
        let routed = collect(&mut rx, 2, Duration::from_secs(5)).await;
        let messages: Vec<_> =
            routed.iter().map(|e| e.as_log().unwrap().get("metadata.dead_letter.message").cloned()).collect();
        assert_eq!(messages, [Some(Value::from("missing field")), Some(Value::from("leaves the directory"))]);
        drop(routed);
        // Nobody settled them: not delivered.
        assert_eq!(first.await, BatchStatus::Errored);
        assert_eq!(second.await, BatchStatus::Errored);

        control.send(ControlMessage::Remove(ComponentKey::new("dlq"))).unwrap();
        assert!(!output.is_wired(), "a removed consumer unwires the output");
    }
}
