//! Running the agent binary in tests: config in a temp dir, pipes read by threads, signals.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Starts `agent --config CONFIG` as a bare process (no harness threads), logging at `warn`:
/// for tests that SIGKILL and restart it many times.
pub fn spawn_agent(config: &Path, stdout: Stdio, stderr: Stdio) -> Child {
    Command::new(agent_bin())
        .arg("--config")
        .arg(config)
        .env("AGENT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("the agent starts")
}

pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_agent")
}

/// The repository root, for `config-examples/`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("agent/ has a parent").to_path_buf()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A plain HTTP/1.0 GET; returns the body.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

/// Reads a Prometheus counter or gauge by metric name and a label fragment, such as
/// `component_id="in"`.
pub fn metric_value(body: &str, name: &str, label: &str) -> Option<f64> {
    body.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with('{') && line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .next()
}

/// Polls `check` every 50 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Agent {
    pub child: Child,
    /// Holds the config file for the agent's lifetime.
    pub _dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub stdout: Arc<Mutex<Vec<u8>>>,
    pub stderr: Arc<Mutex<Vec<u8>>>,
}

fn pump(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 65536];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            into.lock().expect("not poisoned").extend_from_slice(&chunk[..n]);
        }
    });
}

pub struct Options {
    pub read_stdout: bool,
    pub log_level: &'static str,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// Run the agent as this user and group id (the test must be root); its temp dir is opened
    /// up to it.
    pub uid: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Self { read_stdout: true, log_level: "info", env: Vec::new(), args: Vec::new(), uid: None }
    }
}

impl Agent {
    pub fn start(config: &str) -> Self {
        Self::start_with(config, Options::default())
    }

    pub fn start_with(config: &str, options: Options) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config_path = dir.path().join("pipeline.toml");
        std::fs::write(&config_path, config).expect("config written");
        let mut program = PathBuf::from(agent_bin());
        if options.uid.is_some() {
            // Another user cannot reach the build's target directory (under /root): link the
            // binary into the temp dir, or copy it where a link cannot be made.
            let own = dir.path().join("agent");
            std::fs::hard_link(&program, &own)
                .or_else(|_| std::fs::copy(&program, &own).map(drop))
                .expect("agent linked");
            program = own;
        }
        let mut command = Command::new(&program);
        command
            .arg("--config")
            .arg(&config_path)
            .args(&options.args)
            .env("AGENT_LOG", options.log_level)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(uid) = options.uid {
            use std::os::unix::fs::PermissionsExt;
            use std::os::unix::process::CommandExt;
            let open =
                |path: &Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
            open(dir.path(), 0o777).expect("temp dir opened up");
            open(&config_path, 0o644).expect("config opened up");
            command.uid(uid).gid(uid);
        }
        let mut child = command.spawn().expect("the agent starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("piped");
        if options.read_stdout {
            pump(out, stdout.clone());
        } else {
            // Keep the pipe open but unread: a stalled consumer, until the test takes it.
            child.stdout = Some(out);
        }
        pump(child.stderr.take().expect("piped"), stderr.clone());
        Self { child, _dir: dir, config_path, stdout, stderr }
    }

    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().expect("stdin is open")
    }

    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        let bytes = self.stdout.lock().expect("not poisoned");
        String::from_utf8_lossy(&bytes).lines().map(str::to_owned).collect()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("not poisoned")).into_owned()
    }

    /// Waits until stdout has at least `count` complete lines.
    pub fn wait_for_lines(&self, count: usize, timeout: Duration) -> Vec<String> {
        wait_for(timeout, || {
            let lines = self.stdout_lines();
            (lines.len() >= count).then_some(lines)
        })
        .unwrap_or_else(|| self.stdout_lines())
    }

    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.stderr_text().contains(needle).then_some(())).is_some()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg("-s").arg(name).arg(self.child.id().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -s {name} failed");
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                // Let the pipe readers catch the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the agent did not exit within {timeout:?}; stderr:\n{}", self.stderr_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(&self.config_path, config).expect("config written");
    }

    /// Resident memory of the agent in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|line| line.starts_with("VmRSS:"))
            .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the agent with `args` to completion; returns (status, stdout, stderr).
pub fn run(args: &[&str], dir: &Path) -> (ExitStatus, String, String) {
    let output = Command::new(agent_bin())
        .args(args)
        .current_dir(dir)
        .env("AGENT_LOG", "warn")
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("the agent runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
