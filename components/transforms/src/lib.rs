//! Transforms: reshape, filter and route events between sources and sinks.
//!
//! [`TRANSFORMS`] is the registry: one line per transform type. Each lives in its own folder:
//! `mod.rs` (what it does), `config.rs` (options), the runtime, and `tests.rs`.

pub mod filter;
pub mod remap;
pub mod route;
mod vrl_program;

use strata_core::TransformRegistration;

/// Every transform type, one line each.
pub static TRANSFORMS: &[TransformRegistration] = &[
    filter::REGISTRATION,
    remap::REGISTRATION,
    route::REGISTRATION,
];
