//! [`Barrier`]: a meeting point for a fixed number of parties.

use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proc_core::{Shared, SharedFn, ShmSafe};
use serde::{Deserialize, Serialize};

use crate::error::BrokenBarrier;
use crate::raw::{self, RawLock};
use crate::sys;

#[repr(C)]
#[derive(Default)]
struct BarrierState {
    /// Guards the fields below (held only for a few instructions, and while the action runs).
    lock: RawLock,
    parties: AtomicU32,
    /// Parties waiting in the current round.
    count: AtomicU32,
    /// The current round.
    round: AtomicU32,
    /// One more than the last round that completed normally (its waiters return `Ok`); 0 before
    /// any round completed.
    tripped: AtomicU32,
    /// Set by a timeout, `abort`, or a panicking action; cleared by `reset`.
    broken: AtomicU32,
    /// Changes whenever waiters must look again; the futex word they sleep on.
    epoch: AtomicU32,
}

// SAFETY: repr(C), atomics only, valid for every bit pattern, mutated only atomically.
unsafe impl ShmSafe for BarrierState {}

/// Blocks each of `parties` processes (or threads) in [`wait`](Barrier::wait) until all of them have
/// arrived: Python's `multiprocessing.Barrier`.
///
/// Each `wait` returns a distinct index in `0..parties`. An optional action (a function every
/// process can call, see [`SharedFn`]) runs exactly once per round, in the last party to arrive,
/// before the others are released. A timeout, [`abort`](Barrier::abort) or a panicking action breaks
/// the barrier: every waiter, and every later `wait`, gets [`BrokenBarrier`] until
/// [`reset`](Barrier::reset).
///
/// ```
/// use proc_core::Process;
/// use proc_sync::Barrier;
///
/// fn meet(barrier: Barrier) -> u32 {
///     barrier.wait().unwrap()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let barrier = Barrier::new(3)?;
/// let mut ps: Vec<_> = (0..2).map(|_| Process::new(meet, (barrier.clone(),))).collect();
/// for p in &mut ps { p.start()?; }
/// let mut indices = vec![barrier.wait()?];
/// for p in &mut ps { indices.push(p.join()?); }
/// indices.sort();
/// assert_eq!(indices, vec![0, 1, 2]);
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Barrier {
    state: Shared<BarrierState>,
    action: Option<SharedFn<(), ()>>,
    timeout: Option<Duration>,
}

struct Held<'a>(&'a RawLock);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl Barrier {
    /// A barrier for `parties` parties (at least 1).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    ///
    /// let barrier = Barrier::new(1)?; // Python: `Barrier(1)`
    /// assert_eq!(barrier.wait()?, 0); // one party: nobody else to wait for
    /// # Ok(()) }
    /// ```
    pub fn new(parties: u32) -> io::Result<Barrier> {
        Self::build(parties, None, None)
    }

    /// A barrier whose `action` runs once per round, in the last party to arrive (Python's
    /// `action=`).
    ///
    /// ```
    /// use proc_core::{Process, SharedFn};
    /// use proc_sync::Barrier;
    ///
    /// fn arrive(barrier: Barrier) {
    ///     barrier.wait().unwrap();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::with_action(2, SharedFn::new(|()| println!("all here")))?;
    /// let mut p = Process::new(arrive, (barrier.clone(),));
    /// p.start()?;
    /// barrier.wait()?; // the last of the two to arrive prints "all here"
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn with_action(parties: u32, action: SharedFn<(), ()>) -> io::Result<Barrier> {
        Self::build(parties, Some(action), None)
    }

    /// Sets the default timeout of [`wait`](Self::wait) (Python's `timeout=`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::{Barrier, BrokenBarrier};
    /// use std::time::Duration;
    ///
    /// let barrier = Barrier::new(2)?.with_timeout(Duration::from_millis(10));
    /// assert_eq!(barrier.wait(), Err(BrokenBarrier)); // the other party never came
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Barrier {
        self.timeout = Some(timeout);
        self
    }

