//! Running commands: echoed, in the workspace root, with an optional time limit that kills the whole
//! process group (examples start children of their own).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `cmd` to completion with inherited output; an error if it fails.
pub(crate) fn step(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {what}\n    $ {}", show(cmd));
    let started = Instant::now();
    let status = cmd.current_dir(crate::root()).status().map_err(|e| format!("{what}: {e}"))?;
    eprintln!("    ({what}: {:.1}s)", started.elapsed().as_secs_f64());
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

/// A command line as text.
pub(crate) fn show(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.push_str(&format!("{}={} ", k.to_string_lossy(), v.to_string_lossy()));
        }
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// What a captured run produced.
pub(crate) struct Captured {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Exit code; `None` if a signal ended it or the time limit did.
    pub(crate) code: Option<i32>,
    pub(crate) timed_out: bool,
    pub(crate) elapsed: Duration,
}

/// Runs `cmd` in a new process group with stdout and stderr captured, killing the group after
/// `limit`.
pub(crate) fn capture(cmd: &mut Command, limit: Duration) -> Result<Captured, String> {
    let started = Instant::now();
    let mut child = cmd
        .current_dir(crate::root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{}: {e}", show(cmd)))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if started.elapsed() > limit {
            timed_out = true;
            kill_group(child.id());
            break child.wait().ok();
        }
        thread::sleep(Duration::from_millis(20));
    };
    // Children left in the group would keep the pipes open: end them too.
    kill_group(child.id());
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    Ok(Captured {
        stdout,
        stderr,
        code: status.and_then(|s| s.code()),
        timed_out,
        elapsed: started.elapsed(),
    })
}

fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}
