//! `dedupe`: drop events already seen, remembering the most recent ones in a bounded cache.
//!
//! Two events are the same when the fields listed under `fields.match` are equal (a missing
//! field equals only a missing field), or, with `fields.ignore`, when every field but those is.
//! The cache keeps the `cache.num_events` most recently seen events; a repeat refreshes its entry.
//!
//! Repeats are dropped on purpose: counted as discarded and reported to their source as
//! delivered.

mod cache;
mod config;
mod transform;

pub use config::{CacheConfig, DedupeConfig, FieldsConfig};

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "dedupe",
    description: "Drop events already seen recently",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<DedupeConfig>,
};

#[cfg(test)]
mod tests;
