//! The child side: what the entry hook does before `main`, how a job runs, how its reply goes back,
//! and how a child exits.
//!
//! A spawned child finds `MULTIPROC_ENTRY=1:<fd>:<mode>` in its environment. The hook (an
//! `.init_array` constructor, see `sys`) takes the variable out of the environment, reads the job
//! from the bootstrap socket on `<fd>`, checks that it runs the same binary as the parent, runs the
//! job, sends the reply, and exits: the user's `main` never runs in a child. Binaries on platforms
//! without constructors call [`init`] first thing in `main` instead.
//!
//! A child in which neither ran (the variable is still set when multiproc is first used) refuses to
//! go on: it tells the parent, which reports [`JoinError::EntryHookNotRun`](crate::JoinError), and
//! exits. It never starts children of its own, so a missing hook cannot fork-bomb.

use std::any::Any;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::frame::{self, Kind};
use crate::runtime::{self, ChildMeta};
use crate::sys;
use crate::target::{self, JobError, Reply};

/// The environment variable that marks a process as a child and says where its job is.
pub(crate) const ENV: &str = "MULTIPROC_ENTRY";
const ENV_VERSION: &str = "1";

/// Exit code of a child that could not read its job or runs a different binary than its parent.
pub const EXIT_BOOTSTRAP_FAILED: i32 = 86;
/// Exit code of a child whose entry hook did not run.
pub const EXIT_ENTRY_HOOK_NOT_RUN: i32 = 87;

static HOOK_RAN: AtomicBool = AtomicBool::new(false);
static INIT_CALLED: AtomicBool = AtomicBool::new(false);

/// What a spawned process was started to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Run one job.
    Child,
    /// Serve fork requests.
    ForkServer,
    /// Run one job, but only from [`init`]: the hook ignores it (used to test what happens when a
    /// hook is missing).
    InitOnly,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Child => "child",
            Mode::ForkServer => "forkserver",
            Mode::InitOnly => "init-only",
        }
    }
}

/// The value of [`ENV`] for a child started in `mode`.
pub(crate) fn env_value(mode: Mode, extra: &str) -> String {
    format!("{ENV_VERSION}:{}:{}:{extra}", sys::BOOTSTRAP_FD, mode.as_str())
}

fn parse_env() -> Option<(RawFd, Mode, String)> {
    let v = std::env::var_os(ENV)?;
    let v = v.to_str()?;
    let mut parts = v.splitn(4, ':');
    if parts.next()? != ENV_VERSION {
        return None;
    }
    let fd = parts.next()?.parse().ok()?;
    let mode = match parts.next()? {
        "child" => Mode::Child,
        "forkserver" => Mode::ForkServer,
        "init-only" => Mode::InitOnly,
        _ => return None,
    };
    Some((fd, mode, parts.next().unwrap_or("").to_owned()))
}

/// Called by the entry hook in every process started from this binary, before `main`.
pub(crate) fn on_load() {
    HOOK_RAN.store(true, Ordering::Relaxed);
    dispatch(false);
}

/// Runs the child's job if this process is a multiproc child; returns at once otherwise.
///
/// On Linux the entry hook does this before `main`, so calling `init` is never needed there; it is
/// the fallback for platforms where a binary cannot run code before `main`. Call it first thing in
/// `main`. Idempotent.
///
/// ```
/// use proc_core::Process;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     proc_core::init(); // in a child, runs its job and exits; here, returns at once
///     let mut p = Process::new(square, (12,));
///     p.start()?;
///     assert_eq!(p.join()?, 144);
///     Ok(())
/// }
/// ```
pub fn init() {
    INIT_CALLED.store(true, Ordering::Relaxed);
    dispatch(true);
}

fn dispatch(from_init: bool) {
    let Some((fd, mode, extra)) = parse_env() else { return };
    if mode == Mode::InitOnly && !from_init {
        return;
    }
    // SAFETY: the entry hook runs before `main`, when only this thread exists; `init` is documented
    // to be called first thing in `main`, before any thread is started.
    unsafe { std::env::remove_var(ENV) };
    sys::name_after_program();
    match mode {
        Mode::Child | Mode::InitOnly => run_spawned_child(fd, None),
        Mode::ForkServer => crate::forkserver::serve(fd, &extra),
    }
}

/// Whether this process can start children: the hook ran (or `init` was called), so a child started
/// from this binary will run its job instead of `main`.
pub(crate) fn hook_available() -> bool {
    HOOK_RAN.load(Ordering::Relaxed) || INIT_CALLED.load(Ordering::Relaxed)
}

