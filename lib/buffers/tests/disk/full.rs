//! A full filesystem under the disk buffer (`ENOSPC`, simulated through the writer's test seam):
//! writes are rolled back, counted, retried or dropped, never poison the buffer, and nothing
//! written before or after is lost, altered or duplicated.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use strata_buffers::WhenFull;
use strata_buffers::disk::{self, DiskBufferConfig, DiskWriter, FsyncPolicy, WriteOutcome};
use tokio::time::timeout;

use super::{open, payload, read_to_end, segment_files};

/// Anything that should finish promptly gets this long before the test calls it a hang.
const PATIENCE: Duration = Duration::from_secs(20);

fn config(dir: &Path, max_segment_bytes: u64, when_full: WhenFull, fsync: FsyncPolicy) -> DiskBufferConfig {
    DiskBufferConfig {
        max_segment_bytes,
        max_size_bytes: 4 << 20,
        fsync,
        when_full,
        ..DiskBufferConfig::new(dir)
    }
}

async fn write(writer: &mut DiskWriter, records: &[Vec<u8>]) -> WriteOutcome {
    timeout(PATIENCE, writer.write_batch(records)).await.expect("write hung").expect("write failed")
}

/// Asserts that exactly `expected` came out, in order, with contiguous ids from 0 and no loss.
fn assert_delivered(records: &[(u64, Bytes)], expected: &[Vec<u8>]) {
    let ids: Vec<u64> = records.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (0..expected.len() as u64).collect::<Vec<_>>(), "ids are contiguous, none twice");
    for ((id, bytes), want) in records.iter().zip(expected) {
        assert_eq!(bytes.as_ref(), want.as_slice(), "record {id} is intact");
    }
}

fn assert_healthy(dir: &Path) {
    let report = disk::verify(dir, None).expect("verify");
    assert!(report.is_healthy(), "no partial frame or gap was left behind: {report:?}");
}

#[tokio::test]
async fn block_rolls_back_partial_writes_and_retries_until_there_is_space() {
    for fsync in [FsyncPolicy::Never, FsyncPolicy::Always] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path(), 1 << 20, WhenFull::Block, fsync);
        let (mut writer, mut reader) = open(&config).await;
        let records: Vec<Vec<u8>> = (0..6).map(|n| payload(n, 40 + n as usize)).collect();
        assert_eq!(write(&mut writer, &records[..2]).await, WriteOutcome::Written { ids: 0..2 });

        // Three attempts fail half-way, as a full disk does; the fourth finds room.
        writer.inject_no_space_for_test(3);
        assert_eq!(
            write(&mut writer, &records[2..4]).await,
            WriteOutcome::Written { ids: 2..4 },
            "{fsync:?}"
        );
        let stats = writer.stats();
        assert_eq!(stats.no_space_errors, 3, "every failed attempt is counted: {stats:?}");
        assert_eq!(*writer.durable().borrow() >= 4, fsync == FsyncPolicy::Always, "{fsync:?}");
        assert_eq!(write(&mut writer, &records[4..]).await, WriteOutcome::Written { ids: 4..6 });
        writer.close().await.expect("a full disk does not poison the writer");

        assert_delivered(&read_to_end(&mut reader).await, &records);
        assert_eq!(reader.stats().lost_records + reader.stats().corrupt_frames, 0);
        reader.close().await.expect("close");
        assert_healthy(dir.path());
    }
}

#[tokio::test]
async fn drop_newest_drops_the_batch_that_found_no_space_and_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, WhenFull::DropNewest, FsyncPolicy::Never);
    let (mut writer, mut reader) = open(&config).await;
    let kept = [payload(0, 30), payload(1, 30)];
    assert_eq!(write(&mut writer, &kept).await, WriteOutcome::Written { ids: 0..2 });

    writer.inject_no_space_for_test(1);
    let outcome = write(&mut writer, &[payload(90, 30), payload(91, 30), payload(92, 30)]).await;
    assert_eq!(outcome, WriteOutcome::Dropped { records: 3 });
    let stats = writer.stats();
    assert_eq!((stats.dropped_records, stats.no_space_errors), (3, 1), "{stats:?}");

    // Dropped records got no ids: the next batch continues the sequence.
    let last = payload(2, 30);
    assert_eq!(write(&mut writer, std::slice::from_ref(&last)).await, WriteOutcome::Written { ids: 2..3 });
    drop(writer);
    assert_delivered(&read_to_end(&mut reader).await, &[kept[0].clone(), kept[1].clone(), last]);
    reader.close().await.expect("close");
    assert_healthy(dir.path());
}

