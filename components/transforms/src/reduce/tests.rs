//! `reduce` tests: the task runs on tokio's paused clock, fed through real buffers.

use std::time::Duration;

use strata_core::buffer::memory_buffer;
use strata_core::testing::transform_context;
use strata_core::{
    BufferConfig, BufferReceiver, BufferSender, ComponentError, ComponentKey, ControlMessage, Fanout,
    Transform, TransformConfig, TransformInput, TransformOutputs,
};
use strata_event::{BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers, LogEvent, Value};
use tokio::task::JoinHandle;

use super::merge::Merger;
use super::*;

/// A running `reduce` with its input and output ends.
struct Running {
    input: BufferSender,
    output: BufferReceiver,
    task: JoinHandle<Result<(), ComponentError>>,
}

impl Running {
    async fn start(options: serde_json::Value) -> Self {
        let config: ReduceConfig = strata_core::parse_options(options).expect("valid options");
        let cx = transform_context("reduce");
        let Transform::Task(reduce) = config.build(&cx).await.expect("builds") else {
            panic!("reduce runs as a task")
        };
        let (input, input_rx) = memory_buffer(&BufferConfig::default(), &cx.metrics);
        let (output_tx, output) = memory_buffer(&BufferConfig::default(), &cx.metrics);
        let (fanout, control) = Fanout::new();
        control
            .send(ControlMessage::Add(ComponentKey::new("collector"), output_tx))
            .expect("the fanout is alive");
        let outputs = TransformOutputs::new(Some(fanout), Vec::new(), cx.metrics.clone());
        let task = tokio::spawn(reduce.run(TransformInput::new(input_rx, cx.metrics.clone()), outputs));
        Self { input, output, task }
    }

    async fn send(&self, events: Vec<Event>) {
        self.input.send(EventBatch::new(events)).await.expect("reduce is running");
        settle().await;
    }

    /// What the transform has sent so far.
    fn sent(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(batch) = self.output.try_recv() {
            events.extend(batch);
        }
        events
    }

    /// Closes the input and returns everything sent, once the task has finished.
    async fn finish(mut self) -> Vec<Event> {
        drop(self.input);
        self.task.await.expect("the task did not panic").expect("the task succeeded");
        let mut events = Vec::new();
        while let Some(batch) = self.output.try_recv() {
            events.extend(batch);
        }
        events
    }
}

/// Lets the spawned task run until it waits again, without moving the paused clock.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

async fn advance(by: Duration) {
    tokio::time::advance(by).await;
    settle().await;
}

fn event(fields: serde_json::Value) -> Event {
    Event::Log(LogEvent::from_value(Value::from(fields), Default::default()))
}

fn line(message: &str) -> Event {
    event(serde_json::json!({ "message": message }))
}

fn field<'a>(event: &'a Event, path: &str) -> Option<&'a Value> {
    event.as_log().unwrap().get(path)
}

#[tokio::test(start_paused = true)]
async fn starts_when_merges_a_multi_line_stack_trace() {
    let mut reduce = Running::start(serde_json::json!({
        "starts_when": "!starts_with(string(.message) ?? \"\", \" \")",
        "merge_strategies": {"message": "concat_newline"},
    }))
    .await;
    reduce
        .send(vec![
            line("Exception in thread \"main\" java.lang.NullPointerException"),
            line("    at com.example.Book.getTitle(Book.java:16)"),
            line("    at com.example.Author.getBookTitles(Author.java:25)"),
            line("Next event"),
        ])
        .await;
    // The trace ended when the next event started; that one waits for its own continuation.
    let sent = reduce.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        field(&sent[0], "message"),
        Some(&Value::from(
            "Exception in thread \"main\" java.lang.NullPointerException\n    at com.example.Book.getTitle(Book.java:16)\n    at com.example.Author.getBookTitles(Author.java:25)"
        ))
    );
    reduce.send(vec![line("  continued")]).await;
    assert!(reduce.sent().is_empty());
    let rest = reduce.finish().await;
    assert_eq!(rest.len(), 1);
    assert_eq!(field(&rest[0], "message"), Some(&Value::from("Next event\n  continued")));
}

