//! The topology: turns a validated config into running tokio tasks and keeps them running.
//!
//! [`config`] loads and validates a pipeline from text. [`Topology`] builds every component,
//! joins them with bounded buffers and fan-outs, supervises their tasks, reloads a changed config
//! by rebuilding only what changed, and shuts down by stopping sources and letting every event in
//! flight drain to the sinks.
//!
//! This crate reads no files and no environment: the agent hands it text and lookups.

pub mod config;
#[cfg(test)]
mod dead_letter_tests;
mod running;
#[cfg(test)]
mod tests;

pub use config::{Config, ConfigError, ConfigFile, Format, Graph, LoadOptions, Registry, load};
pub use running::{BuildErrors, ReloadSummary, TaskExit, TaskOutcome, Topology};
