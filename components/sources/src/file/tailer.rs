//! The blocking half of the `file` source: finds files, tells them apart, reads them in turns.
//!
//! A [`Tailer`] owns every open file. The source moves it into `spawn_blocking` for one pass at a
//! time and gets it back with the lines read, so no file I/O runs on the runtime threads and no
//! lock is shared with them except the checkpoint table's.
//!
//! A pass first searches the `include` patterns again if `glob_minimum_cooldown_ms` has passed,
//! then reads up to `max_read_bytes` from each open file in turn, round after round, until every
//! file is at its end or the pass holds [`PASS_BYTES`] or [`PASS_LINES`]. Every file thus gets the
//! same share however busy the others are.
//!
//! How files are followed:
//! - A file is known by its fingerprint, not its path. A renamed file keeps its fingerprint; if
//!   the new name still matches it simply continues there, and if not it is read to its end
//!   through the handle already open and then closed.
//! - A deleted file is also read to its end through its handle; a file created in its place has
//!   another fingerprint (its first line differs) and is read from its start.
//! - A file that got shorter than the offset read was truncated: when its fingerprint is the same
//!   it is read again from 0; when it differs, the old content went elsewhere (copy-truncate) and
//!   the new content is a new file, found by the next search.
//! - A copy of a file (same fingerprint, another inode) takes over from the original only once
//!   the original no longer carries that fingerprint.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use strata_core::{ComponentMetrics, RateLimitedLog};

use super::checkpoint::Table;
use super::config::ReadFrom;
use super::fingerprint::{Fingerprint, Fingerprinter, is_gzip};
use super::lines::{LineSplitter, Piece};
use super::multiline::{Aggregator, Rules};
use super::scan::Patterns;
use crate::common::report_bad_input;

/// A pass stops reading once it holds this many bytes, so a batch stays bounded.
const PASS_BYTES: usize = 256 * 1024;
/// ... or this many lines.
const PASS_LINES: usize = 4096;
/// A file that must make room for another is kept open at least this long first.
const MIN_TURN: Duration = Duration::from_millis(100);
/// How long the offset of a file that went away is remembered, in case it comes back.
const RETIRED_TTL: Duration = Duration::from_secs(3600);

/// The options the blocking half needs, compiled.
#[derive(Debug)]
pub(super) struct Settings {
    pub(super) patterns: Patterns,
    pub(super) fingerprinter: Fingerprinter,
    pub(super) read_from: ReadFrom,
    pub(super) ignore_older: Option<Duration>,
    pub(super) cooldown: Duration,
    pub(super) max_line_bytes: usize,
    pub(super) delimiter: Vec<u8>,
    pub(super) max_read_bytes: usize,
    pub(super) oldest_first: bool,
    pub(super) remove_after: Option<Duration>,
    pub(super) multiline: Option<Rules>,
    pub(super) max_open_files: usize,
}

/// The lines a pass read from one file.
#[derive(Debug)]
pub(super) struct Chunk {
    pub(super) fingerprint: Fingerprint,
    pub(super) path: Bytes,
    /// The file was truncated and read again from 0 before these lines: its checkpoint restarts.
    pub(super) reset: bool,
    /// Each line (or joined event) with the offset where it starts.
    pub(super) lines: Vec<(Bytes, u64)>,
    /// Where a restart would resume after these lines: the checkpoint they allow.
    pub(super) end: u64,
}

/// What one pass produced.
#[derive(Debug, Default)]
pub(super) struct PassOutput {
    pub(super) chunks: Vec<Chunk>,
    pub(super) bytes: usize,
}

enum Handle {
    Plain(File),
    /// Read once, start to end; its offsets count decompressed bytes.
    Gzip(Box<MultiGzDecoder<File>>),
}

struct Tracked {
    path: PathBuf,
    path_text: Bytes,
    /// Device and inode at the last search.
    identity: (u64, u64),
    handle: Option<Handle>,
    gzip: bool,
    splitter: LineSplitter,
    aggregator: Aggregator,
    /// When a search first missed it.
    missing_since: Option<Instant>,
    /// Its inode now holds other content: never read through the old handle or path again.
    replaced: bool,
    size: u64,
    modified: SystemTime,
    at_eof: bool,
    /// A gzip file read to its end.
    finished: bool,
    last_data: Instant,
    opened_at: Instant,
    closed_at: Instant,
    reset: bool,
    /// The checkpoint last reported; `None` before the first report.
    reported: Option<u64>,
}

