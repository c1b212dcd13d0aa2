//! The component compliance helper: runs any source, transform or sink with real channels under
//! a private metrics recorder, and checks that it moved the events and reported the standard
//! per-component metrics with the right labels. Every component's tests use it.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use strata_event::{BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers};

use crate::testing::{collect, sink_context, source_context, transform_context};
use crate::{
    BufferConfig, ComponentKey, ControlMessage, Fanout, GlobalOptions, SinkConfig, SinkInput, SourceConfig,
    Transform, TransformConfig, TransformInput, TransformOutputs,
};

/// One counter as recorded: its name, its labels and its value.
type RecordedCounter = (String, Vec<(String, String)>, u64);

/// Counter values recorded while a component ran.
#[derive(Debug, Default)]
pub struct Recorded(Vec<RecordedCounter>);

impl Recorded {
    /// The sum of a counter over every label set that contains all of `labels`.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let matching: Vec<u64> = self
            .0
            .iter()
            .filter(|(n, l, _)| {
                n == name && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, value)| *value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Asserts the standard labels on the component's counters and returns (received, sent).
    fn standard(&self, kind: &str, type_name: &str) -> (u64, u64) {
        let labels = [("component_kind", kind), ("component_type", type_name)];
        let received = self.counter("component_received_events_total", &labels);
        let sent = self.counter("component_sent_events_total", &labels);
        let (Some(received), Some(sent)) = (received, sent) else {
            panic!(
                "{kind} `{type_name}` must report component_received_events_total and component_sent_events_total with component_id, component_kind and component_type labels; recorded: {self:#?}"
            );
        };
        assert!(
            self.0
                .iter()
                .filter(|(n, _, _)| n.starts_with("component_"))
                .all(|(_, l, _)| l.iter().any(|(k, _)| k == "component_id")),
            "every component metric carries component_id: {self:#?}"
        );
        (received, sent)
    }
}

/// Runs `body` on a fresh current-thread runtime with a private recorder.
pub fn recorded<T>(body: impl Future<Output = T>) -> (T, Recorded) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let output = metrics::with_local_recorder(&recorder, || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
        runtime.block_on(body)
    });
    let counters = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(count) => {
                let labels = key.key().labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
                Some((key.key().name().to_owned(), labels, count))
            }
            _ => None,
        })
        .collect();
    (output, Recorded(counters))
}

/// Runs a source until it has produced `count` events (or `timeout`), then stops it. Asserts that
/// it reported at least that many events received and exactly as many sent as arrived.
pub fn assert_source_compliance(
    type_name: &'static str,
    config: &dyn SourceConfig,
    count: usize,
) -> Vec<Event> {
    assert_source_compliance_with(type_name, config, count, GlobalOptions::default())
}

/// As [`assert_source_compliance`], with global options (a `data_dir` for sources that keep
/// checkpoints).
pub fn assert_source_compliance_with(
    type_name: &'static str,
    config: &dyn SourceConfig,
    count: usize,
    globals: GlobalOptions,
) -> Vec<Event> {
    let (events, recorded) = recorded(async {
        let (cx, mut rx) = source_context(type_name, globals);
        let shutdown = cx.shutdown.clone();
        let source = config.build(cx).await.expect("the source builds");
        let task = tokio::spawn(source);
        let events = collect(&mut rx, count, Duration::from_secs(10)).await;
        shutdown.trigger();
        let _ =
            tokio::time::timeout(Duration::from_secs(10), task).await.expect("the source stops on shutdown");
        while let Some(batch) = rx.try_recv() {
            drop(batch);
        }
        events
    });
    assert!(events.len() >= count, "source `{type_name}` produced {} of {count} events", events.len());
    let (received, sent) = recorded.standard("source", type_name);
    assert!(received >= events.len() as u64, "received {received} < {} produced", events.len());
    assert!(sent >= events.len() as u64, "sent {sent} < {} produced", events.len());
    events
}

/// What a transform emitted in a compliance run: its default output and each named output.
#[derive(Debug, Default)]
pub struct TransformRun {
    pub primary: Vec<Event>,
    pub named: BTreeMap<String, Vec<Event>>,
}

