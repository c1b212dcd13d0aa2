//! `file` tests: real files in temporary directories, a real runtime, events out.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use strata_core::testing::{collect, source_context};
use strata_core::{BufferReceiver, GlobalOptions, ShutdownSignal, SourceConfig};
use strata_event::{BatchStatus, Event, EventBatch, Value};
use tempfile::TempDir;
use tokio::task::JoinHandle;

use super::*;

struct Running {
    shutdown: ShutdownSignal,
    task: JoinHandle<Result<(), strata_core::ComponentError>>,
    rx: BufferReceiver,
}

impl Running {
    async fn stop(self) -> BufferReceiver {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops")
            .expect("no panic")
            .expect("ok");
        self.rx
    }
}

fn config(options: serde_json::Value) -> FileConfig {
    let mut options = options;
    if options.get("glob_minimum_cooldown_ms").is_none() {
        options["glob_minimum_cooldown_ms"] = 50.into();
    }
    strata_core::parse_options(options).expect("valid options")
}

async fn start(config: FileConfig, data: &Path, acknowledgements: bool) -> Running {
    let globals = GlobalOptions { data_dir: Some(data.to_path_buf()), ..Default::default() };
    let (mut cx, rx) = source_context("file", globals);
    cx.acknowledgements = acknowledgements;
    let shutdown = cx.shutdown.clone();
    let source = config.build(cx).await.expect("builds");
    Running { shutdown, task: tokio::spawn(source), rx }
}

fn message(event: &Event) -> String {
    event.as_log().unwrap().get("message").unwrap().to_string_lossy().into_owned()
}

fn messages(events: &[Event]) -> Vec<String> {
    events.iter().map(message).collect()
}

fn append(path: &Path, lines: impl IntoIterator<Item = String>) {
    let mut file = OpenOptions::new().create(true).append(true).open(path).unwrap();
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    file.write_all(text.as_bytes()).unwrap();
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:06}")).collect()
}

