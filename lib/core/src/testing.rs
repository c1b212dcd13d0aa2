//! Harnesses for component tests: run a source, a transform or a sink in isolation with real
//! channels, and read what came out. Every component crate's tests use these.

use std::time::Duration;

use strata_event::{Event, EventBatch, SourceId};

use crate::buffer::memory_buffer;
use crate::{
    BufferConfig, BufferReceiver, ComponentKey, ComponentKind, ComponentMeta, ComponentMetrics,
    ControlMessage, Fanout, GlobalOptions, RejectedOutput, ShutdownSignal, SinkContext, SinkInput,
    SourceContext, SourceSender, TransformContext, TransformOutputsBuf,
};

fn meta(kind: ComponentKind, type_name: &'static str) -> ComponentMeta {
    ComponentMeta::new(ComponentKey::new(format!("test_{type_name}")), kind, type_name)
}

/// A source context whose default output feeds the returned receiver.
pub fn source_context(type_name: &'static str, globals: GlobalOptions) -> (SourceContext, BufferReceiver) {
    let meta = meta(ComponentKind::Source, type_name);
    let metrics = ComponentMetrics::new(&meta);
    let (fanout, control) = Fanout::new();
    let (tx, rx) = memory_buffer(&BufferConfig::default(), &metrics);
    control.send(ControlMessage::Add(ComponentKey::new("collector"), tx)).expect("the fanout is alive");
    let cx = SourceContext {
        key: meta.key.clone(),
        source_id: SourceId::intern(meta.key.id()),
        meta,
        globals,
        shutdown: ShutdownSignal::new(),
        out: SourceSender::new(Some(fanout), Vec::new(), metrics.clone()),
        acknowledgements: false,
        metrics,
    };
    (cx, rx)
}

/// Reads until `count` events arrived, the channel closed, or `timeout` passed.
pub async fn collect(rx: &mut BufferReceiver, count: usize, timeout: Duration) -> Vec<Event> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while events.len() < count {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(batch)) => events.extend(batch),
            Ok(None) | Err(_) => break,
        }
    }
    events
}

pub fn transform_context(type_name: &'static str) -> TransformContext {
    let meta = meta(ComponentKind::Transform, type_name);
    TransformContext {
        key: meta.key.clone(),
        metrics: ComponentMetrics::new(&meta),
        meta,
        globals: GlobalOptions::default(),
    }
}

/// Runs a synchronous transform over `events` and returns what it wrote.
pub fn run_sync(
    transform: &mut dyn crate::SyncTransform,
    ports: &[String],
    events: Vec<Event>,
) -> TransformOutputsBuf {
    let mut out = TransformOutputsBuf::new(ports);
    for event in events {
        transform.transform(event, &mut out);
    }
    out
}

pub fn sink_context(type_name: &'static str) -> SinkContext {
    let meta = meta(ComponentKind::Sink, type_name);
    let metrics = ComponentMetrics::new(&meta);
    SinkContext {
        key: meta.key.clone(),
        rejected: RejectedOutput::unwired(metrics.clone()),
        metrics,
        meta,
        globals: GlobalOptions::default(),
        acknowledgements: false,
    }
}

/// A sink context whose `rejected` output feeds the returned receiver, as if another component
/// listed `<id>.rejected` as an input.
pub fn sink_context_with_rejected(type_name: &'static str) -> (SinkContext, BufferReceiver) {
    let meta = meta(ComponentKind::Sink, type_name);
    let metrics = ComponentMetrics::new(&meta);
    let (fanout, control) = Fanout::new();
    let (tx, rx) = memory_buffer(&BufferConfig::default(), &metrics);
    control.send(ControlMessage::Add(ComponentKey::new("dead_letter"), tx)).expect("the fanout is alive");
    let cx = SinkContext {
        key: meta.key.clone(),
        rejected: RejectedOutput::new(fanout, &meta, metrics.clone()),
        metrics,
        meta,
        globals: GlobalOptions::default(),
        acknowledgements: false,
    };
    (cx, rx)
}

/// A sink input that yields `batches` and then ends.
pub async fn sink_input(batches: Vec<EventBatch>) -> SinkInput {
    let meta = meta(ComponentKind::Sink, "input");
    let metrics = ComponentMetrics::new(&meta);
    let (tx, rx) = memory_buffer(
        &BufferConfig::Memory {
            max_events: Some(usize::MAX >> 8),
            max_size: None,
            when_full: Default::default(),
        },
        &metrics,
    );
    for batch in batches {
        tx.send(batch).await.expect("the receiver is alive");
    }
    SinkInput::new(rx, metrics)
}

/// `count` logs with `n` (0..count), a shared `k = "same"` and `message = "event n"`: input for
/// the compliance tests.
pub fn numbered_logs(count: i64) -> Vec<Event> {
    (0..count)
        .map(|n| {
            let mut log = strata_event::LogEvent::default();
            log.insert("n", n);
            log.insert("k", "same");
            log.insert("message", format!("event {n}"));
            Event::Log(log)
        })
        .collect()
}
