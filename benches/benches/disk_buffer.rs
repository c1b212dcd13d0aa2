//! Criterion benchmarks of the disk buffer: write throughput under each fsync policy, and reads.
//!
//! Batches are 1000 records of 200 bytes (about 200 KiB), the shape a busy source hands a sink.
//! Only the operation under test is timed; draining and acknowledging to keep the buffer from
//! filling up happens outside the measured time.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_buffers::disk::{self, DiskBufferConfig, DiskReader, DiskWriter, FsyncPolicy};
use tokio::runtime::Runtime;

const BATCH_RECORDS: usize = 1000;
const RECORD_BYTES: usize = 200;
/// Drain the buffer once this much is waiting, so a long run never hits `max_size_bytes`.
const DRAIN_ABOVE_BYTES: u64 = 128 * 1024 * 1024;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime")
}

fn batch() -> Vec<Vec<u8>> {
    (0..BATCH_RECORDS).map(|i| vec![(i % 251) as u8; RECORD_BYTES]).collect()
}

fn open(rt: &Runtime, dir: &std::path::Path, fsync: FsyncPolicy) -> (DiskWriter, DiskReader) {
    let config = DiskBufferConfig { fsync, max_size_bytes: 1 << 30, ..DiskBufferConfig::new(dir) };
    rt.block_on(disk::open(config)).expect("open disk buffer")
}

/// Reads and acknowledges `records` records.
async fn drain(reader: &mut DiskReader, mut records: u64) {
    while records > 0 {
        let batch = reader.next_batch(BATCH_RECORDS).await.expect("read");
        let (last, _) = batch.last().expect("records were written");
        reader.ack(*last).await.expect("ack");
        records -= batch.len() as u64;
    }
}

fn throughput() -> Throughput {
    Throughput::ElementsAndBytes {
        elements: BATCH_RECORDS as u64,
        bytes: (BATCH_RECORDS * RECORD_BYTES) as u64,
    }
}

fn write(c: &mut Criterion) {
    let rt = runtime();
    let records = batch();
    let mut group = c.benchmark_group("disk_buffer_write");
    group.throughput(throughput());
    let policies = [
        ("never", FsyncPolicy::Never),
        ("interval_500ms", FsyncPolicy::Interval(Duration::from_millis(500))),
        ("always", FsyncPolicy::Always),
    ];
    for (name, fsync) in policies {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut writer, mut reader) = open(&rt, dir.path(), fsync);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    rt.block_on(writer.write_batch(&records)).expect("write");
                    elapsed += start.elapsed();
                    let stats = writer.stats();
                    if stats.buffered_bytes > DRAIN_ABOVE_BYTES {
                        rt.block_on(drain(&mut reader, stats.buffered_records));
                    }
                }
                elapsed
            });
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let rt = runtime();
    let records = batch();
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, mut reader) = open(&rt, dir.path(), FsyncPolicy::Never);
    let mut group = c.benchmark_group("disk_buffer_read");
    group.throughput(throughput());
    group.bench_function("read_and_ack", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(writer.write_batch(&records)).expect("write");
                let start = Instant::now();
                rt.block_on(drain(&mut reader, BATCH_RECORDS as u64));
                elapsed += start.elapsed();
            }
            elapsed
        });
    });
    group.finish();
}

/// Framing and checksumming alone, with no I/O: the per-record overhead the buffer adds to
/// every write. Its throughput against a target rate gives the share of a core it costs.
fn frame(c: &mut Criterion) {
    let records = batch();
    let mut out = Vec::with_capacity(BATCH_RECORDS * (RECORD_BYTES + 32));
    let mut group = c.benchmark_group("disk_buffer_frame");
    group.throughput(throughput());
    group.bench_function("frame_and_crc32c", |b| {
        b.iter(|| {
            out.clear();
            for (id, record) in records.iter().enumerate() {
                disk::encode_record_frame(&mut out, id as u64, record);
            }
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! { name = benches; config = config(); targets = frame, write, read }
criterion_main!(benches);
