//! `console` tests: batches in, encoded bytes out, finalizers reported.

use strata_codecs::{Encoder, EncodingConfig, SerializerKind, SinkFraming};
use strata_core::testing::{sink_context, sink_input};
use strata_event::{BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent};

use super::ConsoleTarget;
use super::sink::ConsoleSink;

fn event(message: &str, finalizers: Option<EventFinalizers>) -> Event {
    let mut metadata = EventMetadata::default();
    if let Some(finalizers) = finalizers {
        metadata.add_finalizers(finalizers);
    }
    Event::Log(LogEvent::from_message(message.to_owned(), metadata))
}

#[tokio::test]
async fn writes_every_event_and_reports_delivery() {
    let encoder =
        Encoder::new(&EncodingConfig::new(SerializerKind::Text), SinkFraming::NewlineDelimited).unwrap();
    let sink = ConsoleSink::new(ConsoleTarget::Stdout, encoder, sink_context("console").metrics);
    let (notifier, receipt) = BatchNotifier::new();
    let batches = vec![
        EventBatch::new(vec![event("one", Some(EventFinalizers::new(notifier.clone()))), event("two", None)]),
        EventBatch::new(vec![event("three", Some(EventFinalizers::new(notifier)))]),
    ];
    let mut written = Vec::new();
    sink.run_with(sink_input(batches).await, &mut written).await.unwrap();
    assert_eq!(String::from_utf8(written).unwrap(), "one\ntwo\nthree\n");
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

/// A writer whose pipe is broken.
struct Broken;

impl tokio::io::AsyncWrite for Broken {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failed_write_reports_errored_and_stops() {
    let encoder =
        Encoder::new(&EncodingConfig::new(SerializerKind::Json), SinkFraming::NewlineDelimited).unwrap();
    let sink = ConsoleSink::new(ConsoleTarget::Stdout, encoder, sink_context("console").metrics);
    let (notifier, receipt) = BatchNotifier::new();
    let batches = vec![EventBatch::new(vec![event("x", Some(EventFinalizers::new(notifier)))])];
    let result = sink.run_with(sink_input(batches).await, &mut Broken).await;
    assert!(result.is_err());
    assert_eq!(receipt.await, BatchStatus::Errored);
}

/// The standard metrics and labels, through the compliance helper (the events go to stdout).
#[test]
fn console_passes_the_compliance_helper() {
    let config: super::ConsoleConfig =
        strata_core::parse_options(serde_json::json!({"encoding": {"codec": "text"}})).unwrap();
    let events = (0..3).map(|n| event(&format!("compliance {n}"), None)).collect();
    strata_core::compliance::assert_sink_compliance("console", &config, events);
}
