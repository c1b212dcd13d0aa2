//! `sample`: keep one event in `rate`, optionally deciding per value of a key field.
//!
//! Without `key_field` a counter keeps the first event of every `rate`. With it, the value of
//! that field is hashed, so every event with the same value is kept or dropped together (all the
//! lines of one request, say); events without the field fall back to the counter. Events matching
//! `exclude` always pass, untouched. Kept events get the rate under `sample_rate_key`.
//!
//! Sampled-out events are dropped on purpose: counted as discarded and reported to their source
//! as delivered.

mod config;
mod transform;

pub use config::SampleConfig;

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "sample",
    description: "Keep one event in N, optionally all-or-nothing per key",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<SampleConfig>,
};

#[cfg(test)]
mod tests;
