//! `internal_metrics`: the agent's own metrics as metric events, so a pipeline can ship them.
//!
//! It reads the same registry that `/metrics` renders. Delivery: a snapshot that is lost is
//! replaced by the next one; counters are absolute, so nothing is double-counted.

mod config;
mod source;

pub use config::InternalMetricsConfig;

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "internal_metrics",
    description: "Emit the agent's own metrics as metric events",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<InternalMetricsConfig>,
};

#[cfg(test)]
mod tests;