#[tokio::test(start_paused = true)]
async fn ends_when_sends_the_group_per_key_with_the_default_strategies() {
    let mut reduce = Running::start(serde_json::json!({
        "group_by": ["request_id"],
        "ends_when": "exists(.done)",
    }))
    .await;
    let at = |second: u32| chrono::DateTime::from_timestamp(1_700_000_000 + i64::from(second), 0).unwrap();
    let mut events = Vec::new();
    for (second, id, bytes, message) in
        [(0, "a", 10, "start a"), (1, "b", 1, "start b"), (2, "a", 5, "more a")]
    {
        let mut log = LogEvent::default();
        log.insert("request_id", id);
        log.insert("bytes", bytes);
        log.insert("took", Value::from_f64_or_zero(0.5));
        log.insert("message", message);
        log.insert("timestamp", Value::Timestamp(at(second)));
        events.push(Event::Log(log));
    }
    let mut end = LogEvent::default();
    end.insert("request_id", "a");
    end.insert("done", true);
    end.insert("timestamp", Value::Timestamp(at(3)));
    events.push(Event::Log(end));
    reduce.send(events).await;

    let sent = reduce.sent();
    assert_eq!(sent.len(), 1, "only request a ended");
    let a = &sent[0];
    assert_eq!(field(a, "request_id"), Some(&Value::from("a")));
    assert_eq!(field(a, "bytes"), Some(&Value::from(15)));
    assert_eq!(field(a, "took"), Some(&Value::from_f64_or_zero(1.0)));
    assert_eq!(field(a, "message"), Some(&Value::from("start a")));
    assert_eq!(field(a, "done"), Some(&Value::from(true)));
    assert_eq!(field(a, "timestamp"), Some(&Value::Timestamp(at(0))));
    assert_eq!(field(a, "timestamp_end"), Some(&Value::Timestamp(at(3))));

    let rest = reduce.finish().await;
    assert_eq!(rest.len(), 1, "request b is sent when the input ends");
    assert_eq!(field(&rest[0], "request_id"), Some(&Value::from("b")));
    assert_eq!(field(&rest[0], "bytes"), Some(&Value::from(1)));
}

