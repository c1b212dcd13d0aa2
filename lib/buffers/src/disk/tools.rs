//! Operator tools over a closed buffer directory: inspect, verify, repair.
//!
//! Each takes the directory lock first, so none of them runs while a buffer (or another tool)
//! has the directory open. They are blocking functions for a CLI, not for a runtime thread.

use std::fs;
use std::path::{Path, PathBuf};

use super::DiskBufferError;
use super::files::{self, DirLock, LedgerState, io_err};
use super::format::{self, FRAME_HEADER_LEN, Frame, HeaderCheck, KIND_GAP, KIND_RECORD, SegmentScan};

/// One segment file, as [`inspect`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    pub path: PathBuf,
    pub first_id: u64,
    /// Ids the segment spans (from the file names; the last segment is scanned).
    pub records: u64,
    pub bytes: u64,
}

/// What a buffer directory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectReport {
    pub dir: PathBuf,
    pub segments: Vec<SegmentSummary>,
    pub total_bytes: u64,
    /// The reader position from the ledger: every id below it is acknowledged. `None` when the
    /// ledger is missing or corrupt.
    pub acked_end: Option<u64>,
    /// The id after the last record on disk.
    pub next_id: u64,
    /// Records on disk that the ledger does not cover.
    pub unacked_records: u64,
}

/// Lists the segments of the buffer in `dir` with their sizes and the reader position.
pub fn inspect(dir: &Path) -> Result<InspectReport, DiskBufferError> {
    let _lock = lock_existing(dir)?;
    let segments = files::list_segments(dir)?;
    let ledger = match files::read_ledger(dir)? {
        LedgerState::Valid(acked_end) => Some(acked_end),
        LedgerState::Missing | LedgerState::Corrupt => None,
    };
    let mut summaries = Vec::with_capacity(segments.len());
    let mut next_id = ledger.unwrap_or(0);
    for (&first_id, &bytes) in &segments {
        let end_id = match segments.range(first_id + 1..).next() {
            Some((&next_first, _)) => next_first,
            None => read_segment(dir, first_id)?.1.end_id,
        };
        next_id = next_id.max(end_id);
        let path = files::segment_path(dir, first_id);
        summaries.push(SegmentSummary { path, first_id, records: end_id.saturating_sub(first_id), bytes });
    }
    let oldest = segments.keys().next().copied().unwrap_or(next_id);
    Ok(InspectReport {
        dir: dir.to_path_buf(),
        total_bytes: segments.values().sum(),
        segments: summaries,
        acked_end: ledger,
        next_id,
        unacked_records: next_id.saturating_sub(ledger.unwrap_or(oldest).max(oldest)),
    })
}

/// What is wrong, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The segment or ledger file.
    pub path: PathBuf,
    /// Byte offset in the file, where it applies.
    pub offset: Option<u64>,
    pub kind: ProblemKind,
}

/// The kinds of damage [`verify`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The segment header is unreadable (its records may still be fine).
    CorruptHeader,
    /// The segment was written by an unknown format version.
    UnsupportedVersion(u16),
    /// Bytes that are not valid frames, followed by valid frames.
    CorruptBytes { bytes: u64 },
    /// Bytes after the last valid frame of a segment: a torn write or corruption.
    TornTail { bytes: u64 },
    /// Ids absent from the buffer.
    MissingRecords { first_id: u64, count: u64 },
    /// A record whose checksum is fine but that the caller's decoder rejects.
    Undecodable { id: u64 },
    /// The ledger is unreadable.
    CorruptLedger,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: usize,
    /// Records whose frame (and payload, if a decoder was given) is valid.
    pub records: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every frame of every segment, and the ledger. `decodable`, if given, is called on
/// each record payload and reports the record when it returns false.
pub fn verify(dir: &Path, decodable: Option<&Decodable>) -> Result<VerifyReport, DiskBufferError> {
    let _lock = lock_existing(dir)?;
    let mut report = VerifyReport::default();
    for damage in survey(dir, decodable)? {
        report.segments += usize::from(damage.path.extension().is_some_and(|e| e == "seg"));
        report.problems.extend(damage.problems);
        report.records += damage.records;
    }
    Ok(report)
}

