//! [`Semaphore`] and [`BoundedSemaphore`]: counters that processes take from and give back to.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proc_core::{Shared, ShmSafe};
use serde::{Deserialize, Serialize};

use crate::error::ReleaseError;
use crate::raw;
use crate::sys;

const SPINS: u32 = 200;

#[repr(C)]
struct SemState {
    /// The count; also the futex word sleepers wait on.
    value: AtomicU32,
    /// How many are asleep (or about to be), so that a release without sleepers makes no syscall.
    sleepers: AtomicU32,
    /// The most `value` may reach (bounded semaphores); 0 for no bound.
    bound: AtomicU32,
}

// SAFETY: repr(C), atomics only, valid for every bit pattern, mutated only atomically.
unsafe impl ShmSafe for SemState {}

/// A counter that [`acquire`](Semaphore::acquire) decrements (waiting while it is zero) and
/// [`release`](Semaphore::release) increments: Python's `multiprocessing.Semaphore`. It can be
/// released above its initial value.
///
/// A semaphore has no owner: if a process dies between acquiring and releasing, its unit is simply
/// never given back, and nobody can tell (Python behaves the same). Use a [`Lock`](crate::Lock) when
/// the death of a holder must be noticed.
///
/// ```
/// use proc_sync::Semaphore;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let rooms = Semaphore::new(2)?;
/// let a = rooms.acquire();
/// let b = rooms.acquire();
/// assert!(rooms.try_acquire().is_none(), "both rooms taken");
/// drop(a);
/// assert!(rooms.try_acquire().is_some());
/// # drop(b); Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Semaphore {
    state: Shared<SemState>,
}

/// One unit of a semaphore; given back when dropped.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::Semaphore;
///
/// let slots = Semaphore::new(1)?;
/// {
///     let _unit = slots.acquire(); // Python: `with slots:`
///     assert_eq!(slots.get_value(), 0);
/// } // given back here
/// assert_eq!(slots.get_value(), 1);
/// # Ok(()) }
/// ```
#[must_use = "the unit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `value` units.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(3)?; // Python: `Semaphore(3)`
    /// assert_eq!(sem.get_value(), 3);
    /// # Ok(()) }
    /// ```
    pub fn new(value: u32) -> io::Result<Semaphore> {
        Self::with_bound(value, 0)
    }

    fn with_bound(value: u32, bound: u32) -> io::Result<Semaphore> {
        let state = SemState {
            value: AtomicU32::new(value),
            sleepers: AtomicU32::new(0),
            bound: AtomicU32::new(bound),
        };
        Ok(Semaphore { state: Shared::new(state)? })
    }

    fn try_take(&self) -> bool {
        let mut v = self.state.value.load(Ordering::Relaxed);
        while v > 0 {
            match self.state.value.compare_exchange_weak(
                v,
                v - 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
        false
    }

    fn take(&self, deadline: Option<Instant>) -> bool {
        if self.try_take() {
            return true;
        }
        for _ in 0..SPINS {
            std::hint::spin_loop();
            if self.state.value.load(Ordering::Relaxed) > 0 && self.try_take() {
                return true;
            }
        }
        // Announce the sleeper before looking at the count: a releaser increments the count and then
        // looks for sleepers, so one of the two sees the other (both sequentially consistent).
        self.state.sleepers.fetch_add(1, Ordering::SeqCst);
        let got = raw::wait_until(&self.state.value, deadline, || {
            if self.try_take() { None } else { Some(0) }
        });
        self.state.sleepers.fetch_sub(1, Ordering::SeqCst);
        got
    }

    /// Takes a unit, waiting while there is none.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Semaphore;
    ///
    /// fn worker(slots: Semaphore) -> u32 {
    ///     let _slot = slots.acquire(); // at most two workers in here at once
    ///     slots.get_value()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let slots = Semaphore::new(2)?;
    /// let mut ps: Vec<_> = (0..4).map(|_| Process::new(worker, (slots.clone(),))).collect();
    /// for p in &mut ps { p.start()?; }
    /// for p in &mut ps { assert!(p.join()? <= 1); }
    /// assert_eq!(slots.get_value(), 2);
    /// # Ok(()) }
    /// ```
    pub fn acquire(&self) -> SemaphoreGuard<'_> {
        while !self.take(None) {}
        SemaphoreGuard { sem: self }
    }

    /// Takes a unit if one is free (Python's `acquire(block=False)`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1)?;
    /// let unit = sem.try_acquire().expect("one unit is free");
    /// assert!(sem.try_acquire().is_none()); // Python's `acquire(block=False)` returning `False`
    /// drop(unit);
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        // `then`, not `then_some`: a guard built eagerly would be dropped on failure, releasing a unit.
        self.try_take().then(|| SemaphoreGuard { sem: self })
    }

    /// Takes a unit, waiting at most `timeout` (Python's `acquire(timeout=…)` returning `False`
    /// becomes `None`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Semaphore;
    /// use std::time::Duration;
    ///
    /// let sem = Semaphore::new(0)?;
    /// assert!(sem.acquire_timeout(Duration::from_millis(10)).is_none());
    /// sem.release()?;
    /// assert!(sem.acquire_timeout(Duration::from_secs(5)).is_some());
    /// # Ok(()) }
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        self.take(Some(raw::deadline(timeout))).then(|| SemaphoreGuard { sem: self })
    }

    /// Gives a unit back, from any process. A plain semaphore may go above its initial value; a
    /// bounded one refuses ([`ReleaseError::TooManyReleases`]).
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Semaphore;
    /// use std::time::Duration;
    ///
    /// fn signal(ready: Semaphore) {
    ///     ready.release().unwrap(); // any process may release
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ready = Semaphore::new(0)?;
    /// let mut p = Process::new(signal, (ready.clone(),));
    /// p.start()?;
    /// let unit = ready.acquire_timeout(Duration::from_secs(60)); // waits for the child's release
    /// assert!(unit.is_some());
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        let bound = self.state.bound.load(Ordering::Relaxed);
        if bound == 0 {
            self.state.value.fetch_add(1, Ordering::SeqCst);
        } else {
            let mut v = self.state.value.load(Ordering::Relaxed);
            loop {
                if v >= bound {
                    return Err(ReleaseError::TooManyReleases);
                }
                match self.state.value.compare_exchange_weak(
                    v,
                    v + 1,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(now) => v = now,
                }
            }
        }
        if self.state.sleepers.load(Ordering::SeqCst) > 0 {
            sys::wake(&self.state.value, 1);
        }
        Ok(())
    }

    /// The number of free units (Python's `get_value()`); only a snapshot.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(2)?;
    /// let _unit = sem.acquire();
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn get_value(&self) -> u32 {
        self.state.value.load(Ordering::Relaxed)
    }
}

