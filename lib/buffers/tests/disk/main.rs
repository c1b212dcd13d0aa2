//! Tests of the disk buffer at its boundary: records in, records out, files on disk, reports.

mod full;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use strata_buffers::WhenFull;
use strata_buffers::disk::{
    self, DiskBufferConfig, DiskBufferError, DiskReader, DiskWriter, FsyncPolicy, ProblemKind, WriteOutcome,
};
use tokio::time::timeout;

/// Anything that should finish promptly gets this long before the test calls it a hang.
const PATIENCE: Duration = Duration::from_secs(10);

fn config(dir: &Path, max_segment_bytes: u64, max_size_bytes: u64) -> DiskBufferConfig {
    DiskBufferConfig {
        max_segment_bytes,
        max_size_bytes,
        fsync: FsyncPolicy::Never,
        ..DiskBufferConfig::new(dir)
    }
}

/// The payload of record `id`: recognisable, so a record delivered under the wrong id is caught.
fn payload(id: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (id as usize * 31 + i) as u8).collect()
}

async fn open(config: &DiskBufferConfig) -> (DiskWriter, DiskReader) {
    timeout(PATIENCE, disk::open(config.clone())).await.expect("open hung").expect("open failed")
}

async fn write(writer: &mut DiskWriter, records: &[Vec<u8>]) -> std::ops::Range<u64> {
    match timeout(PATIENCE, writer.write_batch(records)).await.expect("write hung").expect("write failed") {
        WriteOutcome::Written { ids } => ids,
        WriteOutcome::Dropped { records } => panic!("{records} records unexpectedly dropped"),
    }
}

/// Reads until the (closed or dropped) writer's stream ends.
async fn read_to_end(reader: &mut DiskReader) -> Vec<(u64, Bytes)> {
    let mut all = Vec::new();
    loop {
        let batch = timeout(PATIENCE, reader.next_batch(7)).await.expect("read hung").expect("read failed");
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

fn ids(records: &[(u64, Bytes)]) -> Vec<u64> {
    records.iter().map(|(id, _)| *id).collect()
}

#[tokio::test]
async fn records_round_trip_across_segments_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, 1 << 20);
    let (mut writer, mut reader) = open(&config).await;
    let records: Vec<Vec<u8>> = (0..30).map(|id| payload(id, id as usize % 50)).collect();
    assert_eq!(write(&mut writer, &records[..10]).await, 0..10);
    assert_eq!(write(&mut writer, &records[10..]).await, 10..30);
    assert!(segment_files(dir.path()).len() > 3, "small segments should rotate");

    let first = timeout(PATIENCE, reader.next_batch(12)).await.expect("hung").expect("read");
    assert_eq!(ids(&first), (0..12).collect::<Vec<_>>());
    reader.ack(11).await.expect("ack");
    writer.close().await.expect("close writer");
    reader.close().await.expect("close reader");

    let (writer, mut reader) = open(&config).await;
    assert_eq!(writer.next_id(), 30, "ids continue after reopen");
    drop(writer);
    let rest = read_to_end(&mut reader).await;
    assert_eq!(ids(&rest), (12..30).collect::<Vec<_>>());
    for (id, bytes) in &rest {
        assert_eq!(bytes.as_ref(), records[*id as usize].as_slice());
    }
    assert_eq!(reader.stats().lost_records, 0);
}

#[tokio::test]
async fn torn_tail_is_truncated_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, 4 << 20);
    let (mut writer, reader) = open(&config).await;
    write(&mut writer, &(0..10).map(|id| payload(id, 40)).collect::<Vec<_>>()).await;
    drop((writer, reader));
    let segment = segment_files(dir.path()).pop().expect("one segment");
    let len = fs::metadata(&segment).expect("stat").len();
    fs::OpenOptions::new().write(true).open(&segment).expect("open").set_len(len - 7).expect("truncate");

    let report = disk::verify(dir.path(), None).expect("verify");
    assert!(
        report.problems.iter().any(|p| matches!(p.kind, ProblemKind::TornTail { bytes: 53 })),
        "{report:?}"
    );

    let (mut writer, mut reader) = open(&config).await;
    assert_eq!(reader.stats().truncated_bytes, 60 - 7);
    assert_eq!(writer.next_id(), 9, "the torn record's id is reused: it was never complete");
    assert_eq!(write(&mut writer, &[payload(9, 3)]).await, 9..10);
    drop(writer);
    let all = read_to_end(&mut reader).await;
    assert_eq!(ids(&all), (0..10).collect::<Vec<_>>());
    assert_eq!(all[9].1.as_ref(), payload(9, 3).as_slice());
}

