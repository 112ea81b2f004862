//! [`Condition`]: wait until notified, over a [`Lock`] or an [`RLock`].

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proc_core::{Shared, ShmSafe};
use serde::{Deserialize, Serialize};

use crate::error::{ConditionError, OwnerDied};
use crate::lock::{Lock, RLock};
use crate::raw::{self, Acquired};
use crate::sys;

/// Waiters a condition can hold at once; more wait for a free slot.
const SLOTS: usize = 128;

const FREE: u32 = 0;
const WAITING: u32 = 1;
const NOTIFIED: u32 = 2;

/// One waiter's place. `state` is the futex word that waiter alone sleeps on, so a notify wakes
/// exactly the waiters it picks.
#[repr(C)]
#[derive(Default)]
struct Slot {
    state: AtomicU32,
    /// The waiter's identity (pid, start-time tag), to skip waiters that died.
    pid: AtomicU32,
    tag: AtomicU32,
    _pad: AtomicU32,
    /// Arrival order: notify picks the oldest waiters first.
    seq: AtomicU64,
}

/// Everything but the slots' futex waits is changed with the condition's lock held.
#[repr(C)]
struct CondState {
    next_seq: AtomicU64,
    /// Slots in state WAITING.
    waiting: AtomicU32,
    /// Bumped when a slot is freed; waiters that found no free slot sleep on it.
    freed: AtomicU32,
    slots: [Slot; SLOTS],
}

impl Default for CondState {
    fn default() -> Self {
        CondState {
            next_seq: AtomicU64::new(0),
            waiting: AtomicU32::new(0),
            freed: AtomicU32::new(0),
            slots: std::array::from_fn(|_| Slot::default()),
        }
    }
}

// SAFETY: repr(C), atomics only (arrays of them), valid for every bit pattern, mutated only
// atomically.
unsafe impl ShmSafe for CondState {}

#[derive(Clone, Serialize, Deserialize)]
enum CondLock {
    Plain(Lock),
    Recursive(RLock),
}

/// A condition variable shared between processes: Python's `multiprocessing.Condition`.
///
/// Waiting releases the condition's lock, sleeps until another process calls `notify`, and takes the
/// lock back. The lock is an [`RLock`] by default (as in Python), or a [`Lock`] or [`RLock`] you
/// pass in. Hold the lock through [`acquire`](Condition::acquire) and wait or notify through the
/// guard; the methods on `Condition` itself check that the caller holds the lock and return
/// [`ConditionError`] otherwise, as Python raises.
///
/// ```
/// use proc_core::Process;
/// use proc_sync::{Condition, Event};
///
/// fn announce(cond: Condition, ready: Event) {
///     let mut g = cond.acquire().unwrap();
///     ready.set();
///     g.notify_all();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cond = Condition::new()?;
/// let ready = Event::new()?;
/// let mut g = cond.acquire().unwrap();
/// let mut p = Process::new(announce, (cond.clone(), ready.clone()));
/// p.start()?;
/// // The child cannot notify before this wait releases the lock, so the wake-up is not missed.
/// assert!(g.wait_for(|| ready.is_set(), Some(std::time::Duration::from_secs(60))));
/// drop(g);
/// p.join()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Condition {
    lock: CondLock,
    state: Shared<CondState>,
}

/// Holds a [`Condition`]'s lock; wait and notify through it. Releases the lock when dropped.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_sync::Condition;
/// use std::time::Duration;
///
/// let cond = Condition::new()?;
/// let mut g = cond.acquire().unwrap(); // Python: `with cond:`
/// g.notify_all(); // nobody waits: nothing happens
/// assert!(!g.wait_timeout(Duration::from_millis(10)));
/// drop(g); // the lock is released
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a> {
    cond: &'a Condition,
}

impl Condition {
    /// A condition over a new [`RLock`] (Python's default).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Condition;
    ///
    /// let cond = Condition::new()?; // Python: `Condition()`, over a new RLock
    /// let outer = cond.acquire().unwrap();
    /// let inner = cond.acquire().unwrap(); // recursive: the same thread may take it again
    /// drop((inner, outer));
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Condition> {
        Self::with_rlock(RLock::new()?)
    }

