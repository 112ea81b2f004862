//! The state machines underneath the primitives: a lock word that records its holder, the
//! identities it records, and waiting on a word in shared memory. Public for the other multiproc
//! crates (queues, pools), which keep their own state in shared memory.
//!
//! # The lock word
//! One `AtomicU64` in shared memory:
//!
//! ```text
//! bits 63..32  pid of the holder            (0 when free)
//! bits 31..3   start-time tag of the holder (tells a reused pid from the holder)
//! bits  1..0   0 free · 1 held · 2 held, and someone may be sleeping
//! ```
//!
//! Taking the lock writes the holder's identity in the same atomic step, so there is no moment at
//! which the lock is held by nobody known. The low half is the futex word sleepers wait on.
//! Uncontended acquire and release are one atomic operation each, with no system call. A sleeper
//! wakes up every 20 ms to check that the holder is still alive; if it is not (killed while
//! holding the lock), the sleeper takes the lock over and reports that the owner died.

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sys::{self, ProcessId, Wait};

/// How often a sleeper checks that the holder of a lock is alive.
pub(crate) const OWNER_CHECK: Duration = Duration::from_millis(20);

/// Spins before sleeping: a holder in a short critical section is usually done within this.
const SPINS: u32 = 100;

const STATE: u64 = 0b11;
const HELD: u64 = 1;
const CONTENDED: u64 = 2;

/// The identity bits of the calling process, as stored in a lock word.
pub(crate) fn me_bits() -> u64 {
    identity_bits(my_id())
}

fn identity_bits(id: ProcessId) -> u64 {
    (u64::from(id.pid) << 32) | (u64::from(id.tag) << 3)
}

fn holder_of(word: u64) -> Option<ProcessId> {
    let pid = (word >> 32) as u32;
    (pid != 0).then_some(ProcessId { pid, tag: ((word >> 3) as u32) & ((1 << sys::TAG_BITS) - 1) })
}

/// This process's identity, cached: `getpid` is a system call, and the fast path makes none. A fork
/// handler clears the cache in the child.
pub(crate) fn my_id() -> ProcessId {
    static CACHE: AtomicU64 = AtomicU64::new(0);
    static HOOK: Once = Once::new();
    let c = CACHE.load(Ordering::Relaxed);
    if c != 0 {
        return ProcessId { pid: (c >> 32) as u32, tag: c as u32 };
    }
    HOOK.call_once(|| {
        extern "C" fn forget_in_child() {
            CACHE.store(0, Ordering::Relaxed);
        }
        sys::on_fork_child(forget_in_child);
    });
    let id = ProcessId::me();
    CACHE.store((u64::from(id.pid) << 32) | u64::from(id.tag), Ordering::Relaxed);
    id
}