#[tokio::test]
async fn a_locked_directory_refuses_a_second_open_and_the_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, 4 << 20);
    let (writer, reader) = open(&config).await;
    let err = disk::open(config.clone()).await.expect_err("second open must fail");
    assert!(matches!(err, DiskBufferError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.path().display().to_string()), "error names the directory: {err}");
    assert!(matches!(disk::inspect(dir.path()), Err(DiskBufferError::Locked { .. })));
    assert!(matches!(disk::verify(dir.path(), None), Err(DiskBufferError::Locked { .. })));
    assert!(matches!(disk::repair(dir.path()), Err(DiskBufferError::Locked { .. })));
    drop(writer);
    assert!(
        matches!(disk::open(config.clone()).await, Err(DiskBufferError::Locked { .. })),
        "reader still holds it"
    );
    drop(reader);
    open(&config).await;
}

#[tokio::test]
async fn block_waits_until_an_ack_frees_a_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DiskBufferConfig { when_full: WhenFull::Block, ..config(dir.path(), 256, 600) };
    let (mut writer, mut reader) = open(&config).await;
    let mut written = 0u64;
    let blocked = loop {
        let record = payload(written, 40);
        let mut task = tokio::spawn(async move {
            let outcome = writer.write_batch(&[record]).await;
            (writer, outcome)
        });
        match timeout(Duration::from_millis(500), &mut task).await {
            Ok(joined) => {
                let (returned, outcome) = joined.expect("join");
                assert_eq!(outcome.expect("write"), WriteOutcome::Written { ids: written..written + 1 });
                writer = returned;
                written += 1;
                assert!(written < 100, "the buffer never filled up");
            }
            Err(_) => break task,
        }
    };
    assert!(written >= 6, "600 bytes hold several 60-byte frames, only {written} written");
    assert!(reader.stats().buffered_bytes <= 600, "{:?}", reader.stats());

    let mut delivered = 0;
    while delivered < written {
        let batch = timeout(PATIENCE, reader.next_batch(100)).await.expect("read hung").expect("read");
        let (last, _) = batch.last().expect("records are available");
        delivered = last + 1;
        reader.ack(*last).await.expect("ack");
    }
    let (_writer, outcome) =
        timeout(PATIENCE, blocked).await.expect("write still blocked after acks").expect("join");
    assert_eq!(outcome.expect("write"), WriteOutcome::Written { ids: written..written + 1 });
    assert!(reader.stats().buffered_bytes <= 600, "{:?}", reader.stats());
}

#[tokio::test]
async fn drop_newest_drops_whole_batches_and_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DiskBufferConfig { when_full: WhenFull::DropNewest, ..config(dir.path(), 256, 600) };
    let (mut writer, mut reader) = open(&config).await;
    let mut written = 0u64;
    loop {
        let outcome = writer.write_batch(&[payload(written, 40)]).await.expect("write");
        match outcome {
            WriteOutcome::Written { ids } => assert_eq!(ids, written..written + 1),
            WriteOutcome::Dropped { records } => {
                assert_eq!(records, 1);
                break;
            }
        }
        written += 1;
        assert!(written < 100, "the buffer never filled up");
    }
    let batch: Vec<Vec<u8>> = (0..3).map(|i| payload(i, 10)).collect();
    assert_eq!(writer.write_batch(&batch).await.expect("write"), WriteOutcome::Dropped { records: 3 });
    assert_eq!(writer.stats().dropped_records, 4);
    assert_eq!(writer.stats().buffered_records, written, "dropped records are not buffered");

    let all = timeout(PATIENCE, reader.next_batch(1000)).await.expect("hung").expect("read");
    assert_eq!(ids(&all), (0..written).collect::<Vec<_>>());
    reader.ack(written - 1).await.expect("ack");
    assert_eq!(
        write(&mut writer, &[payload(written, 40)]).await,
        written..written + 1,
        "room again after acks"
    );
}