/// Runs a transform over `input` and returns its default output. Asserts it counted every input
/// event as received and every output event as sent.
pub fn assert_transform_compliance(
    type_name: &'static str,
    config: &dyn TransformConfig,
    input: Vec<Event>,
) -> Vec<Event> {
    assert_transform_compliance_with_outputs(type_name, config, input).primary
}

/// As [`assert_transform_compliance`], collecting the named outputs too (`route`'s routes,
/// `remap`'s `dropped`).
pub fn assert_transform_compliance_with_outputs(
    type_name: &'static str,
    config: &dyn TransformConfig,
    input: Vec<Event>,
) -> TransformRun {
    let count = input.len();
    let (run, recorded) = recorded(async {
        let cx = transform_context(type_name);
        let transform = config.build(&cx).await.expect("the transform builds");
        let ports: Vec<String> =
            config.outputs(strata_event::DataType::ALL).into_iter().filter_map(|o| o.port).collect();
        let (in_tx, in_rx) = crate::buffer::memory_buffer(&BufferConfig::default(), &cx.metrics);
        let collector = |fanout_control: &crate::fanout::ControlSender| {
            let (tx, rx) = crate::buffer::memory_buffer(&unbounded(), &cx.metrics);
            fanout_control.send(ControlMessage::Add(ComponentKey::new("collector"), tx)).expect("alive");
            rx
        };
        let (fanout, control) = Fanout::new();
        let mut primary_rx = collector(&control);
        let (mut named, mut named_rx, mut controls) = (Vec::new(), Vec::new(), vec![control]);
        for port in &ports {
            let (fanout, control) = Fanout::new();
            named_rx.push((port.clone(), collector(&control)));
            named.push((port.clone(), fanout));
            controls.push(control);
        }
        let outputs = TransformOutputs::new(Some(fanout), named, cx.metrics.clone());
        let input_stream = TransformInput::new(in_rx, cx.metrics.clone());
        let run = async move {
            match transform {
                Transform::Sync(transform) => {
                    crate::transform::run_sync(transform, input_stream, outputs, &ports).await
                }
                Transform::Task(task) => task.run(input_stream, outputs).await.expect("the transform runs"),
            }
        };
        let feed = async move {
            in_tx.send(EventBatch::new(input)).await.expect("the transform reads its input");
        };
        let ((), ()) = tokio::join!(run, feed);
        let mut output = TransformRun::default();
        while let Some(batch) = primary_rx.try_recv() {
            output.primary.extend(batch);
        }
        for (port, mut rx) in named_rx {
            let events = output.named.entry(port).or_default();
            while let Some(batch) = rx.try_recv() {
                events.extend(batch);
            }
        }
        output
    });
    let (received, sent) = recorded.standard("transform", type_name);
    assert_eq!(received, count as u64, "every input event is counted as received");
    let emitted = run.primary.len() + run.named.values().map(Vec::len).sum::<usize>();
    assert_eq!(sent, emitted as u64, "every event on every output is counted as sent");
    run
}

/// Runs a sink over `input` and checks it delivered it all: every event counted as received, at
/// least one sent, and the batch acknowledged as delivered.
pub fn assert_sink_compliance(type_name: &'static str, config: &dyn SinkConfig, mut input: Vec<Event>) {
    let count = input.len();
    let (status, recorded) = recorded(async {
        let (notifier, receipt) = BatchNotifier::new();
        for event in &mut input {
            event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
        }
        drop(notifier);
        let cx = sink_context(type_name);
        let metrics = cx.metrics.clone();
        let (sink, _healthcheck) = config.build(cx).await.expect("the sink builds");
        let (tx, rx) = crate::buffer::memory_buffer(&unbounded(), &metrics);
        tx.send(EventBatch::new(input)).await.expect("the sink's input is open");
        drop(tx);
        sink.run(SinkInput::new(rx, metrics)).await.expect("the sink runs");
        receipt.await
    });
    assert_eq!(status, BatchStatus::Delivered, "sink `{type_name}` acknowledges what it delivered");
    let (received, sent) = recorded.standard("sink", type_name);
    assert_eq!(received, count as u64, "every input event is counted as received");
    assert_eq!(sent, count as u64, "every delivered event is counted as sent");
}

fn unbounded() -> BufferConfig {
    BufferConfig::Memory { max_events: Some(1 << 30), max_size: None, when_full: Default::default() }
}
