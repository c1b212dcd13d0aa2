//! Checkpoints: how far each file has been read (or, with acknowledgements, delivered), and how
//! they are kept on disk.
//!
//! The file is `<data_dir>/<source id>/checkpoints.json`:
//! `{"version": 1, "checkpoints": [{"fingerprint": "checksum:…", "offset": 123, "path": "…",
//! "seen": <unix seconds>}]}`. An offset is the byte just after the last line that may be skipped
//! on restart (decompressed bytes for a gzip file). It is replaced whole: written to a temporary
//! file, synced, renamed over the old one, and the directory synced, so after a crash or a power
//! loss it is either the previous version or the new one, never a mix.
//!
//! Entries of files no search has seen for [`EXPIRE_AFTER`] are dropped, so the table does not
//! grow with every rotated file forever.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;

pub(super) const FILE_NAME: &str = "checkpoints.json";
const VERSION: u32 = 1;
const EXPIRE_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    version: u32,
    checkpoints: Vec<Record>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    fingerprint: String,
    offset: u64,
    path: String,
    seen: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    offset: u64,
    path: String,
    seen: u64,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Every file's checkpoint. Shared by the reader (which looks up where to start) and the source
/// task (which advances them); the lock is never held across I/O or an `.await`.
#[derive(Debug, Default)]
pub(super) struct Table {
    entries: HashMap<Fingerprint, Entry>,
    dirty: bool,
}

impl Table {
    pub(super) fn offset(&self, fingerprint: &Fingerprint) -> Option<u64> {
        self.entries.get(fingerprint).map(|e| e.offset)
    }

    pub(super) fn set(&mut self, fingerprint: Fingerprint, offset: u64, path: &[u8]) {
        let entry =
            self.entries.entry(fingerprint).or_insert_with(|| Entry { offset, path: String::new(), seen: 0 });
        entry.offset = offset;
        entry.seen = unix_now();
        if !path.is_empty() && entry.path.as_bytes() != path {
            entry.path = String::from_utf8_lossy(path).into_owned();
        }
        self.dirty = true;
    }

    /// Marks the files a search found as alive.
    pub(super) fn touch<'a>(&mut self, found: impl Iterator<Item = &'a Fingerprint>) {
        let now = unix_now();
        for fingerprint in found {
            if let Some(entry) = self.entries.get_mut(fingerprint) {
                entry.seen = now;
            }
        }
    }

    /// The table as the bytes of its file, when it changed since the last call.
    pub(super) fn take_changes(&mut self) -> Option<Vec<u8>> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let cutoff = unix_now().saturating_sub(EXPIRE_AFTER.as_secs());
        self.entries.retain(|_, entry| entry.seen >= cutoff);
        let mut checkpoints: Vec<Record> = self
            .entries
            .iter()
            .map(|(fingerprint, entry)| Record {
                fingerprint: fingerprint.to_string(),
                offset: entry.offset,
                path: entry.path.clone(),
                seen: entry.seen,
            })
            .collect();
        checkpoints.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_vec_pretty(&OnDisk { version: VERSION, checkpoints }).ok()
    }

    /// Marks the table as changed again, after a write that failed.
    pub(super) fn mark_dirty(&mut self) {
        self.dirty = true;
    }
}

/// Reads the checkpoints in `dir`; no file means no checkpoints yet.
pub(super) fn load(dir: &Path) -> Result<Table, String> {
    let path = dir.join(FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Table::default()),
        Err(error) => return Err(format!("cannot read checkpoints {}: {error}", path.display())),
    };
    let bad = |why: String| {
        format!("checkpoints {} are not valid ({why}); move the file away to start over", path.display())
    };
    let on_disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if on_disk.version != VERSION {
        return Err(bad(format!("version {} is not {VERSION}", on_disk.version)));
    }
    let mut entries = HashMap::new();
    for record in on_disk.checkpoints {
        let fingerprint: Fingerprint = record.fingerprint.parse().map_err(bad)?;
        entries.insert(fingerprint, Entry { offset: record.offset, path: record.path, seen: record.seen });
    }
    Ok(Table { entries, dirty: false })
}

/// Replaces the checkpoints file in `dir` with `bytes`, durably. See the module documentation.
pub(super) fn save(dir: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary: PathBuf = dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, dir.join(FILE_NAME))?;
    File::open(dir)?.sync_all()
}
