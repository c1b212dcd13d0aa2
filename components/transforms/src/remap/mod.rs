//! `remap`: change events with a VRL program (the Vector Remap Language).
//!
//! An event that fails the program (a runtime error, or `abort`) is, as configured, passed on
//! unchanged, dropped, or sent to the `dropped` output with the reason under `metadata.dropped`.
//! A dropped event is counted as discarded and reported to its source as rejected, never as
//! delivered.

mod config;
mod transform;

pub use config::RemapConfig;

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "remap",
    description: "Modify events with a VRL program",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<RemapConfig>,
};

/// The named output that receives events the program failed on, with `reroute_dropped`.
pub const DROPPED: &str = "dropped";

#[cfg(test)]
mod tests;