#[tokio::test]
async fn acknowledged_segments_are_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, 1 << 20);
    let (mut writer, mut reader) = open(&config).await;
    write(&mut writer, &(0..30).map(|id| payload(id, 40)).collect::<Vec<_>>()).await;
    assert_eq!(segment_files(dir.path()).len(), 10, "three 60-byte frames per 256-byte segment");
    let before = reader.stats().buffered_bytes;

    let first = timeout(PATIENCE, reader.next_batch(7)).await.expect("hung").expect("read");
    reader.ack(first.last().expect("records").0).await.expect("ack");
    assert_eq!(segment_files(dir.path()).len(), 8, "ids 0..7 fill two segments");
    assert!(reader.stats().buffered_bytes < before);
    assert_eq!(reader.stats().buffered_records, 23);

    drop(writer);
    let rest = read_to_end(&mut reader).await;
    reader.ack(rest.last().expect("records").0).await.expect("ack");
    assert_eq!(segment_files(dir.path()).len(), 1, "only the active segment remains");
    assert_eq!(reader.stats().segments, 1);
    assert_eq!(reader.stats().buffered_records, 0);
    reader.close().await.expect("close");
    let (writer, _reader) = open(&config).await;
    assert_eq!(writer.next_id(), 30, "ids continue even when every segment was deleted");
    assert!(segment_files(dir.path()).is_empty(), "the fully acknowledged segment is deleted on open");
}

#[tokio::test]
async fn a_failed_write_poisons_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, 4 << 20);
    let (mut writer, reader) = open(&config).await;
    write(&mut writer, &[payload(0, 10), payload(1, 10)]).await;
    writer.inject_write_failure_for_test();
    let err = writer.write_batch(&[payload(2, 10)]).await.expect_err("injected failure");
    assert!(matches!(err, DiskBufferError::Io { .. }), "{err:?}");
    let err = writer.write_batch(&[payload(2, 10)]).await.expect_err("poisoned");
    assert!(matches!(err, DiskBufferError::Poisoned { .. }), "{err:?}");
    assert!(err.to_string().contains("injected write failure"), "the cause is kept: {err}");
    assert!(matches!(writer.flush().await, Err(DiskBufferError::Poisoned { .. })));
    drop((writer, reader));

    let (mut writer, mut reader) = open(&config).await;
    assert_eq!(write(&mut writer, &[payload(2, 10)]).await, 2..3, "reopening recovers");
    drop(writer);
    assert_eq!(ids(&read_to_end(&mut reader).await), vec![0, 1, 2]);
}

#[tokio::test]
async fn the_durable_watermark_follows_the_fsync_policy() {
    for fsync in [FsyncPolicy::Always, FsyncPolicy::Interval(Duration::from_millis(20)), FsyncPolicy::Never] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = DiskBufferConfig { fsync, ..config(dir.path(), 256, 1 << 20) };
        let (mut writer, _reader) = open(&config).await;
        let mut durable = writer.durable();
        assert_eq!(*durable.borrow(), 0);
        write(&mut writer, &(0..10).map(|id| payload(id, 40)).collect::<Vec<_>>()).await;
        match fsync {
            FsyncPolicy::Always => assert_eq!(*durable.borrow(), 10),
            FsyncPolicy::Interval(_) => {
                timeout(PATIENCE, durable.wait_for(|&d| d == 10))
                    .await
                    .expect("flusher never ran")
                    .expect("watch");
            }
            FsyncPolicy::Never => {
                assert!(*durable.borrow() < 10, "nothing fsyncs the active segment under Never");
                writer.flush().await.expect("flush");
                assert_eq!(*durable.borrow(), 10);
            }
        }
    }
}

