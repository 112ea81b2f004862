//! proc-core integration tests: real child processes, real signals, real fds.

mod errors;
mod handles;
mod lifecycle;
mod names;
mod start_methods;
mod support;