#[tokio::test(start_paused = true)]
async fn a_group_expires_after_its_last_event() {
    let mut reduce = Running::start(serde_json::json!({"expire_after_ms": 30_000})).await;
    reduce.send(vec![event(serde_json::json!({"count": 1}))]).await;
    advance(Duration::from_secs(20)).await;
    reduce.send(vec![event(serde_json::json!({"count": 2}))]).await;
    // 40 s after the first event but only 20 s after the last: still open.
    advance(Duration::from_secs(20)).await;
    assert!(reduce.sent().is_empty());
    // Past 30 s of quiet, the next flush tick sends it.
    advance(Duration::from_secs(11)).await;
    let sent = reduce.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(field(&sent[0], "count"), Some(&Value::from(3)));
    assert!(reduce.finish().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn end_every_period_sends_a_busy_group_anyway() {
    let mut reduce = Running::start(serde_json::json!({"end_every_period_ms": 5_000})).await;
    for _ in 0..4 {
        reduce.send(vec![event(serde_json::json!({"count": 1}))]).await;
        advance(Duration::from_secs(2)).await;
    }
    let sent = reduce.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(field(&sent[0], "count"), Some(&Value::from(3)));
    let rest = reduce.finish().await;
    assert_eq!(field(&rest[0], "count"), Some(&Value::from(1)));
}

#[tokio::test(start_paused = true)]
async fn max_events_caps_a_group() {
    let reduce = Running::start(serde_json::json!({"max_events": 2})).await;
    reduce.send((0..5).map(|n| event(serde_json::json!({"n": n}))).collect()).await;
    let sent = reduce.finish().await;
    let sums: Vec<_> = sent.iter().map(|e| field(e, "n").cloned()).collect();
    assert_eq!(sums, [Some(Value::from(1)), Some(Value::from(5)), Some(Value::from(4))]);
}

#[tokio::test(start_paused = true)]
async fn the_merged_event_carries_every_source_batchs_finalizers() {
    let reduce = Running::start(serde_json::json!({"ends_when": "exists(.done)"})).await;
    let (first_notifier, mut first) = BatchNotifier::new();
    let (second_notifier, mut second) = BatchNotifier::new();
    let mut start = line("start");
    start.metadata_mut().add_finalizers(EventFinalizers::new(first_notifier));
    let mut done = event(serde_json::json!({"done": true}));
    done.metadata_mut().add_finalizers(EventFinalizers::new(second_notifier));
    reduce.send(vec![start]).await;
    reduce.send(vec![done]).await;
    let mut sent = reduce.finish().await;
    assert_eq!(sent.len(), 1);
    // Neither source hears anything until the merged event is finalized.
    assert!(tokio::time::timeout(Duration::from_millis(10), &mut first).await.is_err());
    assert!(tokio::time::timeout(Duration::from_millis(10), &mut second).await.is_err());
    let merged = sent.pop().unwrap();
    assert_eq!(merged.metadata().finalizers().len(), 2);
    let mut merged = merged;
    merged.take_finalizers().update_status(BatchStatus::Delivered);
    drop(merged);
    assert_eq!(first.await, BatchStatus::Delivered);
    assert_eq!(second.await, BatchStatus::Delivered);
}

#[tokio::test(start_paused = true)]
async fn a_strategy_on_an_object_applies_to_it_whole_and_nested_fields_merge_by_type() {
    let reduce =
        Running::start(serde_json::json!({"merge_strategies": {"ctx": "retain", "tags": "flat_unique"}}))
            .await;
    reduce
        .send(vec![
            event(serde_json::json!({"ctx": {"a": 1, "b": 1}, "tags": ["x", "y"], "http": {"bytes": 1, "path": "/a"}})),
            event(serde_json::json!({"ctx": {"a": 2}, "tags": ["y", "z"], "http": {"bytes": 2, "path": "/b"}})),
        ])
        .await;
    let sent = reduce.finish().await;
    assert_eq!(field(&sent[0], "ctx"), Some(&Value::from(serde_json::json!({"a": 2}))));
    assert_eq!(field(&sent[0], "tags"), Some(&Value::from(serde_json::json!(["x", "y", "z"]))));
    assert_eq!(field(&sent[0], "http.bytes"), Some(&Value::from(3)));
    assert_eq!(field(&sent[0], "http.path"), Some(&Value::from("/a")));
}

/// Merges `values` by `strategy` and returns the field written.
fn merged(strategy: MergeStrategy, values: serde_json::Value) -> Option<Value> {
    let serde_json::Value::Array(values) = values else { panic!("a list of values") };
    let mut values = values.into_iter().map(Value::from);
    let mut merger = Merger::start(values.next()?, Some(strategy)).ok()?;
    for value in values {
        merger.add(value).ok()?;
    }
    let mut log = LogEvent::default();
    merger.finish(&vrl::path::parse_value_path("f").unwrap(), &mut log);
    log.get("f").cloned()
}

#[test]
fn every_merge_strategy() {
    use MergeStrategy::*;
    use serde_json::json;
    let cases = [
        (Discard, json!(["a", "b"]), Some(json!("a"))),
        (Retain, json!(["a", "b", null]), Some(json!("b"))),
        (Sum, json!([1, 2, 3]), Some(json!(6))),
        (Sum, json!([1, 2.5]), Some(json!(3.5))),
        (Max, json!([3, 7.5, 5]), Some(json!(7.5))),
        (Min, json!([3, -1, 5]), Some(json!(-1))),
        (Array, json!([1, "a", [2]]), Some(json!([1, "a", [2]]))),
        (Concat, json!(["a", "b"]), Some(json!("a b"))),
        (Concat, json!([[1], [2, 3], 4]), Some(json!([1, 2, 3, 4]))),
        (ConcatNewline, json!(["a", "b"]), Some(json!("a\nb"))),
        (ConcatRaw, json!(["a", "b"]), Some(json!("ab"))),
        (ShortestArray, json!([[1, 2], [3], [4]]), Some(json!([3]))),
        (LongestArray, json!([[1], [2, 3], [4, 5]]), Some(json!([2, 3]))),
        (FlatUnique, json!([[1, 2], 2, {"k": 3}, [1, 3]]), Some(json!([1, 2, 3]))),
        // Values of the wrong type are refused.
        (Sum, json!([1, "two"]), None),
        (ConcatNewline, json!([1]), None),
        (LongestArray, json!([[1], "x"]), None),
    ];
    for (strategy, values, expected) in cases {
        let expected = expected.map(Value::from);
        assert_eq!(merged(strategy, values.clone()), expected, "{strategy:?} over {values}");
    }
}

#[test]
fn integer_sums_that_overflow_become_floats() {
    let sum = merged(MergeStrategy::Sum, serde_json::json!([i64::MAX, 1]));
    assert_eq!(sum, Some(Value::from_f64_or_zero(i64::MAX as f64 + 1.0)));
}

#[test]
fn conflicting_or_bad_options_are_refused() {
    let both: ReduceConfig =
        strata_core::parse_options(serde_json::json!({"starts_when": "true", "ends_when": "true"})).unwrap();
    assert!(both.validate()[0].contains("set only one"), "{:?}", both.validate());
    let indexed: ReduceConfig = strata_core::parse_options(
        serde_json::json!({"merge_strategies": {"a[0]": "sum"}, "flush_period_ms": 0}),
    )
    .unwrap();
    assert_eq!(indexed.validate().len(), 2, "{:?}", indexed.validate());
    let unknown =
        strata_core::parse_options::<ReduceConfig>(serde_json::json!({"merge_strategies": {"a": "avg"}}));
    assert!(unknown.unwrap_err().to_string().contains("avg"));
}

#[test]
fn the_example_is_valid() {
    let mut options: serde_json::Value = toml::from_str(super::config::EXAMPLE).expect("the example is TOML");
    options.as_object_mut().expect("a table").retain(|key, _| key != "type" && key != "inputs");
    let config: ReduceConfig = strata_core::parse_options(options).expect("the example parses");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn reduce_passes_the_compliance_helper() {
    let config: ReduceConfig = strata_core::parse_options(serde_json::json!({"group_by": ["k"]})).unwrap();
    let output = strata_core::compliance::assert_transform_compliance(
        "reduce",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert_eq!(output.len(), 1);
}