#[tokio::test]
async fn oversized_records_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, _reader) = open(&config(dir.path(), 256, 1 << 20)).await;
    let err = writer.write_batch(&[vec![0u8; 205]]).await.expect_err("too large");
    assert!(matches!(err, DiskBufferError::RecordTooLarge { len: 205, max: 204 }), "{err:?}");
    assert_eq!(write(&mut writer, &[vec![7u8; 204]]).await, 0..1, "the largest record fits");
}

#[tokio::test]
async fn a_missing_segment_is_counted_as_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, 1 << 20);
    let (mut writer, reader) = open(&config).await;
    write(&mut writer, &(0..9).map(|id| payload(id, 40)).collect::<Vec<_>>()).await;
    drop((writer, reader));
    fs::remove_file(&segment_files(dir.path())[1]).expect("delete the middle segment");

    let report = disk::verify(dir.path(), None).expect("verify");
    assert!(
        report.problems.iter().any(|p| p.kind == ProblemKind::MissingRecords { first_id: 3, count: 3 }),
        "{report:?}"
    );
    let (writer, mut reader) = open(&config).await;
    drop(writer);
    assert_eq!(ids(&read_to_end(&mut reader).await), vec![0, 1, 2, 6, 7, 8]);
    assert_eq!(reader.stats().lost_records, 3);
}

/// Writes `count` records of `len` bytes into a fresh buffer in `dir` and closes it.
async fn filled_buffer(dir: &Path, config: &DiskBufferConfig, count: u64, len: usize) -> Vec<Vec<u8>> {
    let records: Vec<Vec<u8>> = (0..count).map(|id| payload(id, len)).collect();
    let (mut writer, reader) = open(config).await;
    write(&mut writer, &records).await;
    writer.close().await.expect("close");
    reader.close().await.expect("close");
    assert!(!segment_files(dir).is_empty());
    records
}

#[tokio::test]
async fn verify_finds_corruption_and_repair_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, 1 << 20);
    let records = filled_buffer(dir.path(), &config, 9, 40).await;
    assert!(disk::verify(dir.path(), None).expect("verify").is_healthy());
    let middle = segment_files(dir.path())[1].clone();
    let mut bytes = fs::read(&middle).expect("read");
    bytes[32 + 60 + 30] ^= 0x10; // the payload of the second record of the segment: id 4
    fs::write(&middle, &bytes).expect("write");

    let report = disk::verify(dir.path(), None).expect("verify");
    assert!(!report.is_healthy());
    assert_eq!(report.records, 8);
    assert!(report.problems.iter().any(|p| p.kind == ProblemKind::CorruptBytes { bytes: 60 }), "{report:?}");
    assert!(report.problems.iter().any(|p| p.kind == ProblemKind::MissingRecords { first_id: 4, count: 1 }));

    let repaired = disk::repair(dir.path()).expect("repair");
    assert_eq!((repaired.segments_rewritten, repaired.records_kept, repaired.records_lost), (1, 2, 1));
    let report = disk::verify(dir.path(), None).expect("verify");
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.records, 8);

    let (writer, mut reader) = open(&config).await;
    drop(writer);
    let all = read_to_end(&mut reader).await;
    assert_eq!(ids(&all), vec![0, 1, 2, 3, 5, 6, 7, 8]);
    assert!(all.iter().all(|(id, b)| b.as_ref() == records[*id as usize].as_slice()));
    assert_eq!(reader.stats().lost_records, 1, "the repaired gap is still reported when read");
}

#[tokio::test]
async fn verify_reports_records_the_caller_cannot_decode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, 4 << 20);
    let (mut writer, reader) = open(&config).await;
    write(&mut writer, &[b"ok".to_vec(), b"bad".to_vec(), b"ok".to_vec()]).await;
    drop((writer, reader));
    let decodable = |payload: &[u8]| payload == b"ok";
    let report = disk::verify(dir.path(), Some(&decodable)).expect("verify");
    assert_eq!(report.records, 2);
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, ProblemKind::Undecodable { id: 1 });
}

