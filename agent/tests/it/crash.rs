//! Durability through the real binary: SIGKILL the agent again and again while a writer appends
//! to a file it tails through a disk buffer, and check that no line is lost.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{agent_bin, spawn_agent};

fn config(dir: &std::path::Path) -> String {
    format!(
        r#"
data_dir = "{data}"
acknowledgements.enabled = true

[sources.tail]
type = "file"
include = ["{input}"]
read_from = "beginning"

[transforms.shape]
type = "remap"
inputs = ["tail"]
source = '.seen = true'

[sinks.out]
type = "console"
inputs = ["shape"]
encoding.codec = "text"
buffer.type = "disk"
buffer.max_size = 16777216
buffer.ack_after = "write"
"#,
        data = dir.join("data").display(),
        input = dir.join("input.log").display(),
    )
}

/// Every line number found whole (`line N end`) in the output.
fn delivered(output: &str) -> (BTreeSet<u64>, usize) {
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for line in output.lines() {
        if let Some(number) = line.strip_prefix("line ").and_then(|rest| rest.strip_suffix(" end"))
            && let Ok(number) = number.parse()
        {
            total += 1;
            seen.insert(number);
        }
    }
    (seen, total)
}

#[test]
fn sigkill_twenty_times_loses_nothing() {
    let kills: usize = std::env::var("STRATA_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("pipeline.toml");
    std::fs::write(&config_path, config(dir.path())).unwrap();
    let input = dir.path().join("input.log");
    let output = dir.path().join("output.log");
    std::fs::write(&input, "").unwrap();

    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop, input) = (written.clone(), stop.clone(), input.clone());
        std::thread::spawn(move || {
            let mut file = OpenOptions::new().append(true).open(&input).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut chunk = String::new();
                for _ in 0..50 {
                    chunk.push_str(&format!("line {n} end\n"));
                    n += 1;
                }
                file.write_all(chunk.as_bytes()).unwrap();
                written.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };

    let start = || {
        let out = OpenOptions::new().create(true).append(true).open(&output).unwrap();
        spawn_agent(&config_path, Stdio::from(out), Stdio::inherit())
    };
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..kills {
        let mut agent = start();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(400 + rng % 800));
        let _ = Command::new("kill").args(["-s", "KILL", &agent.id().to_string()]).status();
        let _ = agent.wait();
    }
    stop.store(true, Ordering::Relaxed);
    let total_written = writer.join().unwrap();

    // A last, clean run delivers whatever is left.
    let mut agent = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (seen, _) = delivered(&std::fs::read_to_string(&output).unwrap_or_default());
        if seen.len() as u64 >= total_written || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill").args(["-s", "TERM", &agent.id().to_string()]).status();
    let status = agent.wait().unwrap();
    assert!(status.success(), "the final run stops cleanly");

    let (seen, total) = delivered(&std::fs::read_to_string(&output).unwrap());
    let lost: Vec<u64> = (0..total_written).filter(|n| !seen.contains(n)).take(10).collect();
    println!(
        "crash test: {kills} kills, {total_written} lines written, {} delivered, {} duplicates, {} lost",
        seen.len(),
        total - seen.len(),
        total_written - seen.len() as u64
    );
    assert!(lost.is_empty(), "lost lines (first 10): {lost:?}");
}

/// A stalled sink behind a disk buffer: the file source is still acknowledged (its checkpoint
/// reaches the end of the file), a SIGKILL loses nothing, and the next run delivers everything.
#[test]
fn a_disk_buffer_takes_over_while_the_sink_is_stalled_and_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("pipeline.toml");
    std::fs::write(&config_path, config(dir.path())).unwrap();
    let input = dir.path().join("input.log");
    let lines: String = (0..20_000).map(|n| format!("line {n} end\n")).collect();
    std::fs::write(&input, &lines).unwrap();
    let size = lines.len() as u64;

    // The sink's stdout is a pipe nobody reads: it stalls after the first 64 KiB.
    let mut stalled = Command::new(agent_bin())
        .arg("--config")
        .arg(&config_path)
        .env("AGENT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoints = dir.path().join("data/tail/checkpoints.json");
    let acknowledged = crate::harness::wait_for(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&checkpoints).ok()?;
        text.contains(&format!("\"offset\": {size}")).then_some(())
    });
    assert!(acknowledged.is_some(), "the disk buffer acknowledged every line although the sink is stalled");
    let _ = Command::new("kill").args(["-s", "KILL", &stalled.id().to_string()]).status();
    let _ = stalled.wait();
    let report = Command::new(agent_bin())
        .args(["buffer", "verify"])
        .arg(dir.path().join("data/buffer/out"))
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "the buffer is healthy after SIGKILL:\n{}",
        String::from_utf8_lossy(&report.stdout)
    );

    let output = dir.path().join("output.log");
    let mut agent = Command::new(agent_bin())
        .arg("--config")
        .arg(&config_path)
        .env("AGENT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&output).unwrap())
        .spawn()
        .unwrap();
    let complete = crate::harness::wait_for(Duration::from_secs(60), || {
        let (seen, _) = delivered(&std::fs::read_to_string(&output).ok()?);
        (seen.len() >= 20_000).then_some(())
    });
    let _ = Command::new("kill").args(["-s", "TERM", &agent.id().to_string()]).status();
    assert!(agent.wait().unwrap().success());
    assert!(complete.is_some(), "every line came out of the disk buffer after the restart");
    let text = std::fs::read_to_string(&output).unwrap();
    let mut first_seen = Vec::new();
    let mut seen = BTreeSet::new();
    for number in
        text.lines().filter_map(|l| l.strip_prefix("line ")?.strip_suffix(" end")?.parse::<u64>().ok())
    {
        if seen.insert(number) {
            first_seen.push(number);
        }
    }
    assert!(first_seen.windows(2).all(|pair| pair[0] < pair[1]), "delivered in the order written");
}