    /// A condition over `lock`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Condition, Lock};
    ///
    /// let lock = Lock::new()?;
    /// let cond = Condition::with_lock(lock.clone())?; // Python: `Condition(lock)`
    /// let held = cond.acquire().unwrap();
    /// assert!(lock.locked());
    /// drop(held);
    /// # Ok(()) }
    /// ```
    pub fn with_lock(lock: Lock) -> io::Result<Condition> {
        Ok(Condition { lock: CondLock::Plain(lock), state: Shared::new(CondState::default())? })
    }

    /// A condition over `lock`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Condition, RLock};
    ///
    /// let lock = RLock::new()?;
    /// let cond = Condition::with_rlock(lock.clone())?;
    /// let _held = cond.acquire().unwrap();
    /// assert!(lock.is_owned());
    /// # Ok(()) }
    /// ```
    pub fn with_rlock(lock: RLock) -> io::Result<Condition> {
        Ok(Condition { lock: CondLock::Recursive(lock), state: Shared::new(CondState::default())? })
    }

    /// Takes the condition's lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Condition;
    /// use std::time::Duration;
    ///
    /// let cond = Condition::new()?;
    /// let mut g = cond.acquire().unwrap();
    /// assert!(!g.wait_timeout(Duration::from_millis(10)), "nobody notified");
    /// # Ok(()) }
    /// ```
    pub fn acquire(&self) -> Result<ConditionGuard<'_>, OwnerDied<ConditionGuard<'_>>> {
        let a = match &self.lock {
            CondLock::Plain(l) => match l.acquire() {
                Ok(g) => {
                    g.leak();
                    Acquired::Clean
                }
                Err(d) => {
                    d.into_guard().leak();
                    Acquired::OwnerDied
                }
            },
            CondLock::Recursive(l) => match l.acquire() {
                Ok(g) => {
                    g.leak();
                    Acquired::Clean
                }
                Err(d) => {
                    d.into_guard().leak();
                    Acquired::OwnerDied
                }
            },
        };
        let g = ConditionGuard { cond: self };
        if a == Acquired::OwnerDied { Err(OwnerDied::new(g)) } else { Ok(g) }
    }

    /// Whether the caller holds the lock (for a plain [`Lock`]: whether this process does).
    fn held(&self) -> bool {
        match &self.lock {
            CondLock::Plain(l) => l.raw().held_by_this_process(),
            CondLock::Recursive(l) => l.is_owned(),
        }
    }

    fn unlock_all(&self) -> u32 {
        match &self.lock {
            CondLock::Plain(l) => {
                let _ = l.release();
                1
            }
            CondLock::Recursive(l) => l.release_all(),
        }
    }

    fn relock(&self, levels: u32) {
        match &self.lock {
            CondLock::Plain(l) => {
                // A holder that died while we slept leaves the lock to us: we hold it either way.
                let _ = l.raw().lock(None);
            }
            CondLock::Recursive(l) => {
                let _ = l.restore(levels);
            }
        }
    }

    fn release_guard(&self) {
        match &self.lock {
            CondLock::Plain(l) => {
                let _ = l.release();
            }
            CondLock::Recursive(l) => {
                let _ = l.release();
            }
        }
    }

