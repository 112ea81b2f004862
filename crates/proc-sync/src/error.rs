//! The errors of acquiring and releasing, named after Python's exceptions where they map.

use std::fmt;

/// The previous holder of a [`Lock`](crate::Lock) or [`RLock`](crate::RLock) died while holding it
/// (killed, or exited without releasing). The caller now holds the lock: the data it protects may be
/// half-updated, so check it, then take the guard with [`into_guard`](OwnerDied::into_guard) to go on.
/// Python would hang forever here.
pub struct OwnerDied<G> {
    guard: G,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(guard: G) -> Self {
        OwnerDied { guard }
    }

    /// The same report around a guard made from this one: for types that hold one of this crate's
    /// locks inside their own guard (a shared value's, say).
    pub fn map<H>(self, f: impl FnOnce(G) -> H) -> OwnerDied<H> {
        OwnerDied { guard: f(self.guard) }
    }

    /// The guard: the lock is held by the caller.
    pub fn into_guard(self) -> G {
        self.guard
    }

    /// The guard, borrowed.
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
pub enum TryAcquireError<G> {
    /// Someone else holds it.
    WouldBlock,
    /// The holder had died; the caller holds the lock now.
    OwnerDied(OwnerDied<G>),
}

/// `acquire_timeout` did not take the lock cleanly.
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
    pub fn is_owner_died(&self) -> bool {
        matches!(self, TryAcquireError::OwnerDied(_))
    }
}

impl<G> AcquireTimeoutError<G> {
    /// Whether the time ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, AcquireTimeoutError::Timeout)
    }
}

/// A release that Python refuses.
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
#[error("the barrier is broken")]
pub struct BrokenBarrier;
