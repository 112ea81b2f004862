//! Timeouts are honoured and not cut short by signals; the uncontended path makes no system call.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use proc_core::{Handle, Process};
use proc_sync::{Event, Lock, Semaphore};

use crate::support::join;

extern "C" fn ignore(_: libc::c_int) {}

/// Runs `wait` on a thread while another thread hits it with SIGUSR1 (no SA_RESTART, so each one
/// interrupts the futex wait with EINTR); returns how long the wait took and its result.
fn under_signal_storm<R: Send + 'static>(
    wait: impl FnOnce() -> R + Send + 'static,
) -> (Duration, R) {
    // SAFETY: installing a handler that does nothing, without SA_RESTART.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        let t = Instant::now();
        let r = wait();
        (t.elapsed(), r)
    });
    let target = rx.recv().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let storm = std::thread::spawn(move || {
        while !d.load(Ordering::SeqCst) {
            // SAFETY: the waiter thread is alive until `done` is set after it is joined.
            unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let out = waiter.join().unwrap();
    done.store(true, Ordering::SeqCst);
    storm.join().unwrap();
    out
}

#[test]
fn timeouts_last_at_least_their_length_despite_signals() {
    let limit = Duration::from_millis(300);
    let lock = Lock::new().unwrap();
    let _held = lock.acquire().unwrap();
    let l = lock.clone();
    let (took, timed_out) = under_signal_storm(move || l.acquire_timeout(limit).map(drop).is_err());
    assert!(timed_out);
    assert!(took >= limit, "lock wait returned after {took:?}");

    let e = Event::new().unwrap();
    let (took, set) = under_signal_storm(move || e.wait_timeout(limit));
    assert!(!set);
    assert!(took >= limit, "event wait returned after {took:?}");

    let s = Semaphore::new(0).unwrap();
    let (took, got) =
        under_signal_storm(move || s.acquire_timeout(limit).map(|g| g.leak()).is_some());
    assert!(!got);
    assert!(took >= limit, "semaphore wait returned after {took:?}");
}

/// Warms up, then enters seccomp strict mode (only read, write, exit and sigreturn allowed: any
/// other system call kills the process), runs uncontended operations, reports, and exits.
fn no_syscalls(lock: Lock, sem: Semaphore, event: Event, mut out: Handle<UnixStream>) {
    drop(lock.acquire().unwrap());
    drop(sem.acquire());
    event.set();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&*out);
    out.flush().unwrap();
    // SAFETY: PR_SET_SECCOMP with SECCOMP_MODE_STRICT takes no pointers.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_STRICT) }, 0);
    for _ in 0..100_000 {
        let g = lock.acquire().unwrap();
        drop(g);
        drop(sem.acquire());
        event.set();
        assert!(event.is_set());
    }
    let msg = b"no system call\n";
    // SAFETY: write(2) on an open fd with a valid buffer; allowed in strict mode.
    unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
    // SAFETY: the thread's own exit (not exit_group, which strict mode forbids); it is the only
    // thread, so the process ends with status 0.
    unsafe { libc::syscall(libc::SYS_exit, 0) };
}

#[test]
fn the_uncontended_fast_path_makes_no_system_call() {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut p = Process::new(
        no_syscalls,
        (
            Lock::new().unwrap(),
            Semaphore::new(1).unwrap(),
            Event::new().unwrap(),
            Handle::new(theirs),
        ),
    );
    p.start().unwrap();
    let r = join(&mut p);
    let mut said = String::new();
    std::io::Read::read_to_string(&mut ours, &mut said).unwrap();
    assert!(r.is_ok(), "the child was killed for making a system call: {r:?}");
    assert_eq!(said, "no system call\n");
}
