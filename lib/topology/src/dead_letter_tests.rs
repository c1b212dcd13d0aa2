//! Sinks' `rejected` outputs: wiring `<sink>.rejected` in config, drawing it, and keeping every
//! event through reloads that change or remove the dead-letter consumer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use strata_core::config::{SinkRegistration, SourceRegistration, boxed_sink, boxed_source};
use strata_core::sink::healthy;
use strata_core::{
    BuildError, ComponentError, DataType, Healthcheck, Output, RejectedOutput, Rejection, Sink, SinkConfig,
    SinkContext, SinkInput, SourceConfig, SourceContext,
};
use strata_event::{BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers, LogEvent, Value};

use crate::config::LoadOptions;
use crate::{ConfigFile, Graph, Registry, Topology};

/// What the test components saw, by the `tag` each was configured with.
#[derive(Default)]
struct Seen {
    /// Outcome of every event the `counter` source emitted.
    statuses: Vec<BatchStatus>,
    /// Events (`n`) stored by each `store` sink.
    stored: BTreeMap<String, Vec<i64>>,
}

static SEEN: Mutex<BTreeMap<String, Seen>> = Mutex::new(BTreeMap::new());

fn with_seen<R>(tag: &str, f: impl FnOnce(&mut Seen) -> R) -> R {
    let mut seen = SEEN.lock().unwrap();
    f(seen.entry(tag.to_owned()).or_default())
}

/// Emits `count` logs, one per batch, each with its own notifier, then waits for shutdown.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counter {
    tag: String,
    count: i64,
    interval_ms: u64,
}

#[async_trait]
impl SourceConfig for Counter {
    async fn build(&self, mut cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        let (tag, count, interval) = (self.tag.clone(), self.count, Duration::from_millis(self.interval_ms));
        Ok(Box::pin(async move {
            for n in 0..count {
                let (notifier, receipt) = BatchNotifier::new();
                let mut log = LogEvent::default();
                log.insert("n", n);
                log.metadata_mut().add_finalizers(EventFinalizers::new(notifier));
                let tag = tag.clone();
                tokio::spawn(async move {
                    let status = receipt.await;
                    with_seen(&tag, |seen| seen.statuses.push(status));
                });
                if cx.out.send_batch(EventBatch::from(Event::Log(log))).await.is_err() {
                    break;
                }
                tokio::time::sleep(interval).await;
            }
            cx.shutdown.recv().await;
            Ok(())
        }))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }
}

/// Refuses every event for good, through its `rejected` output.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refuse {}

struct Refusing(RejectedOutput);

#[async_trait]
impl Sink for Refusing {
    async fn run(self: Box<Self>, mut input: SinkInput) -> Result<(), ComponentError> {
        while let Some(batch) = input.recv().await {
            let rejection =
                Rejection { http_status: Some(400), ..Rejection::permanent("test_refused", "no") };
            self.0.reject(batch.into_events(), &rejection).await;
        }
        Ok(())
    }
}

#[async_trait]
impl SinkConfig for Refuse {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        Ok((Box::new(Refusing(cx.rejected)), healthy()))
    }

    fn input(&self) -> DataType {
        DataType::LOG
    }
}

/// Stores what it gets under `tag`/`bucket` and reports it delivered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Store {
    tag: String,
    bucket: String,
}

struct Storing(Arc<Store>);

#[async_trait]
impl Sink for Storing {
    async fn run(self: Box<Self>, mut input: SinkInput) -> Result<(), ComponentError> {
        while let Some(mut batch) = input.recv().await {
            for event in batch.iter() {
                let log = event.as_log().expect("logs only");
                assert_eq!(log.get("metadata.dead_letter.reason"), Some(&Value::from("test_refused")));
                let Some(Value::Integer(n)) = log.get("n") else { panic!("no n") };
                with_seen(&self.0.tag, |seen| seen.stored.entry(self.0.bucket.clone()).or_default().push(*n));
            }
            batch.take_finalizers().update_status(BatchStatus::Delivered);
        }
        Ok(())
    }
}

#[async_trait]
impl SinkConfig for Store {
    async fn build(&self, _: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        let me = Store { tag: self.tag.clone(), bucket: self.bucket.clone() };
        Ok((Box::new(Storing(Arc::new(me))), healthy()))
    }

    fn input(&self) -> DataType {
        DataType::LOG
    }
}

static SOURCES: &[SourceRegistration] = &[SourceRegistration {
    type_name: "counter",
    description: "",
    example: "",
    parse: boxed_source::<Counter>,
}];
static SINKS: &[SinkRegistration] = &[
    SinkRegistration { type_name: "refuse", description: "", example: "", parse: boxed_sink::<Refuse> },
    SinkRegistration { type_name: "store", description: "", example: "", parse: boxed_sink::<Store> },
];

