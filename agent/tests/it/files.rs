//! Many files at once through the binary: 1,000 files tailed by one `file` source with a glob
//! into a `file` sink; every line arrives exactly once, and so do lines appended afterwards.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Agent, Options, wait_for};

const FILES: usize = 1000;
const LINES: usize = 500;
/// How many of the files get more lines once the first lines are in.
const APPENDED_FILES: usize = 100;
const APPENDED_LINES: usize = 20;

fn line(file: usize, n: usize) -> String {
    format!("file {file:04} line {n:04}")
}

/// How many times each line occurs in the sink's output.
fn line_counts(output: &Path) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(output).unwrap_or_default();
    let mut counts = HashMap::new();
    // The last line may still be partly written: only count complete ones.
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    for line in complete.lines() {
        *counts.entry(line.to_owned()).or_insert(0) += 1;
    }
    counts
}

fn wait_for_total(agent: &Agent, output: &Path, total: usize, timeout: Duration) -> HashMap<String, usize> {
    wait_for(timeout, || {
        let counts = line_counts(output);
        (counts.values().sum::<usize>() >= total).then_some(counts)
    })
    .unwrap_or_else(|| {
        let got: usize = line_counts(output).values().sum();
        panic!("{got} of {total} lines arrived; stderr:\n{}", agent.stderr_text())
    })
}

#[test]
fn a_thousand_files_tailed_at_once_deliver_every_line_exactly_once() {
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let (dir, data, output) =
        (root.path().join("logs"), root.path().join("data"), root.path().join("out.log"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let path = |file: usize| dir.join(format!("app-{file:04}.log"));
    for file in 0..FILES {
        let text: String = (0..LINES).map(|n| line(file, n) + "\n").collect();
        std::fs::write(path(file), text).unwrap();
    }
    let config = format!(
        r#"data_dir = "{data}"

[sources.in]
type = "file"
include = ["{dir}/app-*.log"]
glob_minimum_cooldown_ms = 200

[sinks.out]
type = "file"
inputs = ["in"]
path = "{output}"
encoding.codec = "text"
"#,
        data = data.display(),
        dir = dir.display(),
        output = output.display()
    );
    let mut agent = Agent::start_with(&config, Options { log_level: "warn", ..Default::default() });
    let first = FILES * LINES;
    let counts = wait_for_total(&agent, &output, first, Duration::from_secs(60));
    for file in 0..FILES {
        for n in 0..LINES {
            assert_eq!(counts.get(&line(file, n)), Some(&1), "{} arrives exactly once", line(file, n));
        }
    }
    assert_eq!(counts.len(), first, "nothing else arrived");

    // Every tenth file gets more lines, in two rounds, with the other files still open.
    let sample: Vec<usize> = (0..FILES).step_by(FILES / APPENDED_FILES).collect();
    for round in 0..2 {
        for &file in &sample {
            let mut handle = std::fs::OpenOptions::new().append(true).open(path(file)).unwrap();
            let half = APPENDED_LINES / 2;
            let text: String =
                (LINES + round * half..LINES + (round + 1) * half).map(|n| line(file, n) + "\n").collect();
            handle.write_all(text.as_bytes()).unwrap();
        }
    }
    let total = first + sample.len() * APPENDED_LINES;
    let counts = wait_for_total(&agent, &output, total, Duration::from_secs(60));
    for &file in &sample {
        for n in LINES..LINES + APPENDED_LINES {
            assert_eq!(
                counts.get(&line(file, n)),
                Some(&1),
                "appended {} arrives exactly once",
                line(file, n)
            );
        }
    }
    assert_eq!(counts.len(), total, "every line once, nothing else");
    assert_eq!(counts.values().sum::<usize>(), total, "no line twice");

    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success(), "stderr:\n{}", agent.stderr_text());
    assert_eq!(line_counts(&output).values().sum::<usize>(), total, "shutdown wrote nothing twice");
    eprintln!("1,000 files: {:?}", started.elapsed());
}
