//! `filter`: pass on only the events for which a VRL condition is true.
//!
//! Events filtered out are dropped on purpose and reported to their source as delivered. An
//! event whose condition fails at run time is treated as false, counted and logged.

mod config;
mod transform;

pub use config::FilterConfig;

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "filter",
    description: "Keep only the events that match a VRL condition",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<FilterConfig>,
};

#[cfg(test)]
mod tests;
