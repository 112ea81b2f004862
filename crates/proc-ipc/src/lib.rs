//! Messages between processes: [`Pipe`] and [`Connection`], [`Queue`], [`JoinableQueue`],
//! [`SimpleQueue`], waiting on many of them at once with [`wait`], and [`Listener`] / [`Client`]
//! for processes that did not start each other. Python's `multiprocessing` pipes and queues, typed,
//! and fast.
//!
//! ```
//! use proc_core::Process;
//! use proc_ipc::{Pipe, Queue};
//!
//! fn square_all(jobs: Queue<u64>, results: proc_ipc::Connection<u64>) {
//!     let mut results = results;
//!     for n in jobs.iter() {
//!         results.send(&(n * n)).unwrap();
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jobs = Queue::new()?;
//! let (mut results, child_end) = Pipe::new()?;
//! let mut p = Process::new(square_all, (jobs.clone(), child_end));
//! p.start()?;
//! for n in 1..=3 {
//!     jobs.put(n).unwrap();
//! }
//! jobs.close();
//! let squares: Vec<u64> = (0..3).map(|_| results.recv().unwrap()).collect();
//! assert_eq!(squares, [1, 4, 9]);
//! p.join()?;
//! # Ok(()) }
//! ```
//!
//! # Which one
//! - A [`Pipe`] connects two ends: a socket pair (duplex, and OS handles can travel inside
//!   messages) or an OS pipe (one way). One reader and one writer per end.
//! - A [`Queue`] is for many producers and many consumers. Its data path is shared memory, with no
//!   system call while nobody sleeps, so it is the fast one; see its docs for how it differs from
//!   Python's (no feeder thread, nothing lost at exit, close-and-drain).
//! - [`wait`] waits on connections, queues, listeners and process sentinels together.
//!
//! # Errors
//! Every failure is a typed error: end of stream is [`RecvError::Disconnected`] (Python's
//! `EOFError`), a full or empty queue [`PutError::Full`] / [`GetError::Empty`], an oversized or
//! corrupt message [`RecvError::TooLarge`] / [`RecvError::Corrupt`]. An item that could not be
//! sent or put comes back inside the error.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod connection;
mod error;
mod listener;
mod queue;
mod sys;

pub use connection::{Connection, DEFAULT_MAX_MESSAGE_LEN, Pipe};
pub use error::{
    DecodeError, EncodeError, GetError, HandleError, MessageError, PutError, RecvError, SendError,
    TaskDoneError,
};
pub use listener::{
    Address, AuthError, Client, DEFAULT_HANDSHAKE_TIMEOUT, HANDSHAKE_MAX, Listener,
};
pub use proc_core::{Waitable, wait};
pub use queue::{DEFAULT_CAPACITY, Iter, JoinableQueue, Queue, QueueBuilder, SimpleQueue};
