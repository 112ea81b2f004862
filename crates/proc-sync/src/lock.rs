//! [`Lock`] and [`RLock`]: mutual exclusion across processes and threads.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proc_core::{Shared, ShmSafe};
use serde::{Deserialize, Serialize};

use crate::error::{AcquireTimeoutError, OwnerDied, ReleaseError, TryAcquireError};
use crate::raw::{self, Acquired, RawLock};

#[repr(C)]
#[derive(Default)]
struct LockState {
    raw: RawLock,
}

// SAFETY: repr(C), one atomic word, valid for every bit pattern, mutated only atomically.
unsafe impl ShmSafe for LockState {}

/// A lock that any process holding a clone of it can take: Python's `multiprocessing.Lock`.
///
/// Clones (and copies sent to children) are the same lock. [`acquire`](Lock::acquire) returns a
/// guard that releases on drop. As in Python, any process or thread may [`release`](Lock::release)
/// it, not only the one that took it.
///
/// If the process holding the lock dies, the next acquirer does not hang (Python's does): it gets
/// [`OwnerDied`], which holds the lock for it.
///
/// ```
/// use proc_core::Process;
/// use proc_sync::Lock;
///
/// fn print_alone(lock: Lock, id: u32) {
///     let _held = lock.acquire().unwrap();
///     println!("process {id} has the lock");
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let lock = Lock::new()?;
/// let mut ps: Vec<_> = (0..3).map(|i| Process::new(print_alone, (lock.clone(), i))).collect();
/// for p in &mut ps { p.start()?; }
/// for p in &mut ps { p.join()?; }
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Lock {
    state: Shared<LockState>,
}

/// Holds a [`Lock`]; releases it when dropped.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::Lock;
///
/// let lock = Lock::new()?;
/// {
///     let _held = lock.acquire().unwrap(); // Python: `with lock:`
///     assert!(lock.locked());
/// } // the guard is dropped: released
/// assert!(!lock.locked());
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

fn outcome<G>(a: Acquired, guard: impl FnOnce() -> G) -> Result<G, Option<OwnerDied<G>>> {
    match a {
        Acquired::Clean => Ok(guard()),
        Acquired::OwnerDied => Err(Some(OwnerDied::new(guard()))),
        Acquired::TimedOut => Err(None),
    }
}

impl Lock {
    /// A new, unlocked lock in shared memory.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?; // Python: `lock = Lock()`
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Lock> {
        Ok(Lock { state: Shared::new(LockState::default())? })
    }

    /// Takes the lock, waiting as long as it takes.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?;
    /// let held = lock.acquire().unwrap();
    /// assert!(lock.try_acquire().is_err()); // not recursive: a second acquire would wait
    /// drop(held);
    /// # Ok(()) }
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>, OwnerDied<LockGuard<'_>>> {
        loop {
            match outcome(self.state.raw.lock(None), || LockGuard { lock: self }) {
                Ok(g) => return Ok(g),
                Err(Some(died)) => return Err(died),
                // No deadline, so no timeout: only here for completeness of the match.
                Err(None) => continue,
            }
        }
    }

    /// Takes the lock if it is free (Python's `acquire(block=False)`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Lock, TryAcquireError};
    ///
    /// let lock = Lock::new()?;
    /// let held = lock.try_acquire().unwrap();
    /// assert!(matches!(lock.try_acquire(), Err(TryAcquireError::WouldBlock)));
    /// drop(held);
    /// assert!(lock.try_acquire().is_ok());
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Result<LockGuard<'_>, TryAcquireError<LockGuard<'_>>> {
        if self.state.raw.try_lock() {
            return Ok(LockGuard { lock: self });
        }
        // A dead holder is only noticed by waiting; without waiting, the lock is just busy.
        Err(TryAcquireError::WouldBlock)
    }

    /// Takes the lock, waiting at most `timeout` (Python's `acquire(timeout=…)`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    /// use std::time::Duration;
    ///
    /// let lock = Lock::new()?;
    /// let held = lock.acquire_timeout(Duration::from_secs(5)).unwrap();
    /// let again = lock.acquire_timeout(Duration::from_millis(10));
    /// assert!(again.unwrap_err().is_timeout());
    /// drop(held);
    /// # Ok(()) }
    /// ```
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<LockGuard<'_>, AcquireTimeoutError<LockGuard<'_>>> {
        self.acquire_until(raw::deadline(timeout))
    }

    /// Takes the lock, waiting until `deadline` at most.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    /// use std::time::{Duration, Instant};
    ///
    /// let lock = Lock::new()?;
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// let _held = lock.acquire_until(deadline).unwrap();
    /// assert!(lock.acquire_until(Instant::now()).unwrap_err().is_timeout());
    /// # Ok(()) }
    /// ```
    pub fn acquire_until(
        &self,
        deadline: Instant,
    ) -> Result<LockGuard<'_>, AcquireTimeoutError<LockGuard<'_>>> {
        outcome(self.state.raw.lock(Some(deadline)), || LockGuard { lock: self }).map_err(|e| {
            match e {
                Some(died) => AcquireTimeoutError::OwnerDied(died),
                None => AcquireTimeoutError::Timeout,
            }
        })
    }

    /// Releases the lock, whoever holds it (Python allows this from any process or thread). Use it
    /// with a guard given up by [`LockGuard::leak`]. Releasing an unlocked lock is
    /// [`ReleaseError::TooManyReleases`].
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Lock;
    ///
    /// fn unlock(lock: Lock) {
    ///     lock.release().unwrap(); // another process releases it, as Python allows
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lock = Lock::new()?;
    /// lock.acquire().unwrap().leak(); // Python: `lock.acquire()` with no `with`
    /// let mut p = Process::new(unlock, (lock.clone(),));
    /// p.start()?;
    /// p.join()?;
    /// assert!(!lock.locked());
    /// assert!(lock.release().is_err()); // released too many times
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        if self.state.raw.unlock() { Ok(()) } else { Err(ReleaseError::TooManyReleases) }
    }

    /// Whether the lock is held (Python 3.14's `locked()`); only a snapshot.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?;
    /// let held = lock.acquire().unwrap();
    /// assert!(lock.locked());
    /// drop(held);
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn locked(&self) -> bool {
        self.state.raw.is_locked()
    }

    /// Whether `self` and `other` are the same lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    ///
    /// let a = Lock::new()?;
    /// assert!(a.same_lock(&a.clone()));
    /// assert!(!a.same_lock(&Lock::new()?));
    /// # Ok(()) }
    /// ```
    pub fn same_lock(&self, other: &Lock) -> bool {
        self.state.region().same_region(other.state.region())
    }

    pub(crate) fn raw(&self) -> &RawLock {
        &self.state.raw
    }
}