#[tokio::test]
async fn inspect_lists_segments_and_the_reader_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 256, 1 << 20);
    let (mut writer, mut reader) = open(&config).await;
    write(&mut writer, &(0..8).map(|id| payload(id, 40)).collect::<Vec<_>>()).await;
    let batch = timeout(PATIENCE, reader.next_batch(2)).await.expect("hung").expect("read");
    reader.ack(batch[1].0).await.expect("ack");
    drop(writer);
    reader.close().await.expect("close");

    let report = disk::inspect(dir.path()).expect("inspect");
    let spans: Vec<(u64, u64)> = report.segments.iter().map(|s| (s.first_id, s.records)).collect();
    assert_eq!(spans, vec![(0, 3), (3, 3), (6, 2)]);
    assert_eq!(report.acked_end, Some(2));
    assert_eq!((report.next_id, report.unacked_records), (8, 6));
    assert_eq!(report.total_bytes, report.segments.iter().map(|s| s.bytes).sum::<u64>());
}

/// What opening and reading a (possibly damaged) buffer produced.
struct Outcome {
    verify_healthy: bool,
    records: Vec<(u64, Bytes)>,
    stats: disk::DiskBufferStats,
}

/// Verifies, then opens and reads everything, then drops the reader without touching the ledger.
async fn check_damaged(config: &DiskBufferConfig) -> Outcome {
    let verify_healthy = disk::verify(&config.dir, None).expect("verify").is_healthy();
    let (writer, mut reader) = open(config).await;
    drop(writer);
    let records = read_to_end(&mut reader).await;
    let stats = reader.stats();
    reader.simulate_crash();
    Outcome { verify_healthy, records, stats }
}

/// Asserts that what was read is a subsequence of what was written: nothing invented or altered.
fn assert_nothing_invented(records: &[(u64, Bytes)], written: &[Vec<u8>], context: &str) {
    let mut last = None;
    for (id, bytes) in records {
        assert!(last < Some(*id), "{context}: ids out of order: {:?}", ids(records));
        assert_eq!(bytes.as_ref(), written[*id as usize].as_slice(), "{context}: record {id} altered");
        last = Some(*id);
    }
}

#[tokio::test]
async fn every_single_bit_flip_is_detected_and_never_panics_or_hangs() {
    const RECORDS: u64 = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), 1 << 20, 4 << 20);
    let written = filled_buffer(dir.path(), &config, RECORDS, 16).await;
    let segment = segment_files(dir.path()).pop().expect("one segment");
    let original = fs::read(&segment).expect("read");
    let ledger = dir.path().join("ledger");
    assert!(!ledger.exists(), "nothing acknowledged yet, so no ledger");

    for bit in 0..original.len() * 8 {
        let mut flipped = original.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        fs::write(&segment, &flipped).expect("write flipped");
        let context = format!("bit {bit} (byte {})", bit / 8);
        let outcome =
            timeout(PATIENCE, check_damaged(&config)).await.unwrap_or_else(|_| panic!("{context}: hang"));
        let stats = outcome.stats;
        assert!(!outcome.verify_healthy, "{context}: verify missed the flip");
        assert!(
            stats.corrupt_frames + stats.lost_records + stats.truncated_bytes > 0,
            "{context}: the reader noticed nothing: {stats:?}"
        );
        assert_nothing_invented(&outcome.records, &written, &context);
        // Every id is delivered, counted as lost, or was the torn last record: no silent gap.
        let truncated_record = u64::from(stats.truncated_bytes > 0);
        assert_eq!(
            outcome.records.len() as u64 + stats.lost_records + truncated_record,
            RECORDS,
            "{context}: {stats:?}"
        );
    }
    fs::write(&segment, &original).expect("restore segment");

    // The ledger says records 0..5 were acknowledged; any flip there must be caught, and then
    // everything is delivered again rather than anything skipped.
    let (writer, mut reader) = open(&config).await;
    drop(writer);
    let batch = timeout(PATIENCE, reader.next_batch(5)).await.expect("hung").expect("read");
    reader.ack(batch[4].0).await.expect("ack");
    reader.close().await.expect("close");
    let acked_ledger = fs::read(&ledger).expect("ledger");
    for bit in 0..acked_ledger.len() * 8 {
        let mut flipped = acked_ledger.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        fs::write(&ledger, &flipped).expect("write flipped ledger");
        fs::write(&segment, &original).expect("restore segment");
        let context = format!("ledger bit {bit}");
        let outcome =
            timeout(PATIENCE, check_damaged(&config)).await.unwrap_or_else(|_| panic!("{context}: hang"));
        assert!(!outcome.verify_healthy, "{context}: verify missed the flip");
        assert!(outcome.stats.ledger_reset, "{context}: {:?}", outcome.stats);
        assert_eq!(ids(&outcome.records), (0..RECORDS).collect::<Vec<_>>(), "{context}: at-least-once");
        assert_nothing_invented(&outcome.records, &written, &context);
    }
}