#[tokio::test]
async fn a_batch_spanning_segments_is_undone_whole_when_the_new_segment_finds_no_space() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Segments of 256 bytes: a 32-byte header, then frames of 20 + 50 bytes.
    let config = config(dir.path(), 256, WhenFull::DropNewest, FsyncPolicy::Always);
    let (mut writer, mut reader) = open(&config).await;
    let first = payload(0, 50);
    assert_eq!(write(&mut writer, std::slice::from_ref(&first)).await, WriteOutcome::Written { ids: 0..1 });
    let segment = segment_files(dir.path()).pop().expect("one segment");
    let committed = fs::metadata(&segment).expect("stat").len();

    // Two records fit in the active segment, the third needs a new one, which fails.
    writer.inject_no_space_on_create_for_test(1);
    let spanning: Vec<Vec<u8>> = (10..13).map(|n| payload(n, 50)).collect();
    assert_eq!(write(&mut writer, &spanning).await, WriteOutcome::Dropped { records: 3 });
    assert_eq!(fs::metadata(&segment).expect("stat").len(), committed, "the two records written are cut off");
    assert_eq!(segment_files(dir.path()), vec![segment], "no half-made segment is left");

    let next = payload(1, 50);
    assert_eq!(write(&mut writer, std::slice::from_ref(&next)).await, WriteOutcome::Written { ids: 1..2 });
    drop(writer);
    assert_delivered(&read_to_end(&mut reader).await, &[first, next]);
    reader.close().await.expect("close");
    assert_healthy(dir.path());
}

#[tokio::test]
async fn block_waits_out_a_segment_that_cannot_be_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, WhenFull::Block, FsyncPolicy::Interval(Duration::from_millis(50)));
    let (mut writer, mut reader) = open(&config).await;
    let records: Vec<Vec<u8>> = (0..8).map(|n| payload(n, 50)).collect();
    writer.inject_no_space_on_create_for_test(2);
    assert_eq!(write(&mut writer, &records).await, WriteOutcome::Written { ids: 0..8 });
    assert_eq!(writer.stats().no_space_errors, 2);
    writer.close().await.expect("close");
    assert_delivered(&read_to_end(&mut reader).await, &records);
    reader.close().await.expect("close");
    assert_healthy(dir.path());
}

/// The active segment can only be deleted once it is sealed. A filesystem that fills up with the
/// active segment on it would otherwise stay full for good, even with every record acknowledged.
#[tokio::test]
async fn no_space_seals_the_active_segment_so_an_acknowledged_one_is_freed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, WhenFull::Block, FsyncPolicy::Never);
    let (mut writer, mut reader) = open(&config).await;
    let records: Vec<Vec<u8>> = (0..6).map(|n| payload(n, 100)).collect();
    write(&mut writer, &records[..5]).await;
    let batch = timeout(PATIENCE, reader.next_batch(5)).await.expect("read hung").expect("read");
    assert_eq!(batch.len(), 5);
    reader.ack(4).await.expect("ack");
    let full = segment_files(dir.path());
    assert_eq!(full.len(), 1, "everything is acknowledged, but the active segment stays");

    writer.inject_no_space_for_test(1);
    assert_eq!(write(&mut writer, &records[5..]).await, WriteOutcome::Written { ids: 5..6 });
    assert!(!full[0].exists(), "the acknowledged segment was sealed and deleted to make room");
    drop(writer);
    let rest = read_to_end(&mut reader).await;
    assert_eq!(rest.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![5]);
    assert_eq!(rest[0].1.as_ref(), records[5].as_slice());
}

/// Which of `paths` this process holds open, from `/proc/self/fd`.
fn open_among(paths: &[PathBuf]) -> Vec<PathBuf> {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| paths.iter().any(|p| target.starts_with(p)))
        .collect()
}