impl Tracked {
    fn committable(&self) -> u64 {
        self.aggregator.pending_start().unwrap_or_else(|| self.splitter.boundary())
    }

    fn has_unread(&self) -> bool {
        if self.gzip { !self.finished } else { self.size > self.splitter.read_offset() }
    }
}

/// Everything the blocking half owns.
pub(super) struct Tailer {
    settings: Settings,
    checkpoints: Arc<Mutex<Table>>,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
    files: HashMap<Fingerprint, Tracked>,
    /// Reading order: discovery order, or oldest first with `oldest_first`.
    order: Vec<Fingerprint>,
    /// Offsets of files that went away this run, with when.
    retired: HashMap<Fingerprint, (u64, Instant)>,
    last_scan: Option<Instant>,
    first_scan: bool,
    buffer: Vec<u8>,
}

struct Found {
    path: PathBuf,
    fingerprint: Fingerprint,
    identity: (u64, u64),
    size: u64,
    modified: SystemTime,
    gzip: bool,
}

impl Tailer {
    pub(super) fn new(settings: Settings, checkpoints: Arc<Mutex<Table>>, metrics: ComponentMetrics) -> Self {
        let buffer = vec![0; settings.max_read_bytes];
        Self {
            settings,
            checkpoints,
            metrics,
            limiter: RateLimitedLog::default(),
            files: HashMap::new(),
            order: Vec::new(),
            retired: HashMap::new(),
            last_scan: None,
            first_scan: true,
            buffer,
        }
    }

    fn io_error(&self, error_type: &'static str, path: &std::path::Path, error: &io::Error) {
        self.metrics.error(error_type, "receiving");
        if let Some(suppressed) = self.limiter.check() {
            tracing::warn!(error_type, suppressed, path = %path.display(), "file source: {error}");
        }
    }

    /// Searches if due, then reads every open file in turns. See the module documentation.
    pub(super) fn pass(&mut self) -> PassOutput {
        let now = Instant::now();
        if self.last_scan.is_none_or(|at| now.duration_since(at) >= self.settings.cooldown) {
            self.scan(now);
            self.last_scan = Some(now);
        }
        self.open_waiting(now);
        let mut lines: HashMap<Fingerprint, Vec<(Bytes, u64)>> = HashMap::new();
        let mut bytes = 0;
        let mut count = 0;
        loop {
            let mut progress = false;
            for index in 0..self.order.len() {
                let fingerprint = self.order[index];
                let out = lines.entry(fingerprint).or_default();
                let before = out.len();
                let read = self.read_once(fingerprint, out);
                count += out.len() - before;
                bytes += read;
                if read > 0 {
                    progress = true;
                    if self.settings.oldest_first {
                        break;
                    }
                }
            }
            if !progress || bytes >= PASS_BYTES || count >= PASS_LINES {
                break;
            }
        }
        self.flush_stale(&mut lines);
        let last = self.close_gone(now, &mut lines);
        self.remove_finished(now);
        let mut chunks = self.chunks(lines);
        chunks.extend(last);
        PassOutput { chunks, bytes }
    }