    /// The wait itself, with the lock held: returns whether a notify picked this waiter (`false`:
    /// timed out).
    fn wait_locked(&self, deadline: Option<Instant>) -> bool {
        let st = &*self.state;
        // A slot of our own (with the lock held); if all are taken, wait for one to be freed.
        let slot = loop {
            if let Some(slot) = st.slots.iter().find(|s| s.state.load(Ordering::Relaxed) == FREE) {
                break slot;
            }
            let freed = st.freed.load(Ordering::Acquire);
            let levels = self.unlock_all();
            if sys::wait(&st.freed, freed, deadline) == sys::Wait::TimedOut {
                self.relock(levels);
                return false;
            }
            self.relock(levels);
        };
        let me = raw::my_id();
        slot.pid.store(me.pid, Ordering::Relaxed);
        slot.tag.store(me.tag, Ordering::Relaxed);
        slot.seq.store(st.next_seq.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        slot.state.store(WAITING, Ordering::Release);
        st.waiting.fetch_add(1, Ordering::Relaxed);

        let levels = self.unlock_all();
        raw::wait_until(&slot.state, deadline, || {
            if slot.state.load(Ordering::Acquire) == NOTIFIED { None } else { Some(WAITING) }
        });
        self.relock(levels);

        // With the lock held again: a notify may have picked us even if our time ran out first.
        let notified = slot.state.load(Ordering::Acquire) == NOTIFIED;
        if !notified {
            st.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        slot.state.store(FREE, Ordering::Release);
        st.freed.fetch_add(1, Ordering::Release);
        sys::wake(&st.freed, 1);
        notified
    }

    /// Picks up to `n` waiters, oldest first, with the lock held. Waiters whose process died are
    /// dropped instead of absorbing a notification.
    fn notify_locked(&self, n: u32) {
        let st = &*self.state;
        let mut left = n;
        while left > 0 && st.waiting.load(Ordering::Relaxed) > 0 {
            let Some(slot) = st
                .slots
                .iter()
                .filter(|s| s.state.load(Ordering::Relaxed) == WAITING)
                .min_by_key(|s| s.seq.load(Ordering::Relaxed))
            else {
                break;
            };
            st.waiting.fetch_sub(1, Ordering::Relaxed);
            let owner = sys::ProcessId {
                pid: slot.pid.load(Ordering::Relaxed),
                tag: slot.tag.load(Ordering::Relaxed),
            };
            if owner != raw::my_id() && !owner.is_alive() {
                slot.state.store(FREE, Ordering::Release);
                continue;
            }
            slot.state.store(NOTIFIED, Ordering::Release);
            sys::wake(&slot.state, 1);
            left -= 1;
        }
    }

    /// Waits for a notify, with the lock held by the caller (held through a leaked guard, or through
    /// the [`Lock`]/[`RLock`] the condition was made with). Python's `wait()`.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::{Condition, Event, Lock};
    ///
    /// fn announce(cond: Condition, ready: Event) {
    ///     let mut g = cond.acquire().unwrap();
    ///     ready.set();
    ///     g.notify_all();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lock = Lock::new()?;
    /// let cond = Condition::with_lock(lock.clone())?;
    /// let ready = Event::new()?;
    /// lock.acquire().unwrap().leak(); // Python: `cond.acquire()`
    /// let mut p = Process::new(announce, (cond.clone(), ready.clone()));
    /// p.start()?;
    /// while !ready.is_set() {
    ///     cond.wait()?; // the child notifies once it has the lock, which this wait releases
    /// }
    /// lock.release()?; // Python: `cond.release()`
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) -> Result<(), ConditionError> {
        if !self.held() {
            return Err(ConditionError::WaitWithoutLock);
        }
        while !self.wait_locked(None) {}
        Ok(())
    }

    /// As [`wait`](Self::wait), at most `timeout`; `Ok(false)` if it timed out.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Condition, ConditionError, Lock};
    /// use std::time::Duration;
    ///
    /// let lock = Lock::new()?;
    /// let cond = Condition::with_lock(lock.clone())?;
    /// assert_eq!(cond.wait_timeout(Duration::from_millis(10)), Err(ConditionError::WaitWithoutLock));
    /// lock.acquire().unwrap().leak();
    /// assert_eq!(cond.wait_timeout(Duration::from_millis(10)), Ok(false)); // nobody notified
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, ConditionError> {
        if !self.held() {
            return Err(ConditionError::WaitWithoutLock);
        }
        Ok(self.wait_locked(Some(raw::deadline(timeout))))
    }

    /// Wakes up to `n` waiters; the caller must hold the lock. Python's `notify(n)`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Condition, ConditionError, Lock};
    ///
    /// let lock = Lock::new()?;
    /// let cond = Condition::with_lock(lock.clone())?;
    /// assert_eq!(cond.notify(1), Err(ConditionError::NotifyWithoutLock));
    /// lock.acquire().unwrap().leak();
    /// cond.notify(1)?;
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub fn notify(&self, n: u32) -> Result<(), ConditionError> {
        if !self.held() {
            return Err(ConditionError::NotifyWithoutLock);
        }
        self.notify_locked(n);
        Ok(())
    }

    /// Wakes every waiter; the caller must hold the lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Condition, Lock};
    ///
    /// let lock = Lock::new()?;
    /// let cond = Condition::with_lock(lock.clone())?;
    /// lock.acquire().unwrap().leak();
    /// cond.notify_all()?; // Python: `cond.notify_all()` between `acquire()` and `release()`
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub fn notify_all(&self) -> Result<(), ConditionError> {
        self.notify(u32::MAX)
    }
}

impl ConditionGuard<'_> {
    /// Releases the lock, waits for a notify, takes the lock back.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::{Condition, Event};
    ///
    /// fn announce(cond: Condition, ready: Event) {
    ///     let mut g = cond.acquire().unwrap();
    ///     ready.set();
    ///     g.notify_all();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cond = Condition::new()?;
    /// let ready = Event::new()?;
    /// let mut g = cond.acquire().unwrap();
    /// let mut p = Process::new(announce, (cond.clone(), ready.clone()));
    /// p.start()?;
    /// while !ready.is_set() {
    ///     g.wait(); // releases the lock, so the child can take it and notify
    /// }
    /// drop(g);
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn wait(&mut self) {
        while !self.cond.wait_locked(None) {}
    }

