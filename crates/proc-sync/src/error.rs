//! The errors of acquiring and releasing, named after Python's exceptions where they map.

use std::fmt;

/// The previous holder of a [`Lock`](crate::Lock) or [`RLock`](crate::RLock) died while holding it
/// (killed, or exited without releasing). The caller now holds the lock: the data it protects may be
/// half-updated, so check it, then take the guard with [`into_guard`](OwnerDied::into_guard) to go on.
/// Python would hang forever here.
///
/// ```
/// use proc_core::Process;
/// use proc_sync::Lock;
///
/// fn take_and_vanish(lock: Lock) {
///     lock.acquire().unwrap().leak(); // exits holding the lock
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let lock = Lock::new()?;
/// let mut p = Process::new(take_and_vanish, (lock.clone(),));
/// p.start()?;
/// p.join()?;
/// match lock.acquire() {
///     Ok(_guard) => unreachable!("the holder died holding it"),
///     Err(died) => {
///         // Python would hang here. Check what the lock protects, then go on.
///         let _guard = died.into_guard();
///     }
/// }
/// # Ok(()) }
/// ```
pub struct OwnerDied<G> {
    guard: G,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(guard: G) -> Self {
        OwnerDied { guard }
    }

    /// The same report around a guard made from this one: for types that hold one of this crate's
    /// locks inside their own guard (a shared value's, say).
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::{Lock, LockGuard, OwnerDied};
    ///
    /// /// A guard of one's own around the lock's guard.
    /// #[derive(Debug)]
    /// struct Held<'a>(LockGuard<'a>);
    ///
    /// fn take_and_vanish(lock: Lock) {
    ///     lock.acquire().unwrap().leak();
    /// }
    ///
    /// fn acquire(lock: &Lock) -> Result<Held<'_>, OwnerDied<Held<'_>>> {
    ///     lock.acquire().map(Held).map_err(|died| died.map(Held))
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lock = Lock::new()?;
    /// let mut p = Process::new(take_and_vanish, (lock.clone(),));
    /// p.start()?;
    /// p.join()?;
    /// let held: Held<'_> = acquire(&lock).unwrap_err().into_guard();
    /// drop(held.0);
    /// # Ok(()) }
    /// ```
    pub fn map<H>(self, f: impl FnOnce(G) -> H) -> OwnerDied<H> {
        OwnerDied { guard: f(self.guard) }
    }

    /// The guard: the lock is held by the caller.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Lock;
    ///
    /// fn take_and_vanish(lock: Lock) {
    ///     lock.acquire().unwrap().leak();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lock = Lock::new()?;
    /// let mut p = Process::new(take_and_vanish, (lock.clone(),));
    /// p.start()?;
    /// p.join()?;
    /// // Either way the caller holds the lock now.
    /// let _guard = lock.acquire().unwrap_or_else(|died| died.into_guard());
    /// assert!(lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn into_guard(self) -> G {
        self.guard
    }

    /// The guard, borrowed.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Lock;
    ///
    /// fn take_and_vanish(lock: Lock) {
    ///     lock.acquire().unwrap().leak();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lock = Lock::new()?;
    /// let mut p = Process::new(take_and_vanish, (lock.clone(),));
    /// p.start()?;
    /// p.join()?;
    /// let died = lock.acquire().unwrap_err();
    /// println!("{:?}", died.guard()); // the guard, still inside the report
    /// # Ok(()) }
    /// ```
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerDied { .. }")
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the previous holder died while holding the lock")
    }
}

impl<G> std::error::Error for OwnerDied<G> {}

/// `try_acquire` did not take the lock.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::{Lock, TryAcquireError};
///
/// let lock = Lock::new()?;
/// let _held = lock.acquire().unwrap();
/// match lock.try_acquire() {
///     Ok(_) => unreachable!("held above"),
///     Err(TryAcquireError::WouldBlock) => println!("busy"), // Python: `acquire(False)` is `False`
///     Err(TryAcquireError::OwnerDied(died)) => drop(died.into_guard()),
/// }
/// # Ok(()) }
/// ```
pub enum TryAcquireError<G> {
    /// Someone else holds it.
    WouldBlock,
    /// The holder had died; the caller holds the lock now.
    OwnerDied(OwnerDied<G>),
}