    fn build(
        parties: u32,
        action: Option<SharedFn<(), ()>>,
        timeout: Option<Duration>,
    ) -> io::Result<Barrier> {
        if parties == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a barrier needs at least one party",
            ));
        }
        let state = BarrierState { parties: AtomicU32::new(parties), ..Default::default() };
        Ok(Barrier { state: Shared::new(state)?, action, timeout })
    }

    fn hold(&self) -> Held<'_> {
        // A party that died holding this lock held it for a few instructions: take it over.
        let _ = self.state.lock.lock(None);
        Held(&self.state.lock)
    }

    fn bump(&self) {
        self.state.epoch.fetch_add(1, Ordering::Release);
        sys::wake(&self.state.epoch, u32::MAX);
    }

    /// Waits for every party (at most the default timeout, if one was set); returns this party's
    /// index in `0..parties`.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Barrier;
    /// use std::time::Duration;
    ///
    /// fn arrive(barrier: Barrier) -> u32 {
    ///     barrier.wait().unwrap()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::new(2)?.with_timeout(Duration::from_secs(60));
    /// let mut p = Process::new(arrive, (barrier.clone(),));
    /// p.start()?;
    /// let mine = barrier.wait()?;
    /// let theirs = p.join()?;
    /// assert_eq!(mine + theirs, 1); // indices 0 and 1, one each
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) -> Result<u32, BrokenBarrier> {
        self.wait_deadline(self.timeout.map(raw::deadline))
    }

    /// Waits at most `timeout`. A timeout breaks the barrier for everyone, as in Python.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    /// use std::time::Duration;
    ///
    /// let barrier = Barrier::new(2)?;
    /// assert!(barrier.wait_timeout(Duration::from_millis(10)).is_err());
    /// assert!(barrier.is_broken()); // a timeout breaks it for everyone
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, BrokenBarrier> {
        self.wait_deadline(Some(raw::deadline(timeout)))
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> Result<u32, BrokenBarrier> {
        let s = &*self.state;
        let held = self.hold();
        if s.broken.load(Ordering::Relaxed) != 0 {
            return Err(BrokenBarrier);
        }
        let index = s.count.fetch_add(1, Ordering::Relaxed);
        let round = s.round.load(Ordering::Relaxed);
        if index + 1 >= s.parties.load(Ordering::Relaxed) {
            // The last party: run the action, then release the round.
            if let Some(action) = self.action
                && let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| action.call(())))
            {
                s.broken.store(1, Ordering::Relaxed);
                s.count.store(0, Ordering::Relaxed);
                drop(held);
                self.bump();
                panic::resume_unwind(panic);
            }
            s.tripped.store(round.wrapping_add(1), Ordering::Relaxed);
            s.round.store(round.wrapping_add(1), Ordering::Relaxed);
            s.count.store(0, Ordering::Relaxed);
            drop(held);
            self.bump();
            return Ok(index);
        }
        drop(held);
        loop {
            let epoch = s.epoch.load(Ordering::Acquire);
            {
                let _held = self.hold();
                if s.round.load(Ordering::Relaxed) != round {
                    let tripped = s.tripped.load(Ordering::Relaxed) == round.wrapping_add(1);
                    return if tripped { Ok(index) } else { Err(BrokenBarrier) };
                }
                if s.broken.load(Ordering::Relaxed) != 0 {
                    return Err(BrokenBarrier);
                }
            }
            if sys::wait(&s.epoch, epoch, deadline) == sys::Wait::TimedOut {
                let _held = self.hold();
                if s.round.load(Ordering::Relaxed) == round && s.broken.load(Ordering::Relaxed) == 0
                {
                    // Our time is up while the round is still filling: break it for everyone.
                    s.broken.store(1, Ordering::Relaxed);
                    s.count.store(0, Ordering::Relaxed);
                    drop(_held);
                    self.bump();
                    return Err(BrokenBarrier);
                }
            }
        }
    }

    /// Breaks the barrier: current and later waiters get [`BrokenBarrier`] until
    /// [`reset`](Self::reset).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    ///
    /// let barrier = Barrier::new(2)?;
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// assert!(barrier.wait().is_err()); // returns at once: the barrier is broken
    /// # Ok(()) }
    /// ```
    pub fn abort(&self) {
        let held = self.hold();
        self.state.broken.store(1, Ordering::Relaxed);
        self.state.count.store(0, Ordering::Relaxed);
        drop(held);
        self.bump();
    }

    /// Returns the barrier to its initial state: parties waiting now get [`BrokenBarrier`], later
    /// ones wait normally.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    ///
    /// let barrier = Barrier::new(1)?;
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// assert_eq!(barrier.wait()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn reset(&self) {
        let s = &*self.state;
        let held = self.hold();
        // Ending the round without tripping it fails its waiters.
        s.round.fetch_add(1, Ordering::Relaxed);
        s.count.store(0, Ordering::Relaxed);
        s.broken.store(0, Ordering::Relaxed);
        drop(held);
        self.bump();
    }

    /// The number of parties.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    ///
    /// assert_eq!(Barrier::new(3)?.parties(), 3);
    /// # Ok(()) }
    /// ```
    pub fn parties(&self) -> u32 {
        self.state.parties.load(Ordering::Relaxed)
    }

    /// How many parties are waiting now.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    /// use std::time::Duration;
    ///
    /// let barrier = Barrier::new(2)?;
    /// assert_eq!(barrier.n_waiting(), 0);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| barrier.wait_timeout(Duration::from_secs(60)));
    ///     while barrier.n_waiting() == 0 {
    ///         std::thread::yield_now(); // until the thread has arrived
    ///     }
    ///     barrier.wait().unwrap();
    /// });
    /// # Ok(()) }
    /// ```
    pub fn n_waiting(&self) -> u32 {
        self.state.count.load(Ordering::Relaxed)
    }

    /// Whether the barrier is broken.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Barrier;
    ///
    /// let barrier = Barrier::new(2)?;
    /// assert!(!barrier.is_broken());
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// # Ok(()) }
    /// ```
    pub fn is_broken(&self) -> bool {
        self.state.broken.load(Ordering::Relaxed) != 0
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}
