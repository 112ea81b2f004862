//! Watchdog bounds and the shared board that tasks report to.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proc_core::Shared;
use proc_sync::Event;

/// The longest any test waits for anything.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `f` on another thread and fails the test if it does not finish within the watchdog bound.
pub(crate) fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("watchdog: the test did not finish within {WATCHDOG:?}"),
    }
}

/// How many items the board tracks.
pub(crate) const ITEMS: usize = 256;

/// Shared with the workers through the initializer: how often each item ran, the pid of the
/// worker running a task that blocks, and an event set when that task has started.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Board {
    pub(crate) runs: Shared<[AtomicU64; ITEMS]>,
    pub(crate) blocked_pid: Shared<AtomicU64>,
    pub(crate) started: Event,
}

impl Board {
    pub(crate) fn new() -> Board {
        Board {
            runs: Shared::new(std::array::from_fn(|_| AtomicU64::new(0))).unwrap(),
            blocked_pid: Shared::new(AtomicU64::new(0)).unwrap(),
            started: Event::new().unwrap(),
        }
    }

    /// Waits for the blocking task to start and returns its worker's pid.
    pub(crate) fn wait_blocked(&self) -> i32 {
        assert!(self.started.wait_timeout(WATCHDOG), "watchdog: the blocking task never started");
        self.started.clear();
        self.blocked_pid.swap(0, Ordering::SeqCst) as i32
    }

    pub(crate) fn runs_of(&self, i: usize) -> u64 {
        self.runs[i].load(Ordering::SeqCst)
    }
}

static BOARD: OnceLock<Board> = OnceLock::new();

/// The pool initializer that hands the board to a worker.
pub(crate) fn install(board: Board) {
    let _ = BOARD.set(board);
}

/// A task: counts its run; item `x == block` reports its pid, signals, and blocks until killed.
pub(crate) fn mark((x, block): (u64, u64)) -> u64 {
    let board = BOARD.get().expect("the initializer ran");
    board.runs[x as usize].fetch_add(1, Ordering::SeqCst);
    if x == block {
        board.blocked_pid.store(u64::from(std::process::id()), Ordering::SeqCst);
        board.started.set();
        loop {
            std::thread::park();
        }
    }
    x * x
}

/// SIGKILLs a process.
pub(crate) fn sigkill(pid: i32) {
    // SAFETY: kill(2) with a pid of a worker of this test's pool; no memory is involved.
    let r = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(r, 0, "kill({pid}) failed");
}

/// A pidfd for any process (not only a child), to wait for its end.
pub(crate) fn pidfd(pid: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(fd >= 0, "pidfd_open({pid}): {}", std::io::Error::last_os_error());
    // SAFETY: the descriptor was just created and is owned by nothing else.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }
}

/// Waits (within the watchdog) for the process behind a pidfd to end.
pub(crate) fn wait_exit(fd: &std::os::fd::OwnedFd) -> bool {
    use std::os::fd::AsFd;
    proc_core::wait(&[&fd.as_fd()], Some(WATCHDOG)).map(|r| !r.is_empty()).unwrap_or(false)
}
