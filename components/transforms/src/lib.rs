//! Transforms: reshape, filter, route, sample, deduplicate, throttle and merge events between
//! sources and sinks.
//!
//! [`TRANSFORMS`] is the registry: one line per transform type. Each lives in its own folder:
//! `mod.rs` (what it does), `config.rs` (options), the runtime, and `tests.rs`.

pub mod dedupe;
pub mod filter;
pub mod reduce;
pub mod remap;
pub mod route;
pub mod sample;
pub mod throttle;
mod vrl_program;

use strata_core::TransformRegistration;

/// Every transform type, one line each.
pub static TRANSFORMS: &[TransformRegistration] = &[
    dedupe::REGISTRATION,
    filter::REGISTRATION,
    reduce::REGISTRATION,
    remap::REGISTRATION,
    route::REGISTRATION,
    sample::REGISTRATION,
    throttle::REGISTRATION,
];
