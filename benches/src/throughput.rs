//! End-to-end throughput harness: pushes a fixed volume through the real `agent` binary and
//! prints MiB/s, events/s and peak RSS for each workload, next to a floor measured in the same
//! run (`wc -l` over the same input).
//!
//! `cargo build --release -p agent && cargo run --release -p strata-benches --bin throughput`
//! Options: `--agent PATH`, `--mib N` (input size, default 256), `--runs N` (default 3),
//! `--workloads w1,w2,w2-blackhole,w3,w4,w5,w6,rsyslog`.
//!
//! W4 (file -> file, checkpoints on) and W5 (TCP socket -> blackhole) have no end of input: the
//! harness times them until the output holds every line (W4) or the sink has counted every event
//! on `/metrics` (W5), then stops the agent.
//!
//! W6 (http_server -> http sink -> a second agent) and `rsyslog` (the same jobs done by our agent
//! and by rsyslog, side by side) live in `side_by_side.rs`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use strata_benches::{apache_line, json_line, lines};

mod side_by_side;

struct Workload {
    name: &'static str,
    description: &'static str,
    config: &'static str,
    line: fn(&mut strata_benches::Lcg, &mut String),
    /// Whether the output (stdout) is written to a file, and checked line by line.
    writes_output: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "w4",
        description: "file -> file json, checkpoints on",
        config: "",
        line: apache_line,
        writes_output: false,
    },
    Workload {
        name: "w5",
        description: "socket tcp -> blackhole",
        config: "",
        line: apache_line,
        writes_output: false,
    },
    Workload {
        name: "w1",
        description: "stdin -> blackhole, raw lines",
        config: "w1.toml",
        line: apache_line,
        writes_output: false,
    },
    Workload {
        name: "w2",
        description: "stdin -> remap(parse_json, add, del) -> console json -> file",
        config: "w2.toml",
        line: json_line,
        writes_output: true,
    },
    Workload {
        name: "w2-blackhole",
        description: "stdin -> remap(parse_json, add, del) -> blackhole",
        config: "w2-blackhole.toml",
        line: json_line,
        writes_output: false,
    },
    Workload {
        name: "w3",
        description: "stdin -> remap(parse_regex, Apache common) -> blackhole",
        config: "w3.toml",
        line: apache_line,
        writes_output: false,
    },
];

struct Run {
    wall: Duration,
    peak_rss_kib: i64,
}