impl LockGuard<'_> {
    /// Keeps the lock held without a guard; release it later with [`Lock::release`] (from this or
    /// any other process), as Python's `acquire()` … `release()` pairs do.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?;
    /// lock.acquire().unwrap().leak();
    /// assert!(lock.locked()); // still held, with no guard
    /// lock.release()?;
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.state.raw.unlock();
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python: <Lock(owner=…)>
        f.debug_struct("Lock").field("holder_pid", &self.state.raw.holder_pid()).finish()
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

#[repr(C)]
#[derive(Default)]
struct RLockState {
    raw: RawLock,
    /// Token of the owning thread within the owning process (see `raw::thread_token`).
    thread: AtomicU32,
    /// Recursion depth; only the owner touches it.
    count: AtomicU32,
}

// SAFETY: repr(C), atomics only, valid for every bit pattern, mutated only atomically.
unsafe impl ShmSafe for RLockState {}

/// A recursive lock: the thread that holds it may take it again, and must release it as many times
/// (Python's `multiprocessing.RLock`). Only the owning thread may release it.
///
/// ```
/// use proc_sync::RLock;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let lock = RLock::new()?;
/// let outer = lock.acquire().unwrap();
/// let inner = lock.acquire().unwrap(); // the same thread: no deadlock
/// drop(inner);
/// drop(outer);
/// assert!(!lock.locked());
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct RLock {
    state: Shared<RLockState>,
}

/// Holds one level of an [`RLock`]; releases that level when dropped.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::RLock;
///
/// let lock = RLock::new()?;
/// let outer = lock.acquire().unwrap();
/// let inner = lock.acquire().unwrap();
/// drop(inner); // one level released: still held
/// assert!(lock.locked());
/// drop(outer);
/// assert!(!lock.locked());
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
}

impl RLock {
    /// A new, unlocked recursive lock in shared memory.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::RLock;
    ///
    /// let lock = RLock::new()?; // Python: `lock = RLock()`
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<RLock> {
        Ok(RLock { state: Shared::new(RLockState::default())? })
    }

    /// Whether the calling thread holds the lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::RLock;
    ///
    /// let lock = RLock::new()?;
    /// let held = lock.acquire().unwrap();
    /// assert!(lock.is_owned());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(!lock.is_owned())); // another thread does not own it
    /// });
    /// drop(held);
    /// assert!(!lock.is_owned());
    /// # Ok(()) }
    /// ```
    pub fn is_owned(&self) -> bool {
        self.state.raw.held_by_this_process()
            && self.state.thread.load(Ordering::Relaxed) == raw::thread_token()
    }

