//! Linux: shared futexes, and process identities from procfs.

use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Instant;

use super::Wait;

/// Sleeps while `*word == expected`, until woken or `deadline`.
pub(crate) fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Wait {
    let timeout = match deadline {
        None => None,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Wait::TimedOut;
            }
            Some(libc::timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            })
        }
    };
    let ts = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned 32-bit atomic (in a shared mapping, hence the non-private
    // futex op); `ts` is null or points to a timespec that lives across the call.
    let r = unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, ts, 0, 0)
    };
    if r == 0 {
        return Wait::Woken;
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::ETIMEDOUT) => Wait::TimedOut,
        // EAGAIN: the word had already changed. EINTR: a signal; the caller's loop recomputes the
        // time left and waits again, so a signal never cuts a wait short.
        _ => Wait::Woken,
    }
}

/// Wakes up to `n` sleepers on `word` (in any process).
pub(crate) fn wake(word: &AtomicU32, n: u32) {
    let n = n.min(i32::MAX as u32) as i32;
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is valid and aligned.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n, 0, 0, 0) };
}

/// The 32-bit futex word that is the low half of a 64-bit atomic (the kernel compares 32 bits).
pub(crate) fn low_half(word: &std::sync::atomic::AtomicU64) -> &AtomicU32 {
    let offset = if cfg!(target_endian = "little") { 0 } else { 4 };
    // SAFETY: the low half of an aligned 64-bit atomic is an aligned 32-bit location inside it. It
    // is only used as a futex address: the kernel reads it; Rust code never accesses it as a 32-bit
    // atomic, so there are no mixed-size accesses in the Rust memory model.
    unsafe { &*(word.as_ptr().cast::<u8>().add(offset).cast::<AtomicU32>()) }
}

/// A process identity as a lock word stores it: the pid and the low bits of its start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProcessId {
    pub(crate) pid: u32,
    pub(crate) tag: u32,
}

/// Bits of the start time kept in a tag.
pub(crate) const TAG_BITS: u32 = 29;

impl ProcessId {
    /// The calling process (uncached: callers cache it, see `raw::my_id`).
    pub(crate) fn me() -> ProcessId {
        Self::from_identity(proc_core::ProcessIdentity::current())
    }

    fn from_identity(id: proc_core::ProcessIdentity) -> ProcessId {
        // Never 0, so that a tag of 0 can mean "no owner".
        let tag = ((id.start_ticks() as u32) & ((1 << TAG_BITS) - 1)).max(1);
        ProcessId { pid: id.pid().as_raw() as u32, tag }
    }

    /// Whether the process is still running: it exists, is not a zombie, and started when the tag
    /// says (so a reused pid is not mistaken for it).
    pub(crate) fn is_alive(self) -> bool {
        proc_core::ProcessIdentity::of(proc_core::Pid::from_raw(self.pid as i32))
            .is_some_and(|now| Self::from_identity(now) == self)
    }
}

/// Runs `f` in the child after every `fork` (`pthread_atfork`).
pub(crate) fn on_fork_child(f: extern "C" fn()) {
    // SAFETY: registering a plain function as the child handler; it only touches atomics.
    unsafe { libc::pthread_atfork(None, None, Some(f)) };
}