/// Runs `command` with stdin from `input` and stdout to `output`; returns wall time and the
/// child's peak RSS from `wait4`.
fn measure(command: &mut Command, input: &Path, output: &Path) -> anyhow::Result<Run> {
    let started = Instant::now();
    let child = command
        .stdin(File::open(input)?)
        .stdout(File::create(output)?)
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the command")?;
    // The child's own high-water mark, sampled from /proc while it runs: `wait4`'s ru_maxrss
    // would also count the harness's pages the child briefly shares between fork and exec.
    let status_path = format!("/proc/{}/status", child.id());
    let sampler = std::thread::spawn(move || {
        let mut peak = 0i64;
        while let Ok(status) = std::fs::read_to_string(&status_path) {
            let hwm = status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok());
            match hwm {
                Some(hwm) => peak = peak.max(hwm),
                None => break,
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let mut status = 0;
    // SAFETY: waiting on our own child's pid with valid pointers; rusage may be null.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, std::ptr::null_mut()) };
    let wall = started.elapsed();
    let peak_rss_kib = sampler.join().unwrap_or(0);
    if pid < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("the command failed with status {status}");
    }
    Ok(Run { wall, peak_rss_kib })
}

/// Peak RSS of a running process so far, in KiB.
fn hwm(pid: u32) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn metric(port: u16, name: &str, label: &str) -> Option<f64> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    body.lines()
        .find(|l| l.starts_with(name) && l.contains(label))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Runs the agent on `config` until `done` says so; returns wall time and peak RSS.
fn measure_until(
    agent: &Path,
    config: &str,
    work: &Path,
    start: impl FnOnce() -> anyhow::Result<()>,
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<Run> {
    let config_path = work.join("live.toml");
    std::fs::write(&config_path, config)?;
    let started = Instant::now();
    let mut child = Command::new(agent)
        .arg("--config")
        .arg(&config_path)
        .env("AGENT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?;
    start()?;
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !done() {
        peak = peak.max(hwm(child.id()));
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the workload did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = started.elapsed();
    peak = peak.max(hwm(child.id()));
    let _ = child.kill();
    let _ = child.wait();
    Ok(Run { wall, peak_rss_kib: peak })
}

/// W4: a file tailed from the beginning into a file sink as JSON, with checkpoints.
fn w4(agent: &Path, input: &Path, count: usize, work: &Path) -> anyhow::Result<Run> {
    let data = work.join("w4-data");
    let output = work.join("w4.out");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(&output);
    std::fs::create_dir_all(&data)?;
    let config = format!(
        "data_dir = {data:?}\n[sources.in]\ntype = \"file\"\ninclude = [{input:?}]\nread_from = \"beginning\"\nmax_read_bytes = 131072\n\
         [sinks.out]\ntype = \"file\"\ninputs = [\"in\"]\npath = {output:?}\nencoding.codec = \"json\"\n",
        data = data.display().to_string(),
        input = input.display().to_string(),
        output = output.display().to_string(),
    );
    let mut seen = 0usize;
    let mut offset = 0u64;
    measure_until(
        agent,
        &config,
        work,
        || Ok(()),
        || {
            // Count new lines incrementally: rereading the whole output would dominate the run.
            if let Ok(mut file) = File::open(&output) {
                use std::io::{Read, Seek, SeekFrom};
                if file.seek(SeekFrom::Start(offset)).is_ok() {
                    let mut chunk = Vec::new();
                    if file.read_to_end(&mut chunk).is_ok() {
                        offset += chunk.len() as u64;
                        seen += chunk.iter().filter(|b| **b == b'\n').count();
                    }
                }
            }
            seen >= count
        },
    )
}

/// W5: lines over one TCP connection into a socket source, counted by a blackhole.
fn w5(agent: &Path, input: &Path, count: usize, work: &Path) -> anyhow::Result<Run> {
    let (port, api) = (free_port()?, free_port()?);
    let config = format!(
        "[api]\nenabled = true\naddress = \"127.0.0.1:{api}\"\n[sources.in]\ntype = \"socket\"\nmode = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
         [sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\nprint_interval_secs = 0\n"
    );
    let input = input.to_path_buf();
    measure_until(
        agent,
        &config,
        work,
        move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut stream = loop {
                match std::net::TcpStream::connect(("127.0.0.1", port)) {
                    Ok(stream) => break stream,
                    Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                    Err(error) => bail!("cannot connect to the socket source: {error}"),
                }
            };
            std::thread::spawn(move || {
                if let Ok(mut file) = File::open(&input) {
                    let _ = std::io::copy(&mut file, &mut stream);
                }
            });
            Ok(())
        },
        || {
            metric(api, "component_received_events_total", "component_id=\"out\"")
                .is_some_and(|v| v as usize >= count)
        },
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn count_lines(path: &Path) -> anyhow::Result<usize> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.iter().filter(|b| **b == b'\n').count())
}

/// RSS of the quickstart pipeline after it has settled, in KiB.
fn idle_rss(agent: &Path, repo: &Path) -> anyhow::Result<u64> {
    let mut child = Command::new(agent)
        .arg("--config")
        .arg(repo.join("config-examples/quickstart.toml"))
        .env("AGENT_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(5));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    let _ = child.kill();
    let _ = child.wait();
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .context("no VmRSS")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("benches/ has a parent")?.to_path_buf();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo.join("target"));
    let agent = option("--agent").map(PathBuf::from).unwrap_or_else(|| target.join("release/agent"));
    let mib: usize = option("--mib").map(|v| v.parse()).transpose()?.unwrap_or(256);
    let runs: usize = option("--runs").map(|v| v.parse()).transpose()?.unwrap_or(3);
    let selected = option("--workloads").unwrap_or_else(|| "w1,w2,w2-blackhole,w3,w4,w5,w6,rsyslog".into());
    if !agent.is_file() {
        bail!("no agent binary at {} (build it with `cargo build --release -p agent`)", agent.display());
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let work = tempfile::tempdir()?;
    println!("machine: {cores} cores; input {mib} MiB per workload; median of {runs} runs");
    println!(
        "{:<14} {:>9} {:>12} {:>10} {:>9} {:>14} {:>12}",
        "workload", "MiB/s", "events/s", "peak RSS", "floor", "floor MiB/s", "vs floor"
    );
    for workload in WORKLOADS.iter().filter(|w| selected.split(',').any(|s| s == w.name)) {
        // Generate about `mib` MiB of lines.
        let sample = lines(1000, 7, workload.line);
        let per_line = sample.len() / 1000;
        let count = mib * 1024 * 1024 / per_line;
        let input = work.path().join(format!("{}.log", workload.name));
        let mut file = File::create(&input)?;
        let text = lines(count, 42, workload.line);
        file.write_all(text.as_bytes())?;
        drop(file);
        let bytes = text.len() as f64;
        drop(text);
        let output = work.path().join(format!("{}.out", workload.name));
        let config = repo.join("benches/configs").join(workload.config);

        let mut agent_secs = Vec::new();
        let mut floor_secs = Vec::new();
        let mut peak = 0;
        for _ in 0..runs {
            let floor = measure(Command::new("wc").arg("-l"), &input, &output)?;
            floor_secs.push(floor.wall.as_secs_f64());
            if workload.name == "w4" || workload.name == "w5" {
                let run = if workload.name == "w4" {
                    w4(&agent, &input, count, work.path())?
                } else {
                    w5(&agent, &input, count, work.path())?
                };
                agent_secs.push(run.wall.as_secs_f64());
                peak = peak.max(run.peak_rss_kib);
                continue;
            }
            let mut command = Command::new(&agent);
            command.arg("--config").arg(&config).env("AGENT_LOG", "warn");
            let run = measure(&mut command, &input, &output)?;
            agent_secs.push(run.wall.as_secs_f64());
            peak = peak.max(run.peak_rss_kib);
            if workload.writes_output {
                let written = count_lines(&output)?;
                if written != count {
                    bail!("{}: {count} lines in, {written} out", workload.name);
                }
            }
        }
        let secs = median(agent_secs);
        let floor = median(floor_secs);
        let mib_s = bytes / 1048576.0 / secs;
        let floor_mib_s = bytes / 1048576.0 / floor;
        println!(
            "{:<14} {:>9.1} {:>12.0} {:>7.1} MiB {:>8.3}s {:>14.1} {:>11.2}x   {}",
            workload.name,
            mib_s,
            count as f64 / secs,
            peak as f64 / 1024.0,
            floor,
            floor_mib_s,
            floor / secs,
            workload.description
        );
    }
    if selected.split(',').any(|s| s == "w6") {
        side_by_side::w6(&agent, work.path(), mib, runs)?;
    }
    if selected.split(',').any(|s| s == "rsyslog") {
        side_by_side::rsyslog(&agent, work.path(), mib, runs)?;
    }
    if selected.contains("idle") || option("--workloads").is_none() {
        let rss = idle_rss(&agent, &repo)?;
        println!("idle quickstart pipeline RSS after 5 s: {:.1} MiB", rss as f64 / 1024.0);
    }
    Ok(())
}