    /// As [`wait`](Self::wait), at most `timeout`; `false` if it timed out.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Condition;
    /// use std::time::Duration;
    ///
    /// let cond = Condition::new()?;
    /// let mut g = cond.acquire().unwrap();
    /// assert!(!g.wait_timeout(Duration::from_millis(10)));
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        self.cond.wait_locked(Some(raw::deadline(timeout)))
    }

    /// Waits while `condition()` is true (checked with the lock held, before each wait).
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::{Condition, Event};
    ///
    /// fn announce(cond: Condition, ready: Event) {
    ///     let mut g = cond.acquire().unwrap();
    ///     ready.set();
    ///     g.notify_all();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cond = Condition::new()?;
    /// let ready = Event::new()?;
    /// let mut g = cond.acquire().unwrap();
    /// let mut p = Process::new(announce, (cond.clone(), ready.clone()));
    /// p.start()?;
    /// g.wait_while(|| !ready.is_set());
    /// drop(g);
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn wait_while(&mut self, mut condition: impl FnMut() -> bool) {
        while condition() {
            self.wait();
        }
    }

    /// Python's `wait_for(predicate, timeout)`: waits until `predicate()` is true or the timeout
    /// passes (`None`: no limit), and returns the predicate's last value.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Condition, Event};
    /// use std::time::Duration;
    ///
    /// let cond = Condition::new()?;
    /// let ready = Event::new()?;
    /// let mut g = cond.acquire().unwrap();
    /// assert!(!g.wait_for(|| ready.is_set(), Some(Duration::from_millis(10))));
    /// ready.set();
    /// assert!(g.wait_for(|| ready.is_set(), None)); // true already: no wait
    /// # Ok(()) }
    /// ```
    pub fn wait_for(
        &mut self,
        mut predicate: impl FnMut() -> bool,
        timeout: Option<Duration>,
    ) -> bool {
        let deadline = timeout.map(raw::deadline);
        loop {
            if predicate() {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            self.cond.wait_locked(deadline);
        }
    }

    /// Wakes up to `n` waiters.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Condition;
    ///
    /// let cond = Condition::new()?;
    /// let mut g = cond.acquire().unwrap();
    /// g.notify(2); // Python: `cond.notify(2)`
    /// # Ok(()) }
    /// ```
    pub fn notify(&mut self, n: u32) {
        self.cond.notify_locked(n);
    }

    /// Wakes one waiter.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Condition;
    ///
    /// let cond = Condition::new()?;
    /// cond.acquire().unwrap().notify_one(); // Python: `cond.notify()`
    /// # Ok(()) }
    /// ```
    pub fn notify_one(&mut self) {
        self.cond.notify_locked(1);
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Condition;
    ///
    /// let cond = Condition::new()?;
    /// cond.acquire().unwrap().notify_all();
    /// # Ok(()) }
    /// ```
    pub fn notify_all(&mut self) {
        self.cond.notify_locked(u32::MAX);
    }
}

impl Drop for ConditionGuard<'_> {
    fn drop(&mut self) {
        self.cond.release_guard();
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("recursive", &matches!(self.lock, CondLock::Recursive(_)))
            .field("waiters", &self.state.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl fmt::Debug for ConditionGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionGuard").finish_non_exhaustive()
    }
}
