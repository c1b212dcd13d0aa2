//! Sources: where events enter the pipeline.
//!
//! [`SOURCES`] is the registry: one line per source type. Each source lives in its own folder with
//! the same anatomy: `mod.rs` (what it does and its delivery guarantee), `config.rs` (options),
//! the runtime, and `tests.rs`.

mod common;
pub mod demo_logs;
pub mod file;
pub mod http_server;
pub mod internal_metrics;
pub mod socket;
pub mod stdin;
pub mod syslog;

use strata_core::SourceRegistration;

/// Every source type, one line each.
pub static SOURCES: &[SourceRegistration] = &[
    demo_logs::REGISTRATION,
    file::REGISTRATION,
    http_server::REGISTRATION,
    internal_metrics::REGISTRATION,
    socket::REGISTRATION,
    stdin::REGISTRATION,
    syslog::REGISTRATION,
];
