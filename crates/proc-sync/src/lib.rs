//! Synchronisation between processes: [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`],
//! [`Condition`], [`Event`] and [`Barrier`], with Python's semantics, in Rust's shape.
//!
//! ```
//! use proc_core::Process;
//! use proc_sync::Lock;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! fn add(lock: Lock, counter: proc_core::Shared<AtomicU64>) {
//!     for _ in 0..1000 {
//!         let _held = lock.acquire().unwrap();
//!         let v = counter.load(Ordering::Relaxed); // read, then write: only safe under the lock
//!         counter.store(v + 1, Ordering::Relaxed);
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let lock = Lock::new()?;
//! let counter = proc_core::Shared::new(AtomicU64::new(0))?;
//! let mut ps: Vec<_> = (0..2).map(|_| Process::new(add, (lock.clone(), counter.clone()))).collect();
//! for p in &mut ps { p.start()?; }
//! for p in &mut ps { p.join()?; }
//! assert_eq!(counter.load(Ordering::Relaxed), 2000);
//! # Ok(()) }
//! ```
//!
//! Every primitive lives in a region of shared memory and is shared by handle: clones are the same
//! object, and a clone passed in a child's arguments (or sent through a pipe) is the same object in
//! the child. They work between threads of one process too.
//!
//! # Python's `block=` and `timeout=`
//! Become method families: `acquire` / `try_acquire` / `acquire_timeout` (returning guards that
//! release on drop), `wait` / `wait_timeout`. Where Python lets any process release (`Lock`,
//! `Semaphore`), an explicit `release()` does, together with a guard's `leak()`.
//!
//! # When a holder dies
//! A [`Lock`] or [`RLock`] records who holds it. If that process dies holding it — killed, or exited
//! without releasing — the next acquirer does not hang as in Python: it gets [`OwnerDied`], which
//! holds the lock for it (like a poisoned `std::sync::Mutex`). A sleeper notices within
//! 20 milliseconds. A [`Semaphore`] has no owner, so a unit taken by a process that died is never
//! given back; use a lock where that matters.
//!
//! # Speed
//! The state machines are atomics in shared memory; the kernel is only asked to put a thread to
//! sleep or wake one. Uncontended acquire and release make no system call.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod barrier;
mod condition;
mod error;
mod event;
mod lock;
pub mod raw;
mod semaphore;
mod sys;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard};
pub use error::{
    AcquireTimeoutError, BrokenBarrier, ConditionError, OwnerDied, ReleaseError, TryAcquireError,
};
pub use event::Event;
pub use lock::{Lock, LockGuard, RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
