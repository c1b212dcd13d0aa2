//! `route` tests.

use strata_core::testing::{run_sync, transform_context};
use strata_core::{Transform, TransformConfig};
use strata_event::{Event, LogEvent};

use super::*;

fn event(level: &str) -> Event {
    let mut log = LogEvent::default();
    log.insert("level", level);
    Event::Log(log)
}

#[tokio::test]
async fn events_go_to_every_matching_route_and_the_rest_to_unmatched() {
    let config: RouteConfig = strata_core::parse_options(serde_json::json!({
        "route": {"errors": ".level == \"error\"", "loud": ".level == \"error\" || .level == \"warn\""}
    }))
    .unwrap();
    let ports: Vec<String> =
        config.outputs(strata_core::DataType::LOG).into_iter().filter_map(|o| o.port).collect();
    assert_eq!(ports, vec!["errors", "loud", UNMATCHED]);
    let Transform::Sync(mut route) = config.build(&transform_context("route")).await.unwrap() else {
        panic!("route is synchronous")
    };
    let out = run_sync(route.as_mut(), &ports, vec![event("error"), event("warn"), event("info")]);
    assert_eq!(out.named("errors").len(), 1);
    assert_eq!(out.named("loud").len(), 2);
    assert_eq!(out.named(UNMATCHED).len(), 1);
    assert!(out.primary().is_empty());
}

/// The standard metrics and labels, through the compliance helper: every event on a named route
/// is counted as sent.
#[test]
fn route_passes_the_compliance_helper() {
    let config: RouteConfig = strata_core::parse_options(serde_json::json!({
        "route": {"even": "mod(int!(.n), 2) == 0", "small": "int!(.n) < 2"}
    }))
    .unwrap();
    let run = strata_core::compliance::assert_transform_compliance_with_outputs(
        "route",
        &config,
        strata_core::testing::numbered_logs(5),
    );
    assert!(run.primary.is_empty(), "route has no default output");
    let count = |port: &str| run.named.get(port).map_or(0, Vec::len);
    assert_eq!((count("even"), count("small"), count(UNMATCHED)), (3, 2, 1));
}