/// How the model ends a buffer's life before reopening it.
#[derive(Debug, Clone, Copy)]
enum Shutdown {
    /// `close` on both halves: the ledger is exact.
    Graceful,
    /// Plain drops, as a panic unwinding would do.
    Drop,
    /// The reader is dropped without writing its ledger, as a killed process would.
    Crash,
}

#[derive(Debug, Clone)]
enum Op {
    /// Write a batch with these payload sizes (0-length records included).
    Write(Vec<usize>),
    /// Read up to this many records, if any are unread.
    Read(usize),
    /// Acknowledge this many more of the delivered records.
    Ack(usize),
    Flush,
    Reopen(Shutdown),
}

fn op_strategy() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    let shutdown = prop_oneof![Just(Shutdown::Graceful), Just(Shutdown::Drop), Just(Shutdown::Crash)];
    prop_oneof![
        4 => proptest::collection::vec(prop_oneof![Just(0usize), 1usize..100], 0..6).prop_map(Op::Write),
        3 => (1usize..8).prop_map(Op::Read),
        2 => (0usize..6).prop_map(Op::Ack),
        1 => Just(Op::Flush),
        1 => shutdown.prop_map(Op::Reopen),
    ]
}

fn policy_strategy() -> impl proptest::strategy::Strategy<Value = FsyncPolicy> {
    use proptest::prelude::*;
    prop_oneof![
        Just(FsyncPolicy::Never),
        Just(FsyncPolicy::Always),
        Just(FsyncPolicy::Interval(Duration::from_millis(5)))
    ]
}

/// The reference: every record ever written, by id, and what the reader has seen and acked.
struct Model {
    log: Vec<Vec<u8>>,
    /// The id the reader must return next.
    next_read: u64,
    /// Every id below this one is acknowledged.
    acked: u64,
    /// The ledger holds at least this position (set by graceful closes).
    floor: u64,
}

