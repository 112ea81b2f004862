//! Running the scenario binary with a watchdog, and watching processes that are not our children.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest a test waits for anything.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(60);

/// Output and exit code of a finished scenario run.
pub(crate) struct Run {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) code: Option<i32>,
}

/// Runs `scenario <mode>` to completion (killed by the watchdog if it hangs).
pub(crate) fn scenario(mode: &str) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .env("SCENARIO", mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the scenario binary");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(out) => {
            let out = out.expect("wait for the scenario");
            Run {
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                code: out.status.code(),
            }
        }
        Err(_) => {
            // SAFETY: kill(2) with a pid we started; no memory is involved.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("watchdog: scenario {mode} did not finish within {WATCHDOG:?}");
        }
    }
}

/// Starts `scenario <mode>` and returns it with a reader of its stdout.
pub(crate) fn scenario_running(mode: &str) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .env("SCENARIO", mode)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the scenario binary");
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// Reads lines until one equals `line`, returning those before it.
pub(crate) fn read_until(
    out: &mut BufReader<std::process::ChildStdout>,
    line: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let mut l = String::new();
        assert!(
            out.read_line(&mut l).unwrap() > 0,
            "scenario ended before printing {line:?}: {seen:?}"
        );
        let l = l.trim_end().to_string();
        if l == line {
            return seen;
        }
        seen.push(l);
    }
}

/// The pids a scenario printed as `pid <kind> <pid>`.
pub(crate) fn pids(lines: &[String], kind: &str) -> Vec<i32> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("pid {kind} ")))
        .map(|p| p.parse().unwrap())
        .collect()
}

/// A process we did not start, watched through a pidfd (works for any process).
pub(crate) struct Watched(Option<std::os::fd::OwnedFd>);

impl Watched {
    pub(crate) fn new(pid: i32) -> Watched {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Watched(None); // already gone
        }
        // SAFETY: a fresh fd that only we own.
        Watched(Some(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) }))
    }

    /// Waits up to `timeout` for the process to end; returns whether it has.
    pub(crate) fn ended_within(&self, timeout: Duration) -> bool {
        let Some(fd) = &self.0 else { return true };
        let mut p = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(fd),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as i32) };
        n == 1
    }

    pub(crate) fn kill(&self) {
        if let Some(fd) = &self.0 {
            // SAFETY: pidfd_send_signal with a valid pidfd and no siginfo.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    std::os::fd::AsRawFd::as_raw_fd(fd),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
        }
    }
}
