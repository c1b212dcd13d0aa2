//! `console`: write events to standard output or standard error.
//!
//! Delivery: a batch is reported delivered once its bytes are written to the stream (the
//! process's pipe or terminal); a failed write reports it as errored and stops the sink.

mod config;
mod sink;

pub use config::{ConsoleConfig, ConsoleTarget};

use strata_core::SinkRegistration;

pub const REGISTRATION: SinkRegistration = SinkRegistration {
    type_name: "console",
    description: "Write events to standard output or standard error",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_sink::<ConsoleConfig>,
};

#[cfg(test)]
mod tests;