    fn chunks(&mut self, mut lines: HashMap<Fingerprint, Vec<(Bytes, u64)>>) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        for fingerprint in &self.order {
            let Some(file) = self.files.get_mut(fingerprint) else { continue };
            let lines = lines.remove(fingerprint).unwrap_or_default();
            let end = file.committable();
            if lines.is_empty() && !file.reset && file.reported == Some(end) {
                continue;
            }
            chunks.push(Chunk {
                fingerprint: *fingerprint,
                path: file.path_text.clone(),
                reset: file.reset,
                lines,
                end,
            });
            file.reset = false;
            file.reported = Some(end);
        }
        chunks
    }

    fn scan(&mut self, now: Instant) {
        let mut found: Vec<Found> = Vec::new();
        for path in self.settings.patterns.matching_files() {
            match self.identify(&path) {
                Ok(Some(file)) => found.push(file),
                Ok(None) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => self.io_error("file_unreadable", &path, &error),
            }
        }
        let mut seen: HashMap<Fingerprint, usize> = HashMap::new();
        for (index, file) in found.iter().enumerate() {
            // Two paths with one fingerprint (a copy, a hard link): keep the one already followed.
            let keep = match seen.get(&file.fingerprint) {
                None => true,
                Some(_) => self.files.get(&file.fingerprint).is_some_and(|t| t.path == file.path),
            };
            if keep {
                seen.insert(file.fingerprint, index);
            }
        }
        let identities: HashMap<(u64, u64), Fingerprint> =
            found.iter().map(|file| (file.identity, file.fingerprint)).collect();
        // In path order, so that files found together are read in a stable order.
        for (index, file) in found.iter().enumerate() {
            if seen.get(&file.fingerprint) == Some(&index) {
                self.follow(file, file.fingerprint, now);
            }
        }
        for (fingerprint, file) in &mut self.files {
            if seen.contains_key(fingerprint) {
                continue;
            }
            file.missing_since.get_or_insert(now);
            // Its inode now holds other content: what the old handle would read is not its own.
            if identities.get(&file.identity).is_some_and(|other| other != fingerprint) {
                file.replaced = true;
                file.handle = None;
            }
        }
        if let Ok(mut table) = self.checkpoints.lock() {
            table.touch(seen.keys());
        }
        self.retired.retain(|_, (_, at)| now.duration_since(*at) < RETIRED_TTL);
        self.first_scan = false;
    }

    /// Stats and fingerprints one path; `None` when it is too short or too old to follow.
    fn identify(&self, path: &std::path::Path) -> io::Result<Option<Found>> {
        let file = open_without_waiting(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let identity = (meta.dev(), meta.ino());
        if let Some(limit) = self.settings.ignore_older
            && modified.elapsed().is_ok_and(|age| age > limit)
            && !self.files.values().any(|t| t.identity == identity)
        {
            return Ok(None);
        }
        let Some(fingerprint) = self.settings.fingerprinter.of_file(&file)? else { return Ok(None) };
        Ok(Some(Found {
            path: path.to_path_buf(),
            fingerprint,
            identity,
            size: meta.len(),
            modified,
            gzip: is_gzip(&file)?,
        }))
    }

    /// Updates or starts following the file a search found.
    fn follow(&mut self, found: &Found, fingerprint: Fingerprint, now: Instant) {
        if let Some(file) = self.files.get_mut(&fingerprint) {
            if file.identity != found.identity {
                // A copy took over (copy-truncate): read on from the same offset in the copy.
                file.handle = None;
            }
            if file.path != found.path {
                file.path_text = Bytes::from(found.path.to_string_lossy().into_owned());
                file.path.clone_from(&found.path);
            }
            file.identity = found.identity;
            file.size = found.size;
            file.modified = found.modified;
            file.missing_since = None;
            file.replaced = false;
            return;
        }
        let remembered = self.retired.remove(&fingerprint).map(|(offset, _)| offset);
        let checkpoint = self.checkpoints.lock().ok().and_then(|table| table.offset(&fingerprint));
        let mut reset = false;
        let offset = match remembered.or(checkpoint) {
            Some(offset) if !found.gzip && offset > found.size => {
                reset = true;
                0
            }
            Some(offset) => offset,
            None if self.first_scan && self.settings.read_from == ReadFrom::End && !found.gzip => found.size,
            None => 0,
        };
        let s = &self.settings;
        self.files.insert(
            fingerprint,
            Tracked {
                path: found.path.clone(),
                path_text: Bytes::from(found.path.to_string_lossy().into_owned()),
                identity: found.identity,
                handle: None,
                gzip: found.gzip,
                splitter: LineSplitter::new(&s.delimiter, s.max_line_bytes, offset),
                aggregator: Aggregator::default(),
                missing_since: None,
                replaced: false,
                size: found.size,
                modified: found.modified,
                at_eof: false,
                finished: false,
                last_data: now,
                opened_at: now,
                closed_at: now,
                reset,
                reported: remembered.or(checkpoint),
            },
        );
        self.order.push(fingerprint);
        if self.settings.oldest_first {
            let files = &self.files;
            self.order.sort_by_key(|fp| files.get(fp).map(|t| (t.modified, t.path.clone())));
        }
    }

    /// Opens files that have unread data, closing others in turn past `max_open_files`.
    fn open_waiting(&mut self, now: Instant) {
        let mut waiting: Vec<(Instant, Fingerprint)> = self
            .files
            .iter()
            .filter(|(_, t)| t.handle.is_none() && t.missing_since.is_none() && !t.replaced && t.has_unread())
            .map(|(fp, t)| (t.closed_at, *fp))
            .collect();
        waiting.sort();
        let mut open = self.files.values().filter(|t| t.handle.is_some()).count();
        for (_, fingerprint) in waiting {
            if open >= self.settings.max_open_files {
                let victim = self
                    .files
                    .iter()
                    .filter(|(_, t)| t.handle.is_some() && now.duration_since(t.opened_at) >= MIN_TURN)
                    .min_by_key(|(_, t)| (!t.at_eof, t.opened_at))
                    .map(|(fp, _)| *fp);
                let Some(victim) = victim.and_then(|fp| self.files.get_mut(&fp)) else { break };
                victim.handle = None;
                victim.closed_at = now;
                open -= 1;
            }
            if self.open(fingerprint, now) {
                open += 1;
            }
        }
    }

    fn open(&mut self, fingerprint: Fingerprint, now: Instant) -> bool {
        let Some(file) = self.files.get(&fingerprint) else { return false };
        let result = (|| -> io::Result<Option<Handle>> {
            let handle = open_without_waiting(&file.path)?;
            let meta = handle.metadata()?;
            if (meta.dev(), meta.ino()) != file.identity {
                // Replaced since the search; the next search will sort it out.
                return Ok(None);
            }
            if !file.gzip {
                return Ok(Some(Handle::Plain(handle)));
            }
            let mut decoder = MultiGzDecoder::new(handle);
            let skip = file.splitter.read_offset();
            io::copy(&mut (&mut decoder).take(skip), &mut io::sink())?;
            Ok(Some(Handle::Gzip(Box::new(decoder))))
        })();
        match result {
            Ok(Some(handle)) => {
                if let Some(file) = self.files.get_mut(&fingerprint) {
                    file.handle = Some(handle);
                    file.opened_at = now;
                    file.at_eof = false;
                }
                true
            }
            Ok(None) => false,
            Err(error) => {
                let path = file.path.clone();
                self.io_error("file_unreadable", &path, &error);
                if let Some(file) = self.files.get_mut(&fingerprint) {
                    file.closed_at = now;
                }
                false
            }
        }
    }

    /// Reads once from one file; returns the bytes read.
    fn read_once(&mut self, fingerprint: Fingerprint, out: &mut Vec<(Bytes, u64)>) -> usize {
        let Some(file) = self.files.get_mut(&fingerprint) else { return 0 };
        let limit = self.settings.max_read_bytes;
        let result = match file.handle.as_mut() {
            None => return 0,
            Some(Handle::Plain(handle)) => {
                handle.read_at(&mut self.buffer[..limit], file.splitter.read_offset())
            }
            Some(Handle::Gzip(decoder)) => decoder.read(&mut self.buffer[..limit]),
        };
        let read = match result {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return 0,
            Err(error) => {
                // A directory now, a failing disk, a corrupt gzip stream: drop the handle; the
                // next search decides whether the file is still there.
                let path = file.path.clone();
                file.handle = None;
                file.closed_at = Instant::now();
                file.finished |= file.gzip;
                self.io_error("file_read_failed", &path, &error);
                return 0;
            }
        };
        if read == 0 {
            self.at_end(fingerprint, out);
            return 0;
        }
        let mut pieces = Vec::new();
        let mut start = file.splitter.boundary();
        file.splitter.feed(&self.buffer[..read], &mut pieces);
        file.at_eof = false;
        file.last_data = Instant::now();
        self.metrics.received_bytes(read);
        for (piece, end) in pieces {
            self.take_piece(fingerprint, piece, start, out);
            start = end;
        }
        read
    }

    fn take_piece(
        &mut self,
        fingerprint: Fingerprint,
        piece: Piece,
        start: u64,
        out: &mut Vec<(Bytes, u64)>,
    ) {
        match piece {
            Piece::Line(line) => match (&self.settings.multiline, self.files.get_mut(&fingerprint)) {
                (Some(rules), Some(file)) => {
                    file.aggregator.push(rules, line, start, self.settings.max_line_bytes, out);
                }
                _ => out.push((line, start)),
            },
            Piece::TooLong(length) => {
                let limit = self.settings.max_line_bytes;
                let message = format!("a line of {length} bytes is longer than max_line_bytes ({limit})");
                report_bad_input(&self.metrics, &self.limiter, "oversized", &message);
            }
        }
    }

    /// A read found nothing: the end for now, the end of a gzip file, or a truncation.
    fn at_end(&mut self, fingerprint: Fingerprint, out: &mut Vec<(Bytes, u64)>) {
        let Some(file) = self.files.get_mut(&fingerprint) else { return };
        file.at_eof = true;
        let handle = match file.handle.as_ref() {
            Some(Handle::Plain(handle)) => handle,
            Some(Handle::Gzip(_)) => {
                file.finished = true;
                file.handle = None;
                let start = file.splitter.boundary();
                if let Some((piece, _)) = file.splitter.finish() {
                    self.take_piece(fingerprint, piece, start, out);
                }
                return;
            }
            None => return,
        };
        let Ok(meta) = handle.metadata() else { return };
        if meta.len() >= file.splitter.read_offset() {
            return;
        }
        // Truncated. The same first lines: the file restarts; others: it is another file now.
        let same = match self.settings.fingerprinter.of_file(handle) {
            Ok(now) => now == Some(fingerprint),
            Err(_) => false,
        };
        if same {
            file.splitter.reset(0);
            file.aggregator = Aggregator::default();
            file.reset = true;
            file.at_eof = false;
        } else {
            file.handle = None;
            file.replaced = true;
            file.closed_at = Instant::now();
        }
    }

    fn flush_stale(&mut self, lines: &mut HashMap<Fingerprint, Vec<(Bytes, u64)>>) {
        let Some(rules) = &self.settings.multiline else { return };
        for (fingerprint, file) in &mut self.files {
            if file.aggregator.pending_start().is_some() {
                file.aggregator.flush_if_stale(rules, false, lines.entry(*fingerprint).or_default());
            }
        }
    }

    /// Stops following files that are gone and read to their end, and remembers their offsets.
    fn close_gone(
        &mut self,
        now: Instant,
        lines: &mut HashMap<Fingerprint, Vec<(Bytes, u64)>>,
    ) -> Vec<Chunk> {
        let grace = self.settings.cooldown.max(Duration::from_secs(1));
        let gone: Vec<Fingerprint> = self
            .files
            .iter()
            .filter(|(_, t)| {
                t.missing_since.is_some_and(|since| {
                    t.handle.is_none() || (t.at_eof && now.duration_since(since) >= grace)
                })
            })
            .map(|(fp, _)| *fp)
            .collect();
        let mut chunks = Vec::new();
        for fingerprint in gone {
            let Some(mut file) = self.files.remove(&fingerprint) else { continue };
            self.order.retain(|fp| *fp != fingerprint);
            let mut lines = lines.remove(&fingerprint).unwrap_or_default();
            let out = &mut lines;
            // Nothing more will be appended to a deleted or renamed-away file: its last partial
            // line and pending multiline event are complete.
            if !file.replaced {
                let start = file.splitter.boundary();
                if let Some((Piece::Line(line), _)) = file.splitter.finish() {
                    match &self.settings.multiline {
                        Some(rules) => {
                            file.aggregator.push(rules, line, start, self.settings.max_line_bytes, out)
                        }
                        None => out.push((line, start)),
                    }
                }
            }
            if let Some(rules) = &self.settings.multiline {
                file.aggregator.flush_if_stale(rules, true, out);
            }
            let end = file.committable();
            self.retired.insert(fingerprint, (end, now));
            if !lines.is_empty() || file.reset || file.reported != Some(end) {
                chunks.push(Chunk { fingerprint, path: file.path_text, reset: file.reset, lines, end });
            }
        }
        chunks
    }

    /// `remove_after_secs`: deletes files read and checkpointed to their end and idle that long.
    fn remove_finished(&mut self, now: Instant) {
        let Some(after) = self.settings.remove_after else { return };
        let Ok(table) = self.checkpoints.lock() else { return };
        let mut removed = Vec::new();
        for (fingerprint, file) in &self.files {
            let done = if file.gzip {
                file.finished
            } else {
                file.at_eof && file.size <= file.splitter.read_offset()
            };
            let committed =
                table.offset(fingerprint).is_some_and(|offset| offset >= file.splitter.read_offset());
            if done
                && committed
                && file.missing_since.is_none()
                && !file.splitter.has_partial()
                && file.aggregator.pending_start().is_none()
                && now.duration_since(file.last_data) >= after
            {
                removed.push(file.path.clone());
            }
        }
        drop(table);
        for path in removed {
            if let Err(error) = std::fs::remove_file(&path) {
                self.io_error("file_remove_failed", &path, &error);
            }
        }
    }
}

/// Opens `path` for reading without ever waiting. The search checks that a path is a regular
/// file, but a FIFO can take its place before the open (or before a closed file is opened again,
/// up to a search later), and opening a FIFO for reading blocks until a writer comes: the whole
/// source would stall. `O_NONBLOCK` makes that open return at once; callers then refuse what is
/// not the regular file they expect. On a regular file the flag changes nothing.
pub(super) fn open_without_waiting(path: &std::path::Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}
