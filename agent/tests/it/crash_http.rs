//! Durability through an `http` sink: SIGKILL the agent again and again while it tails a growing
//! file through a disk buffer into a flaky HTTP receiver (slow, 503, down and back), and check
//! that every line reached the receiver at least once.
//!
//! The receiver is `receiver.py` (python3), which records every line of each body it answered
//! 2xx; [`Receiver`] runs it and is shared with the other HTTP delivery tests.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{free_port, spawn_agent, wait_for};

/// How a [`Receiver`] misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct Flakiness {
    /// Probability that a request is answered only after a delay of up to `max_delay_secs`.
    pub slow: f64,
    /// Probability that a request is answered 503 (and its lines not recorded).
    pub fail: f64,
    pub max_delay_secs: f64,
}

impl Flakiness {
    pub const RELIABLE: Flakiness = Flakiness { slow: 0.0, fail: 0.0, max_delay_secs: 0.0 };
}

/// The Python HTTP receiver on a fixed loopback port, which can be stopped and started again.
pub struct Receiver {
    pub port: u16,
    out: PathBuf,
    flakiness: Flakiness,
    child: Option<Child>,
    starts: u64,
}

impl Receiver {
    /// A receiver recording into `out`, not started yet.
    pub fn new(out: &Path, flakiness: Flakiness) -> Self {
        Self { port: free_port(), out: out.to_path_buf(), flakiness, child: None, starts: 0 }
    }

    /// Starts it and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the receiver is already running");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/receiver.py");
        self.starts += 1;
        let child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.out)
            .args(["--seed", &self.starts.to_string()])
            .args(["--slow", &self.flakiness.slow.to_string()])
            .args(["--fail", &self.flakiness.fail.to_string()])
            .args(["--max-delay", &self.flakiness.max_delay_secs.max(0.05).to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the receiver");
        self.child = Some(child);
        let up = wait_for(Duration::from_secs(30), || TcpStream::connect(("127.0.0.1", self.port)).ok());
        assert!(up.is_some(), "the receiver listens on port {}", self.port);
    }

    /// Kills it, as a crashed or unplugged server: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Every line the receiver answered 2xx for, in the order it recorded them.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out).unwrap_or_default().lines().map(str::to_owned).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tiny xorshift generator: the test's random moments, reproducible from the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn config(dir: &Path, receiver_port: u16) -> String {
    format!(
        r#"
data_dir = "{data}"

[sources.tail]
type = "file"
include = ["{input}"]
read_from = "beginning"

[sinks.out]
type = "http"
inputs = ["tail"]
uri = "http://127.0.0.1:{receiver_port}/ingest"
encoding.codec = "text"
acknowledgements.enabled = true
batch.max_events = 500
batch.timeout_secs = 0.2
request.timeout_secs = 5
request.retry_initial_backoff_secs = 0.1
request.retry_max_duration_secs = 1
healthcheck.enabled = false
buffer.type = "disk"
buffer.max_size = 16777216
"#,
        data = dir.join("data").display(),
        input = dir.join("input.log").display(),
    )
}

/// The line numbers of `line N end` lines, each as often as it was received.
fn line_numbers(lines: &[String]) -> Vec<u64> {
    lines.iter().filter_map(|l| l.strip_prefix("line ")?.strip_suffix(" end")?.parse().ok()).collect()
}

/// `STRATA_CRASH_HTTP_KILLS` SIGKILLs (default 20) at random moments, while the receiver is
/// slow or answers 503 on some requests and is down for two of every five runs; then a last run
/// must bring every line written to the receiver: none lost, duplicates allowed and counted.
#[test]
fn sigkill_with_a_flaky_http_receiver_loses_nothing() {
    let kills: u64 = std::env::var("STRATA_CRASH_HTTP_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let flaky = Flakiness { slow: 0.2, fail: 0.2, max_delay_secs: 1.0 };
    let mut receiver = Receiver::new(&dir.path().join("received.log"), flaky);
    receiver.start();
    let config_path = dir.path().join("pipeline.toml");
    std::fs::write(&config_path, config(dir.path(), receiver.port)).unwrap();
    let input = dir.path().join("input.log");
    std::fs::write(&input, "").unwrap();
    let agent_log = dir.path().join("agent.log");

    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop, input) = (written.clone(), stop.clone(), input.clone());
        std::thread::spawn(move || {
            let mut file = OpenOptions::new().append(true).open(&input).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let chunk: String = (n..n + 20).map(|k| format!("line {k} end\n")).collect();
                n += 20;
                file.write_all(chunk.as_bytes()).unwrap();
                written.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
            n
        })
    };

    let start = || {
        let log = OpenOptions::new().create(true).append(true).open(&agent_log).unwrap();
        spawn_agent(&config_path, Stdio::null(), Stdio::from(log))
    };
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut outages = 0;
    for run in 0..kills {
        let mut agent = start();
        // Down for the second half of run 2 and all of run 3 of every five; back for run 4.
        if run % 5 == 4 && !receiver.is_running() {
            receiver.start();
        }
        let lifetime = Duration::from_millis(400 + rng.below(1200));
        if run % 5 == 2 {
            std::thread::sleep(lifetime / 2);
            receiver.stop();
            outages += 1;
            std::thread::sleep(lifetime / 2);
        } else {
            std::thread::sleep(lifetime);
        }
        let _ = Command::new("kill").args(["-s", "KILL", &agent.id().to_string()]).status();
        let _ = agent.wait();
    }
    stop.store(true, Ordering::Relaxed);
    let total_written = writer.join().unwrap();
    if !receiver.is_running() {
        receiver.start();
    }

    // A last, clean run delivers whatever is left.
    let begun = Instant::now();
    let mut agent = start();
    let complete = wait_for(Duration::from_secs(180), || {
        let seen: BTreeSet<u64> = line_numbers(&receiver.lines()).into_iter().collect();
        (seen.len() as u64 >= total_written).then_some(())
    });
    let drain_secs = begun.elapsed().as_secs_f64();
    let _ = Command::new("kill").args(["-s", "TERM", &agent.id().to_string()]).status();
    let status = agent.wait().unwrap();

    let received = line_numbers(&receiver.lines());
    let seen: BTreeSet<u64> = received.iter().copied().collect();
    let lost: Vec<u64> = (0..total_written).filter(|n| !seen.contains(n)).take(10).collect();
    println!(
        "http crash test: {kills} kills, {outages} receiver outages, {total_written} lines written, {} received, \
         {} duplicates, {} lost; last run drained in {drain_secs:.1} s",
        seen.len(),
        received.len() - seen.len(),
        total_written - seen.len() as u64,
    );
    let log = std::fs::read_to_string(&agent_log).unwrap_or_default();
    assert!(complete.is_some() && lost.is_empty(), "lost lines (first 10): {lost:?}; agent log:\n{log}");
    assert!(seen.iter().all(|n| *n < total_written), "nothing invented");
    assert!(status.success(), "the final run stops cleanly; agent log:\n{log}");
}