/// `acquire_timeout` did not take the lock cleanly.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::{AcquireTimeoutError, Lock};
/// use std::time::Duration;
///
/// let lock = Lock::new()?;
/// let _held = lock.acquire().unwrap();
/// match lock.acquire_timeout(Duration::from_millis(10)) {
///     Ok(_) => unreachable!("held above"),
///     Err(AcquireTimeoutError::Timeout) => println!("timed out"),
///     Err(AcquireTimeoutError::OwnerDied(died)) => drop(died.into_guard()),
/// }
/// # Ok(()) }
/// ```
pub enum AcquireTimeoutError<G> {
    /// The time ran out while someone else held it.
    Timeout,
    /// The holder had died; the caller holds the lock now.
    OwnerDied(OwnerDied<G>),
}

impl<G> fmt::Display for TryAcquireError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::WouldBlock => f.write_str("the lock is held by someone else"),
            TryAcquireError::OwnerDied(e) => e.fmt(f),
        }
    }
}

impl<G> fmt::Display for AcquireTimeoutError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireTimeoutError::Timeout => f.write_str("timed out waiting for the lock"),
            AcquireTimeoutError::OwnerDied(e) => e.fmt(f),
        }
    }
}

impl<G> fmt::Debug for TryAcquireError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::WouldBlock => f.write_str("WouldBlock"),
            TryAcquireError::OwnerDied(_) => f.write_str("OwnerDied(..)"),
        }
    }
}

impl<G> fmt::Debug for AcquireTimeoutError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireTimeoutError::Timeout => f.write_str("Timeout"),
            AcquireTimeoutError::OwnerDied(_) => f.write_str("OwnerDied(..)"),
        }
    }
}

impl<G> std::error::Error for TryAcquireError<G> {}
impl<G> std::error::Error for AcquireTimeoutError<G> {}

impl<G> TryAcquireError<G> {
    /// Whether the holder had died (and the caller holds the lock now).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?;
    /// let _held = lock.acquire().unwrap();
    /// assert!(!lock.try_acquire().unwrap_err().is_owner_died());
    /// # Ok(()) }
    /// ```
    pub fn is_owner_died(&self) -> bool {
        matches!(self, TryAcquireError::OwnerDied(_))
    }
}

impl<G> AcquireTimeoutError<G> {
    /// Whether the time ran out.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Lock;
    /// use std::time::Duration;
    ///
    /// let lock = Lock::new()?;
    /// let _held = lock.acquire().unwrap();
    /// assert!(lock.acquire_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// # Ok(()) }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, AcquireTimeoutError::Timeout)
    }
}

/// A release that Python refuses.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::{Lock, ReleaseError};
///
/// let lock = Lock::new()?;
/// assert_eq!(lock.release(), Err(ReleaseError::TooManyReleases)); // Python's `ValueError`
/// # Ok(()) }
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The lock (or bounded semaphore) was not held, or is already at its initial value (Python's
    /// `ValueError`).
    #[error("semaphore or lock released too many times")]
    TooManyReleases,
    /// The calling thread does not own the recursive lock (Python's `AssertionError`).
    #[error("attempt to release recursive lock not owned by thread")]
    NotOwner,
}

/// A condition was used without holding its lock (Python's `AssertionError`).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::{Condition, ConditionError};
///
/// let cond = Condition::new()?;
/// assert_eq!(cond.notify_all(), Err(ConditionError::NotifyWithoutLock)); // Python's `RuntimeError`
/// # Ok(()) }
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
#[non_exhaustive]
pub enum ConditionError {
    /// `wait` without holding the lock.
    #[error("must acquire() condition before using wait()")]
    WaitWithoutLock,
    /// `notify` without holding the lock.
    #[error("lock is not owned")]
    NotifyWithoutLock,
}

/// The barrier is broken: a party timed out, it was aborted or reset, or its action panicked
/// (Python's `threading.BrokenBarrierError`).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::{Barrier, BrokenBarrier};
///
/// let barrier = Barrier::new(2)?;
/// barrier.abort();
/// assert_eq!(barrier.wait(), Err(BrokenBarrier)); // Python's `BrokenBarrierError`
/// # Ok(()) }
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
#[error("the barrier is broken")]
pub struct BrokenBarrier;
