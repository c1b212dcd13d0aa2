//! The open files of the `file` sink: a bounded cache of writers, least recently used closed
//! first. Everything here blocks; the sink calls it from `spawn_blocking` only.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use flate2::write::GzEncoder;
use tokio::time::Instant;

use super::Compression;

/// One open file with its compressor, if any.
enum Writer {
    Plain(File),
    Gzip(GzEncoder<File>),
    Zstd(zstd::stream::write::Encoder<'static, File>),
}

impl Writer {
    /// Opens `path` for appending, creating it and its directories. A new file's directory is
    /// fsynced so that the file's name survives a power loss along with its data.
    fn open(path: &Path, compression: Compression) -> io::Result<Self> {
        let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty());
        if let Some(parent) = parent {
            std::fs::create_dir_all(parent)?;
        }
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if !existed && let Some(parent) = parent {
            File::open(parent)?.sync_all()?;
        }
        Ok(match compression {
            Compression::None => Writer::Plain(file),
            Compression::Gzip => Writer::Gzip(GzEncoder::new(file, flate2::Compression::default())),
            Compression::Zstd => Writer::Zstd(zstd::stream::write::Encoder::new(file, 0)?),
        })
    }

    /// Writes `bytes` and pushes them out of the compressor, so that they reach the file (the
    /// operating system) before the batch is reported delivered.
    fn write_batch(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Writer::Plain(file) => file.write_all(bytes),
            Writer::Gzip(encoder) => encoder.write_all(bytes).and_then(|()| encoder.flush()),
            Writer::Zstd(encoder) => encoder.write_all(bytes).and_then(|()| encoder.flush()),
        }
    }

    /// Ends the compressed stream and fsyncs the file.
    fn close(self) -> io::Result<()> {
        let file = match self {
            Writer::Plain(file) => file,
            Writer::Gzip(encoder) => encoder.finish()?,
            Writer::Zstd(encoder) => encoder.finish()?,
        };
        file.sync_all()
    }
}

struct Entry {
    writer: Writer,
    last_write: Instant,
    /// A tick of [`OpenFiles::clock`]: the smallest is the least recently used.
    last_use: u64,
}

/// A file that failed to close: its data may not be on disk.
pub(crate) type CloseFailure = (String, io::Error);

/// At most `max_open` open files, by rendered path.
pub(crate) struct OpenFiles {
    compression: Compression,
    max_open: usize,
    files: HashMap<String, Entry>,
    clock: u64,
}

impl OpenFiles {
    pub(crate) fn new(compression: Compression, max_open: usize) -> Self {
        Self { compression, max_open: max_open.max(1), files: HashMap::new(), clock: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    /// Appends `bytes` to `path`, opening it (and closing the least recently used file when at the
    /// limit) if needed. A file that fails to write is dropped from the cache, to be reopened by
    /// the next write.
    pub(crate) fn write(
        &mut self,
        path: &str,
        bytes: &[u8],
        now: Instant,
        closed: &mut Vec<CloseFailure>,
    ) -> io::Result<()> {
        self.clock += 1;
        let entry = match self.files.get_mut(path) {
            Some(entry) => entry,
            None => {
                if self.files.len() >= self.max_open {
                    self.close_lru(closed);
                }
                let writer = Writer::open(Path::new(path), self.compression)?;
                let entry = Entry { writer, last_write: now, last_use: self.clock };
                self.files.entry(path.to_owned()).or_insert(entry)
            }
        };
        entry.last_use = self.clock;
        entry.last_write = now;
        let written = entry.writer.write_batch(bytes);
        if written.is_err()
            && let Some(entry) = self.files.remove(path)
        {
            // The write already failed; a close error would say nothing new.
            let _ = entry.writer.close();
        }
        written
    }

    fn close_lru(&mut self, closed: &mut Vec<CloseFailure>) {
        let oldest = self.files.iter().min_by_key(|(_, entry)| entry.last_use).map(|(path, _)| path.clone());
        if let Some(path) = oldest {
            self.close(path, closed);
        }
    }

    fn close(&mut self, path: String, closed: &mut Vec<CloseFailure>) {
        if let Some(entry) = self.files.remove(&path)
            && let Err(error) = entry.writer.close()
        {
            closed.push((path, error));
        }
    }

    /// Closes the files not written since `now - timeout`.
    pub(crate) fn close_idle(&mut self, now: Instant, timeout: Duration, closed: &mut Vec<CloseFailure>) {
        let idle: Vec<String> = self
            .files
            .iter()
            .filter(|(_, entry)| now.saturating_duration_since(entry.last_write) >= timeout)
            .map(|(path, _)| path.clone())
            .collect();
        for path in idle {
            self.close(path, closed);
        }
    }

    /// Closes every file, as at shutdown.
    pub(crate) fn close_all(&mut self, closed: &mut Vec<CloseFailure>) {
        let all: Vec<String> = self.files.keys().cloned().collect();
        for path in all {
            self.close(path, closed);
        }
    }

    /// When the next file becomes idle, if any is open.
    pub(crate) fn next_idle_at(&self, timeout: Duration) -> Option<Instant> {
        self.files.values().map(|entry| entry.last_write + timeout).min()
    }
}
