//! `stdin`: one event per line (or per frame) read from the process's standard input.
//!
//! It stops at end of input, and the pipeline then drains and exits. Delivery: none beyond the
//! pipeline's own; what was read before a crash and not yet delivered is lost, since standard
//! input cannot be replayed.

mod config;
mod source;

pub use config::StdinConfig;

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "stdin",
    description: "Read lines (or other frames) from standard input",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<StdinConfig>,
};

#[cfg(test)]
mod tests;
