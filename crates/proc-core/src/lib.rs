//! Processes that run Rust functions: the foundation of multiproc, Python's `multiprocessing` for
//! Rust.
//!
//! ```
//! use proc_core::{Process, current_process};
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut p = Process::new(square, (7,));
//! p.start()?;
//! assert_eq!(p.join()?, 49);
//! assert_eq!(current_process().name(), "MainProcess");
//! # Ok(()) }
//! ```
//!
//! There is no `if __name__ == "__main__"` guard and no `init()` call: a child is a fresh copy of
//! the running binary whose entry hook runs the job before `main` would start. This works the same
//! in a program, an example, a unit or integration test, a doctest (like the one above) and a
//! benchmark.
//!
//! # Processes
//! [`Process`] runs a `fn` item or non-capturing closure with serde arguments ([`Target`]), or a value
//! that implements [`Run`] (the stand-in for subclassing `Process`). `join` returns the child's return
//! value, or a [`JoinError`] that says what happened instead: a panic with its message, a signal by
//! name, an early exit. [`ExitStatus`] and [`Process::exitcode`] follow Python's conventions (`-9` for
//! SIGKILL). Python's rules are typed errors: starting twice, joining an unstarted process, a daemon
//! starting a child, setting `daemon` after start.
//!
//! At normal exit (return from `main`, `std::process::exit`, a panic in `main`) daemon children are
//! terminated and every child is joined, as in Python. Beyond Python, daemon children also die when
//! the parent is killed, and [`active_children`] reaps what was dropped unjoined.
//!
//! # Start methods
//! [`StartMethod::SPAWN`] (default) re-executes the binary; [`StartMethod::FORKSERVER`] asks a
//! single-threaded server to fork; [`StartMethod::fork`] forks the caller (`unsafe`: see its docs) and
//! is the only one that runs capturing closures ([`ProcessBuilder::fork_closure`]).
//!
//! # Handles and shared regions
//! A [`Handle`] (a file, a socket) can sit anywhere in the arguments and arrives usable in the child;
//! nothing else leaks into a child. A [`SharedRegion`] (anonymous shared memory) travels the same
//! way and is what the other multiproc crates build their locks, values and queues on. [`codec`]
//! encodes any value with its handles, for crates that carry values over their own channels.
//!
//! # Module functions
//! [`current_process`], [`parent_process`], [`active_children`], [`cpu_count`],
//! [`process_cpu_count`], [`get_start_method`], [`set_start_method`], [`wait`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod child;
pub mod codec;
mod entry;
mod error;
mod forkserver;
mod frame;
mod func;
mod handle;
mod launch;
pub mod os;
mod process;
mod region;
mod runtime;
mod start;
mod status;
mod sys;
mod target;
mod wait;

pub use entry::{EXIT_BOOTSTRAP_FAILED, EXIT_ENTRY_HOOK_NOT_RUN, init};
pub use error::{JoinError, SignalError, StartError, StateError};
pub use func::SharedFn;
pub use handle::Handle;
pub use process::{
    ChildHandle, Process, ProcessBuilder, active_children, cpu_count, process_cpu_count,
};
pub use region::{Shared, SharedRegion, ShmSafe};
pub use runtime::{
    AuthKey, CurrentProcess, ParentProcess, current_process, parent_process,
    set_current_process_name,
};
pub use start::{
    StartMethod, StartMethodAlreadySet, get_all_start_methods, get_start_method, set_start_method,
    set_start_method_force,
};
pub use status::{ExitStatus, Pid, ProcessIdentity, Signal};
pub use target::{Run, Target};
pub use wait::{Waitable, wait};
