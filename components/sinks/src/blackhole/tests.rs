//! `blackhole` tests.

use std::time::{Duration, Instant};

use strata_core::testing::{sink_context, sink_input};
use strata_event::{BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent};

use super::BlackholeConfig;
use super::sink::Blackhole;

fn batch(count: usize) -> EventBatch {
    EventBatch::new(
        (0..count)
            .map(|n| Event::Log(LogEvent::from_message(format!("{n}"), EventMetadata::default())))
            .collect(),
    )
}

#[tokio::test]
async fn counts_and_acknowledges_everything() {
    let sink = Blackhole::new(
        BlackholeConfig { print_interval_secs: 1, rate: None },
        sink_context("blackhole").metrics,
    );
    let (notifier, receipt) = BatchNotifier::new();
    let mut tracked = batch(1);
    tracked.events_mut()[0].metadata_mut().add_finalizers(EventFinalizers::new(notifier));
    let (events, bytes) = sink.consume(sink_input(vec![batch(10), tracked, batch(5)]).await).await;
    assert_eq!(events, 16);
    assert!(bytes > 0);
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn rate_limits_intake() {
    let sink = Blackhole::new(
        BlackholeConfig { print_interval_secs: 0, rate: Some(100) },
        sink_context("blackhole").metrics,
    );
    let started = Instant::now();
    let (events, _) = sink.consume(sink_input(vec![batch(10), batch(10), batch(10)]).await).await;
    assert_eq!(events, 30);
    assert!(started.elapsed() >= Duration::from_millis(250), "30 events at 100/s take about 0.3 s");
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn blackhole_passes_the_compliance_helper() {
    let config: BlackholeConfig =
        strata_core::parse_options(serde_json::json!({"print_interval_secs": 0})).unwrap();
    let events: Vec<strata_event::Event> = (0..4)
        .map(|n| {
            strata_event::Event::Log(strata_event::LogEvent::from_message(
                format!("event {n}"),
                Default::default(),
            ))
        })
        .collect();
    strata_core::compliance::assert_sink_compliance("blackhole", &config, events);
}
