//! The benchmarks' I/O: the release binaries they drive, hubspot-fake as a child
//! process (killed when its guard drops, panics included), the fake's admin
//! routes, temporary directories, and waiting for a quiet machine.

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use crate::parse::{self, FakeStats};

/// The environment variable giving the number of runs per figure (default 3).
pub const RUNS_ENV: &str = "BENCH_RUNS";
/// Set to `0` to skip waiting for other heavy processes before measuring.
pub const WAIT_QUIET_ENV: &str = "BENCH_WAIT_QUIET";

/// Runs per figure: `BENCH_RUNS`, default 3, at least 1.
pub fn runs() -> usize {
    env_number(RUNS_ENV, 3).max(1) as usize
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// The workspace root (the SDK package's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf()
}

/// The directory holding the release binaries: the one this benchmark runs from
/// (`target/release/deps/<bench>` -> `target/release`), so a `CARGO_TARGET_DIR`
/// is followed.
pub fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target/release"))
}

/// The path of a release binary, or a panic that says how to build it.
pub fn release_binary(name: &str) -> PathBuf {
    let path = release_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the release binaries first with\n  \
         cargo build --release -p hubspot-fake -p hubspot-contacts-cli",
        path.display()
    );
    path
}

/// Makes `command`'s process die with this thread (Linux `PR_SET_PDEATHSIG`), so
/// an interrupted benchmark leaves no child behind. Spawn from the main thread.
pub fn die_with_parent(command: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

/// A running `hubspot-fake` child process; killed and reaped on drop.
pub struct FakeProcess {
    child: Child,
    /// Kept open: the fake's stdout.
    _stdout: BufReader<ChildStdout>,
    base_url: String,
}

impl FakeProcess {
    /// Starts `target/release/hubspot-fake ARGS` and waits for its
    /// `listening on http://...` line.
    pub fn start(args: &[&str]) -> FakeProcess {
        let binary = release_binary("hubspot-fake");
        let mut command = Command::new(&binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = die_with_parent(&mut command)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let Some(base_url) = read.ok().and_then(|_| parse::listening_url(&line)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hubspot-fake did not say where it listens; first line: {line:?}");
        };
        let base_url = base_url.to_owned();
        FakeProcess {
            child,
            _stdout: stdout,
            base_url,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain-HTTP client for the fake's admin routes.
pub fn admin_client() -> reqwest::Client {
    // reqwest is built without a default crypto provider in this workspace.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

/// `GET /_fake/stats`.
pub async fn fake_stats(http: &reqwest::Client, base_url: &str) -> FakeStats {
    let body = http
        .get(format!("{base_url}/_fake/stats"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /_fake/stats")
        .text()
        .await
        .expect("the stats body");
    FakeStats::from_json(&body).unwrap_or_else(|| panic!("unexpected stats: {body}"))
}

/// A directory under the system temp dir, removed with its contents on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/hubspot-bench-<label>-<pid>`, emptied first.
    pub fn new(label: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("hubspot-bench-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `pgrep` finds of compilers, test runs and test binaries.
const HEAVY: &str = "rustc|cargo test|/deps/";

/// Waits (polling every 30 s, at most 10 minutes) until no other compiler or
/// test is running, then returns a note for the report: `quiet` or what was
/// still running. `BENCH_WAIT_QUIET=0` skips the wait.
pub fn wait_for_quiet() -> String {
    if env_number(WAIT_QUIET_ENV, 1) == 0 {
        return "not checked (BENCH_WAIT_QUIET=0)".to_owned();
    }
    let own = [std::process::id()];
    let started = Instant::now();
    loop {
        let output = Command::new("pgrep").args(["-fa", HEAVY]).output();
        let Ok(output) = output else {
            return "not checked (no pgrep)".to_owned();
        };
        let busy = parse::others(&String::from_utf8_lossy(&output.stdout), &own);
        if busy.is_empty() {
            let waited = started.elapsed().as_secs();
            return if waited == 0 {
                "quiet".to_owned()
            } else {
                format!("quiet after waiting {waited} s")
            };
        }
        if started.elapsed() >= Duration::from_secs(600) {
            return format!("BUSY after 10 min of waiting: {}", busy.join(" | "));
        }
        eprintln!(
            "waiting for a quiet machine ({} other heavy processes, e.g. {:.100})",
            busy.len(),
            busy[0]
        );
        std::thread::sleep(Duration::from_secs(30));
    }
}

/// User + system CPU seconds used so far by process `pid` (Linux; assumes the
/// usual 100 clock ticks per second).
pub fn child_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse::proc_stat_cpu_secs(&stat, 100.0)
}
