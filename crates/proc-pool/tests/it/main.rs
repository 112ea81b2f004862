//! proc-pool integration tests: real worker processes, real SIGKILLs.

// The fault tests signal workers with raw OS calls on purpose.
#![allow(clippy::disallowed_methods)]

mod basic;
mod callbacks;
mod faults;
mod imap;
mod support;
