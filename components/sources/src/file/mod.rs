//! `file`: tails log files matched by glob patterns, one event per line, with Vector's options.
//!
//! Files are found by `include` / `exclude` patterns, searched again every
//! `glob_minimum_cooldown_ms`, and known by a fingerprint (a checksum of their first line by
//! default), so renames, copies, truncations and deletions are told apart; see [`tailer`] for
//! how each rotation style is followed. Reading is fair across files (`max_read_bytes` each per
//! turn) and bounded: one pass of lines at a time, held back while the pipeline is full.
//!
//! Delivery: at least once across restarts. Each file's checkpoint (its fingerprint and the
//! offset after the last line to skip) is kept in `<data_dir>/<source id>/checkpoints.json`,
//! saved atomically every second and on shutdown. Without acknowledgements a checkpoint moves
//! when the lines are handed to the pipeline, so a crash (not a clean shutdown) may lose what was
//! in flight. With acknowledgements it moves only over lines the sinks delivered, in order; lines
//! not delivered are read again on the next start ([`acks`]). A clean restart delivers every line
//! once. Lines written between a copy and a truncate (copy-truncate rotation) can be lost, as
//! with any tailer.
//!
//! Not supported yet: `encoding.charset`, `ignore_checkpoints`, `rotate_wait_secs` (a renamed-away
//! file is read to its end and closed once a search misses it for a second), and reading a stalled
//! file again from its last delivered offset within one run.

mod acks;
mod checkpoint;
mod config;
mod fingerprint;
mod lines;
mod multiline;
mod scan;
mod source;
mod tailer;

pub use config::{FileConfig, FingerprintConfig, MultilineConfig, MultilineMode, ReadFrom};

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "file",
    description: "Tail log files matched by glob patterns, with checkpoints and rotation",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<FileConfig>,
};

#[cfg(test)]
mod tests;
