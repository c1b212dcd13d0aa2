//! rsyslog as a real syslog peer: rsyslogd takes lines in through `imtcp` and `imfile` and
//! forwards them as RFC 5424 (`RSYSLOG_SyslogProtocol23Format`) over TCP (octet-counted) and UDP
//! into our `syslog` source, which must parse the message, hostname and appname.
//!
//! rsyslogd runs in the foreground with its own config, pid file and work directory on free
//! loopback ports, and loads no module that touches the system (`imuxsock`, `imklog`). `.ci/run`
//! installs rsyslog where it is missing.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{Agent, Options, free_port, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);
/// The name rsyslog puts in `HOSTNAME` for what it reads itself (the `imfile` lines).
const PEER_HOST: &str = "rsyslog-peer";

/// rsyslogd lives in /usr/sbin, which is not on every user's PATH.
fn rsyslogd() -> &'static str {
    if Path::new("/usr/sbin/rsyslogd").is_file() { "/usr/sbin/rsyslogd" } else { "rsyslogd" }
}

/// A running rsyslogd, killed when dropped.
struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_rsyslog(dir: &Path, imtcp_port: u16, tcp_port: u16, udp_port: u16, input: &Path) -> Rsyslog {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let config = format!(
        r#"global(workDirectory="{work}" localHostname="{PEER_HOST}")
module(load="imtcp")
module(load="imfile")
input(type="imtcp" address="127.0.0.1" port="{imtcp_port}")
input(type="imfile" file="{input}" tag="fileapp" facility="local0" severity="info")
if $programname != "rsyslogd" then {{
  action(type="omfwd" target="127.0.0.1" port="{tcp_port}" protocol="tcp" tcp_framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="{udp_port}" protocol="udp"
         template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
        work = work.display(),
        input = input.display()
    );
    let config_path = dir.join("rsyslog.conf");
    std::fs::write(&config_path, config).unwrap();
    let check = Command::new(rsyslogd()).arg("-N1").arg("-f").arg(&config_path).output();
    let check = check.expect("rsyslogd runs (apt-get install rsyslog; .ci/run installs it)");
    assert!(
        check.status.success(),
        "rsyslog rejects the config:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(rsyslogd())
        .arg("-n")
        .arg("-f")
        .arg(&config_path)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rsyslogd starts");
    Rsyslog(child)
}

#[test]
fn rsyslog_forwards_rfc5424_over_tcp_and_udp_and_the_syslog_source_parses_it() {
    const COUNT: usize = 20;
    let (tcp_port, udp_port, imtcp_port) = (free_port(), free_port(), free_port());
    let config = format!(
        r#"
[sources.tcp]
type = "syslog"
mode = "tcp"
address = "127.0.0.1:{tcp_port}"

[sources.udp]
type = "syslog"
mode = "udp"
address = "127.0.0.1:{udp_port}"

[transforms.mark_tcp]
type = "remap"
inputs = ["tcp"]
source = '.via = "tcp"'

[transforms.mark_udp]
type = "remap"
inputs = ["udp"]
source = '.via = "udp"'

[sinks.out]
type = "console"
inputs = ["mark_tcp", "mark_udp"]
encoding.codec = "json"
"#
    );
    let agent = Agent::start_with(&config, Options { log_level: "warn", ..Default::default() });
    // Both sockets are bound before the agent runs anything: when TCP answers, UDP listens too.
    wait_for(TIMEOUT, || TcpStream::connect(("127.0.0.1", tcp_port)).ok()).expect("the agent listens");

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("app.log");
    std::fs::write(&input, "").unwrap();
    let _rsyslog = start_rsyslog(dir.path(), imtcp_port, tcp_port, udp_port, &input);
    let mut imtcp = wait_for(TIMEOUT, || TcpStream::connect(("127.0.0.1", imtcp_port)).ok())
        .expect("rsyslog's imtcp listens");
    for n in 0..COUNT {
        // RFC 5424 in, newline-framed, as `logger --rfc5424 --tcp` sends it.
        writeln!(imtcp, "<134>1 2026-11-25T10:00:{n:02}.000Z web01 shop 4242 ORDER - order {n} placed")
            .unwrap();
    }
    imtcp.flush().unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    for n in 0..COUNT {
        writeln!(file, "file line {n}").unwrap();
    }
    drop(file);

    // Each message arrives once over each transport.
    let expected = 4 * COUNT;
    let events = wait_for(TIMEOUT, || {
        let events: Vec<serde_json::Value> =
            agent.stdout_lines().iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
        (events.len() >= expected).then_some(events)
    })
    .unwrap_or_else(|| panic!("got {:?}; stderr:\n{}", agent.stdout_lines(), agent.stderr_text()));
    assert_eq!(events.len(), expected, "{events:#?}");

    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for event in &events {
        let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
        let via = field("via");
        let message = field("message");
        if let Some(n) = message.strip_prefix("order ") {
            assert_eq!(field("hostname"), "web01", "{event}");
            assert_eq!(field("host"), "web01", "host comes from the message: {event}");
            assert_eq!(field("appname"), "shop", "{event}");
            assert_eq!(event["procid"], 4242, "{event}");
            assert_eq!(field("msgid"), "ORDER", "{event}");
            assert_eq!(field("severity"), "info", "{event}");
            assert_eq!(field("facility"), "local0", "{event}");
            assert_eq!(event["version"], 1, "parsed as RFC 5424: {event}");
            assert!(n.ends_with(" placed"), "{event}");
        } else {
            assert!(message.starts_with("file line "), "{event}");
            assert_eq!(field("hostname"), PEER_HOST, "{event}");
            assert_eq!(field("appname"), "fileapp", "{event}");
            assert_eq!(field("facility"), "local0", "{event}");
        }
        assert_eq!(field("source_type"), "syslog");
        *seen.entry((via, message)).or_insert(0) += 1;
    }
    for via in ["tcp", "udp"] {
        for n in 0..COUNT {
            for message in [format!("order {n} placed"), format!("file line {n}")] {
                assert_eq!(seen.get(&(via.to_owned(), message.clone())), Some(&1), "{message} over {via}");
            }
        }
    }
}
