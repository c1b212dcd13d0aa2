//! W6 (two agents over HTTP) and the side-by-side runs against rsyslog, for the throughput
//! harness.
//!
//! W6: the harness posts NDJSON bodies of 1000 lines, over 4 keep-alive connections, to agent A's
//! `http_server`; A's `http` sink batches them (1000 events, JSON arrays) to agent B's
//! `http_server`, which feeds a `blackhole`. The clock starts when both agents listen and stops
//! when B's blackhole has counted every event on B's `/metrics`. Both agents' peak RSS is
//! reported. B is another agent rather than a bare HTTP server so that the receiving side is a
//! real pipeline too; its cost is on the same two cores, as it would be for a relay on one host.
//!
//! rsyslog (`rsyslogd -n` with its own config, no system sockets) does the same two jobs as our
//! agent, on the same input, in the same run:
//! - tcp -> file: lines over one TCP connection into `socket` -> `file` (text) against `imtcp`
//!   -> `omfile` writing `%rawmsg%`; done when the output file holds every line. imtcp's
//!   octet-counting detection is off: the Apache lines start with digits, and it would take
//!   their IP addresses for frame lengths;
//! - file -> tcp: a file read from the start by `file` -> `socket` (text, newline framing)
//!   against `imfile` -> `omfwd` (TCP, `%msg%`); done when a TCP receiver in the harness has
//!   counted every line.
//!
//! rsyslog runs twice: with its defaults, and with the main queue dequeuing batches of 1024
//! (`rsyslog-b1024`, see [`RSYSLOG_QUEUE`]). Runs alternate between the three. Every clock starts
//! when the process is spawned, as W4 and W5's do.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use strata_benches::{apache_line, json_line, lines};

use super::{free_port, hwm, median, metric};

/// `rsyslog-b1024` raises the batch the main queue hands its action from rsyslog's default to
/// 1024 messages, close to our batches of 1000, as rsyslog's tuning advice does for throughput.
const RSYSLOG_QUEUE: &str = r#"main_queue(queue.dequeueBatchSize="1024")"#;

/// A child process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_agent(agent: &Path, work: &Path, name: &str, config: &str) -> anyhow::Result<Proc> {
    let path = work.join(format!("{name}.toml"));
    std::fs::write(&path, config)?;
    let child = Command::new(agent)
        .arg("--config")
        .arg(&path)
        .env("AGENT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start the agent")?;
    Ok(Proc(child))
}

fn rsyslogd() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("rsyslogd"));
    on_path.chain([PathBuf::from("/usr/sbin/rsyslogd")]).find(|path| path.is_file())
}

fn spawn_rsyslog(rsyslogd: &Path, work: &Path, config: &str) -> anyhow::Result<Proc> {
    let path = work.join("rsyslog.conf");
    std::fs::write(&path, config)?;
    let child = Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&path)
        .arg("-i")
        .arg(work.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start rsyslogd")?;
    Ok(Proc(child))
}

fn wait_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on port {port}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Polls `done` until it holds, sampling every process's peak RSS; returns the time since
/// `started` and the peaks in KiB.
fn run_until(
    started: Instant,
    procs: &[&Proc],
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<(f64, Vec<i64>)> {
    let mut peaks = vec![0i64; procs.len()];
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        for (peak, proc) in peaks.iter_mut().zip(procs) {
            *peak = (*peak).max(hwm(proc.0.id()));
        }
        if done() {
            break;
        }
        if Instant::now() > deadline {
            bail!("the workload did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = started.elapsed().as_secs_f64();
    for (peak, proc) in peaks.iter_mut().zip(procs) {
        *peak = (*peak).max(hwm(proc.0.id()));
    }
    Ok((wall, peaks))
}

/// Counts the lines appended to a file, reading only what is new.
struct Tail {
    path: PathBuf,
    offset: u64,
    lines: usize,
}

impl Tail {
    fn new(path: PathBuf) -> Self {
        Self { path, offset: 0, lines: 0 }
    }

    fn lines(&mut self) -> usize {
        use std::io::{Seek, SeekFrom};
        if let Ok(mut file) = File::open(&self.path)
            && file.seek(SeekFrom::Start(self.offset)).is_ok()
        {
            let mut chunk = Vec::new();
            if file.read_to_end(&mut chunk).is_ok() {
                self.offset += chunk.len() as u64;
                self.lines += chunk.iter().filter(|b| **b == b'\n').count();
            }
        }
        self.lines
    }
}

/// A TCP receiver that counts non-empty lines over every connection it accepts.
fn line_counter() -> anyhow::Result<(u16, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut chunk = vec![0u8; 1 << 16];
                // Empty lines do not count, so a sender that adds its own newline to one already
                // there is not counted twice.
                let mut last = b'\n';
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut lines = 0;
                    for &byte in &chunk[..n] {
                        if byte == b'\n' && last != b'\n' {
                            lines += 1;
                        }
                        last = byte;
                    }
                    counted.fetch_add(lines, Ordering::Relaxed);
                }
            });
        }
    });
    Ok((port, count))
}