/// A caller's check that a record payload decodes.
pub type Decodable = dyn Fn(&[u8]) -> bool;

/// What [`repair`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    pub segments_rewritten: usize,
    /// Records in rewritten segments that were kept.
    pub records_kept: u64,
    /// Ids that could not be recovered and were replaced by gap markers (or skipped by moving
    /// the ledger forward past missing segments).
    pub records_lost: u64,
    /// Damaged bytes dropped.
    pub bytes_dropped: u64,
    /// The ledger was unreadable and was rewritten to the oldest record.
    pub ledger_reset: bool,
}

/// Rewrites damaged segments keeping every valid record, and marks what was lost so the ids stay
/// contiguous; a reader of the repaired buffer skips the lost ids and counts them.
pub fn repair(dir: &Path) -> Result<RepairReport, DiskBufferError> {
    let _lock = lock_existing(dir)?;
    let mut report = RepairReport::default();
    let segments = files::list_segments(dir)?;
    for &first_id in segments.keys() {
        let next_first = segments.range(first_id + 1..).next().map(|(&id, _)| id);
        let (bytes, scan) = read_segment(dir, first_id)?;
        let header_ok = format::check_segment_header(&bytes, first_id) == HeaderCheck::Ok;
        let missing_at_end = next_first.is_some_and(|n| scan.end_id < n);
        let gaps = scan.frames.first().is_some_and(|f| f.id > first_id)
            || scan.frames.windows(2).any(|w| w[1].id > w[0].next_id(&bytes));
        if header_ok && scan.corrupt.is_empty() && scan.valid_end == bytes.len() && !missing_at_end && !gaps {
            continue;
        }
        let mut out = format::encode_segment_header(first_id).to_vec();
        let mut expected = first_id;
        for frame in &scan.frames {
            report.records_lost += push_gap(&mut out, expected, frame.id);
            out.extend_from_slice(&bytes[frame.payload.start - FRAME_HEADER_LEN..frame.end]);
            report.records_kept += u64::from(frame.kind == KIND_RECORD);
            expected = frame.next_id(&bytes);
        }
        report.records_lost += push_gap(&mut out, expected, next_first.unwrap_or(expected));
        report.bytes_dropped +=
            scan.corrupt.iter().map(|r| r.len() as u64).sum::<u64>() + (bytes.len() - scan.valid_end) as u64;
        files::write_atomic(&files::segment_path(dir, first_id), &out, true)?;
        report.segments_rewritten += 1;
    }
    let oldest = segments.keys().next().copied();
    match files::read_ledger(dir)? {
        LedgerState::Corrupt => {
            report.ledger_reset = true;
            files::write_ledger(dir, oldest.unwrap_or(0), true)?;
        }
        LedgerState::Valid(acked_end) if oldest.is_some_and(|o| o > acked_end) => {
            let oldest = oldest.unwrap_or(acked_end);
            report.records_lost += oldest - acked_end;
            files::write_ledger(dir, oldest, true)?;
        }
        LedgerState::Valid(_) | LedgerState::Missing => {}
    }
    Ok(report)
}

/// Appends a gap marker for ids `from..to`, if any; returns how many ids it covers.
fn push_gap(out: &mut Vec<u8>, from: u64, to: u64) -> u64 {
    let count = to.saturating_sub(from);
    if count > 0 {
        format::encode_frame(out, from, KIND_GAP, &count.to_le_bytes());
    }
    count
}

/// The findings for one file.
struct Damage {
    path: PathBuf,
    problems: Vec<Problem>,
    /// Valid records (and decodable, when a decoder was given).
    records: u64,
}

