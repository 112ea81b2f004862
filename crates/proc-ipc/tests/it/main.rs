//! proc-ipc integration tests: real processes, real sockets, real SIGKILLs.

// Some tests write raw bytes to sockets and signal processes with raw OS calls on purpose.
#![allow(clippy::disallowed_methods)]

mod faults;
mod listener;
mod pipe;
mod queue;
mod support;
mod wait;
