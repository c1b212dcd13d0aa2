//! `file`: write events to files whose paths are rendered per event from a template.
//!
//! `path` may hold strftime specifiers and `{{ field }}` references, so one sink can split events
//! by host, by service and by day. Events are grouped by rendered path and each file gets one
//! write per input batch (ready batches are joined up to 1 MiB). At most 256 files are open at
//! once; the least recently used is closed first, and a file idle for `idle_timeout_secs` is
//! closed. Files are opened in append mode and fsynced when closed and at shutdown. File I/O runs
//! on tokio's blocking threads.
//!
//! Delivery: a batch is reported delivered once its bytes are written to the file (after the
//! compressor, if any, is flushed): they survive a crash of the agent, but not a power loss until
//! the file is closed and fsynced. A write or open failure reports the events of that file as
//! errored; the sink keeps running. An event whose path cannot be rendered (a missing field) or
//! whose rendered path leaves the directory before the template's first placeholder (a `..`
//! component, say from a field value) is rejected: counted as an error and never written. It
//! goes to the sink's `rejected` output (`<id>.rejected`), annotated under
//! `metadata.dead_letter` with `reason = "template_rejected"`, when a component reads that, and
//! is discarded and reported `Rejected` otherwise.

mod config;
mod files;
mod sink;
mod template;

pub use config::{Compression, FileConfig};

use strata_core::SinkRegistration;

pub const REGISTRATION: SinkRegistration = SinkRegistration {
    type_name: "file",
    description: "Write events to files named by a template",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_sink::<FileConfig>,
};

#[cfg(test)]
mod tests;
