//! `reduce`: merge runs of log events into one, such as the lines of a multi-line stack trace or
//! every event of one request.
//!
//! Events are grouped by the values of the `group_by` fields. A group ends, and its merged event
//! is sent, when an event matches `ends_when` (that event included), when an event matches
//! `starts_when` (the group before it; the event starts the next one), when it holds
//! `max_events`, when no event joined it for `expire_after_ms`, when it is older than
//! `end_every_period_ms`, and when the input ends. Expiry is checked every `flush_period_ms`,
//! so a group may outlive `expire_after_ms` by up to one period.
//!
//! Each field is merged by its strategy in `merge_strategies` (see [`MergeStrategy`]), or by
//! default: numbers are summed, a timestamp keeps its first value and adds `<field>_end` with
//! the last, anything else keeps its first value. A strategy set on an object applies to the
//! object as a whole; otherwise objects are merged field by field.
//!
//! Delivery: the merged event carries the finalizers of every event merged into it, so each
//! source hears of its events only when the merged event is delivered (or fails). Events other
//! than logs are passed on untouched.

mod config;
mod merge;
mod transform;

pub use config::ReduceConfig;
pub use merge::MergeStrategy;

use strata_core::TransformRegistration;

pub const REGISTRATION: TransformRegistration = TransformRegistration {
    type_name: "reduce",
    description: "Merge runs of log events into one, by group and conditions",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_transform::<ReduceConfig>,
};

#[cfg(test)]
mod tests;
