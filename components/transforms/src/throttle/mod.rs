//! `throttle`: let at most `threshold` events through per `window_secs`, per key.
//!
//! Each bucket (one per value of `key_field`, or a single one) is a rate limiter with a burst of
//! `threshold` that refills steadily at `threshold` per window (the generic cell rate algorithm,
//! as Vector's throttle uses): a full burst is followed by a wait of one window before the next
//! full burst, and a bucket that has been quiet for a window starts full again. Events without
//! the key field share one bucket. Events matching `exclude` are never throttled.
//!
//! Events over the limit are dropped on purpose: counted as discarded and reported to their
//! source as delivered.

mod config;
mod transform;

pub use config::ThrottleConfig;

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "throttle",
    description: "Rate-limit events, per key, dropping the excess",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<ThrottleConfig>,
};

#[cfg(test)]
mod tests;
