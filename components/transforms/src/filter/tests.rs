//! `filter` tests.

use strata_core::testing::{run_sync, transform_context};
use strata_core::{Transform, TransformConfig};
use strata_event::{Event, LogEvent};

use super::*;

fn event(status: i64) -> Event {
    let mut log = LogEvent::default();
    log.insert("status", status);
    Event::Log(log)
}

#[tokio::test]
async fn keeps_only_matching_events() {
    let config: FilterConfig =
        strata_core::parse_options(serde_json::json!({"condition": "(to_int(.status) ?? 0) >= 500"}))
            .unwrap();
    let Transform::Sync(mut filter) = config.build(&transform_context("filter")).await.unwrap() else {
        panic!("filter is synchronous")
    };
    let out = run_sync(filter.as_mut(), &[], vec![event(200), event(503), event(500), event(404)]);
    assert_eq!(out.primary().len(), 2);
}

#[test]
fn typed_condition_form_and_non_boolean_refused() {
    let typed: FilterConfig =
        strata_core::parse_options(serde_json::json!({"condition": {"type": "vrl", "source": "true"}}))
            .unwrap();
    assert!(typed.validate().is_empty());
    let string: FilterConfig =
        strata_core::parse_options(serde_json::json!({"condition": "\"text\""})).unwrap();
    assert!(string.validate()[0].contains("boolean"), "{:?}", string.validate());
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn filter_passes_the_compliance_helper() {
    let config: FilterConfig =
        strata_core::parse_options(serde_json::json!({"condition": "(to_int(.n) ?? 0) < 3"})).unwrap();
    let output = strata_core::compliance::assert_transform_compliance(
        "filter",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert_eq!(output.len(), 3);
}