/// Stops a child in which neither the entry hook nor `init` ran, before it can do anything that a
/// child must not (start children of its own). Tells the parent why.
pub(crate) fn refuse_if_unhooked_child() {
    // Looked up once: the variable is set only by whoever starts this process, and a process that
    // has it here stops below.
    static NOT_A_CHILD: AtomicBool = AtomicBool::new(false);
    if NOT_A_CHILD.load(Ordering::Relaxed) {
        return;
    }
    let Some((fd, _, _)) = parse_env() else {
        NOT_A_CHILD.store(true, Ordering::Relaxed);
        return;
    };
    eprintln!(
        "multiproc: this process was started as a child (pid {}), but its entry hook did not run, so \
         it is running the program's main function; stopping. Call multiproc's init() first thing in \
         main on platforms without pre-main constructors.",
        sys::getpid()
    );
    // SAFETY: the parent placed the bootstrap socket on this fd for us and nothing in this process
    // has used it (the hook did not run).
    let sock = unsafe { sys::adopt(fd) };
    let _ = frame::send(sock.as_fd(), Kind::HookMissing, &[], &[]);
    finish(EXIT_ENTRY_HOOK_NOT_RUN, Exit::Immediate)
}

/// The job as it travels to a spawned child, before the encoded arguments.
#[derive(Serialize, Deserialize)]
pub(crate) struct JobHeader {
    pub(crate) fingerprint: Option<[u64; 4]>,
    pub(crate) layout: isize,
    pub(crate) entry: isize,
    pub(crate) os_parent: i32,
    pub(crate) meta: ChildMeta,
}

/// A function whose offset from the anchor checks that parent and child have the same layout.
fn layout_probe(_: &[u8], _: Vec<OwnedFd>, _: &mut Reply<'_>) -> Result<(), JobError> {
    Ok(())
}

pub(crate) fn layout() -> isize {
    target::entry_offset(layout_probe)
}

/// Identity of this binary, computed once. `None` where the platform guarantees that a child runs
/// the parent's very file (Linux executes `/proc/self/exe`, which names the parent's inode even if
/// the path was replaced), so only the layout check is needed.
pub(crate) fn fingerprint() -> std::io::Result<Option<[u64; 4]>> {
    if sys::EXEC_IS_SAME_FILE {
        return Ok(None);
    }
    static FP: std::sync::OnceLock<[u64; 4]> = std::sync::OnceLock::new();
    if let Some(fp) = FP.get() {
        return Ok(Some(*fp));
    }
    let fp = sys::exe_fingerprint()?;
    Ok(Some(*FP.get_or_init(|| fp)))
}

fn split_job(payload: &[u8]) -> Option<(JobHeader, &[u8])> {
    let len = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    let header = payload.get(4..4 + len)?;
    let args = payload.get(4 + len..)?;
    Some((postcard::from_bytes(header).ok()?, args))
}

/// A spawned child: read the job from `fd`, check the binary, run, reply, exit. `inherited` is a
/// pidfd this process already holds (a forkserver child's pidfd of the client), with its pid: used
/// as the parent's pidfd if the job names that pid as the parent.
pub(crate) fn run_spawned_child(fd: RawFd, inherited: Option<(i32, OwnedFd)>) -> ! {
    // SAFETY: the parent placed the bootstrap socket on this fd for us, and nothing else in this
    // fresh process knows about it.
    let sock = unsafe { sys::adopt(fd) };
    let _ = sys::set_cloexec(sock.as_fd());
    sys::ignore_sigpipe();
    let Ok(job) = frame::recv(sock.as_fd(), None) else {
        // The parent went away before sending the job (or sent garbage): nothing to run.
        finish(EXIT_BOOTSTRAP_FAILED, Exit::Immediate)
    };
    let Some((header, args)) = (job.kind == Kind::Job).then(|| split_job(&job.payload)).flatten()
    else {
        fail_bootstrap(&sock, "the job could not be read")
    };
    match fingerprint() {
        Ok(fp) if fp == header.fingerprint && layout() == header.layout => {}
        _ => fail_bootstrap(
            &sock,
            "the child runs a different binary than its parent (was the executable replaced?)",
        ),
    }
    if header.meta.daemon {
        sys::die_with_parent(header.os_parent);
    }
    let parent_pidfd = match inherited {
        Some((pid, fd)) if pid == header.meta.parent_pid => Some(fd),
        _ => sys::pidfd_open(header.meta.parent_pid).ok(),
    };
    let mut meta = header.meta;
    let parent = runtime::ParentRecord::take(&mut meta);
    runtime::become_child(meta, parent, parent_pidfd, Some(sock.as_raw_fd()));
    // SAFETY: the offset was computed by the parent from a trampoline of this very binary (same
    // fingerprint and layout, checked just above).
    let entry = unsafe { target::entry_at(header.entry) };
    let fds = job.fds;
    let code = run_job(sock.as_fd(), |reply| entry(args, fds, reply));
    // The socket stays open until exit so the reply is never cut short.
    std::mem::forget(sock);
    finish(code, Exit::Normal)
}

