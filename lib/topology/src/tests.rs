//! Topology tests with test-only components: data-type checks and panic handling.

use async_trait::async_trait;
use serde::Deserialize;
use strata_core::config::{SinkRegistration, SourceRegistration, boxed_sink, boxed_source};
use strata_core::sink::healthy;
use strata_core::{
    BuildError, ComponentError, DataType, Healthcheck, Output, Sink, SinkConfig, SinkContext, SinkInput,
    SourceConfig, SourceContext,
};
use strata_event::{Event, LogEvent, Metric, MetricKind, MetricValue};

use crate::config::LoadOptions;
use crate::{ConfigFile, Registry, TaskOutcome, Topology};

/// Emits one event of its kind, then waits for shutdown.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OneEvent {
    metric: bool,
}

#[async_trait]
impl SourceConfig for OneEvent {
    async fn build(&self, mut cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        let metric = self.metric;
        Ok(Box::pin(async move {
            let event: Event = if metric {
                Metric::new("m", MetricKind::Incremental, MetricValue::Counter { value: 1.0 }).into()
            } else {
                LogEvent::default().into()
            };
            let _ = cx.out.send_event(event).await;
            cx.shutdown.recv().await;
            Ok(())
        }))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(if self.metric { DataType::METRIC } else { DataType::LOG })]
    }
}

/// Accepts logs only, and panics on the first batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PanickyLogs {}

struct Panicky;

#[async_trait]
impl Sink for Panicky {
    async fn run(self: Box<Self>, mut input: SinkInput) -> Result<(), ComponentError> {
        if input.recv().await.is_some() {
            panic!("boom in the sink");
        }
        Ok(())
    }
}

#[async_trait]
impl SinkConfig for PanickyLogs {
    async fn build(&self, _: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        Ok((Box::new(Panicky), healthy()))
    }

    fn input(&self) -> DataType {
        DataType::LOG
    }
}

static SOURCES: &[SourceRegistration] = &[SourceRegistration {
    type_name: "one_event",
    description: "",
    example: "",
    parse: boxed_source::<OneEvent>,
}];
static SINKS: &[SinkRegistration] = &[SinkRegistration {
    type_name: "panicky_logs",
    description: "",
    example: "",
    parse: boxed_sink::<PanickyLogs>,
}];

fn load(text: &str) -> Result<crate::Config, Vec<crate::ConfigError>> {
    let registry = Registry { sources: SOURCES, transforms: &[], sinks: SINKS };
    let env = |_: &str| None;
    crate::load(
        &[ConfigFile::new("test.toml", text)],
        &registry,
        &LoadOptions { interpolate: false, env: &env },
    )
}

#[test]
fn a_metrics_output_into_a_logs_only_input_is_refused() {
    let errors = load(
        "[sources.m]\ntype = \"one_event\"\nmetric = true\n[sinks.s]\ntype = \"panicky_logs\"\ninputs = [\"m\"]\n",
    )
    .unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec![
            "test.toml: sinks.s: option `inputs`: input `m` carries metrics, but `panicky_logs` accepts only logs"
        ]
    );
}

#[test]
fn disk_buffer_options_that_cannot_work_are_refused_by_key() {
    let errors = load(
        "[sources.l]\ntype = \"one_event\"\nmetric = false\n[sinks.s]\ntype = \"panicky_logs\"\ninputs = [\"l\"]\n\
         buffer.type = \"disk\"\nbuffer.max_size = 1024\nbuffer.ack_after = \"fsync\"\nbuffer.fsync = \"never\"\n",
    )
    .unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].starts_with("test.toml: sinks.s: option `buffer.max_size`: must be at least 2 MiB"));
    assert!(
        messages[1]
            .starts_with("test.toml: sinks.s: option `buffer.ack_after`: `ack_after = \"fsync\"` needs")
    );
    assert!(messages[2].contains("needs the top-level `data_dir`"), "{}", messages[2]);
}

#[test]
fn a_component_that_fails_to_parse_is_not_also_reported_as_a_dangling_input() {
    let errors = load(
        "[sources.l]\ntype = \"one_event\"\nmetric = false\nbogus = 1\n\
         [sinks.s]\ntype = \"panicky_logs\"\ninputs = [\"l\", \"nowhere\"]\n",
    )
    .unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].starts_with("test.toml: sources.l: option `bogus`"), "{}", messages[0]);
    assert!(messages[1].contains("input `nowhere` matches no source"), "{}", messages[1]);
}

#[tokio::test]
async fn a_panicking_component_is_reported_with_its_id() {
    let config =
        load("[sources.l]\ntype = \"one_event\"\nmetric = false\n[sinks.s]\ntype = \"panicky_logs\"\ninputs = [\"l\"]\n")
            .unwrap();
    let mut topology = Topology::start(config).await.unwrap();
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), topology.next_exit())
        .await
        .expect("the panic is reported, not hung on")
        .expect("a task ended");
    assert_eq!(exit.key.id(), "s");
    assert!(exit.current);
    assert_eq!(exit.outcome, TaskOutcome::Panicked("boom in the sink".to_owned()));
    assert!(topology.shutdown(std::time::Duration::from_secs(5)).await.is_ok(), "the rest drains and stops");
}