    fn enter(&self, a: Acquired) -> Result<RLockGuard<'_>, Option<OwnerDied<RLockGuard<'_>>>> {
        if a != Acquired::TimedOut {
            self.state.thread.store(raw::thread_token(), Ordering::Relaxed);
            self.state.count.store(1, Ordering::Relaxed);
        }
        outcome(a, || RLockGuard { lock: self })
    }

    fn reenter(&self) -> Option<RLockGuard<'_>> {
        if self.is_owned() {
            self.state.count.fetch_add(1, Ordering::Relaxed);
            Some(RLockGuard { lock: self })
        } else {
            None
        }
    }

    /// Takes the lock (again, if the calling thread holds it already).
    ///
    /// ```
    /// use proc_sync::RLock;
    ///
    /// fn nested(lock: &RLock, depth: u32) {
    ///     let _held = lock.acquire().unwrap(); // taken again by the same thread: no deadlock
    ///     if depth > 0 {
    ///         nested(lock, depth - 1);
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lock = RLock::new()?;
    /// nested(&lock, 3);
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard<'_>, OwnerDied<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        loop {
            match self.enter(self.state.raw.lock(None)) {
                Ok(g) => return Ok(g),
                Err(Some(died)) => return Err(died),
                Err(None) => continue,
            }
        }
    }

    /// Takes the lock if it is free or already held by the calling thread.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::RLock;
    ///
    /// let lock = RLock::new()?;
    /// let outer = lock.try_acquire().unwrap();
    /// let inner = lock.try_acquire().unwrap(); // the owner may take it again
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(lock.try_acquire().is_err())); // another thread may not
    /// });
    /// drop((inner, outer));
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Result<RLockGuard<'_>, TryAcquireError<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        if self.state.raw.try_lock() {
            return self.enter(Acquired::Clean).map_err(|_| TryAcquireError::WouldBlock);
        }
        Err(TryAcquireError::WouldBlock)
    }

    /// Takes the lock, waiting at most `timeout`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::RLock;
    /// use std::time::Duration;
    ///
    /// let lock = RLock::new()?;
    /// let _held = lock.acquire().unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         let r = lock.acquire_timeout(Duration::from_millis(10));
    ///         assert!(r.unwrap_err().is_timeout());
    ///     });
    /// });
    /// # Ok(()) }
    /// ```
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<RLockGuard<'_>, AcquireTimeoutError<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        self.enter(self.state.raw.lock(Some(raw::deadline(timeout)))).map_err(|e| match e {
            Some(died) => AcquireTimeoutError::OwnerDied(died),
            None => AcquireTimeoutError::Timeout,
        })
    }

    /// Releases one level. Only the owning thread may (Python: "attempt to release recursive lock not
    /// owned by thread"). Use it with a guard given up by [`RLockGuard::leak`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{RLock, ReleaseError};
    ///
    /// let lock = RLock::new()?;
    /// lock.acquire().unwrap().leak();
    /// lock.acquire().unwrap().leak();
    /// lock.release()?;
    /// assert!(lock.locked()); // one level left
    /// lock.release()?;
    /// assert!(!lock.locked());
    /// assert_eq!(lock.release(), Err(ReleaseError::NotOwner));
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        if !self.is_owned() {
            return Err(ReleaseError::NotOwner);
        }
        if self.state.count.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.state.thread.store(0, Ordering::Relaxed);
            self.state.raw.unlock();
        }
        Ok(())
    }

    /// Whether the lock is held by anyone; only a snapshot.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::RLock;
    ///
    /// let lock = RLock::new()?;
    /// assert!(!lock.locked());
    /// let _held = lock.acquire().unwrap();
    /// assert!(lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn locked(&self) -> bool {
        self.state.raw.is_locked()
    }

    /// Gives up every level the calling thread holds; returns how many, for [`restore`](Self::restore).
    pub(crate) fn release_all(&self) -> u32 {
        let n = self.state.count.swap(0, Ordering::Relaxed);
        self.state.thread.store(0, Ordering::Relaxed);
        self.state.raw.unlock();
        n
    }

    /// Takes the lock back with `levels` levels, after [`release_all`](Self::release_all).
    pub(crate) fn restore(&self, levels: u32) -> Acquired {
        let a = self.state.raw.lock(None);
        self.state.thread.store(raw::thread_token(), Ordering::Relaxed);
        self.state.count.store(levels, Ordering::Relaxed);
        a
    }
}

impl RLockGuard<'_> {
    /// Keeps this level held without a guard; release it later with [`RLock::release`] from the
    /// same thread.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::RLock;
    ///
    /// let lock = RLock::new()?;
    /// lock.acquire().unwrap().leak();
    /// assert!(lock.is_owned());
    /// lock.release()?;
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("holder_pid", &self.state.raw.holder_pid())
            .field("count", &self.state.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").finish_non_exhaustive()
    }
}
