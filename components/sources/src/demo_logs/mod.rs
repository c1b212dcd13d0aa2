//! `demo_logs`: made-up log lines in common formats, for trying a pipeline without any input.
//!
//! Delivery: nothing to lose; the lines are invented.

mod config;
mod lines;
mod source;

pub use config::{DemoFormat, DemoLogsConfig};

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "demo_logs",
    description: "Generate fake log lines (json, syslog, apache_common, apache_error, shuffle)",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<DemoLogsConfig>,
};

#[cfg(test)]
mod tests;
