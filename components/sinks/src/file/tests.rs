//! `file` tests: events in, real files in a temporary directory out, finalizers reported.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use strata_codecs::{Encoder, EncodingConfig, SerializerKind, SinkFraming};
use strata_core::testing::{sink_context, sink_input};
use strata_core::{BufferConfig, BufferSender, SinkConfig, SinkInput};
use strata_event::{
    BatchNotifier, BatchReceipt, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent,
    Value,
};

use super::sink::{FileSink, RunStats};
use super::template::PathTemplate;
use super::{Compression, FileConfig};

fn event(message: &str, fields: &[(&str, Value)]) -> Event {
    let mut log = LogEvent::from_message(message.to_owned(), EventMetadata::default());
    for (path, value) in fields {
        log.insert(path, value.clone());
    }
    Event::Log(log)
}

fn messages(messages: &[&str]) -> Vec<Event> {
    messages.iter().map(|message| event(message, &[])).collect()
}

/// A batch of `events` that all report to one receipt.
fn tracked(mut events: Vec<Event>) -> (EventBatch, BatchReceipt) {
    let (notifier, receipt) = BatchNotifier::new();
    for event in &mut events {
        event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
    }
    (EventBatch::new(events), receipt)
}

fn sink_with(path: &str, codec: SerializerKind, compression: Compression, idle: Duration) -> FileSink {
    let encoder = Encoder::new(&EncodingConfig::new(codec), SinkFraming::NewlineDelimited).unwrap();
    let template = PathTemplate::parse(path).unwrap();
    FileSink::new(template, encoder, compression, idle, "timestamp".into(), sink_context("file").metrics)
}

fn sink(path: &str, codec: SerializerKind) -> FileSink {
    sink_with(path, codec, Compression::None, Duration::from_secs(30))
}

async fn run(sink: &FileSink, batches: Vec<EventBatch>) -> RunStats {
    sink.run_with(sink_input(batches).await).await.unwrap()
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The names in `dir`, sorted.
fn names(dir: impl AsRef<Path>) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn path_in(dir: &tempfile::TempDir, rest: &str) -> String {
    format!("{}/{rest}", dir.path().display())
}

#[tokio::test]
async fn writes_text_lines_and_reports_delivery_after_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "out.log"), SerializerKind::Text);
    let (first, receipt) = tracked(messages(&["one", "two"]));
    let stats = run(&sink, vec![first, EventBatch::new(messages(&["three"]))]).await;
    assert_eq!(read(dir.path().join("out.log")), "one\ntwo\nthree\n");
    assert_eq!(stats, RunStats { written: 3, rejected: 0, errored: 0 });
    assert_eq!(receipt.await, BatchStatus::Delivered);
}

#[tokio::test]
async fn writes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "out.json"), SerializerKind::Json);
    let events = vec![event("one", &[("count", Value::Integer(1))]), event("two", &[])];
    run(&sink, vec![EventBatch::new(events)]).await;
    assert_eq!(
        read(dir.path().join("out.json")),
        "{\"count\":1,\"message\":\"one\"}\n{\"message\":\"two\"}\n"
    );
}

#[tokio::test]
async fn appends_to_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.log"), "existing\n").unwrap();
    let sink = sink(&path_in(&dir, "out.log"), SerializerKind::Text);
    run(&sink, vec![EventBatch::new(messages(&["new"]))]).await;
    assert_eq!(read(dir.path().join("out.log")), "existing\nnew\n");
}

#[tokio::test]
async fn splits_events_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "{{ host }}/{{ .kube.pod }}.log"), SerializerKind::Text);
    let kube = |pod: &str| Value::from(vrl::value::ObjectMap::from([("pod".into(), Value::from(pod))]));
    let events = vec![
        event("a1", &[("host", "a".into()), ("kube", kube("p1"))]),
        event("b1", &[("host", "b".into()), ("kube", kube("p1"))]),
        event("a2", &[("host", "a".into()), ("kube", kube("p1"))]),
        event("a3", &[("host", "a".into()), ("kube", kube("p2"))]),
    ];
    let stats = run(&sink, vec![EventBatch::new(events)]).await;
    assert_eq!(stats.written, 4);
    assert_eq!(names(dir.path()), ["a", "b"]);
    assert_eq!(read(dir.path().join("a/p1.log")), "a1\na2\n");
    assert_eq!(read(dir.path().join("a/p2.log")), "a3\n");
    assert_eq!(read(dir.path().join("b/p1.log")), "b1\n");
}

