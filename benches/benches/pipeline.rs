//! Criterion benchmarks of the hot paths: building events, fanning them out, encoding them,
//! running VRL over them, and a whole in-process topology.

use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use strata_codecs::{
    Decoder, DecodingConfig, Encoder, EncodingConfig, FramingConfig, SerializerKind, SinkFraming,
};
use strata_core::testing::{run_sync, transform_context};
use strata_core::{Transform, TransformConfig};
use strata_event::{EventBatch, EventMetadata, SourceId};
use strata_topology::config::LoadOptions;
use strata_topology::{ConfigFile, Registry, Topology};

const BATCH: usize = 1000;

fn frames(text: &str) -> Vec<Bytes> {
    text.lines().map(|line| Bytes::copy_from_slice(line.as_bytes())).collect()
}

fn decode(frames: &[Bytes]) -> EventBatch {
    let decoder = Decoder::new(&FramingConfig::default(), &DecodingConfig::default());
    let metadata = EventMetadata::new(SourceId::intern("bench"), "stdin", chrono::Utc::now());
    let mut events = Vec::with_capacity(frames.len());
    for frame in frames {
        decoder.deserialize(frame.clone(), &metadata, &mut events).expect("bytes decode");
    }
    EventBatch::new(events)
}

fn event_model(c: &mut Criterion) {
    let text = strata_benches::lines(BATCH, 1, strata_benches::apache_line);
    let frames = frames(&text);
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("decode_1000_lines", |b| b.iter(|| decode(&frames)));
    let batch = decode(&frames);
    group.bench_function("fan_out_clone_1000", |b| b.iter(|| batch.clone()));
    let encoder =
        Encoder::new(&EncodingConfig::new(SerializerKind::Json), SinkFraming::NewlineDelimited).unwrap();
    group.bench_function("encode_json_1000", |b| {
        let mut out = Vec::with_capacity(256 * 1024);
        b.iter(|| {
            out.clear();
            for event in batch.iter() {
                encoder.encode(event, &mut out);
            }
            out.len()
        })
    });
    group.finish();
}

fn remap(c: &mut Criterion, name: &str, program: &str, text: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let config: strata_transforms::remap::RemapConfig =
        strata_core::parse_options(serde_json::json!({"source": program, "drop_on_error": true})).unwrap();
    let Transform::Sync(mut transform) = runtime.block_on(config.build(&transform_context("remap"))).unwrap()
    else {
        unreachable!("remap is synchronous")
    };
    let frames = frames(text);
    let mut group = c.benchmark_group("remap");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(name, |b| {
        b.iter_batched(
            || decode(&frames).into_events(),
            |events| run_sync(transform.as_mut(), &[], events),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn remap_benches(c: &mut Criterion) {
    let json = strata_benches::lines(BATCH, 2, strata_benches::json_line);
    remap(
        c,
        "w2_parse_json_add_del_1000",
        ". = parse_json!(.message)\n.pipeline = \"strata\"\ndel(.remove_me)",
        &json,
    );
    let apache = strata_benches::lines(BATCH, 3, strata_benches::apache_line);
    let regex = r#". |= parse_regex!(.message, r'^(?P<host>[^ ]*) [^ ]* (?P<user>[^ ]*) \[(?P<time>[^\]]*)\] "(?P<method>\S+)(?: +(?P<path>[^ ]*) +\S*)?" (?P<status>[^ ]*) (?P<size>[^ ]*)$')"#;
    remap(c, "w3_parse_regex_apache_1000", regex, &apache);
}

fn topology(c: &mut Criterion) {
    const EVENTS: u64 = 100_000;
    let config = format!(
        r#"
[sources.gen]
type = "demo_logs"
format = "shuffle"
lines = ["a log line of a typical length, about eighty bytes long, for the topology bench"]
interval = 0.0
count = {EVENTS}

[transforms.tag]
type = "remap"
inputs = ["gen"]
source = '.tagged = true'

[sinks.out]
type = "blackhole"
inputs = ["tag"]
print_interval_secs = 0
"#
    );
    let registry = Registry {
        sources: strata_sources::SOURCES,
        transforms: strata_transforms::TRANSFORMS,
        sinks: strata_sinks::SINKS,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("topology");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("demo_remap_blackhole_100k", |b| {
        b.iter(|| {
            let env = |_: &str| None;
            let options = LoadOptions { interpolate: false, env: &env };
            let config =
                strata_topology::load(&[ConfigFile::new("bench.toml", config.clone())], &registry, &options)
                    .expect("valid bench config");
            runtime.block_on(async {
                let mut topology = Topology::start(config).await.expect("starts");
                while topology.next_exit().await.is_some() {
                    if topology.is_finished() {
                        break;
                    }
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = event_model, remap_benches, topology
}
criterion_main!(benches);
