//! A disk buffer whose room runs out, through the real binary: a filesystem that fills up (a
//! small tmpfs) under `when_full = "block"`, and `max_size` reached under `"drop_newest"`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::harness::{Agent, Options, agent_bin, free_port, http_get, metric_value, wait_for};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it) on `dir`; `None` when refused,
    /// as it is without root.
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Self { dir: dir.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.dir).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process being reaped): detach it now, it goes once unused.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Writes `path` until the filesystem is full; returns its size.
fn fill_with_ballast(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("the ballast file is created");
    let zeros = vec![0u8; 64 * 1024];
    let mut size = 0;
    while let Ok(written @ 1..) = file.write(&zeros) {
        size += written as u64;
    }
    size
}

fn config(data_dir: &Path, api_port: u16, max_size: u64, when_full: &str) -> String {
    format!(
        r#"
data_dir = "{data}"

[api]
enabled = true
address = "127.0.0.1:{api_port}"

[sources.in]
type = "stdin"

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "text"
buffer.type = "disk"
buffer.max_size = {max_size}
buffer.when_full = "{when_full}"
"#,
        data = data_dir.display(),
    )
}

/// A thread writing numbered lines of about 100 bytes to the agent's stdin, `limit` at most or
/// until stopped; once stopped it closes stdin and returns how many lines it wrote.
struct LineWriter {
    lines: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl LineWriter {
    fn start(agent: &mut Agent, limit: u64) -> Self {
        let mut stdin = agent.child.stdin.take().expect("stdin");
        let lines = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (lines, stop) = (lines.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut chunk = String::new();
                while n < limit && !stop.load(Ordering::Relaxed) {
                    chunk.clear();
                    for _ in 0..100 {
                        chunk.push_str(&format!(
                            "{n:>12} padding-padding-padding-padding-padding-padding-padding-padding\n"
                        ));
                        n += 1;
                    }
                    if stdin.write_all(chunk.as_bytes()).is_err() {
                        panic!("the agent closed its stdin after {n} lines");
                    }
                    lines.store(n, Ordering::Relaxed);
                }
                // Stdin stays open until the test is done with the running agent: closing it
                // would make the agent drain and exit.
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                n
            })
        };
        Self { lines, stop, thread }
    }

    fn written(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Stops after the write in progress (which may wait for the pipeline) and closes stdin.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the writer thread")
    }
}

/// Reads the agent's stdout to the end on a thread, counting complete lines as they come.
fn drain_stdout(agent: &mut Agent) -> (Arc<AtomicU64>, JoinHandle<Vec<u8>>) {
    let mut stdout = agent.child.stdout.take().expect("stdout is still ours");
    let lines = Arc::new(AtomicU64::new(0));
    let counter = lines.clone();
    let thread = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&chunk[..n]);
            counter.fetch_add(chunk[..n].iter().filter(|b| **b == b'\n').count() as u64, Ordering::Relaxed);
        }
        all
    });
    (lines, thread)
}

