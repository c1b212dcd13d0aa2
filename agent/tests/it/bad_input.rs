//! Bad input through the real binary: malformed, binary and oversized frames, a flood of
//! connections, a slow-loris client, hostile HTTP bodies, and paths that are not readable files.
//! Each is refused and counted on `/metrics`, the agent keeps running with bounded memory, and
//! good events sent before and after still arrive.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Agent, Options, free_port, http_get, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A generous bound on the agent's peak RSS. The debug build idles at a few tens of MiB; the
/// bad inputs below are 10 MiB to 64 MiB each, so an agent that buffered one whole (or held
/// 10,000 connections' read buffers) would pass it.
const PEAK_RSS_BOUND_KIB: u64 = 256 * 1024;

fn api_section(port: u16) -> String {
    format!("[api]\nenabled = true\naddress = \"127.0.0.1:{port}\"\n")
}

/// The sum over every series of `name` whose labels contain all of `labels`.
fn metric_sum(api: u16, name: &str, labels: &[&str]) -> Option<f64> {
    let body = http_get(api, "/metrics")?;
    let values: Vec<f64> = body
        .lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with('{'))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// Waits until the metric reaches `at_least`; returns its value then.
fn wait_metric(agent: &Agent, api: u16, name: &str, labels: &[&str], at_least: f64) -> f64 {
    wait_for(TIMEOUT, || metric_sum(api, name, labels).filter(|v| *v >= at_least)).unwrap_or_else(|| {
        panic!(
            "{name}{labels:?} never reached {at_least} (last {:?}); stderr:\n{}",
            metric_sum(api, name, labels),
            agent.stderr_text()
        )
    })
}

/// The agent's peak resident memory so far (`VmHWM`), in KiB.
fn peak_rss_kib(agent: &Agent) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", agent.child.id())).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Asserts the agent is still running, its current and peak memory within the bound.
fn assert_alive_and_bounded(agent: &mut Agent) {
    assert!(
        agent.child.try_wait().expect("wait works").is_none(),
        "the agent keeps running; stderr:\n{}",
        agent.stderr_text()
    );
    let (rss, peak) = (agent.rss_kib(), peak_rss_kib(agent));
    assert!(rss > 0 && rss < PEAK_RSS_BOUND_KIB, "VmRSS {rss} KiB");
    assert!(peak < PEAK_RSS_BOUND_KIB, "VmHWM {peak} KiB");
}

fn connect(port: u16) -> TcpStream {
    wait_for(TIMEOUT, || TcpStream::connect(("127.0.0.1", port)).ok()).expect("the source listens")
}

/// `len` bytes of deterministic binary noise with no newline, starting with a byte that is not a
/// digit (so octet-counting framing reads it as a line).
fn garbage(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = vec![0xff];
    while out.len() < len {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let byte = (state >> 56) as u8;
        if byte != b'\n' {
            out.push(byte);
        }
    }
    out
}

fn lines_with(agent: &Agent, count: usize) -> Vec<String> {
    let lines = agent.wait_for_lines(count, TIMEOUT);
    assert!(lines.len() >= count, "{count} lines expected, got {lines:?}; stderr:\n{}", agent.stderr_text());
    lines
}