#[tokio::test]
async fn splits_events_by_their_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "app-%Y-%m-%d.log"), SerializerKind::Text);
    let at = |day: u32| Value::Timestamp(Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap());
    let events = vec![
        event("first", &[("timestamp", at(1))]),
        event("second", &[("timestamp", at(2))]),
        event("third", &[("timestamp", at(1))]),
    ];
    run(&sink, vec![EventBatch::new(events)]).await;
    assert_eq!(names(dir.path()), ["app-2026-01-01.log", "app-2026-01-02.log"]);
    assert_eq!(read(dir.path().join("app-2026-01-01.log")), "first\nthird\n");
    assert_eq!(read(dir.path().join("app-2026-01-02.log")), "second\n");
}

#[tokio::test]
async fn an_event_without_a_timestamp_uses_the_current_date() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "%Y.log"), SerializerKind::Text);
    let before = Utc::now().format("%Y").to_string();
    run(&sink, vec![EventBatch::new(messages(&["now"]))]).await;
    let after = Utc::now().format("%Y").to_string();
    let written = names(dir.path());
    assert!(written == [format!("{before}.log")] || written == [format!("{after}.log")], "{written:?}");
}

#[tokio::test]
async fn a_parent_dir_in_a_field_is_refused_and_nothing_is_written_outside() {
    let root = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&root, "sink/logs/{{ name }}.log"), SerializerKind::Text);
    let (bad, bad_receipt) = tracked(vec![
        event("escape", &[("name", "../../outside".into())]),
        event("sneaky", &[("name", "a/../../../outside2".into())]),
    ]);
    let (good, good_receipt) = tracked(vec![event("fine", &[("name", "good".into())])]);
    let stats = run(&sink, vec![bad, good]).await;
    assert_eq!(stats, RunStats { written: 1, rejected: 2, errored: 0 });
    assert_eq!(bad_receipt.await, BatchStatus::Rejected);
    assert_eq!(good_receipt.await, BatchStatus::Delivered);
    assert_eq!(names(root.path()), ["sink"]);
    assert_eq!(names(root.path().join("sink")), ["logs"]);
    assert_eq!(names(root.path().join("sink/logs")), ["good.log"]);
    assert_eq!(read(root.path().join("sink/logs/good.log")), "fine\n");
}

#[tokio::test]
async fn a_missing_field_rejects_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "{{ host }}.log"), SerializerKind::Text);
    let (batch, receipt) = tracked(messages(&["no host"]));
    let stats = run(&sink, vec![batch]).await;
    assert_eq!(stats, RunStats { written: 0, rejected: 1, errored: 0 });
    assert_eq!(receipt.await, BatchStatus::Rejected);
    assert!(names(dir.path()).is_empty());
}

#[tokio::test]
async fn a_rejected_event_makes_its_batch_rejected_while_others_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "{{ host }}.log"), SerializerKind::Text);
    let (batch, receipt) = tracked(vec![event("kept", &[("host", "a".into())]), event("refused", &[])]);
    run(&sink, vec![batch]).await;
    assert_eq!(read(dir.path().join("a.log")), "kept\n");
    assert_eq!(receipt.await, BatchStatus::Rejected);
}

#[tokio::test]
async fn gzip_output_decompresses_to_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = path_in(&dir, "out.log.gz");
    let sink = sink_with(&path, SerializerKind::Text, Compression::Gzip, Duration::from_secs(30));
    run(&sink, vec![EventBatch::new(messages(&["one", "two"])), EventBatch::new(messages(&["three"]))]).await;
    // A second run appends a second gzip member to the same file.
    run(&sink, vec![EventBatch::new(messages(&["four"]))]).await;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_string(&mut text).unwrap();
    assert_eq!(text, "one\ntwo\nthree\nfour\n");
}

#[tokio::test]
async fn zstd_output_decompresses_to_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = path_in(&dir, "out.log.zst");
    let sink = sink_with(&path, SerializerKind::Text, Compression::Zstd, Duration::from_secs(30));
    run(&sink, vec![EventBatch::new(messages(&["one", "two"]))]).await;
    run(&sink, vec![EventBatch::new(messages(&["three"]))]).await;
    let bytes = zstd::decode_all(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), "one\ntwo\nthree\n");
}

#[tokio::test]
async fn an_idle_file_is_closed_and_reopened_in_append_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let moved = dir.path().join("out.log.1");
    std::fs::write(&path, "existing\n").unwrap();
    let sink = sink_with(
        &path_in(&dir, "out.log"),
        SerializerKind::Text,
        Compression::None,
        Duration::from_millis(100),
    );
    let (tx, running) = spawn(sink);

    let (first, receipt) = tracked(messages(&["one"]));
    tx.send(first).await.unwrap();
    assert_eq!(receipt.await, BatchStatus::Delivered);
    // Delivered means written: the bytes are in the file already.
    assert_eq!(read(&path), "existing\none\n");
    // Once idle, the sink closes the file. Had it kept the file open, the next line would land
    // in the renamed file; instead the next event opens `out.log` anew.
    tokio::time::sleep(Duration::from_millis(400)).await;
    std::fs::rename(&path, &moved).unwrap();
    std::fs::write(&path, "recreated\n").unwrap();
    let (second, receipt) = tracked(messages(&["two"]));
    tx.send(second).await.unwrap();
    assert_eq!(receipt.await, BatchStatus::Delivered);
    drop(tx);
    let stats = running.await.unwrap();
    assert_eq!(stats.written, 2);
    assert_eq!(read(&moved), "existing\none\n");
    assert_eq!(read(&path), "recreated\ntwo\n");
}

