//! Python's `multiprocessing`, rebuilt for Rust: processes that run Rust functions, with the
//! pieces to make them work together.
//!
//! ```
//! use multiproc::Process;
//!
//! fn cube(x: i64) -> i64 {
//!     x * x * x
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut p = Process::new(cube, (3,));
//! p.start()?;
//! assert_eq!(p.join()?, 27);
//! # Ok(()) }
//! ```
//!
//! No `if __name__ == "__main__"` guard, no `init()` call: a child is a fresh copy of your binary
//! that runs its job before `main` would start.
//!
//! # Pieces
//! - [`process`]: [`Process`], start methods, exit status, daemon rules, handle passing, shared
//!   regions (the `proc-core` crate; always present).
//!
//! The other pieces (synchronisation, shared values, pipes and queues, the pool, the manager) are
//! separate crates that this facade will re-export behind one feature each.
//!
//! # Feature flags
//! - `full` (default): every piece.
//!
//! # Python → Rust
//! | Python | multiproc |
//! |---|---|
//! | `Process(target=f, args=(a, b))` | [`Process::new(f, (a, b))`](Process::new) |
//! | `class P(Process): def run(self)` | `impl Run for P` + [`Process::from_run`] |
//! | `p.start()`, `p.join()`, `p.join(1.5)` | `p.start()?`, `p.join()?` (returns the value), `p.join_timeout(d)` |
//! | `p.exitcode`, `p.is_alive()`, `p.pid` | [`Process::exitcode`], [`Process::is_alive`], [`Process::pid`] |
//! | `p.terminate()`, `p.kill()` | [`Process::terminate`], [`Process::kill`] |
//! | `p.daemon = True` | `Process::builder().daemon(true)` or [`Process::set_daemon`] |
//! | `current_process()`, `parent_process()` | [`current_process`], [`parent_process`] |
//! | `active_children()`, `cpu_count()` | [`active_children`], [`cpu_count`] |
//! | `set_start_method('spawn')` | [`set_start_method(StartMethod::SPAWN)`](set_start_method) |
//! | `connection.wait([...])` | [`wait`] |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

#[doc(inline)]
pub use proc_core as process;

pub use proc_core::{
    ExitStatus, Handle, JoinError, Pid, Process, ProcessBuilder, Run, Signal, StartError,
    StartMethod, active_children, cpu_count, current_process, get_start_method, init,
    parent_process, process_cpu_count, set_start_method, wait,
};
