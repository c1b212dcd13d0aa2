//! A stalled sink stops the source from reading, memory stays bounded, and nothing is lost once
//! the sink moves again.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::harness::{Agent, Options};

#[test]
fn a_stalled_sink_stops_the_source_and_memory_stays_bounded() {
    let config = r#"
[sources.in]
type = "stdin"

[transforms.tag]
type = "remap"
inputs = ["in"]
source = '.tagged = true'

[sinks.out]
type = "console"
inputs = ["tag"]
encoding.codec = "text"
"#;
    let mut agent = Agent::start_with(config, Options { read_stdout: false, ..Default::default() });
    let mut stdin = agent.child.stdin.take().expect("stdin");
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop) = (written.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut lines = 0u64;
            let mut chunk = String::new();
            while !stop.load(Ordering::Relaxed) {
                chunk.clear();
                for _ in 0..100 {
                    chunk.push_str(&format!(
                        "{lines:>12} padding-padding-padding-padding-padding-padding-padding-padding\n"
                    ));
                    lines += 1;
                }
                if stdin.write_all(chunk.as_bytes()).is_err() {
                    break;
                }
                written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            lines
        })
    };
    // Give the pipeline time to fill every buffer and stall.
    std::thread::sleep(Duration::from_secs(3));
    let stalled_at = written.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(2));
    let later = written.load(Ordering::Relaxed);
    let rss = agent.rss_kib();
    assert!(later - stalled_at < 1024 * 1024, "the source stopped reading: {stalled_at} then {later} bytes");
    assert!(stalled_at < 64 * 1024 * 1024, "only bounded buffers were filled: {stalled_at} bytes");
    assert!(rss < 150 * 1024, "memory stays bounded: {rss} KiB");

    // Let the sink drain: read stdout while the writer finishes.
    let mut stdout = agent.child.stdout.take().expect("stdout is still ours");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        stdout.read_to_end(&mut all).expect("read");
        all
    });
    stop.store(true, Ordering::Relaxed);
    let lines_written = writer.join().expect("writer");
    let status = agent.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "stderr:\n{}", agent.stderr_text());
    let output = reader.join().expect("reader");
    let lines_read = output.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(lines_read, lines_written, "every line written came out once the sink moved");
}