fn fail_bootstrap(sock: &OwnedFd, why: &str) -> ! {
    eprintln!("multiproc: child {} could not start: {why}", sys::getpid());
    let _ = frame::send(sock.as_fd(), Kind::Failed, &[why.as_bytes()], &[]);
    finish(EXIT_BOOTSTRAP_FAILED, Exit::Immediate)
}

/// A forked child: the job is already in memory.
pub(crate) fn run_forked_child(
    job: Box<dyn target::Job>,
    meta: ChildMeta,
    parent: runtime::ParentRecord,
    sock: OwnedFd,
    os_parent: i32,
    parent_pidfd: Option<OwnedFd>,
) -> ! {
    let _ = sys::stdin_from_dev_null();
    if meta.daemon {
        sys::die_with_parent(os_parent);
    }
    let parent_pidfd = parent_pidfd.or_else(|| sys::pidfd_open(os_parent).ok());
    runtime::become_child(meta, parent, parent_pidfd, Some(sock.as_raw_fd()));
    let code = run_job(sock.as_fd(), |reply| job.run_here(reply));
    std::mem::forget(sock);
    finish(code, Exit::Forked)
}

/// Runs the job with panics caught, replies, and returns the exit code (Python's: 0, or 1 for an
/// uncaught panic or failure).
fn run_job(sock: BorrowedFd<'_>, job: impl FnOnce(&mut Reply<'_>) -> Result<(), JobError>) -> i32 {
    install_panic_hook();
    let mut reply =
        |bytes: &[u8], fds: &[BorrowedFd<'_>]| frame::send(sock, Kind::Return, &[bytes], fds);
    match panic::catch_unwind(AssertUnwindSafe(|| job(&mut reply))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            let msg = e.to_string();
            eprintln!("multiproc: process '{}' failed: {msg}", runtime::current_process().name());
            let _ = frame::send(sock, Kind::Failed, &[msg.as_bytes()], &[]);
            1
        }
        Err(payload) => {
            let msg = panic_message(&*payload);
            // A payload whose destructor panics must not take the reply down with it.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
            let _ = frame::send(sock, Kind::Panic, &[msg.as_bytes()], &[]);
            1
        }
    }
}

/// The message of a panic payload (`&str` or `String`, as `panic!` makes them).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Reports panics as Python reports an uncaught exception in a child: which process, then the error.
fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let me = runtime::current_process();
        let location = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
        let msg = panic_message(info.payload());
        let thread = std::thread::current();
        let thread = match thread.name() {
            Some(n) if n != "main" => format!(", thread '{n}'"),
            _ => String::new(),
        };
        let _ = writeln!(
            std::io::stderr(),
            "process '{}' (pid {}{thread}) panicked{location}:\n{msg}",
            me.name(),
            me.pid()
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            let _ = writeln!(std::io::stderr(), "{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

/// How a child leaves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// `exit`: atexit handlers (our exit hooks among them) and stdio flushing.
    Normal,
    /// A fork child: run our exit hooks and flush, but not the parent's atexit handlers.
    Forked,
    /// Nothing more may run.
    Immediate,
}

/// Set in a fork child whose parent had no other thread at the moment of the fork: then no lock can
/// be held by a thread that does not exist here, and stdout can be flushed directly.
pub(crate) static FORKED_ALONE: AtomicBool = AtomicBool::new(false);

/// Flushes stdout in a fork child. Another thread of the parent may have held stdout's lock at the
/// moment of the fork; that lock is then held forever in the child, so the flush runs on a helper
/// thread and is abandoned after a short wait rather than hanging the child.
fn flush_stdout_bounded() {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new().spawn(move || {
        let _ = std::io::stdout().flush();
        let _ = tx.send(());
    });
    if spawned.is_ok() {
        let _ = rx.recv_timeout(std::time::Duration::from_millis(500));
    }
}

pub(crate) fn finish(code: i32, how: Exit) -> ! {
    match how {
        Exit::Normal => std::process::exit(code),
        Exit::Forked => {
            runtime::run_exit_hooks();
            if FORKED_ALONE.load(Ordering::Relaxed) {
                let _ = std::io::stdout().flush();
            } else {
                flush_stdout_bounded();
            }
            sys::exit_immediately(code)
        }
        Exit::Immediate => {
            let _ = std::io::stdout().flush();
            sys::exit_immediately(code)
        }
    }
}
