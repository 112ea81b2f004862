//! A pool of worker processes (Python's `multiprocessing.Pool`): `apply`, `apply_async`, `map`,
//! `map_async`, `starmap`, `imap`, `imap_unordered`, callbacks, and workers that may die without
//! hanging the pool.
//!
//! ```
//! use proc_pool::Pool;
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::new(2)?;
//! assert_eq!(pool.map(square, 1..=4)?, vec![1, 4, 9, 16]);
//! let r = pool.apply_async(square, (12,))?;
//! assert_eq!(r.get()?, 144);
//! pool.close();
//! pool.join()?;
//! # Ok(()) }
//! ```
//!
//! Tasks are `fn` items or non-capturing closures with serde arguments and results, as for
//! [`Process`](proc_core::Process); a capturing closure does not compile:
//!
//! ```compile_fail
//! let pool = proc_pool::Pool::new(1).unwrap();
//! let k = 3u64;
//! pool.map(move |x: u64| x * k, 0..4u64);
//! ```
//!
//! # Where it differs from Python
//! - A worker that dies fails the one task it was running with [`TaskError::WorkerDied`] (the
//!   signal named); the pool replaces it and every other task completes. Python's `Pool` hangs.
//! - A per-task timeout ([`PoolBuilder::task_timeout`]) kills a stuck task's worker and fails
//!   that task with [`TaskError::TimedOut`].
//! - A failing initializer breaks the pool ([`PoolError::Broken`]) instead of restarting workers
//!   for ever.
//! - Workers are daemonic: a task that starts a process or a pool gets a typed error
//!   ([`PoolError::Start`] / [`proc_core::StartError::DaemonicParent`]) unless the pool was built
//!   with [`PoolBuilder::allow_children`].
//! - [`AsyncResult`] is also a [`Future`].
//! - Dropping a pool terminates it (as `with Pool() as p:` does); [`Pool::close`] then
//!   [`Pool::join`] lets submitted work finish first.
//!
//! # How it works
//! Each worker has a task connection and a reply connection. A submitting thread writes tasks to a
//! worker with room itself; a feeder thread writes the rest as room frees up; a reader thread
//! collects replies and watches for workers that end. Short tasks are pipelined (several queued on
//! a worker), long ones are not, so one slow task does not hold others back. Each worker records
//! the id of the task it is running in shared memory, which is how the pool knows, when a worker
//! dies, which task it held and which queued ones it never started.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod error;
mod imap;
mod pool;
mod result;
mod task;

pub use error::{PoolError, TaskError};
pub use imap::Imap;
pub use pool::{Pool, PoolBuilder, default_chunksize};
pub use result::{AsyncResult, Callbacks};
