//! Filesystem plumbing: the directory lock, segment naming and listing, the ledger file, fsyncs.
//!
//! All of it is blocking I/O; async callers run it on the blocking thread pool.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use super::DiskBufferError;
use super::format::{self, SEGMENT_HEADER_LEN};

/// Name of the lock file inside a buffer directory.
pub(crate) const LOCK_FILE: &str = "buffer.lock";
/// Name of the ledger file inside a buffer directory.
pub(crate) const LEDGER_FILE: &str = "ledger";
/// Suffix of segment files.
const SEGMENT_SUFFIX: &str = ".seg";
/// Suffix of files being written before an atomic rename; leftovers are deleted on open.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Attaches the path to an I/O error, so every error says which file failed.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> DiskBufferError {
    let path = path.into();
    move |source| DiskBufferError::Io { path, source }
}

/// An exclusive advisory lock on a buffer directory, released when dropped.
///
/// The lock is per open file description, so it also keeps two buffers in one process apart.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Creates the directory if needed and takes its lock, failing if anyone else holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, DiskBufferError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(LOCK_FILE);
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_err(&path))?;
        match file.try_lock_exclusive() {
            Ok(true) => Ok(Self { _file: file }),
            Ok(false) => Err(DiskBufferError::Locked { dir: dir.to_path_buf() }),
            Err(source) => Err(DiskBufferError::Io { path, source }),
        }
    }
}

/// The file name of the segment whose first record id is `first_id`.
pub(crate) fn segment_path(dir: &Path, first_id: u64) -> PathBuf {
    dir.join(format!("{first_id:020}{SEGMENT_SUFFIX}"))
}

/// Lists segment files by first id, with their sizes. Files with other names are ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<BTreeMap<u64, u64>, DiskBufferError> {
    let mut segments = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(id) =
            name.to_str().and_then(|n| n.strip_suffix(SEGMENT_SUFFIX)).and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let len = entry.metadata().map_err(io_err(entry.path()))?.len();
        segments.insert(id, len);
    }
    Ok(segments)
}

/// Deletes leftovers of interrupted atomic writes.
pub(crate) fn remove_tmp_files(dir: &Path) -> Result<(), DiskBufferError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if path.to_string_lossy().ends_with(TMP_SUFFIX) {
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

/// Makes creations, renames and deletions of the directory's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), DiskBufferError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// Writes `bytes` to `path` atomically: a temporary file, fsynced, renamed over the target.
///
/// With `durable` the directory is fsynced as well, so the rename survives power loss; without
/// it the new content survives a process crash only (used by best-effort writes in `Drop`).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> Result<(), DiskBufferError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    if durable {
        file.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if durable && let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// What the ledger file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LedgerState {
    /// No ledger yet: the reader starts at the oldest record.
    Missing,
    /// The reader acknowledged every id below this one.
    Valid(u64),
    /// The ledger is unreadable; the reader starts at the oldest record (at-least-once).
    Corrupt,
}

/// Reads the ledger of a buffer directory.
pub(crate) fn read_ledger(dir: &Path) -> Result<LedgerState, DiskBufferError> {
    let path = dir.join(LEDGER_FILE);
    match fs::read(&path) {
        Ok(bytes) => Ok(format::decode_ledger(&bytes).map_or(LedgerState::Corrupt, LedgerState::Valid)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LedgerState::Missing),
        Err(source) => Err(DiskBufferError::Io { path, source }),
    }
}

/// Persists the reader position.
///
/// Normally an atomic replace. When the filesystem is full the temporary file cannot be written,
/// and a full disk is exactly when the reader must move on and delete segments to free space, so
/// the 32 bytes are then overwritten in place instead, which needs no new blocks. A torn in-place
/// write fails the ledger's checksum, and a corrupt ledger means re-reading from the oldest
/// record: duplicates at worst, never a loss.
pub(crate) fn write_ledger(dir: &Path, acked_end: u64, durable: bool) -> Result<(), DiskBufferError> {
    let path = dir.join(LEDGER_FILE);
    let bytes = format::encode_ledger(acked_end);
    match write_atomic(&path, &bytes, durable) {
        Err(DiskBufferError::Io { source, .. }) if is_no_space(&source) && path.exists() => {
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(TMP_SUFFIX);
            let _ = fs::remove_file(PathBuf::from(tmp));
            let mut file = OpenOptions::new().write(true).open(&path).map_err(io_err(&path))?;
            file.write_all(&bytes).map_err(io_err(&path))?;
            if durable {
                file.sync_data().map_err(io_err(&path))?;
            }
            Ok(())
        }
        other => other,
    }
}

/// Whether an I/O error means the filesystem or the quota is full (`ENOSPC`, `EDQUOT`): a
/// condition that passes once space is freed, unlike a failing disk.
pub(crate) fn is_no_space(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
}

/// Creates a new segment file holding only its header, not yet fsynced.
///
/// If the header cannot be written (a full disk) the file is removed again, so a later attempt
/// can create it afresh.
pub(crate) fn create_segment(dir: &Path, first_id: u64) -> Result<File, DiskBufferError> {
    let path = segment_path(dir, first_id);
    let mut file = OpenOptions::new().create_new(true).append(true).open(&path).map_err(io_err(&path))?;
    if let Err(source) = file.write_all(&format::encode_segment_header(first_id)) {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(DiskBufferError::Io { path, source });
    }
    Ok(file)
}

/// The size of an empty segment, for space accounting.
pub(crate) const EMPTY_SEGMENT_LEN: u64 = SEGMENT_HEADER_LEN as u64;

#[cfg(test)]
mod tests {
    use super::*;

    /// `ledger.tmp` made a link to `/dev/full`, so replacing the ledger fails with a real `ENOSPC`.
    fn fill_tmp(dir: &Path) -> PathBuf {
        let tmp = dir.join(format!("{LEDGER_FILE}{TMP_SUFFIX}"));
        std::os::unix::fs::symlink("/dev/full", &tmp).expect("symlink");
        tmp
    }

    #[test]
    fn a_full_disk_overwrites_the_ledger_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_ledger(dir.path(), 5, true).expect("first ledger");
        let tmp = fill_tmp(dir.path());
        write_ledger(dir.path(), 9, true).expect("written in place");
        assert_eq!(read_ledger(dir.path()).expect("read"), LedgerState::Valid(9));
        assert!(!tmp.exists(), "the temporary file is gone");
        write_ledger(dir.path(), 12, true).expect("and atomically again once there is room");
        assert_eq!(read_ledger(dir.path()).expect("read"), LedgerState::Valid(12));
    }

    #[test]
    fn a_full_disk_without_a_ledger_reports_no_space() {
        let dir = tempfile::tempdir().expect("tempdir");
        fill_tmp(dir.path());
        match write_ledger(dir.path(), 3, true) {
            Err(DiskBufferError::Io { source, .. }) => assert!(is_no_space(&source), "{source}"),
            other => panic!("expected no space, got {other:?}"),
        }
        assert_eq!(read_ledger(dir.path()).expect("read"), LedgerState::Missing);
    }
}