/// A running sink fed through a channel that stays open, to send batches one write at a time.
fn spawn(sink: FileSink) -> (BufferSender, tokio::task::JoinHandle<RunStats>) {
    let metrics = sink_context("file").metrics;
    let (tx, rx) = strata_core::buffer::memory_buffer(&BufferConfig::default(), &metrics);
    let running = tokio::spawn(async move { sink.run_with(SinkInput::new(rx, metrics)).await.unwrap() });
    (tx, running)
}

#[tokio::test]
async fn more_paths_than_open_files_still_deliver_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, running) =
        spawn(sink(&path_in(&dir, "{{ n }}.log"), SerializerKind::Text).with_max_open_files(4));
    // One round at a time, so every round is its own write and reopens files the last one closed.
    for round in 0..3 {
        let events = (0..40).map(|n| event(&format!("r{round}"), &[("n", Value::Integer(n))])).collect();
        let (batch, receipt) = tracked(events);
        tx.send(batch).await.unwrap();
        assert_eq!(receipt.await, BatchStatus::Delivered);
    }
    drop(tx);
    assert_eq!(running.await.unwrap(), RunStats { written: 120, rejected: 0, errored: 0 });
    assert_eq!(names(dir.path()).len(), 40);
    for n in 0..40 {
        assert_eq!(read(dir.path().join(format!("{n}.log"))), "r0\nr1\nr2\n", "file {n}");
    }
}

#[tokio::test]
async fn a_file_that_cannot_be_opened_reports_errored_and_the_sink_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the sink needs a directory.
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let sink = sink(&path_in(&dir, "{{ name }}/out.log"), SerializerKind::Text);
    let (bad, bad_receipt) = tracked(vec![event("lost", &[("name", "blocker".into())])]);
    let (good, good_receipt) = tracked(vec![event("kept", &[("name", "fine".into())])]);
    let stats = run(&sink, vec![bad, good]).await;
    assert_eq!(stats, RunStats { written: 1, rejected: 0, errored: 1 });
    assert_eq!(bad_receipt.await, BatchStatus::Errored);
    assert_eq!(good_receipt.await, BatchStatus::Delivered);
    assert_eq!(read(dir.path().join("fine/out.log")), "kept\n");
}

#[test]
fn options_have_vector_names_and_defaults() {
    let config: FileConfig = serde_json::from_value(serde_json::json!({
        "path": "/tmp/x/%Y.log",
        "encoding": {"codec": "json"},
    }))
    .unwrap();
    assert_eq!(config.compression, Compression::None);
    assert_eq!(config.idle_timeout_secs, 30);
    let typo = serde_json::json!({"path": "/x", "encoding": {"codec": "json"}, "idle_timeout_sec": 1});
    assert!(serde_json::from_value::<FileConfig>(typo).is_err());
    let zstd = serde_json::json!({"path": "/x", "encoding": {"codec": "text"}, "compression": "zstd"});
    assert_eq!(serde_json::from_value::<FileConfig>(zstd).unwrap().compression, Compression::Zstd);
}

#[tokio::test]
async fn bad_templates_fail_the_build_naming_the_option() {
    for path in ["/logs/{{ host.log", "/logs/{{ }}.log", "/logs/%Q.log", ""] {
        let config = FileConfig {
            path: path.into(),
            encoding: EncodingConfig::new(SerializerKind::Text),
            compression: Compression::None,
            idle_timeout_secs: 30,
        };
        let error = config.build(sink_context("file")).await.err().expect(path);
        assert!(error.to_string().contains("option `path`"), "{path}: {error}");
    }
}

#[tokio::test]
async fn a_static_path_is_a_resource_and_the_healthcheck_creates_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = FileConfig {
        path: path_in(&dir, "new/{{ host }}.log"),
        encoding: EncodingConfig::new(SerializerKind::Text),
        compression: Compression::None,
        idle_timeout_secs: 30,
    };
    assert!(config.resources().is_empty());
    let (_, healthcheck) = config.build(sink_context("file")).await.unwrap();
    healthcheck.await.unwrap();
    assert!(dir.path().join("new").is_dir());
    let fixed = FileConfig { path: path_in(&dir, "fixed.log"), ..config };
    assert_eq!(fixed.resources(), [strata_core::config::Resource::Path(dir.path().join("fixed.log"))]);
}

