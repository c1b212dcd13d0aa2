//! File identity: a checksum of the first lines, or the device and inode numbers.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::str::FromStr;

use flate2::read::MultiGzDecoder;

use super::config::FingerprintConfig;

/// What identifies a file in the checkpoints and across renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Fingerprint {
    /// xxh3-64 of the first lines (or bytes): stable across versions and machines.
    Checksum(u64),
    DevInode(u64, u64),
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fingerprint::Checksum(sum) => write!(f, "checksum:{sum:016x}"),
            Fingerprint::DevInode(dev, ino) => write!(f, "dev_inode:{dev}:{ino}"),
        }
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a file fingerprint");
        match text.split(':').collect::<Vec<_>>().as_slice() {
            ["checksum", sum] => u64::from_str_radix(sum, 16).map(Fingerprint::Checksum).map_err(|_| bad()),
            ["dev_inode", dev, ino] => {
                Ok(Fingerprint::DevInode(dev.parse().map_err(|_| bad())?, ino.parse().map_err(|_| bad())?))
            }
            _ => Err(bad()),
        }
    }
}

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when the file starts with the gzip magic bytes.
pub(super) fn is_gzip(file: &File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut filled = 0;
    while filled < 2 {
        match file.read_at(&mut magic[filled..], filled as u64)? {
            0 => return Ok(false),
            n => filled += n,
        }
    }
    Ok(magic == GZIP_MAGIC)
}

/// Reads a file from a position with `pread`, leaving the handle's own position alone.
pub(super) struct PositionedReader<'a> {
    pub(super) file: &'a File,
    pub(super) position: u64,
}

impl Read for PositionedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}

/// Computes fingerprints under one `fingerprint` option.
#[derive(Debug, Clone)]
pub(super) struct Fingerprinter {
    pub(super) strategy: FingerprintConfig,
    pub(super) delimiter: Vec<u8>,
    pub(super) max_line_bytes: usize,
}

impl Fingerprinter {
    /// The file's fingerprint, or `None` while it is too short to have one (no complete first
    /// line yet). A gzip file's checksum covers its decompressed lines.
    pub(super) fn of_file(&self, file: &File) -> io::Result<Option<Fingerprint>> {
        let (lines, ignored, bytes) = match self.strategy {
            FingerprintConfig::DeviceAndInode => {
                let meta = file.metadata()?;
                return Ok(Some(Fingerprint::DevInode(meta.dev(), meta.ino())));
            }
            FingerprintConfig::Checksum { lines, ignored_header_bytes, bytes } => {
                (lines, ignored_header_bytes as u64, bytes)
            }
        };
        let raw = PositionedReader { file, position: 0 };
        let mut reader: Box<dyn Read + '_> =
            if is_gzip(file)? { Box::new(MultiGzDecoder::new(raw)) } else { Box::new(raw) };
        if io::copy(&mut (&mut reader).take(ignored), &mut io::sink())? < ignored {
            return Ok(None);
        }
        let wanted = match bytes {
            Some(bytes) => bytes,
            None => lines.saturating_mul(self.max_line_bytes.saturating_add(self.delimiter.len())),
        };
        let mut head = Vec::new();
        let mut block = [0u8; 4096];
        let mut found = 0;
        // Where the next delimiter search starts; delimiters before it are counted in `found`.
        let mut searched = 0;
        while head.len() < wanted {
            let room = (wanted - head.len()).min(block.len());
            let n = match reader.read(&mut block[..room]) {
                Ok(0) => return Ok(None),
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            head.extend_from_slice(&block[..n]);
            if bytes.is_none() {
                while let Some(i) = memchr::memmem::find(&head[searched..], &self.delimiter) {
                    searched += i + self.delimiter.len();
                    found += 1;
                    if found == lines {
                        head.truncate(searched);
                        return Ok(Some(Fingerprint::Checksum(xxhash_rust::xxh3::xxh3_64(&head))));
                    }
                }
                // Keep the tail in the next search: a delimiter may be split between two reads.
                searched = searched.max(head.len().saturating_sub(self.delimiter.len() - 1));
            }
        }
        // Exactly `bytes`, or first lines longer than lines may be: the head read is the identity.
        head.truncate(wanted);
        Ok(Some(Fingerprint::Checksum(xxhash_rust::xxh3::xxh3_64(&head))))
    }
}