/// The checkpoint saved for `path`, if any.
fn checkpoint(data: &Path, path: &Path) -> Option<u64> {
    let text = fs::read_to_string(data.join("test_file").join("checkpoints.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["checkpoints"]
        .as_array()?
        .iter()
        .find(|c| c["path"].as_str() == Some(path.to_str().unwrap()))
        .and_then(|c| c["offset"].as_u64())
}

/// Waits until the saved checkpoint of `path` satisfies `ok`, or a few seconds pass.
async fn checkpoint_becomes(data: &Path, path: &Path, ok: impl Fn(Option<u64>) -> bool) -> Option<u64> {
    for _ in 0..100 {
        let now = checkpoint(data, path);
        if ok(now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    checkpoint(data, path)
}

fn dirs() -> (TempDir, TempDir) {
    (TempDir::new().unwrap(), TempDir::new().unwrap())
}

fn pattern(dir: &TempDir, glob: &str) -> String {
    dir.path().join(glob).to_str().unwrap().to_owned()
}

/// Every message exactly once: no line lost, none twice.
fn assert_exactly(got: Vec<String>, want: &[String]) {
    let unique: BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "duplicates among {} lines", got.len());
    let want_set: BTreeSet<&String> = want.iter().collect();
    let missing: Vec<_> = want_set.difference(&unique).step_by(10).take(40).collect();
    let extra: Vec<_> = unique.difference(&want_set).take(5).collect();
    let missing_count = want_set.difference(&unique).count();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing_count}: {missing:?}, unexpected {extra:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_from_the_beginning_then_follows_appends() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(&path, numbered("a", 0..3));
    let mut running =
        start(config(serde_json::json!({"include": [pattern(&logs, "*.log")]})), data.path(), false).await;
    let first = collect(&mut running.rx, 3, Duration::from_secs(5)).await;
    assert_eq!(messages(&first), numbered("a", 0..3));
    let log = first[0].as_log().unwrap();
    assert_eq!(log.get("file"), Some(&Value::from(path.to_str().unwrap())));
    assert_eq!(log.get("source_type"), Some(&Value::from("file")));
    assert!(log.get("host").is_some());
    assert!(matches!(log.get("timestamp"), Some(Value::Timestamp(_))));
    append(&path, numbered("a", 3..5));
    let more = collect(&mut running.rx, 2, Duration::from_secs(5)).await;
    assert_eq!(messages(&more), numbered("a", 3..5));
    running.stop().await;
    assert_eq!(checkpoint(data.path(), &path), Some(fs::metadata(&path).unwrap().len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_from_end_skips_what_was_there() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(&path, numbered("old", 0..50));
    let options =
        serde_json::json!({"include": [pattern(&logs, "*.log")], "read_from": "end", "offset_key": "offset"});
    let mut running = start(config(options), data.path(), false).await;
    // The first search records the end as the checkpoint; only then is appending meaningful.
    checkpoint_becomes(data.path(), &path, |c| c.is_some()).await;
    let before = fs::metadata(&path).unwrap().len();
    append(&path, numbered("new", 0..2));
    let events = collect(&mut running.rx, 52, Duration::from_secs(2)).await;
    assert_eq!(messages(&events), numbered("new", 0..2));
    assert_eq!(events[0].as_log().unwrap().get("offset"), Some(&Value::Integer(before as i64)));
    running.stop().await;
}

#[derive(Clone, Copy)]
enum Rotation {
    Rename,
    CopyTruncate,
    DeleteAndRecreate,
}

/// Writes `total` numbered lines to `app.log`, rotating every `every` lines.
fn write_with_rotation(dir: PathBuf, total: usize, every: usize, rotation: Rotation) {
    let path = dir.join("app.log");
    let mut rotated = 0;
    for start in (0..total).step_by(10) {
        append(&path, numbered("line", start..(start + 10).min(total)));
        std::thread::sleep(Duration::from_millis(2));
        if (start + 10) % every == 0 && start + 10 < total {
            // A tailer that polls can follow only a file it has seen: one renamed away or deleted
            // before the first search after its creation is missed unless the pattern matches its
            // new name. Real files live far longer than a search interval; these wait for one.
            std::thread::sleep(Duration::from_millis(250));
            rotated += 1;
            match rotation {
                Rotation::Rename => fs::rename(&path, dir.join(format!("app.log.{rotated}"))).unwrap(),
                Rotation::CopyTruncate => {
                    fs::copy(&path, dir.join(format!("app.log.{rotated}"))).unwrap();
                    File::create(&path).unwrap();
                    // A tailer learns of a truncation when it reads past the new end, or by the
                    // next search; a file refilled beyond the old offset before either cannot be
                    // told from one that grew. logrotate rotates rarely; pause as it would.
                    std::thread::sleep(Duration::from_millis(300));
                }
                Rotation::DeleteAndRecreate => fs::remove_file(&path).unwrap(),
            }
        }
    }
}

async fn rotation_delivers_every_line_once(rotation: Rotation, include: &str) {
    let (logs, data) = dirs();
    let total = 1500;
    let mut running =
        start(config(serde_json::json!({"include": [pattern(&logs, include)]})), data.path(), false).await;
    let dir = logs.path().to_path_buf();
    let writer = std::thread::spawn(move || write_with_rotation(dir, total, 300, rotation));
    let events = collect(&mut running.rx, total, Duration::from_secs(30)).await;
    writer.join().unwrap();
    // Anything more would be a duplicate.
    let extra = collect(&mut running.rx, 1, Duration::from_millis(1500)).await;
    running.stop().await;
    let mut got = messages(&events);
    got.extend(messages(&extra));
    assert_exactly(got, &numbered("line", 0..total));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_rotation_out_of_the_pattern_delivers_every_line_once() {
    rotation_delivers_every_line_once(Rotation::Rename, "app.log").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_rotation_within_the_pattern_delivers_every_line_once() {
    rotation_delivers_every_line_once(Rotation::Rename, "app.log*").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_truncate_rotation_delivers_every_line_once() {
    rotation_delivers_every_line_once(Rotation::CopyTruncate, "app.log*").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_recreate_delivers_every_line_once() {
    rotation_delivers_every_line_once(Rotation::DeleteAndRecreate, "app.log").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_with_the_same_identity_reads_again_from_the_start() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(&path, numbered("before", 0..3));
    let options = serde_json::json!({"include": [pattern(&logs, "*.log")], "fingerprint": {"strategy": "device_and_inode"}});
    let mut running = start(config(options), data.path(), false).await;
    assert_eq!(collect(&mut running.rx, 3, Duration::from_secs(5)).await.len(), 3);
    OpenOptions::new().write(true).truncate(true).open(&path).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(&path, numbered("after", 0..2));
    let events = collect(&mut running.rx, 3, Duration::from_secs(2)).await;
    assert_eq!(messages(&events), numbered("after", 0..2));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_checkpoints_without_loss_or_duplicates() {
    let (logs, data) = dirs();
    let total = 3000;
    let dir = logs.path().to_path_buf();
    let options = serde_json::json!({"include": [pattern(&logs, "*.log")]});
    let writer = std::thread::spawn(move || {
        for start in (0..total).step_by(20) {
            append(&dir.join("app.log"), numbered("line", start..start + 20));
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let mut got = Vec::new();
    // Three runs over one data_dir, each stopped while the writer is still busy.
    for _ in 0..3 {
        let running = start(config(options.clone()), data.path(), false).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        let mut rx = running.stop().await;
        got.extend(messages(&collect(&mut rx, usize::MAX, Duration::from_millis(200)).await));
    }
    writer.join().unwrap();
    let mut last = start(config(options), data.path(), false).await;
    let wanted = total - got.len();
    got.extend(messages(&collect(&mut last.rx, wanted, Duration::from_secs(10)).await));
    got.extend(messages(&collect(&mut last.rx, 1, Duration::from_millis(500)).await));
    last.stop().await;
    assert_exactly(got, &numbered("line", 0..total));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_files_at_once() {
    let (logs, data) = dirs();
    for file in 0..250 {
        append(&logs.path().join(format!("f{file:03}.log")), numbered(&format!("f{file:03}"), 0..4));
    }
    let mut running =
        start(config(serde_json::json!({"include": [pattern(&logs, "*.log")]})), data.path(), false).await;
    let events = collect(&mut running.rx, 1000, Duration::from_secs(20)).await;
    running.stop().await;
    let want: Vec<String> = (0..250).flat_map(|f| numbered(&format!("f{f:03}"), 0..4)).collect();
    assert_exactly(messages(&events), &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_files_than_may_be_open_take_turns() {
    let (logs, data) = dirs();
    for file in 0..40 {
        append(&logs.path().join(format!("f{file:02}.log")), numbered(&format!("f{file:02}"), 0..50));
    }
    let options =
        serde_json::json!({"include": [pattern(&logs, "*.log")], "max_open_files": 4, "max_read_bytes": 64});
    let mut running = start(config(options), data.path(), false).await;
    let first = collect(&mut running.rx, 2000, Duration::from_secs(20)).await;
    for file in 0..40 {
        append(&logs.path().join(format!("f{file:02}.log")), numbered(&format!("f{file:02}"), 50..55));
    }
    let second = collect(&mut running.rx, 200, Duration::from_secs(20)).await;
    running.stop().await;
    let mut got = messages(&first);
    got.extend(messages(&second));
    let want: Vec<String> = (0..40).flat_map(|f| numbered(&format!("f{f:02}"), 0..55)).collect();
    assert_exactly(got, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiline_stack_traces_are_joined() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    let lines = [
        "2024-01-01 ERROR boom",
        "java.lang.IllegalStateException: bad",
        "    at com.example.A.run(A.java:10)",
        "    at com.example.B.main(B.java:5)",
        "2024-01-01 INFO next",
        "2024-01-01 INFO last",
    ];
    append(&path, lines.iter().map(|l| l.to_string()));
    let options = serde_json::json!({
        "include": [pattern(&logs, "*.log")],
        "multiline": {"start_pattern": "^\\d{4}-", "condition_pattern": "^\\d{4}-", "mode": "halt_before", "timeout_ms": 200},
    });
    let mut running = start(config(options), data.path(), false).await;
    let events = collect(&mut running.rx, 3, Duration::from_secs(3)).await;
    running.stop().await;
    assert_eq!(messages(&events), vec![lines[..4].join("\n"), lines[4].to_owned(), lines[5].to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiline_continue_through_joins_indented_lines() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(&path, ["Exception in main", "  at a", "  at b", "plain", "Another", "  at c"].map(String::from));
    let options = serde_json::json!({
        "include": [pattern(&logs, "*.log")],
        "multiline": {"start_pattern": "^[^\\s]", "condition_pattern": "^\\s+", "mode": "continue_through", "timeout_ms": 100},
    });
    let mut running = start(config(options), data.path(), false).await;
    let events = collect(&mut running.rx, 3, Duration::from_secs(3)).await;
    running.stop().await;
    assert_eq!(messages(&events), vec!["Exception in main\n  at a\n  at b", "plain", "Another\n  at c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_lines_are_discarded_and_later_lines_delivered() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(
        &path,
        [
            "first".to_owned(),
            "x".repeat(100),
            "y".repeat(33),
            "after".to_owned(),
            "z".repeat(1000),
            "end".into(),
        ],
    );
    let options =
        serde_json::json!({"include": [pattern(&logs, "*.log")], "max_line_bytes": 32, "max_read_bytes": 16});
    let mut running = start(config(options), data.path(), false).await;
    let events = collect(&mut running.rx, 3, Duration::from_secs(3)).await;
    running.stop().await;
    assert_eq!(messages(&events), vec!["first", "after", "end"]);
    assert_eq!(checkpoint(data.path(), &path), Some(fs::metadata(&path).unwrap().len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_delimiter_splits_lines() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    fs::write(&path, "one\r\ntwo\nstill two\r\nthree\r\n").unwrap();
    let options = serde_json::json!({"include": [pattern(&logs, "*.log")], "line_delimiter": "\r\n", "max_read_bytes": 3});
    let mut running = start(config(options), data.path(), false).await;
    let events = collect(&mut running.rx, 3, Duration::from_secs(3)).await;
    running.stop().await;
    assert_eq!(messages(&events), vec!["one", "two\nstill two", "three"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_files_are_read_whole_once() {
    let (logs, data) = dirs();
    let path = logs.path().join("old.log.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::default());
    for line in numbered("gz", 0..5000) {
        writeln!(encoder, "{line}").unwrap();
    }
    write!(encoder, "no newline at the end").unwrap();
    encoder.finish().unwrap();
    let options = serde_json::json!({"include": [pattern(&logs, "*.gz")]});
    let mut running = start(config(options.clone()), data.path(), false).await;
    let events = collect(&mut running.rx, 5002, Duration::from_secs(10)).await;
    running.stop().await;
    let mut want = numbered("gz", 0..5000);
    want.push("no newline at the end".into());
    assert_eq!(messages(&events), want);
    // A restart does not read it again.
    let mut again = start(config(options), data.path(), false).await;
    assert!(collect(&mut again.rx, 1, Duration::from_millis(600)).await.is_empty());
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_wait_for_delivery_in_order() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(&path, numbered("a", 0..3));
    let options = serde_json::json!({"include": [pattern(&logs, "*.log")]});
    let mut running = start(config(options.clone()), data.path(), true).await;
    let first = collect(&mut running.rx, 3, Duration::from_secs(5)).await;
    assert_eq!(first.len(), 3);
    let delivered_end = fs::metadata(&path).unwrap().len();
    // Unresolved: no checkpoint beyond the start.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(checkpoint(data.path(), &path).unwrap_or(0) == 0, "{:?}", checkpoint(data.path(), &path));
    EventBatch::new(first).finalize(BatchStatus::Delivered);
    assert_eq!(
        checkpoint_becomes(data.path(), &path, |c| c == Some(delivered_end)).await,
        Some(delivered_end)
    );

    // An errored batch holds the checkpoint, even when a later batch is delivered.
    append(&path, numbered("b", 0..2));
    let errored = collect(&mut running.rx, 2, Duration::from_secs(5)).await;
    append(&path, numbered("c", 0..2));
    let later = collect(&mut running.rx, 2, Duration::from_secs(5)).await;
    assert_eq!(messages(&later), numbered("c", 0..2));
    EventBatch::new(later).finalize(BatchStatus::Delivered);
    EventBatch::new(errored).finalize(BatchStatus::Errored);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(checkpoint(data.path(), &path), Some(delivered_end));
    running.stop().await;

    // The next run reads again what was not delivered.
    let mut again = start(config(options), data.path(), true).await;
    let events = collect(&mut again.rx, 4, Duration::from_secs(5)).await;
    let mut want = numbered("b", 0..2);
    want.extend(numbered("c", 0..2));
    assert_eq!(messages(&events), want);
    EventBatch::new(events).finalize(BatchStatus::Delivered);
    again.stop().await;
    assert_eq!(checkpoint(data.path(), &path), Some(fs::metadata(&path).unwrap().len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_replaced_by_a_directory_does_not_stop_the_source() {
    let (logs, data) = dirs();
    let path = logs.path().join("a.log");
    append(&path, numbered("a", 0..2));
    let mut running =
        start(config(serde_json::json!({"include": [pattern(&logs, "*.log")]})), data.path(), false).await;
    assert_eq!(collect(&mut running.rx, 2, Duration::from_secs(5)).await.len(), 2);
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    append(&logs.path().join("b.log"), numbered("b", 0..2));
    let events = collect(&mut running.rx, 2, Duration::from_secs(5)).await;
    assert_eq!(messages(&events), numbered("b", 0..2));
    assert!(!running.task.is_finished());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_after_secs_deletes_files_read_to_their_end() {
    let (logs, data) = dirs();
    let path = logs.path().join("a.log");
    append(&path, numbered("a", 0..2));
    let options = serde_json::json!({"include": [pattern(&logs, "*.log")], "remove_after_secs": 0});
    let mut running = start(config(options), data.path(), false).await;
    assert_eq!(collect(&mut running.rx, 2, Duration::from_secs(5)).await.len(), 2);
    for _ in 0..50 {
        if !path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
    assert!(!path.exists());
}

#[tokio::test]
async fn without_a_data_dir_the_build_fails() {
    let (cx, _rx) = source_context("file", GlobalOptions::default());
    let error = config(serde_json::json!({"include": ["/tmp/*.log"]})).build(cx).await.err().expect("fails");
    assert!(error.message.contains("data_dir"), "{}", error.message);
}

#[test]
fn vector_options_parse_and_typos_are_refused() {
    let config = config(serde_json::json!({
        "include": ["/var/log/*.log"], "exclude": ["/var/log/debug.log"], "read_from": "end",
        "ignore_older_secs": 600, "max_line_bytes": 1000, "fingerprint": {"strategy": "checksum", "lines": 2},
        "multiline": {"start_pattern": "^a", "condition_pattern": "^b", "mode": "continue_past", "timeout_ms": 5},
    }));
    assert_eq!(config.read_from, ReadFrom::End);
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let error = strata_core::parse_options::<FileConfig>(
        serde_json::json!({"include": [], "glob_minimum_cooldown": 1}),
    )
    .unwrap_err();
    assert_eq!(error.suggestion.as_deref(), Some("glob_minimum_cooldown_ms"));
}

#[test]
fn bad_patterns_are_reported() {
    let config = config(serde_json::json!({
        "include": ["relative/*.log"],
        "multiline": {"start_pattern": "(", "condition_pattern": "b", "mode": "halt_with", "timeout_ms": 5},
    }));
    let problems = config.validate();
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn the_example_parses() {
    let value: toml::Value = toml::from_str(config::EXAMPLE).unwrap();
    let json = serde_json::to_value(value).unwrap();
    let mut json = json;
    json.as_object_mut().unwrap().remove("type");
    let parsed: FileConfig = strata_core::parse_options(json).unwrap();
    assert!(parsed.validate().is_empty());
}

/// A FIFO can take a file's place between the search and the open: opening it must not wait for
/// a writer, which would stall every file of the source.
#[test]
fn a_fifo_in_a_files_place_is_opened_without_waiting_for_a_writer() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("app.log");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(status.success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let opened = tailer::open_without_waiting(&fifo).and_then(|file| file.metadata());
        let _ = tx.send(opened.map(|meta| meta.is_file()));
    });
    let opened = rx.recv_timeout(Duration::from_secs(5)).expect("the open returns without a writer");
    assert!(!opened.expect("a FIFO opens"), "and is told apart from a regular file");
}

/// The standard metrics and labels, through the compliance helper; raw lines carry the file.
#[test]
fn file_passes_the_compliance_helper() {
    let (logs, data) = dirs();
    let path = logs.path().join("app.log");
    append(&path, numbered("line", 0..5));
    let config = config(serde_json::json!({"include": [pattern(&logs, "*.log")]}));
    let globals = GlobalOptions { data_dir: Some(data.path().to_path_buf()), ..Default::default() };
    let events = strata_core::compliance::assert_source_compliance_with("file", &config, 5, globals);
    assert_exactly(messages(&events), &numbered("line", 0..5));
    let file = events[0].as_log().unwrap().get("file").cloned();
    assert_eq!(file, Some(Value::from(path.to_string_lossy().into_owned())));
}
