//! `blackhole`: receive events and throw them away, counting them. For benchmarks and tests.
//!
//! Delivery: every event is reported delivered as soon as it is counted.

mod config;
mod sink;

pub use config::BlackholeConfig;

use strata_core::SinkRegistration;

pub const REGISTRATION: SinkRegistration = SinkRegistration {
    type_name: "blackhole",
    description: "Discard events, counting them",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_sink::<BlackholeConfig>,
};

#[cfg(test)]
mod tests;