#[test]
fn templates_keep_rendered_paths_under_their_base() {
    let now = Utc::now();
    let render = |template: &str, name: &str| {
        PathTemplate::parse(template).unwrap().render(&event("x", &[("name", name.into())]), "timestamp", now)
    };
    assert_eq!(render("/logs/{{ name }}.log", "a-b").unwrap(), "/logs/a-b.log");
    assert_eq!(render("/logs/app-{{ name }}.log", "x/y").unwrap(), "/logs/app-x/y.log");
    assert!(render("/logs/app-{{ name }}.log", "/../../etc/passwd").is_err());
    assert!(render("/logs/{{ name }}", "..").is_err());
    assert!(render("{{ name }}.log", "/etc/passwd").is_err());
    assert!(render("/logs/{{ name }}", "a\0b").is_err());
}

#[test]
fn the_example_parses() {
    let mut options: serde_json::Value = toml::from_str(super::config::EXAMPLE).unwrap();
    let table = options.as_object_mut().unwrap();
    assert_eq!(table.remove("type"), Some(serde_json::json!("file")));
    table.remove("inputs");
    (super::REGISTRATION.parse)(options).unwrap();
}

#[tokio::test]
async fn metrics_render_their_name_and_timestamp() {
    use strata_event::{Metric, MetricKind, MetricValue};
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(&path_in(&dir, "{{ name }}-%Y.json"), SerializerKind::Json);
    let at = Utc.with_ymd_and_hms(2020, 5, 1, 0, 0, 0).unwrap();
    let metric = Metric::new("requests", MetricKind::Absolute, MetricValue::Counter { value: 1.0 })
        .with_timestamp(Some(at));
    let stats = run(&sink, vec![EventBatch::new(vec![Event::Metric(metric)])]).await;
    assert_eq!(stats.written, 1);
    assert_eq!(names(dir.path()), ["requests-2020.json"]);
}

/// The standard metrics and labels, through the compliance helper.
#[test]
fn file_passes_the_compliance_helper() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let config: super::FileConfig = strata_core::parse_options(
        serde_json::json!({"path": path.to_str().unwrap(), "encoding": {"codec": "text"}}),
    )
    .unwrap();
    let events: Vec<strata_event::Event> = (0..4)
        .map(|n| {
            strata_event::Event::Log(strata_event::LogEvent::from_message(
                format!("event {n}"),
                Default::default(),
            ))
        })
        .collect();
    strata_core::compliance::assert_sink_compliance("file", &config, events);
    assert_eq!(std::fs::read_to_string(path).unwrap(), "event 0\nevent 1\nevent 2\nevent 3\n");
}

#[tokio::test]
async fn a_refused_event_goes_to_the_rejected_output_when_one_is_wired() {
    let root = tempfile::tempdir().unwrap();
    let (cx, mut dead_letters) = strata_core::testing::sink_context_with_rejected("file");
    let encoder =
        Encoder::new(&EncodingConfig::new(SerializerKind::Text), SinkFraming::NewlineDelimited).unwrap();
    let template = PathTemplate::parse(&path_in(&root, "sink/{{ name }}.log")).unwrap();
    let sink = FileSink::new(
        template,
        encoder,
        Compression::None,
        Duration::from_secs(30),
        "timestamp".into(),
        cx.metrics,
    )
    .with_rejected(cx.rejected);
    let (bad, bad_receipt) = tracked(vec![event("escape", &[("name", "../../outside".into())])]);
    let (good, good_receipt) = tracked(vec![event("fine", &[("name", "good".into())])]);
    let stats = run(&sink, vec![bad, good]).await;
    assert_eq!(stats, RunStats { written: 1, rejected: 1, errored: 0 });
    assert_eq!(good_receipt.await, BatchStatus::Delivered);
    assert_eq!(names(root.path().join("sink")), ["good.log"]);

    let mut routed = strata_core::testing::collect(&mut dead_letters, 1, Duration::from_secs(5)).await;
    assert_eq!(routed.len(), 1);
    let log = routed[0].as_log().unwrap();
    assert_eq!(log.get("message"), Some(&Value::from("escape")));
    assert_eq!(log.get("metadata.dead_letter.reason"), Some(&Value::from("template_rejected")));
    assert_eq!(log.get("metadata.dead_letter.component_type"), Some(&Value::from("file")));
    assert_eq!(log.get("metadata.dead_letter.http_status"), None);
    // The dead-letter side has it now; its outcome is the source's.
    routed[0].take_finalizers().update_status(BatchStatus::Delivered);
    drop(routed);
    assert_eq!(bad_receipt.await, BatchStatus::Delivered);
}