impl SemaphoreGuard<'_> {
    /// Keeps the unit without a guard; give it back later with [`Semaphore::release`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1)?;
    /// sem.acquire().leak(); // Python: `sem.acquire()` with no `with`
    /// assert_eq!(sem.get_value(), 0);
    /// sem.release()?;
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // A guard's unit was taken, so giving it back is always within any bound.
        let _ = self.sem.release();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("value", &self.get_value()).finish()
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// A semaphore that refuses to be released above its initial value: Python's
/// `multiprocessing.BoundedSemaphore`.
///
/// ```
/// use proc_sync::{BoundedSemaphore, ReleaseError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let s = BoundedSemaphore::new(1)?;
/// assert_eq!(s.release(), Err(ReleaseError::TooManyReleases));
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct BoundedSemaphore {
    inner: Semaphore,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `value` units, which is also its bound.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(2)?; // Python: `BoundedSemaphore(2)`
    /// assert_eq!(sem.get_value(), 2);
    /// # Ok(()) }
    /// ```
    pub fn new(value: u32) -> io::Result<BoundedSemaphore> {
        Ok(BoundedSemaphore { inner: Semaphore::with_bound(value, value.max(1))? })
    }

    /// Takes a unit, waiting while there is none.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1)?;
    /// let unit = sem.acquire();
    /// assert_eq!(sem.get_value(), 0);
    /// drop(unit);
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn acquire(&self) -> SemaphoreGuard<'_> {
        self.inner.acquire()
    }

    /// Takes a unit if one is free.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1)?;
    /// let _unit = sem.try_acquire().expect("one unit is free");
    /// assert!(sem.try_acquire().is_none());
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.inner.try_acquire()
    }

    /// Takes a unit, waiting at most `timeout`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::BoundedSemaphore;
    /// use std::time::Duration;
    ///
    /// let sem = BoundedSemaphore::new(1)?;
    /// let _unit = sem.acquire_timeout(Duration::from_secs(5)).expect("free");
    /// assert!(sem.acquire_timeout(Duration::from_millis(10)).is_none());
    /// # Ok(()) }
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        self.inner.acquire_timeout(timeout)
    }

    /// Gives a unit back; above the initial value this is [`ReleaseError::TooManyReleases`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{BoundedSemaphore, ReleaseError};
    ///
    /// let sem = BoundedSemaphore::new(1)?;
    /// sem.acquire().leak();
    /// sem.release()?; // back to its initial value
    /// assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.inner.release()
    }

    /// The number of free units.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(3)?;
    /// let _unit = sem.acquire();
    /// assert_eq!(sem.get_value(), 2);
    /// # Ok(()) }
    /// ```
    pub fn get_value(&self) -> u32 {
        self.inner.get_value()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore").field("value", &self.get_value()).finish()
    }
}