/// A token for the calling thread, unique within its process (a fork child's only thread keeps its
/// parent thread's token, which is fine: the pid differs). No system call.
pub(crate) fn thread_token() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    thread_local! {
        static TOKEN: Cell<u32> = const { Cell::new(0) };
    }
    TOKEN.with(|t| {
        if t.get() == 0 {
            t.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

/// How a blocking acquisition ended.
///
/// ```
/// use proc_sync::raw::{Acquired, RawLock};
/// use std::time::Instant;
///
/// let lock = RawLock::default();
/// assert_eq!(lock.lock(None), Acquired::Clean);
/// assert_eq!(lock.lock(Some(Instant::now())), Acquired::TimedOut); // held: no waiting left
/// lock.unlock();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The lock was free or released normally.
    Clean,
    /// The holder died holding it; the caller now holds it.
    OwnerDied,
    /// The deadline passed.
    TimedOut,
}

/// The lock word, for types that keep their own state in shared memory and need a lock there that
/// survives its holder's death. `#[repr(C)]`, pointer-free, valid for every bit pattern; zero is
/// unlocked.
///
/// It is not reentrant and has no guard: callers pair [`lock`](RawLock::lock) with
/// [`unlock`](RawLock::unlock) themselves. [`Lock`](crate::Lock) is the safe type built on it.
///
/// ```
/// use proc_core::{Process, Shared};
/// use proc_sync::raw::{Acquired, RawLock};
///
/// fn hold_and_release(lock: Shared<RawLock>) -> bool {
///     let got = lock.lock(None) == Acquired::Clean;
///     lock.unlock();
///     got
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let lock = Shared::new(RawLock::default())?; // the word lives in shared memory
/// let mut p = Process::new(hold_and_release, (lock.clone(),));
/// p.start()?;
/// assert!(p.join()?);
/// assert!(!lock.is_locked());
/// # Ok(()) }
/// ```
#[repr(C)]
#[derive(Default, Debug)]
pub struct RawLock {
    word: AtomicU64,
}

impl RawLock {
    /// One attempt, no waiting.
    ///
    /// ```
    /// use proc_sync::raw::RawLock;
    ///
    /// let lock = RawLock::default();
    /// assert!(lock.try_lock());
    /// assert!(!lock.try_lock()); // not reentrant
    /// lock.unlock();
    /// ```
    pub fn try_lock(&self) -> bool {
        self.word
            .compare_exchange(0, me_bits() | HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock, waiting until `deadline` (`None`: no limit).
    ///
    /// ```
    /// use proc_sync::raw::{Acquired, RawLock};
    /// use std::time::{Duration, Instant};
    ///
    /// let lock = RawLock::default();
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// match lock.lock(Some(deadline)) {
    ///     Acquired::Clean => {
    ///         // … the critical section …
    ///         lock.unlock();
    ///     }
    ///     Acquired::OwnerDied => {
    ///         // … repair what the dead holder left half-done …
    ///         lock.unlock();
    ///     }
    ///     Acquired::TimedOut => eprintln!("still busy after 5 s"),
    /// }
    /// ```
    pub fn lock(&self, deadline: Option<Instant>) -> Acquired {
        let me = me_bits();
        if self.word.compare_exchange(0, me | HELD, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return Acquired::Clean;
        }
        self.lock_slow(me, deadline)
    }

    #[cold]
    fn lock_slow(&self, me: u64, deadline: Option<Instant>) -> Acquired {
        for _ in 0..SPINS {
            std::hint::spin_loop();
            if self.word.load(Ordering::Relaxed) == 0
                && self
                    .word
                    .compare_exchange(0, me | HELD, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return Acquired::Clean;
            }
        }
        loop {
            let cur = self.word.load(Ordering::Relaxed);
            if cur == 0 {
                // Others may still be asleep: take it as contended so our release wakes one.
                if self
                    .word
                    .compare_exchange(0, me | CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Acquired::Clean;
                }
                continue;
            }
            let contended = (cur & !STATE) | CONTENDED;
            if cur & STATE != CONTENDED
                && self
                    .word
                    .compare_exchange(cur, contended, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let check_at = Instant::now() + OWNER_CHECK;
            let until = match deadline {
                Some(d) if d < check_at => d,
                _ => check_at,
            };
            if sys::wait(sys::low_half(&self.word), contended as u32, Some(until)) == Wait::TimedOut
            {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Acquired::TimedOut;
                }
                let cur = self.word.load(Ordering::Relaxed);
                if cur != 0
                    && holder_of(cur).is_some_and(|h| !h.is_alive())
                    && self
                        .word
                        .compare_exchange(cur, me | CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    return Acquired::OwnerDied;
                }
            }
        }
    }

    /// Releases the lock; `false` if it was not locked (nothing changes then).
    ///
    /// ```
    /// use proc_sync::raw::RawLock;
    ///
    /// let lock = RawLock::default();
    /// assert!(lock.try_lock());
    /// assert!(lock.unlock());
    /// assert!(!lock.unlock()); // it was not locked
    /// ```
    pub fn unlock(&self) -> bool {
        // One atomic swap: storing 0 over an unlocked word changes nothing.
        let prev = self.word.swap(0, Ordering::Release);
        if prev & STATE == CONTENDED {
            sys::wake(sys::low_half(&self.word), 1);
        }
        prev != 0
    }

    /// Whether the lock is held.
    ///
    /// ```
    /// use proc_sync::raw::RawLock;
    ///
    /// let lock = RawLock::default();
    /// assert!(!lock.is_locked());
    /// assert!(lock.try_lock());
    /// assert!(lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.word.load(Ordering::Relaxed) != 0
    }

    /// Whether the calling process holds the lock.
    ///
    /// ```
    /// use proc_sync::raw::RawLock;
    ///
    /// let lock = RawLock::default();
    /// assert!(lock.try_lock());
    /// assert!(lock.held_by_this_process());
    /// ```
    pub fn held_by_this_process(&self) -> bool {
        self.word.load(Ordering::Relaxed) & !STATE == me_bits()
    }

    /// The holder's pid, if held.
    ///
    /// ```
    /// use proc_sync::raw::RawLock;
    ///
    /// let lock = RawLock::default();
    /// assert_eq!(lock.holder_pid(), None);
    /// assert!(lock.try_lock());
    /// assert_eq!(lock.holder_pid(), Some(std::process::id()));
    /// ```
    pub fn holder_pid(&self) -> Option<u32> {
        holder_of(self.word.load(Ordering::Relaxed)).map(|h| h.pid)
    }
}

// SAFETY: one AtomicU64 in a repr(C) struct: pointer-free, valid for every bit pattern, mutated
// only atomically.
unsafe impl proc_core::ShmSafe for RawLock {}

/// Sleeps while `*word == expected` (compared atomically by the kernel), until another thread or
/// process calls [`wake`] on the same word, or `deadline` passes. Returns `false` only at the
/// deadline; spurious returns are possible, so callers look at their state again in a loop. Works
/// across processes when `word` is in shared memory. A signal makes it return `true` early; the
/// caller's loop then waits again with the time that is left.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_core::Shared;
/// use proc_sync::raw;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::{Duration, Instant};
///
/// let word = Shared::new(AtomicU32::new(0))?;
/// let deadline = Instant::now() + Duration::from_secs(60);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         word.store(1, Ordering::Release);
///         raw::wake(&word, 1);
///     });
///     while word.load(Ordering::Acquire) == 0 {
///         assert!(raw::wait(&word, 0, Some(deadline)), "timed out");
///     }
/// });
/// # Ok(()) }
/// ```
pub fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    sys::wait(word, expected, deadline) != Wait::TimedOut
}

/// Wakes up to `n` threads sleeping in [`wait`] on `word`, in any process.
///
/// ```
/// use proc_core::{Process, Shared};
/// use proc_sync::raw;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::{Duration, Instant};
///
/// fn ring(bell: Shared<AtomicU32>) {
///     bell.store(1, Ordering::Release);
///     raw::wake(&bell, u32::MAX); // wakes sleepers in every process
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bell = Shared::new(AtomicU32::new(0))?;
/// let mut p = Process::new(ring, (bell.clone(),));
/// p.start()?;
/// let deadline = Instant::now() + Duration::from_secs(60);
/// while bell.load(Ordering::Acquire) == 0 {
///     assert!(raw::wait(&bell, 0, Some(deadline)), "timed out");
/// }
/// p.join()?;
/// # Ok(()) }
/// ```
pub fn wake(word: &AtomicU32, n: u32) {
    sys::wake(word, n)
}

/// Waits on a plain 32-bit word until `ready()` or the deadline: the loop every other primitive
/// uses. Signals and spurious wake-ups only make it look again with the time that is left.
pub(crate) fn wait_until(
    word: &AtomicU32,
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> Option<u32>,
) -> bool {
    loop {
        let Some(expected) = ready() else { return true };
        if sys::wait(word, expected, deadline) == Wait::TimedOut {
            return ready().is_none();
        }
    }
}

/// The deadline `timeout` from now (saturating far in the future).
pub(crate) fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_word_round_trip() {
        let l = RawLock::default();
        assert!(!l.is_locked());
        assert!(l.try_lock());
        assert!(l.is_locked());
        assert!(l.held_by_this_process());
        assert_eq!(l.holder_pid(), Some(std::process::id()));
        assert!(!l.try_lock());
        assert!(l.unlock());
        assert!(!l.unlock(), "a second unlock reports the lock was not held");
    }

    #[test]
    fn a_timed_lock_of_a_held_lock_times_out() {
        let l = RawLock::default();
        assert!(l.try_lock());
        assert_eq!(l.lock(Some(Instant::now() + Duration::from_millis(30))), Acquired::TimedOut);
    }

    #[test]
    fn identity_is_alive_and_a_dead_pid_is_not() {
        assert!(my_id().is_alive());
        assert!(
            !ProcessId { pid: my_id().pid, tag: my_id().tag ^ 1 }.is_alive(),
            "wrong start time"
        );
        assert!(!ProcessId { pid: u32::MAX - 1, tag: 1 }.is_alive(), "no such pid");
    }
}
