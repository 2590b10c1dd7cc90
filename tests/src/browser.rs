//! Running a browser scenario (`tests/browser/*.mjs`): Debian's headless Chromium driven by
//! the npm package playwright-core as a child process, with a bounded wait, its output lines
//! handed to the test as they come, and its final `RESULT key=value …` line parsed.
//!
//! The browser and its driver come from `scripts/test` (`ensure_tools`): Debian's `chromium`
//! and `playwright-core` in `target/tools/` (it downloads no browser; the scenario launches
//! the system's). A missing tool fails the test with what to install; nothing is skipped.

// Test harness: a missing tool or a failed scenario fails the test with what it said.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::workspace_root;

/// How long a scenario may take to exit once it has closed its output.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Node 20 or later (playwright-core needs it): the one `scripts/test` put in `target/tools`
/// when the system's was older, else the system's.
pub fn node() -> PathBuf {
    let local = target_dir().join("tools/node_modules/.bin/node");
    let node = if local.is_file() {
        local
    } else {
        std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths).map(|p| p.join("node")).find(|p| p.is_file())
            })
            .unwrap_or_else(|| {
                panic!("node not on PATH: apt-get install nodejs npm (scripts/test does it)")
            })
    };
    let output = Command::new(&node)
        .args(["-p", "process.versions.node"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()));
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(
        major >= 20,
        "{} is Node {version}; playwright-core needs 20 or later: npm install --prefix target/tools node@22 (scripts/test does it)",
        node.display()
    );
    node
}

/// Debian's Chromium: `KAM_CHROMIUM`, or `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("KAM_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "{} not found: apt-get install chromium (scripts/test does it)",
        path.display()
    );
    path
}

/// The playwright-core package: `KAM_PLAYWRIGHT`, or where `scripts/test` installs it.
pub fn playwright() -> PathBuf {
    let dir = std::env::var_os("KAM_PLAYWRIGHT")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("tools/node_modules/playwright-core"));
    assert!(
        dir.join("package.json").is_file(),
        "{} not found: npm install --prefix target/tools playwright-core@1.64.1 (scripts/test does it)",
        dir.display()
    );
    dir
}

/// A node command running `tests/browser/{script}` with the browser's and driver's paths
/// in its environment (`KAM_CHROMIUM`, `KAM_PLAYWRIGHT`).
pub fn scenario(script: &str) -> Command {
    let mut command = Command::new(node());
    command
        .arg(workspace_root().join("tests/browser").join(script))
        .env("KAM_CHROMIUM", chromium())
        .env("KAM_PLAYWRIGHT", playwright());
    command
}

/// What a scenario printed and reported.
pub struct Run {
    /// Every line it printed.
    pub lines: Vec<String>,
    /// Its `RESULT key=value …` line.
    pub result: BTreeMap<String, String>,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Stops the scenario and fails the test with everything it said.
fn fail(child: &mut Child, lines: &[String], err: &Path, why: &str) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    let stderr = std::fs::read_to_string(err).unwrap_or_default();
    panic!("browser scenario: {why}\n{}\n{stderr}", lines.join("\n"));
}

/// Runs the scenario with a bounded wait (`timeout`, for a hung browser, not for a slow
/// machine), handing each line it prints to `on_line` as it comes (handshakes with the test).
/// Fails the test with the output if anything fails; `work` keeps its standard error.
pub fn run_scenario(
    mut command: Command,
    work: &Path,
    timeout: Duration,
    mut on_line: impl FnMut(&str) -> Result<(), String>,
) -> Run {
    let err = work.join("browser.err");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                println!("  {line}");
                let outcome = on_line(&line);
                lines.push(line);
                if let Err(why) = outcome {
                    fail(&mut child, &lines, &err, &why);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                fail(&mut child, &lines, &err, &format!("still running after {timeout:?}"))
            }
        }
    }
    let closed = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if closed.elapsed() > EXIT_TIMEOUT {
            fail(&mut child, &lines, &err, "closed its output but did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        fail(&mut child, &lines, &err, &format!("failed ({status})"));
    }
    let result = lines
        .iter()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("the scenario printed no RESULT line:\n{}", lines.join("\n")))
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Run { lines, result, elapsed: started.elapsed() }
}

/// How many `.png` files `dir` holds.
pub fn screenshots_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
                .count()
        })
        .unwrap_or(0)
}
