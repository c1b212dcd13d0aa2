//! Options of the `file` source, with Vector's names.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, SourceConfig, SourceContext};

pub(super) const EXAMPLE: &str = r#"type = "file"
include = ["/var/log/app/*.log"]
# exclude = ["/var/log/app/debug.log"]
# read_from = "beginning"
# ignore_older_secs = 86400
# data_dir = "/var/lib/strata"
# fingerprint.strategy = "checksum"
# multiline.start_pattern = '^[^\s]'
# multiline.condition_pattern = '^[\s]+'
# multiline.mode = "continue_through"
# multiline.timeout_ms = 1000
"#;

/// Where to start in a file that has no checkpoint yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// From the first byte.
    #[default]
    Beginning,
    /// From the end, for files present at startup. Files that appear later are read whole.
    End,
}

/// How a file is told apart from another, across renames and restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum FingerprintConfig {
    /// A checksum of the file's first lines (or first bytes). It survives a rename and a copy;
    /// rewriting the first line makes a new file. Two files whose first lines are identical are
    /// taken for one: only the first is read (use `ignored_header_bytes` to skip a shared header).
    Checksum {
        /// How many lines the checksum covers. Default: 1. A file is not read until it has them.
        #[serde(default = "default_fingerprint_lines")]
        lines: usize,
        /// Bytes at the start of the file left out of the checksum. Default: 0.
        #[serde(default)]
        ignored_header_bytes: usize,
        /// Checksum exactly this many bytes instead of `lines` lines. Default: unset.
        #[serde(default)]
        bytes: Option<usize>,
    },
    /// The file's device and inode numbers. Cheap, but a deleted file's inode may be reused, and
    /// a copy is a new file.
    DeviceAndInode,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        FingerprintConfig::Checksum {
            lines: default_fingerprint_lines(),
            ignored_header_bytes: 0,
            bytes: None,
        }
    }
}

/// How consecutive lines are joined into one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultilineMode {
    /// Lines that match `condition_pattern` continue the event; the first that does not ends it
    /// and is not part of it.
    ContinueThrough,
    /// Lines that match continue the event, and so does the first line that does not (which ends it).
    ContinuePast,
    /// Lines that do not match continue the event; a matching line starts the next one.
    HaltBefore,
    /// Lines that do not match continue the event; a matching line is its last.
    HaltWith,
}

/// Joins lines into one event, such as the lines of a stack trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilineConfig {
    /// A regex that matches the first line of an event. Required.
    pub start_pattern: String,
    /// A regex that, with `mode`, decides whether a line continues the event. Required.
    pub condition_pattern: String,
    /// How `condition_pattern` is applied. Required.
    pub mode: MultilineMode,
    /// An event that gets no more lines for this long is sent as it is. Required.
    pub timeout_ms: u64,
}

fn default_fingerprint_lines() -> usize {
    1
}
fn default_cooldown_ms() -> u64 {
    1000
}
fn default_max_line_bytes() -> usize {
    102_400
}
fn default_line_delimiter() -> String {
    "\n".into()
}
fn default_max_read_bytes() -> usize {
    2048
}
fn default_file_key() -> String {
    "file".into()
}
fn default_max_open_files() -> usize {
    1024
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Glob patterns of the files to read (`*`, `**`, `?`, `[ab]`, `{a,b}`). Required, absolute.
    pub include: Vec<PathBuf>,
    /// Glob patterns of files not to read, even when `include` matches them. Default: none.
    #[serde(default)]
    pub exclude: Vec<PathBuf>,
    /// Where to start in a file without a checkpoint: `beginning` or `end`. Default: `beginning`.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Leave alone files last modified longer ago than this. Default: unset (read every file).
    #[serde(default)]
    pub ignore_older_secs: Option<u64>,
    /// The least time between two searches of the `include` patterns for new, renamed and deleted
    /// files. Default: 1000.
    #[serde(default = "default_cooldown_ms")]
    pub glob_minimum_cooldown_ms: u64,
    /// The longest line in bytes, without its delimiter; longer lines are discarded and counted.
    /// Default: 102400.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// What ends a line; several bytes are allowed (`"\r\n"`). Default: `"\n"`.
    #[serde(default = "default_line_delimiter")]
    pub line_delimiter: String,
    /// The most bytes read from one file before the next file gets a turn. Default: 2048.
    #[serde(default = "default_max_read_bytes")]
    pub max_read_bytes: usize,
    /// The field that receives the file's path; `""` leaves it out. Default: `file`.
    #[serde(default = "default_file_key")]
    pub file_key: String,
    /// The field that receives the byte offset of the line in its file. Default: unset (left out).
    #[serde(default)]
    pub offset_key: Option<String>,
    /// The field that receives this host's name; `""` leaves it out. Default: `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// Where checkpoints are kept, as `<data_dir>/<source id>/checkpoints.json`. Default: the
    /// global `data_dir`; one of the two is required.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// How files are identified. Default: `strategy = "checksum"` of the first line.
    #[serde(default)]
    pub fingerprint: FingerprintConfig,
    /// Read the oldest file to its end before newer ones, instead of a fair share of each.
    /// Default: false.
    #[serde(default)]
    pub oldest_first: bool,
    /// Delete a file once it has been read (and, with acknowledgements, delivered) to its end and
    /// nothing was written to it for this long. Default: unset (never delete).
    #[serde(default)]
    pub remove_after_secs: Option<u64>,
    /// Join lines into events. Default: unset (one event per line).
    #[serde(default)]
    pub multiline: Option<MultilineConfig>,
    /// The most files held open at once. When more have data to read, the files take turns: one
    /// at its end is closed first, else the one open longest. Default: 1024.
    #[serde(default = "default_max_open_files")]
    pub max_open_files: usize,
}

#[async_trait]
impl SourceConfig for FileConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        super::source::build(self.clone(), cx).await
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }

    fn can_acknowledge(&self) -> bool {
        true
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.include.is_empty() {
            problems.push("`include` needs at least one pattern".to_owned());
        }
        if let Err(error) = super::scan::Patterns::new(&self.include, &self.exclude) {
            problems.push(error);
        }
        if self.line_delimiter.is_empty() {
            problems.push("`line_delimiter` cannot be empty".to_owned());
        }
        for (name, value) in [
            ("max_line_bytes", self.max_line_bytes),
            ("max_read_bytes", self.max_read_bytes),
            ("max_open_files", self.max_open_files),
        ] {
            if value == 0 {
                problems.push(format!("`{name}` must be at least 1"));
            }
        }
        if let FingerprintConfig::Checksum { lines: 0, bytes: None, .. } = self.fingerprint {
            problems.push("`fingerprint.lines` must be at least 1".to_owned());
        }
        if let Some(multiline) = &self.multiline
            && let Err(error) = super::multiline::Rules::new(multiline)
        {
            problems.push(error);
        }
        problems
    }
}