/// The line numbers in the agent's output, in output order.
fn numbers(output: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(output)
        .lines()
        .map(|line| line.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a numbered line"))
        .collect()
}

fn sink_metric(api_port: u16, name: &str) -> Option<f64> {
    metric_value(&http_get(api_port, "/metrics")?, name, r#"component_id="out""#)
}

fn assert_buffer_healthy(dir: &Path) {
    let report = Command::new(agent_bin()).args(["buffer", "verify"]).arg(dir).output().expect("verify runs");
    assert!(
        report.status.success(),
        "`agent buffer verify` reports the buffer healthy:\n{}{}",
        String::from_utf8_lossy(&report.stdout),
        String::from_utf8_lossy(&report.stderr)
    );
}

/// The sink's output is stalled (nobody reads its stdout) behind a disk buffer whose
/// `max_size` (64 MiB) is larger than the 8 MiB tmpfs holding `data_dir`, so the filesystem
/// fills first. The agent must stay up, count the failed writes in `buffer_errors_total`, and
/// hold the source back; once the output is read again the buffer frees its segments and
/// resumes by itself, every line arrives exactly once and in order, and `agent buffer verify`
/// finds the buffer healthy. Before the output moves again a ballast file takes whatever space
/// is left and stays there: the buffer has to recover by deleting the segments the sink has
/// finished with, with not even room for a new ledger file.
///
/// Fallback: where `mount` is refused (not root) there is no small filesystem to fill, so the
/// test runs the same checks with `max_size` (4 MiB) as the limit that is reached instead, says
/// so on stdout, and skips only the assertion on `buffer_errors_total`. Setting
/// `STRATA_DISK_FULL_NO_MOUNT` runs the fallback on purpose.
#[test]
fn a_full_filesystem_holds_the_source_back_and_the_buffer_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let api_port = free_port();
    let tmpfs = match std::env::var_os("STRATA_DISK_FULL_NO_MOUNT") {
        Some(_) => None,
        None => Tmpfs::mount(&data_dir, "8m"),
    };
    let max_size = if tmpfs.is_some() { 64 << 20 } else { 4 << 20 };
    println!(
        "disk full test: {}",
        match tmpfs {
            Some(_) => "8 MiB tmpfs under a 64 MiB max_size (the filesystem fills first)",
            None => "FALLBACK: mount refused, so max_size (4 MiB) is the limit reached instead",
        }
    );
    let mut agent = Agent::start_with(
        &config(&data_dir, api_port, max_size, "block"),
        Options { read_stdout: false, ..Default::default() },
    );
    // Far more than fits: about 100 MB of lines.
    let writer = LineWriter::start(&mut agent, 1_000_000);

    if tmpfs.is_some() {
        let failing = wait_for(Duration::from_secs(180), || {
            sink_metric(api_port, "buffer_errors_total").filter(|errors| *errors >= 1.0)
        });
        let Some(first) = failing else {
            panic!("the full filesystem was reported; stderr:\n{}", agent.stderr_text());
        };
        // Still retrying, later: the agent neither crashed nor poisoned the buffer.
        let retrying = wait_for(Duration::from_secs(60), || {
            sink_metric(api_port, "buffer_errors_total").filter(|errors| *errors >= first + 2.0)
        });
        assert!(retrying.is_some(), "the buffer keeps retrying; stderr:\n{}", agent.stderr_text());
        assert!(agent.wait_for_stderr("disk buffer filesystem is full", Duration::from_secs(5)));
    } else {
        let full = wait_for(Duration::from_secs(180), || {
            sink_metric(api_port, "buffer_size_bytes").filter(|bytes| *bytes >= (max_size / 2) as f64)
        });
        assert!(full.is_some(), "the buffer filled up; stderr:\n{}", agent.stderr_text());
    }
    // Held back: the count of lines taken stops moving (and stays far below the total).
    let mut last = (writer.written(), std::time::Instant::now());
    let stalled = wait_for(Duration::from_secs(120), || {
        let now = writer.written();
        if now != last.0 {
            last = (now, std::time::Instant::now());
        }
        (last.1.elapsed() >= Duration::from_secs(1)).then_some(now)
    });
    assert!(stalled.is_some(), "the source stopped taking lines; stderr:\n{}", agent.stderr_text());
    assert!(agent.child.try_wait().unwrap().is_none(), "the agent is still running");
    let held = writer.written();
    assert!(held < 400_000, "the source is held back: only {held} of 1000000 lines were taken");
    println!(
        "disk full test: held back after {held} lines, buffer_errors_total {:?}",
        sink_metric(api_port, "buffer_errors_total")
    );

    // Take the last free blocks too, so that even the ledger has no room to be replaced: the
    // buffer must free space by deleting what the sink has finished with, on its own.
    let ballast = tmpfs.as_ref().map(|_| fill_with_ballast(&data_dir.join("ballast")));
    // Read the output again: the buffer drains, frees space, and takes the rest by itself.
    let (_, stdout) = drain_stdout(&mut agent);
    let resumed = wait_for(Duration::from_secs(120), || (writer.written() > held + 50_000).then_some(()));
    assert!(resumed.is_some(), "writing resumed once there was room; stderr:\n{}", agent.stderr_text());
    let written = writer.finish();
    let status = agent.wait_exit(Duration::from_secs(180));
    assert!(status.success(), "the agent drains and exits cleanly; stderr:\n{}", agent.stderr_text());
    let delivered = numbers(&stdout.join().unwrap());
    let in_order = delivered.iter().copied().eq(0..written);
    assert!(
        in_order,
        "every one of {written} lines arrived exactly once, in order (got {} lines)",
        delivered.len()
    );
    println!("disk full test: {written} lines delivered in order");
    assert_buffer_healthy(&data_dir.join("buffer/out"));
    println!("disk full test: a ballast of {ballast:?} bytes stayed in place throughout");
    drop(tmpfs);
}

/// `max_size` reached under `drop_newest`: the stalled sink's buffer fills, new batches are
/// dropped and counted on `/metrics`, the source is never held back, the agent keeps running,
/// and what was kept comes out in order once the sink moves again.
#[test]
fn drop_newest_at_max_size_counts_the_drops_and_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    drop_newest_case(&dir.path().join("data"), 2 << 20);
}

