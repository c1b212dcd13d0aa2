//! Sinks: where events leave the pipeline.
//!
//! [`SINKS`] is the registry: one line per sink type. Each lives in its own folder: `mod.rs`
//! (what it does and its delivery guarantee), `config.rs` (options), the runtime, and `tests.rs`.

pub mod blackhole;
mod coalesce;
pub mod console;
pub mod driver;
pub mod file;
pub mod http;
pub mod socket;

use strata_core::SinkRegistration;

/// Every sink type, one line each.
pub static SINKS: &[SinkRegistration] = &[
    blackhole::REGISTRATION,
    console::REGISTRATION,
    file::REGISTRATION,
    http::REGISTRATION,
    socket::REGISTRATION,
];