async fn run_model(ops: Vec<Op>, fsync: FsyncPolicy, max_segment_bytes: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DiskBufferConfig { fsync, ..config(dir.path(), max_segment_bytes, 1 << 30) };
    let mut model = Model { log: Vec::new(), next_read: 0, acked: 0, floor: 0 };
    let (mut writer, mut reader) = open(&config).await;
    for op in ops {
        match op {
            Op::Write(sizes) => {
                let start = model.log.len() as u64;
                let records: Vec<Vec<u8>> =
                    sizes.iter().enumerate().map(|(i, &len)| payload(start + i as u64, len)).collect();
                assert_eq!(write(&mut writer, &records).await, start..start + records.len() as u64);
                model.log.extend(records);
            }
            Op::Read(max) if model.next_read < model.log.len() as u64 => {
                let batch =
                    timeout(PATIENCE, reader.next_batch(max)).await.expect("read hung").expect("read");
                assert!(!batch.is_empty() && batch.len() <= max, "{} records for max {max}", batch.len());
                for (id, bytes) in batch {
                    assert_eq!(id, model.next_read, "records arrive in order without gaps");
                    assert_eq!(bytes.as_ref(), model.log[id as usize].as_slice(), "record {id} altered");
                    model.next_read += 1;
                }
            }
            Op::Read(_) => {}
            Op::Ack(count) => {
                let target = (model.acked + count as u64).min(model.next_read);
                if target > model.acked {
                    reader.ack(target - 1).await.expect("ack");
                    model.acked = target;
                }
            }
            Op::Flush => writer.flush().await.expect("flush"),
            Op::Reopen(shutdown) => {
                match shutdown {
                    Shutdown::Graceful => {
                        writer.close().await.expect("close writer");
                        reader.close().await.expect("close reader");
                        model.floor = model.acked;
                    }
                    Shutdown::Drop => drop((writer, reader)),
                    Shutdown::Crash => {
                        drop(writer);
                        reader.simulate_crash();
                    }
                }
                (writer, reader) = open(&config).await;
                let resumed = reader.next_id();
                assert!(
                    model.floor <= resumed && resumed <= model.acked,
                    "resumed at {resumed}, acked {}, floor {}",
                    model.acked,
                    model.floor
                );
                (model.acked, model.next_read) = (resumed, resumed);
                assert_eq!(writer.next_id(), model.log.len() as u64, "ids continue after reopen");
                let stats = reader.stats();
                assert_eq!(
                    (stats.lost_records, stats.corrupt_frames, stats.truncated_bytes),
                    (0, 0, 0),
                    "{stats:?}"
                );
                assert!(!stats.ledger_reset);
            }
        }
    }
    writer.close().await.expect("close writer");
    let rest = read_to_end(&mut reader).await;
    assert_eq!(
        ids(&rest),
        (model.next_read..model.log.len() as u64).collect::<Vec<_>>(),
        "every unacknowledged record"
    );
    assert_nothing_invented(&rest, &model.log, "final read");
    let stats = reader.stats();
    assert_eq!(stats.buffered_records, model.log.len() as u64 - model.acked);
    assert_eq!((stats.lost_records, stats.corrupt_frames), (0, 0));
}

proptest::proptest! {
    // Each case opens real files; 48 cases of up to 60 operations keep this to a few seconds.
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, failure_persistence: None, ..Default::default() })]

    #[test]
    fn the_buffer_matches_an_in_memory_model(
        ops in proptest::collection::vec(op_strategy(), 1..60),
        fsync in policy_strategy(),
        max_segment_bytes in proptest::prelude::prop_oneof![proptest::prelude::Just(160u64), proptest::prelude::Just(400u64), proptest::prelude::Just(1u64 << 20)],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(run_model(ops, fsync, max_segment_bytes));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_writer_and_reader_under_backpressure_keep_order() {
    const BATCHES: u64 = 40;
    const PER_BATCH: u64 = 50;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DiskBufferConfig { fsync: FsyncPolicy::Always, ..config(dir.path(), 1024, 4096) };
    let (mut writer, mut reader) = open(&config).await;
    let producer = tokio::spawn(async move {
        for batch in 0..BATCHES {
            let first = batch * PER_BATCH;
            let records: Vec<Vec<u8>> =
                (first..first + PER_BATCH).map(|id| payload(id, id as usize % 40)).collect();
            assert_eq!(write(&mut writer, &records).await, first..first + PER_BATCH);
        }
        writer.close().await.expect("close");
    });
    let mut expected = 0;
    loop {
        let batch = timeout(PATIENCE, reader.next_batch(33)).await.expect("read hung").expect("read");
        let Some((last, _)) = batch.last() else { break };
        for (id, bytes) in &batch {
            assert_eq!(*id, expected);
            assert_eq!(bytes.as_ref(), payload(*id, *id as usize % 40).as_slice());
            expected += 1;
        }
        reader.ack(*last).await.expect("ack");
        assert!(reader.stats().buffered_bytes <= 4096, "{:?}", reader.stats());
    }
    assert_eq!(expected, BATCHES * PER_BATCH);
    timeout(PATIENCE, producer).await.expect("producer hung").expect("producer");
}