/// Writes about `mib` MiB of `line`s to `path`; returns (lines, bytes).
fn input(
    path: &Path,
    mib: usize,
    line: fn(&mut strata_benches::Lcg, &mut String),
) -> anyhow::Result<(usize, usize)> {
    let per_line = lines(1000, 7, line).len() / 1000;
    let count = mib * 1024 * 1024 / per_line;
    let text = lines(count, 42, line);
    std::fs::write(path, &text)?;
    Ok((count, text.len()))
}

/// One keep-alive HTTP/1.1 connection that POSTs bodies and reads the status of each answer.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(port: u16) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(Self { writer: stream.try_clone()?, reader: BufReader::new(stream) })
    }

    fn post(&mut self, body: &[u8]) -> anyhow::Result<u16> {
        write!(
            self.writer,
            "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        self.writer.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).context("no status line")?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut discard = vec![0u8; length];
        self.reader.read_exact(&mut discard)?;
        Ok(status)
    }
}

fn print_row(name: &str, bytes: usize, count: usize, walls: Vec<f64>, peaks: &[i64], what: &str) -> f64 {
    let (min, max) = walls.iter().fold((f64::MAX, 0f64), |(lo, hi), w| (lo.min(*w), hi.max(*w)));
    let secs = median(walls);
    let mib = bytes as f64 / 1048576.0;
    let rss: Vec<String> = peaks.iter().map(|p| format!("{:.1}", *p as f64 / 1024.0)).collect();
    println!(
        "{name:<26} {:>8.1} MiB/s ({:.1}-{:.1}) {:>10.0} events/s  peak RSS {} MiB   {what}",
        mib / secs,
        mib / max,
        mib / min,
        count as f64 / secs,
        rss.join(" + ")
    );
    mib / secs
}