#[test]
fn syslog_tcp_refuses_malformed_binary_and_oversized_frames_and_goes_on() {
    let (port, api) = (free_port(), free_port());
    let config = format!(
        r#"{api}
[sources.in]
type = "syslog"
mode = "tcp"
address = "127.0.0.1:{port}"
max_length = 1024

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "json"
"#,
        api = api_section(api)
    );
    let mut agent = Agent::start_with(&config, Options { log_level: "warn", ..Default::default() });
    let mut stream = connect(port);
    stream.write_all(b"<13>1 2026-11-25T10:00:00Z web01 shop - - - before\n").unwrap();
    lines_with(&agent, 1);

    // Three lines that are not syslog, then binary noise under the length limit.
    stream.write_all(b"hello world\n<34>\n<13>1 bad\n").unwrap();
    stream.write_all(&garbage(500)).unwrap();
    stream.write_all(b"\n").unwrap();
    // A 10 MiB line, far over `max_length`, in pieces; then an octet-counted frame over it.
    let piece = vec![b'x'; 1 << 20];
    for _ in 0..10 {
        stream.write_all(&piece).unwrap();
    }
    stream.write_all(b"\n").unwrap();
    stream.write_all(format!("5000 {}", "y".repeat(5000)).as_bytes()).unwrap();
    // The same connection goes on, and so does a new one.
    stream.write_all(b"<13>1 2026-11-25T10:00:01Z web01 shop - - - after\n").unwrap();
    let mut second = connect(port);
    second.write_all(b"<13>1 2026-11-25T10:00:02Z web02 cart - - - after, new connection\n").unwrap();

    let lines = lines_with(&agent, 3);
    let events: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let messages: BTreeSet<&str> = events.iter().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(messages, BTreeSet::from(["before", "after", "after, new connection"]), "{lines:?}");
    assert!(events.iter().all(|e| e["appname"] == "shop" || e["appname"] == "cart"), "{lines:?}");

    let in_ = r#"component_id="in""#;
    wait_metric(&agent, api, "component_discarded_events_total", &[in_], 6.0);
    let decode = metric_sum(api, "component_errors_total", &[in_, r#"error_type="decode_failed""#]);
    let oversized = metric_sum(api, "component_errors_total", &[in_, r#"error_type="oversized""#]);
    assert_eq!(decode, Some(4.0), "three malformed lines and the binary one");
    assert_eq!(oversized, Some(2.0), "the long line and the long octet-counted frame");
    assert_eq!(metric_sum(api, "component_discarded_events_total", &[in_]), Some(6.0));
    assert_eq!(agent.stdout_lines().len(), 3, "nothing else came out");
    assert_alive_and_bounded(&mut agent);
}

/// Raises this process's soft limit on open files to its hard limit; the agent inherits it.
fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a valid, owned struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_cur
}

/// True while the server has not closed the connection.
fn is_open(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    stream.set_nonblocking(true).expect("nonblocking");
    let open = matches!(stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("blocking");
    open
}

#[test]
fn socket_tcp_holds_at_most_max_connections_of_a_10000_connection_flood() {
    const FLOOD: usize = 10_000;
    const LIMIT: usize = 100;
    let limit = raise_nofile_limit();
    assert!(limit > FLOOD as u64 + 1000, "RLIMIT_NOFILE hard limit {limit} is too low for the flood");
    let (port, api) = (free_port(), free_port());
    let config = format!(
        r#"{api}
[sources.in]
type = "socket"
mode = "tcp"
address = "127.0.0.1:{port}"
max_connections = {LIMIT}

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "text"
"#,
        api = api_section(api)
    );
    let mut agent = Agent::start_with(&config, Options { log_level: "error", ..Default::default() });
    connect(port).write_all(b"before\n").unwrap();
    lines_with(&agent, 1);
    // The first client's connection is over before the flood, so every permit is free.
    wait_for(TIMEOUT, || {
        metric_sum(api, "open_connections", &[r#"component_id="in""#]).filter(|v| *v == 0.0)
    })
    .expect("the first connection is released");

    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut clients = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        // A full accept queue drops the handshake and the kernel retries it; a few tries cover that.
        let stream = (0..5).find_map(|_| TcpStream::connect_timeout(&address, Duration::from_secs(10)).ok());
        clients.push(stream.expect("the kernel completes the connection"));
    }
    let in_ = r#"component_id="in""#;
    wait_metric(&agent, api, "connections_refused_total", &[in_], (FLOOD - LIMIT) as f64);
    assert_eq!(metric_sum(api, "open_connections", &[in_]), Some(LIMIT as f64));
    let open = wait_for(TIMEOUT, || {
        let open: Vec<usize> = (0..FLOOD).filter(|&i| is_open(&mut clients[i])).collect();
        (open.len() <= LIMIT).then_some(open)
    })
    .expect("the agent closed every connection beyond the limit");
    assert_eq!(open.len(), LIMIT, "the first {LIMIT} stay open");
    // What the agent itself holds: its file descriptors, sockets included.
    let fds = std::fs::read_dir(format!("/proc/{}/fd", agent.child.id())).map(|d| d.count()).unwrap_or(0);
    assert!(fds > LIMIT && fds < LIMIT + 100, "the agent holds {fds} descriptors with {LIMIT} connections");
    assert!(
        wait_metric(
            &agent,
            api,
            "component_errors_total",
            &[in_, r#"error_type="connection_limit_reached""#],
            1.0
        ) >= (FLOOD - LIMIT) as f64
    );
    // A held connection still works.
    clients[open[0]].write_all(b"held\n").unwrap();
    lines_with(&agent, 2);
    assert_alive_and_bounded(&mut agent);

    drop(clients);
    wait_for(TIMEOUT, || metric_sum(api, "open_connections", &[in_]).filter(|v| *v == 0.0))
        .expect("every connection is released");
    connect(port).write_all(b"after\n").unwrap();
    let lines = lines_with(&agent, 3);
    assert_eq!(lines, vec!["before", "held", "after"]);
    assert_alive_and_bounded(&mut agent);
}

#[test]
fn socket_tcp_bounds_a_slow_loris_by_the_line_limit_and_the_idle_timeout() {
    let (port, api) = (free_port(), free_port());
    let config = format!(
        r#"{api}
[sources.in]
type = "socket"
mode = "tcp"
address = "127.0.0.1:{port}"
max_length = 8
connection_timeout_secs = 3

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "text"
"#,
        api = api_section(api)
    );
    let mut agent = Agent::start_with(&config, Options { log_level: "warn", ..Default::default() });
    let mut loris = connect(port);
    let started = Instant::now();
    // One byte a second and never a newline: never silent long enough for the idle timeout, so
    // the line limit must end its frame. Then it goes quiet, and the idle timeout must close it.
    let slow = std::thread::spawn(move || {
        for _ in 0..12 {
            loris.write_all(b"a")?;
            std::thread::sleep(Duration::from_secs(1));
        }
        loris.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut rest = Vec::new();
        loris.read_to_end(&mut rest).map(|_| rest)
    });
    // A well-behaved client gets through while the slow one is mid-frame.
    connect(port).write_all(b"good 1\n").unwrap();
    assert_eq!(lines_with(&agent, 1), vec!["good 1"]);
    assert!(!slow.is_finished(), "the loris still holds its connection");

    let in_ = r#"component_id="in""#;
    wait_metric(&agent, api, "component_errors_total", &[in_, r#"error_type="oversized""#], 1.0);
    assert!(started.elapsed() >= Duration::from_secs(8), "the frame passed 8 bytes only after 8 s");
    connect(port).write_all(b"good 2\n").unwrap();
    assert_eq!(lines_with(&agent, 2), vec!["good 1", "good 2"]);

    let closed = slow.join().expect("the loris thread");
    assert_eq!(closed.expect("the agent closed the connection"), Vec::<u8>::new());
    assert!(started.elapsed() >= Duration::from_secs(12), "closed only after it went quiet");
    assert!(wait_metric(&agent, api, "connections_timed_out_total", &[in_], 1.0) >= 1.0);
    assert_eq!(agent.stdout_lines(), vec!["good 1", "good 2"], "none of the loris's bytes became an event");
    assert_alive_and_bounded(&mut agent);
}

/// POSTs `body` with curl; returns the status code and the response body.
fn curl_post(port: u16, body: &Path, headers: &[&str]) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}", "--data-binary"])
        .arg(format!("@{}", body.display()));
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.arg(format!("http://127.0.0.1:{port}/ingest")).output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn http_server_answers_bad_json_400_and_bombs_and_oversized_bodies_413() {
    use flate2::{Compression, write::GzEncoder};
    let (port, api) = (free_port(), free_port());
    let config = format!(
        r#"{api}
[sources.in]
type = "http_server"
address = "127.0.0.1:{port}"
path = "/ingest"
decoding.codec = "json"
max_body_bytes = 1048576

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "text"
"#,
        api = api_section(api)
    );
    let mut agent = Agent::start_with(&config, Options { log_level: "warn", ..Default::default() });
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let before = file("before.json", br#"{"message":"before"}"#);
    assert_eq!(
        wait_for(TIMEOUT, || Some(curl_post(port, &before, &[])).filter(|(c, _)| *c == 200)).map(|r| r.0),
        Some(200)
    );
    assert_eq!(lines_with(&agent, 1), vec!["before"]);

    let (code, message) = curl_post(port, &file("bad.json", br#"{"message": "oops"#), &[]);
    assert_eq!(code, 400, "{message}");
    assert!(message.to_lowercase().contains("json"), "the answer says what is wrong: {message:?}");

    // 64 MiB of spaces gzip to about 64 KiB: under the limit on the wire, far over it unpacked.
    let mut bomb = GzEncoder::new(Vec::new(), Compression::best());
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..64 {
        bomb.write_all(&spaces).unwrap();
    }
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "the bomb is small: {} bytes", bomb.len());
    let (code, message) = curl_post(port, &file("bomb.gz", &bomb), &["Content-Encoding: gzip"]);
    assert_eq!(code, 413, "{message}");
    assert!(message.contains("limit"), "{message:?}");

    let big = file("big.json", &vec![b' '; 2 << 20]);
    let (code, message) = curl_post(port, &big, &[]);
    assert_eq!(code, 413, "declared length over the limit: {message}");
    let (code, message) = curl_post(port, &big, &["Transfer-Encoding: chunked"]);
    assert_eq!(code, 413, "chunked, no declared length: {message}");

    let after = file("after.json", br#"{"message":"after"}"#);
    assert_eq!(curl_post(port, &after, &[]).0, 200);
    assert_eq!(lines_with(&agent, 2), vec!["before", "after"]);

    let in_ = r#"component_id="in""#;
    let errors =
        |kind: &str| metric_sum(api, "component_errors_total", &[in_, &format!("error_type=\"{kind}\"")]);
    wait_metric(&agent, api, "component_discarded_events_total", &[in_], 4.0);
    assert_eq!(errors("decode_failed"), Some(1.0));
    assert_eq!(errors("oversized"), Some(3.0));
    assert_alive_and_bounded(&mut agent);
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn file_config(api: u16, dir: &Path, data: &Path) -> String {
    format!(
        r#"data_dir = "{data}"
{api}
[sources.in]
type = "file"
include = ["{dir}/*.log"]
glob_minimum_cooldown_ms = 100

[sinks.out]
type = "console"
inputs = ["in"]
encoding.codec = "text"
"#,
        api = api_section(api),
        dir = dir.display(),
        data = data.display()
    )
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn wait_for_set(agent: &Agent, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    let seen = wait_for(TIMEOUT, || {
        let lines = agent.stdout_lines();
        (lines.iter().cloned().collect::<BTreeSet<_>>() == expected).then_some(lines)
    });
    let lines = seen.unwrap_or_else(|| {
        panic!("expected {expected:?}, got {:?}; stderr:\n{}", agent.stdout_lines(), agent.stderr_text())
    });
    assert_eq!(lines.len(), expected.len(), "none twice: {lines:?}");
}

/// A FIFO, a link to it and a dangling link matched by the pattern are skipped (a FIFO opened for
/// reading would block the reader until a writer came); a tailed file replaced by a directory is
/// let go, and nothing inside the directory is read. The other files go on being tailed.
#[test]
fn file_source_skips_fifos_dangling_links_and_a_file_turned_directory() {
    let root = tempfile::tempdir().unwrap();
    let (dir, data) = (root.path().join("in"), root.path().join("data"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    append(&dir.join("a.log"), "a1\n");
    append(&dir.join("b.log"), "b1\n");
    std::os::unix::fs::symlink(root.path().join("nowhere"), dir.join("dangling.log")).unwrap();
    mkfifo(&dir.join("fifo.log"));
    std::os::unix::fs::symlink(dir.join("fifo.log"), dir.join("to-fifo.log")).unwrap();
    let api = free_port();
    let mut agent = Agent::start_with(
        &file_config(api, &dir, &data),
        Options { log_level: "warn", ..Default::default() },
    );
    wait_for_set(&agent, &["a1", "b1"]);

    std::fs::remove_file(dir.join("b.log")).unwrap();
    std::fs::create_dir(dir.join("b.log")).unwrap();
    append(&dir.join("b.log").join("inner.log"), "inner\n");
    append(&dir.join("a.log"), "a2\n");
    append(&dir.join("c.log"), "c1\n");
    wait_for_set(&agent, &["a1", "b1", "a2", "c1"]);
    // Later searches still find new files; by then the directory has been seen many times.
    std::thread::sleep(Duration::from_millis(500));
    append(&dir.join("d.log"), "d1\n");
    wait_for_set(&agent, &["a1", "b1", "a2", "c1", "d1"]);
    assert_eq!(
        metric_sum(api, "component_errors_total", &[r#"component_id="in""#]).unwrap_or(0.0),
        0.0,
        "skipping what is not a regular file is not an error"
    );
    assert_alive_and_bounded(&mut agent);
}

/// An unreadable file is counted and retried, and read once it becomes readable. `chmod 000`
/// does not stop root (CAP_DAC_OVERRIDE), and these tests run as root on CI: then the agent runs
/// as `nobody` (uid 65534), for whom the mode does apply.
#[test]
fn file_source_counts_an_unreadable_file_and_reads_it_once_it_is_readable() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: getuid has no preconditions.
    let root_user = unsafe { libc::getuid() } == 0;
    let root = tempfile::tempdir().unwrap();
    let (dir, data) = (root.path().join("in"), root.path().join("data"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let mode =
        |path: &Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    for path in [root.path(), &dir, &data] {
        mode(path, 0o777);
    }
    append(&dir.join("public.log"), "public 1\n");
    append(&dir.join("secret.log"), "secret 1\n");
    mode(&dir.join("secret.log"), 0o000);
    let api = free_port();
    let options = Options { log_level: "warn", uid: root_user.then_some(65534), ..Default::default() };
    let mut agent = Agent::start_with(&file_config(api, &dir, &data), options);
    wait_for_set(&agent, &["public 1"]);
    let in_ = r#"component_id="in""#;
    wait_metric(&agent, api, "component_errors_total", &[in_, r#"error_type="file_unreadable""#], 1.0);
    assert!(agent.wait_for_stderr("secret.log", TIMEOUT), "the log names the file:\n{}", agent.stderr_text());

    append(&dir.join("public.log"), "public 2\n");
    wait_for_set(&agent, &["public 1", "public 2"]);
    mode(&dir.join("secret.log"), 0o644);
    wait_for_set(&agent, &["public 1", "public 2", "secret 1"]);
    assert_alive_and_bounded(&mut agent);
}
