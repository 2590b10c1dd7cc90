//! Helpers for end-to-end tests: build and start the real `kam-server` binary on loopback,
//! find its port, and stop it gracefully. Every wait is bounded; nothing sleeps to wait.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Result type of the helpers.
pub type TestResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Builds the server binary (a no-op when up to date) and returns its path.
pub fn server_binary() -> TestResult<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "kam-server", "--bin", "kam-server"])
        .current_dir(workspace_root())
        .status()?;
    if !status.success() {
        return Err(format!("building kam-server failed: {status}").into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Ok(target.join("debug").join("kam-server"))
}

/// A running server process, stopped when dropped.
pub struct ServerProcess {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Lines the server printed on stdout before it listened.
    pub banner: Vec<String>,
}

impl ServerProcess {
    /// Starts `kam-server serve` with `args` plus `--listen 127.0.0.1:0`, and waits (at most
    /// `timeout`) for the line announcing its address.
    pub fn start(data_dir: &Path, extra_args: &[&str], timeout: Duration) -> TestResult<Self> {
        let mut child = Command::new(server_binary()?)
            .arg("serve")
            .arg("--data")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + timeout;
        let mut banner = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    return Err(format!("server did not announce its address: {banner:?}").into());
                }
            };
            if let Some(rest) = line.strip_prefix("KAM server listening on ") {
                let url = rest.trim().to_owned();
                banner.push(line);
                return Ok(ServerProcess { child, url, banner });
            }
            banner.push(line);
        }
    }

    /// Asks the server to stop (SIGTERM) and waits at most `timeout` for a clean exit.
    pub fn stop(mut self, timeout: Duration) -> TestResult<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err("server did not stop in time".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// GETs `url` and returns the status and JSON body.
pub fn get_json(url: &str) -> TestResult<(u16, serde_json::Value)> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(url).call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_json().unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}
