//! Platform-only public API.

#[cfg(unix)]
pub mod unix;