/// Reads every segment and the ledger, listing problems and valid records.
fn survey(dir: &Path, decodable: Option<&Decodable>) -> Result<Vec<Damage>, DiskBufferError> {
    let segments = files::list_segments(dir)?;
    let mut found = Vec::new();
    let ledger_path = dir.join(files::LEDGER_FILE);
    let mut ledger = Damage { path: ledger_path.clone(), problems: Vec::new(), records: 0 };
    match files::read_ledger(dir)? {
        LedgerState::Corrupt => ledger.problems.push(problem(&ledger_path, None, ProblemKind::CorruptLedger)),
        LedgerState::Valid(acked_end) => {
            if let Some(&oldest) = segments.keys().next().filter(|&&o| o > acked_end) {
                let kind = ProblemKind::MissingRecords { first_id: acked_end, count: oldest - acked_end };
                ledger.problems.push(problem(&ledger_path, None, kind));
            }
        }
        LedgerState::Missing => {}
    }
    found.push(ledger);
    for &first_id in segments.keys() {
        let path = files::segment_path(dir, first_id);
        let (bytes, scan) = read_segment(dir, first_id)?;
        let mut damage = Damage { path: path.clone(), problems: Vec::new(), records: 0 };
        match format::check_segment_header(&bytes, first_id) {
            HeaderCheck::Ok => {}
            HeaderCheck::Corrupt => damage.problems.push(problem(&path, Some(0), ProblemKind::CorruptHeader)),
            HeaderCheck::UnsupportedVersion(v) => {
                damage.problems.push(problem(&path, Some(0), ProblemKind::UnsupportedVersion(v)))
            }
        }
        for range in &scan.corrupt {
            damage.problems.push(problem(
                &path,
                Some(range.start as u64),
                ProblemKind::CorruptBytes { bytes: range.len() as u64 },
            ));
        }
        if scan.valid_end < bytes.len() {
            let torn = ProblemKind::TornTail { bytes: (bytes.len() - scan.valid_end) as u64 };
            damage.problems.push(problem(&path, Some(scan.valid_end as u64), torn));
        }
        let mut expected = first_id;
        let gap_check = |expected: u64, found_id: u64, at: Option<u64>, problems: &mut Vec<Problem>| {
            if found_id > expected {
                let kind = ProblemKind::MissingRecords { first_id: expected, count: found_id - expected };
                problems.push(problem(&path, at, kind));
            }
        };
        for frame in &scan.frames {
            gap_check(expected, frame.id, Some(frame_start(frame)), &mut damage.problems);
            if frame.kind == KIND_RECORD {
                if decodable.is_some_and(|ok| !ok(&bytes[frame.payload.clone()])) {
                    damage.problems.push(problem(
                        &path,
                        Some(frame_start(frame)),
                        ProblemKind::Undecodable { id: frame.id },
                    ));
                } else {
                    damage.records += 1;
                }
            }
            expected = frame.next_id(&bytes);
        }
        if let Some((&next_first, _)) = segments.range(first_id + 1..).next() {
            gap_check(expected, next_first, None, &mut damage.problems);
        }
        found.push(damage);
    }
    Ok(found)
}

fn problem(path: &Path, offset: Option<u64>, kind: ProblemKind) -> Problem {
    Problem { path: path.to_path_buf(), offset, kind }
}

fn frame_start(frame: &Frame) -> u64 {
    (frame.payload.start - FRAME_HEADER_LEN) as u64
}

/// Reads and scans one segment.
fn read_segment(dir: &Path, first_id: u64) -> Result<(Vec<u8>, SegmentScan), DiskBufferError> {
    let path = files::segment_path(dir, first_id);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    let scan = format::scan_segment(&bytes, first_id);
    Ok((bytes, scan))
}

/// Takes the lock of an existing buffer directory; a missing one is an error, not created.
fn lock_existing(dir: &Path) -> Result<DirLock, DiskBufferError> {
    if !dir.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "not a disk buffer directory");
        return Err(DiskBufferError::Io { path: dir.to_path_buf(), source });
    }
    DirLock::acquire(dir)
}