fn load(text: &str) -> Result<crate::Config, Vec<String>> {
    let registry = Registry { sources: SOURCES, transforms: &[], sinks: SINKS };
    let env = |_: &str| None;
    crate::load(
        &[ConfigFile::new("test.toml", text)],
        &registry,
        &LoadOptions { interpolate: false, env: &env },
    )
    .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

fn pipeline(tag: &str, count: i64, interval_ms: u64, dead_letter: &str) -> String {
    format!(
        r#"
[sources.in]
type = "counter"
tag = "{tag}"
count = {count}
interval_ms = {interval_ms}

[sinks.out]
type = "refuse"
inputs = ["in"]
{dead_letter}
"#
    )
}

fn store(tag: &str, bucket: &str) -> String {
    format!(
        "[sinks.dlq]\ntype = \"store\"\ninputs = [\"out.rejected\"]\ntag = \"{tag}\"\nbucket = \"{bucket}\"\n"
    )
}

#[test]
fn a_sinks_rejected_output_is_an_input_for_others_and_is_drawn() {
    let config = load(&pipeline("config", 1, 1, &store("config", "a"))).unwrap();
    let edges = config.edges();
    assert!(
        edges.iter().any(|(output, consumer)| output.to_string() == "out.rejected" && consumer.id() == "dlq"),
        "{edges:?}"
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert!(
        Graph::dot(&config).contains("\"out\" -> \"dlq\" [label=\"rejected\"]"),
        "{}",
        Graph::dot(&config)
    );
    assert!(Graph::mermaid(&config).contains("out -->|rejected| dlq"), "{}", Graph::mermaid(&config));

    // Nobody has to consume it: no warning, as before.
    let config = load(&pipeline("config", 1, 1, "")).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn wrong_references_to_a_sink_are_clear_errors() {
    let wired = |inputs: &str| {
        let dlq = format!("[sinks.dlq]\ntype = \"store\"\ninputs = {inputs}\ntag = \"e\"\nbucket = \"e\"\n");
        load(&pipeline("errors", 1, 1, &dlq)).unwrap_err()
    };
    assert_eq!(
        wired(r#"["out.rejcted"]"#),
        [
            "test.toml: sinks.dlq: option `inputs`: `out` has no output named `rejcted` (its outputs: rejected)"
        ]
    );
    assert_eq!(
        wired(r#"["out"]"#),
        [
            "test.toml: sinks.dlq: option `inputs`: input `out` is a sink; a sink's only output is `out.rejected`, the events its destination refused"
        ]
    );
    // A glob never picks up a sink's dead letters: here it finds only the source.
    let dlq = "[sinks.dlq]\ntype = \"store\"\ninputs = [\"*\"]\ntag = \"e\"\nbucket = \"e\"\n";
    let config = load(&pipeline("errors", 1, 1, dlq)).unwrap();
    let inputs: Vec<String> = config.edges().iter().map(|(o, c)| format!("{o}->{c}")).collect();
    assert_eq!(inputs, ["in->dlq", "in->out"]);
}

#[test]
fn dead_letter_outputs_that_loop_back_are_a_cycle() {
    let text = r#"
[sources.in]
type = "counter"
tag = "cycle"
count = 1
interval_ms = 1

[sinks.a]
type = "refuse"
inputs = ["in", "b.rejected"]

[sinks.b]
type = "refuse"
inputs = ["a.rejected"]
"#;
    let errors = load(text).unwrap_err();
    assert_eq!(errors, ["the components form a cycle: a -> b -> a"]);
    let own = load(
        &pipeline("cycle", 1, 1, "").replace("inputs = [\"in\"]", "inputs = [\"in\", \"out.rejected\"]"),
    )
    .unwrap_err();
    assert_eq!(
        own,
        ["test.toml: sinks.out: option `inputs`: component lists itself (`out.rejected`) as an input"]
    );
}

async fn settle(tag: &str, count: usize) -> Vec<BatchStatus> {
    for _ in 0..500 {
        let statuses = with_seen(tag, |seen| seen.statuses.clone());
        if statuses.len() >= count {
            return statuses;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    with_seen(tag, |seen| seen.statuses.clone())
}

#[tokio::test]
async fn dead_letters_reach_their_consumer_and_settle_the_source() {
    let tag = "flow";
    let config = load(&pipeline(tag, 20, 1, &store(tag, "a"))).unwrap();
    let topology = Topology::start(config).await.unwrap();
    let statuses = settle(tag, 20).await;
    assert!(topology.shutdown(Duration::from_secs(10)).await.is_ok());
    assert_eq!(statuses, vec![BatchStatus::Delivered; 20], "the dead-letter sink's outcome, not Rejected");
    let stored = with_seen(tag, |seen| seen.stored.clone());
    assert_eq!(stored["a"], (0..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn reloading_the_dead_letter_consumer_loses_nothing() {
    let tag = "reload";
    let count = 300;
    let mut topology =
        Topology::start(load(&pipeline(tag, count, 2, &store(tag, "a"))).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    // Changed: a new consumer replaces the old one; the old one drains.
    let summary = topology.reload(load(&pipeline(tag, count, 2, &store(tag, "b"))).unwrap()).await.unwrap();
    assert_eq!(summary.changed.iter().map(|k| k.id()).collect::<Vec<_>>(), ["dlq"]);
    tokio::time::sleep(Duration::from_millis(120)).await;
    // Removed: from then on the sink's rejections are finalized `Rejected`, as without one.
    let summary = topology.reload(load(&pipeline(tag, count, 2, "")).unwrap()).await.unwrap();
    assert_eq!(summary.removed.iter().map(|k| k.id()).collect::<Vec<_>>(), ["dlq"]);
    let statuses = settle(tag, count as usize).await;
    assert!(topology.shutdown(Duration::from_secs(10)).await.is_ok());

    assert_eq!(statuses.len(), count as usize, "every event was settled");
    assert!(!statuses.contains(&BatchStatus::Errored), "none lost: {statuses:?}");
    let stored = with_seen(tag, |seen| seen.stored.clone());
    let (a, b) = (stored.get("a").cloned().unwrap_or_default(), stored.get("b").cloned().unwrap_or_default());
    assert!(!a.is_empty() && !b.is_empty(), "both consumers stored some: a {a:?}, b {b:?}");
    let delivered = statuses.iter().filter(|s| **s == BatchStatus::Delivered).count();
    assert_eq!(delivered, a.len() + b.len(), "each stored event was delivered once");
    let rejected = statuses.iter().filter(|s| **s == BatchStatus::Rejected).count();
    assert!(rejected > 0, "events after the removal were rejected");
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), a.len() + b.len(), "no event stored twice");
}