/// The same under `drop_newest` with a filesystem (an 8 MiB tmpfs) that fills before `max_size`
/// (64 MiB): the batches that find no room are dropped and counted, and each failed write shows
/// in `buffer_errors_total`. Where `mount` is refused this falls back, explicitly, to the
/// `max_size` case above with a 4 MiB buffer (`STRATA_DISK_FULL_NO_MOUNT` forces that).
#[test]
fn drop_newest_on_a_full_filesystem_counts_the_drops_and_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let tmpfs = match std::env::var_os("STRATA_DISK_FULL_NO_MOUNT") {
        Some(_) => None,
        None => Tmpfs::mount(&data_dir, "8m"),
    };
    if tmpfs.is_none() {
        println!(
            "drop_newest disk full test: FALLBACK: mount refused, so max_size (4 MiB) is the limit reached"
        );
    }
    let errors = drop_newest_case(&data_dir, if tmpfs.is_some() { 64 << 20 } else { 4 << 20 });
    if tmpfs.is_some() {
        assert!(errors > 0.0, "writes that found no room are counted in buffer_errors_total");
    }
    drop(tmpfs);
}

/// Runs the `drop_newest` scenario on `data_dir`; returns `buffer_errors_total` at the end.
fn drop_newest_case(data_dir: &Path, max_size: u64) -> f64 {
    let data_dir = data_dir.to_path_buf();
    let api_port = free_port();
    let mut agent = Agent::start_with(
        &config(&data_dir, api_port, max_size, "drop_newest"),
        Options { read_stdout: false, ..Default::default() },
    );
    // About 20 MB of lines into a 2 MiB buffer: most are dropped, none waits.
    let total = 200_000;
    let writer = LineWriter::start(&mut agent, total);
    let all_taken = wait_for(Duration::from_secs(180), || (writer.written() >= total).then_some(()));
    assert!(all_taken.is_some(), "the source was never held back; stderr:\n{}", agent.stderr_text());
    let dropped = sink_metric(api_port, "buffer_discarded_events_total").unwrap_or(0.0);
    assert!(dropped > 0.0, "drops are counted on /metrics");
    let component = sink_metric(api_port, "component_discarded_events_total").unwrap_or(0.0);
    assert!(component >= dropped, "and as the component's discarded events ({component} < {dropped})");
    assert!(agent.child.try_wait().unwrap().is_none(), "the agent keeps running");

    // Every line is either delivered or counted as dropped, once the output moves again.
    let (lines, stdout) = drain_stdout(&mut agent);
    let accounted = wait_for(Duration::from_secs(120), || {
        let dropped = sink_metric(api_port, "buffer_discarded_events_total")? as u64;
        (lines.load(Ordering::Relaxed) + dropped == total).then_some(dropped)
    });
    let Some(dropped) = accounted else {
        panic!(
            "delivered {} + dropped {:?} != {total}; stderr:\n{}",
            lines.load(Ordering::Relaxed),
            sink_metric(api_port, "buffer_discarded_events_total"),
            agent.stderr_text()
        );
    };
    let errors = sink_metric(api_port, "buffer_errors_total").unwrap_or(0.0);
    let written = writer.finish();
    assert_eq!(written, total);
    let status = agent.wait_exit(Duration::from_secs(120));
    assert!(status.success(), "stderr:\n{}", agent.stderr_text());
    let delivered = numbers(&stdout.join().unwrap());
    println!("drop_newest test: {} delivered, {dropped} dropped, {errors} buffer errors", delivered.len());
    assert_eq!(delivered.len() as u64 + dropped, total, "nothing was lost uncounted");
    assert!(delivered.windows(2).all(|pair| pair[0] < pair[1]), "what was kept is in order, none twice");
    assert_buffer_healthy(&data_dir.join("buffer/out"));
    errors
}
