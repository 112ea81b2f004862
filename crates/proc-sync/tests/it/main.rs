//! proc-sync integration tests: real processes, real SIGKILLs, real signals.

// The tests signal threads and exit under seccomp with raw OS calls on purpose.
#![allow(clippy::disallowed_methods)]

mod barrier;
mod condition;
mod event;
mod lock;
mod owner_death;
mod semaphore;
mod support;
mod timing;