/// A deleted file keeps its blocks while a descriptor is open: a reader parked at the end of a
/// sealed segment must let go of it, or reclaiming it would free nothing on a full disk.
#[tokio::test]
async fn a_waiting_reader_lets_go_of_a_segment_sealed_for_lack_of_space() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, WhenFull::DropNewest, FsyncPolicy::Never);
    let (mut writer, mut reader) = open(&config).await;
    write(&mut writer, &[payload(0, 100), payload(1, 100)]).await;
    let batch = timeout(PATIENCE, reader.next_batch(5)).await.expect("read hung").expect("read");
    assert_eq!(batch.len(), 2);
    let segments = segment_files(dir.path());
    // Canonical paths, as /proc reports them.
    let segments: Vec<PathBuf> = segments.iter().map(|p| p.canonicalize().expect("canonical")).collect();
    assert_eq!(open_among(&segments).len(), 2, "the writer and the reader have the segment open");

    writer.inject_no_space_for_test(1);
    assert_eq!(write(&mut writer, &[payload(9, 100)]).await, WriteOutcome::Dropped { records: 1 });
    // One poll of a read that has nothing to return: it parks, and lets go of the segment.
    tokio::select! {
        biased;
        _ = reader.next_batch(5) => panic!("nothing new to read"),
        () = std::future::ready(()) => {}
    }
    assert!(open_among(&segments).is_empty(), "the sealed, fully read segment was closed by both");
    reader.ack(1).await.expect("ack");
    assert!(segment_files(dir.path()).is_empty(), "and, acknowledged, it was deleted");
}

/// The reader frees acknowledged segments even when the ledger cannot be created for lack of
/// space (here `ledger.tmp` is a link to `/dev/full`): with no ledger the next open starts at the
/// oldest segment left, so deleting them is safe, and it is what frees the disk.
#[tokio::test]
async fn acknowledging_on_a_full_disk_still_frees_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, WhenFull::Block, FsyncPolicy::Never);
    let (mut writer, mut reader) = open(&config).await;
    let records: Vec<Vec<u8>> = (0..9).map(|n| payload(n, 50)).collect();
    write(&mut writer, &records).await;
    assert!(segment_files(dir.path()).len() >= 3, "several segments");
    let tmp = dir.path().join("ledger.tmp");
    std::os::unix::fs::symlink("/dev/full", &tmp).expect("symlink");

    let mut read = Vec::new();
    while read.len() < records.len() {
        read.extend(timeout(PATIENCE, reader.next_batch(9)).await.expect("read hung").expect("read"));
    }
    reader.ack(8).await.expect("acknowledging does not fail on a full disk");
    assert_eq!(segment_files(dir.path()).len(), 1, "only the active segment is left");
    assert!(!dir.path().join("ledger").exists(), "no ledger could be written");

    fs::remove_file(&tmp).expect("space again");
    drop(writer);
    reader.close().await.expect("the ledger is written once there is room");
    let (writer, mut reader) = open(&config).await;
    drop(writer);
    assert!(read_to_end(&mut reader).await.is_empty(), "nothing acknowledged comes again");
}

/// Under `drop_newest` nothing waits, so nothing would come back for a segment sealed by a
/// failed write once the reader had acknowledged all of it: no new record, no new ack, no
/// reclaim, and every later batch dropped for good. The writer frees it and tries once more.
#[tokio::test]
async fn drop_newest_frees_an_acknowledged_segment_instead_of_dropping_forever() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, WhenFull::DropNewest, FsyncPolicy::Never);
    let (mut writer, mut reader) = open(&config).await;
    let records: Vec<Vec<u8>> = (0..3).map(|n| payload(n, 100)).collect();
    write(&mut writer, &records[..2]).await;
    let batch = timeout(PATIENCE, reader.next_batch(5)).await.expect("read hung").expect("read");
    assert_eq!(batch.len(), 2);
    reader.ack(1).await.expect("ack");
    let full = segment_files(dir.path());

    writer.inject_no_space_for_test(1);
    assert_eq!(write(&mut writer, &records[2..]).await, WriteOutcome::Written { ids: 2..3 });
    assert!(!full[0].exists(), "the acknowledged segment was deleted to make room");
    let stats = writer.stats();
    assert_eq!((stats.no_space_errors, stats.dropped_records), (1, 0), "{stats:?}");
    drop(writer);
    let rest = read_to_end(&mut reader).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.as_ref(), records[2].as_slice());
}