/// W6: http_server -> http sink (batched) -> a second agent's http_server -> blackhole.
pub(crate) fn w6(agent: &Path, work: &Path, mib: usize, runs: usize) -> anyhow::Result<()> {
    const CONNECTIONS: usize = 4;
    const LINES_PER_BODY: usize = 1000;
    let path = work.join("w6.ndjson");
    let (count, bytes) = input(&path, mib, json_line)?;
    let text = std::fs::read(&path)?;
    let mut bodies = Vec::new();
    let mut start = 0;
    for (index, _) in
        text.iter().enumerate().filter(|(_, b)| **b == b'\n').skip(LINES_PER_BODY - 1).step_by(LINES_PER_BODY)
    {
        bodies.push(text[start..=index].to_vec());
        start = index + 1;
    }
    if start < text.len() {
        bodies.push(text[start..].to_vec());
    }
    drop(text);
    let bodies = Arc::new(bodies);
    let (mut walls, mut peaks) = (Vec::new(), vec![0i64; 2]);
    for _ in 0..runs {
        let (a_port, b_port, b_api) = (free_port()?, free_port()?, free_port()?);
        let receiver = spawn_agent(
            agent,
            work,
            "w6-b",
            &format!(
                "[api]\nenabled = true\naddress = \"127.0.0.1:{b_api}\"\n\
                 [sources.in]\ntype = \"http_server\"\naddress = \"127.0.0.1:{b_port}\"\npath = \"/ingest\"\n\
                 decoding.codec = \"bytes\"\nframing.method = \"newline_delimited\"\n\
                 [sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\nprint_interval_secs = 0\n"
            ),
        )?;
        let sender = spawn_agent(
            agent,
            work,
            "w6-a",
            &format!(
                "[sources.in]\ntype = \"http_server\"\naddress = \"127.0.0.1:{a_port}\"\npath = \"/ingest\"\n\
                 decoding.codec = \"json\"\nframing.method = \"newline_delimited\"\n\
                 [sinks.out]\ntype = \"http\"\ninputs = [\"in\"]\nuri = \"http://127.0.0.1:{b_port}/ingest\"\n\
                 encoding.codec = \"json\"\nframing.method = \"newline_delimited\"\nbatch.max_events = 1000\nbatch.timeout_secs = 0.5\nhealthcheck.enabled = false\n"
            ),
        )?;
        wait_port(a_port)?;
        wait_port(b_port)?;
        wait_port(b_api)?;
        let started = Instant::now();
        let posters: Vec<_> = (0..CONNECTIONS)
            .map(|first| {
                let bodies = bodies.clone();
                std::thread::spawn(move || -> anyhow::Result<()> {
                    let mut client = Client::connect(a_port)?;
                    for body in bodies.iter().skip(first).step_by(CONNECTIONS) {
                        let status = client.post(body)?;
                        if status != 200 {
                            bail!("the agent answered {status}");
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let (wall, run_peaks) = run_until(started, &[&sender, &receiver], || {
            metric(b_api, "component_received_events_total", "component_id=\"out\"")
                .is_some_and(|v| v as usize >= count)
        })?;
        for poster in posters {
            poster.join().map_err(|_| anyhow::anyhow!("a poster panicked"))??;
        }
        walls.push(wall);
        for (peak, run) in peaks.iter_mut().zip(run_peaks) {
            *peak = (*peak).max(run);
        }
    }
    print_row(
        "w6",
        bytes,
        count,
        walls,
        &peaks,
        "http_server -> http sink -> agent B http_server -> blackhole (RSS: A + B)",
    );
    Ok(())
}

/// Our agent and rsyslog doing tcp -> file and file -> tcp on the same input.
pub(crate) fn rsyslog(agent: &Path, work: &Path, mib: usize, runs: usize) -> anyhow::Result<()> {
    let Some(rsyslogd) = rsyslogd() else {
        println!("rsyslog side by side: skipped, rsyslogd is not installed (apt-get install rsyslog)");
        return Ok(());
    };
    let input_path = work.join("rsyslog-input.log");
    let (count, bytes) = input(&input_path, mib, apache_line)?;
    println!("rsyslog side by side ({}), {count} lines:", rsyslogd.display());
    const PEERS: [&str; 3] = ["strata", "rsyslog", "rsyslog-b1024"];
    let mut ratios = Vec::new();
    for job in ["tcp -> file", "file -> tcp"] {
        // Runs alternate between the peers, so that a noisy neighbour slows them alike.
        let mut walls = vec![Vec::new(); PEERS.len()];
        let mut peaks = vec![0i64; PEERS.len()];
        for _ in 0..runs {
            for (index, peer) in PEERS.iter().enumerate() {
                let dir = work.join(format!("rs-{peer}"));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)?;
                let (wall, peak) = if job == "tcp -> file" {
                    tcp_to_file(agent, &rsyslogd, peer, &dir, &input_path, count)?
                } else {
                    file_to_tcp(agent, &rsyslogd, peer, &dir, &input_path, count)?
                };
                walls[index].push(wall);
                peaks[index] = peaks[index].max(peak);
            }
        }
        let mut speeds = Vec::new();
        for (index, peer) in PEERS.iter().enumerate() {
            let what = match (job, *peer) {
                ("tcp -> file", "strata") => "socket -> file (text)",
                ("tcp -> file", _) => "imtcp -> omfile (%rawmsg%)",
                (_, "strata") => "file -> socket (text, newline)",
                _ => "imfile -> omfwd tcp (%msg%)",
            };
            let row = format!("{job} {peer}");
            speeds.push(print_row(&row, bytes, count, walls[index].clone(), &[peaks[index]], what));
        }
        for index in 1..PEERS.len() {
            let rss = peaks[0] as f64 / peaks[index].max(1) as f64;
            ratios.push((job, PEERS[index], speeds[0] / speeds[index], rss));
        }
    }
    for (job, peer, speed, rss) in ratios {
        println!("{job:<14} strata / {peer:<14} {speed:.2}x the MiB/s, {rss:.2}x the peak RSS");
    }
    Ok(())
}

fn tcp_to_file(
    agent: &Path,
    rsyslogd: &Path,
    peer: &str,
    dir: &Path,
    input: &Path,
    count: usize,
) -> anyhow::Result<(f64, i64)> {
    let port = free_port()?;
    let output = dir.join("out.log");
    let started = Instant::now();
    let queue = if peer == "rsyslog-b1024" { RSYSLOG_QUEUE } else { "" };
    let proc = if peer == "strata" {
        spawn_agent(
            agent,
            dir,
            "tcp-file",
            &format!(
                "[sources.in]\ntype = \"socket\"\nmode = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
                 [sinks.out]\ntype = \"file\"\ninputs = [\"in\"]\npath = {output:?}\nencoding.codec = \"text\"\n",
                output = output.display().to_string()
            ),
        )?
    } else {
        spawn_rsyslog(
            rsyslogd,
            dir,
            &format!(
                "global(workDirectory=\"{dir}\")\n{queue}\nmodule(load=\"imtcp\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" supportOctetCountedFraming=\"off\")\n\
                 template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
                 action(type=\"omfile\" file=\"{output}\" template=\"raw\")\n",
                dir = dir.display(),
                output = output.display()
            ),
        )?
    };
    wait_port(port)?;
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    let input = input.to_path_buf();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        std::io::copy(&mut File::open(&input)?, &mut stream)?;
        Ok(())
    });
    let mut tail = Tail::new(output);
    let (wall, peaks) = run_until(started, &[&proc], || tail.lines() >= count)?;
    sender.join().map_err(|_| anyhow::anyhow!("the sender panicked"))??;
    if tail.lines() != count {
        bail!("{peer} tcp -> file: {count} lines in, {} out", tail.lines());
    }
    Ok((wall, peaks[0]))
}

fn file_to_tcp(
    agent: &Path,
    rsyslogd: &Path,
    peer: &str,
    dir: &Path,
    input: &Path,
    count: usize,
) -> anyhow::Result<(f64, i64)> {
    let (port, received) = line_counter()?;
    let started = Instant::now();
    let queue = if peer == "rsyslog-b1024" { RSYSLOG_QUEUE } else { "" };
    let proc = if peer == "strata" {
        spawn_agent(
            agent,
            dir,
            "file-tcp",
            &format!(
                "data_dir = {dir:?}\n[sources.in]\ntype = \"file\"\ninclude = [{input:?}]\nread_from = \"beginning\"\nmax_read_bytes = 131072\n\
                 [sinks.out]\ntype = \"socket\"\ninputs = [\"in\"]\nmode = \"tcp\"\naddress = \"127.0.0.1:{port}\"\nencoding.codec = \"text\"\n",
                dir = dir.display().to_string(),
                input = input.display().to_string()
            ),
        )?
    } else {
        spawn_rsyslog(
            rsyslogd,
            dir,
            &format!(
                "global(workDirectory=\"{dir}\")\n{queue}\nmodule(load=\"imfile\")\n\
                 input(type=\"imfile\" file=\"{input}\" tag=\"bench\")\n\
                 template(name=\"raw\" type=\"string\" string=\"%msg%\\n\")\n\
                 action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" template=\"raw\")\n",
                dir = dir.display(),
                input = input.display()
            ),
        )?
    };
    let (wall, peaks) = run_until(started, &[&proc], || received.load(Ordering::Relaxed) >= count)?;
    let got = received.load(Ordering::Relaxed);
    if got != count {
        bail!("{peer} file -> tcp: {count} lines in, {got} out");
    }
    Ok((wall, peaks[0]))
}
