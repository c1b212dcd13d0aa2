//! `route`: send each event to every named output whose VRL condition it matches.
//!
//! An event that matches no route goes to `<id>._unmatched` (unless `reroute_unmatched = false`,
//! when it is dropped on purpose and reported delivered). An event matching several routes goes
//! to each; the copies share their fields.

mod config;
mod transform;

pub use config::RouteConfig;

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "route",
    description: "Split events into named outputs by VRL conditions",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<RouteConfig>,
};

/// The output for events that match no route.
pub const UNMATCHED: &str = "_unmatched";

#[cfg(test)]
mod tests;
