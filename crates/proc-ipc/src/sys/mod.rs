//! The OS layer of proc-ipc: plain reads and writes on pipe ends, and the event fd a queue signals
//! when a [`wait`](proc_core::wait) is watching it. Sockets go through `proc_core::os`, which owns
//! `sendmsg`/`recvmsg` with fd passing; futexes through `proc_sync::raw`.
//!
//! Linux (implemented, tested): `read`/`writev`, `eventfd`.
//!
//! macOS (designed, not built here): the same calls, with a non-blocking pipe in place of the
//! event fd (written one byte when signalled, drained when cleared).
//!
//! Windows (designed, not built here): connections on named pipes in message mode (a pipe end is a
//! `HANDLE`, duplicated into the child with `DuplicateHandle`), and a manual-reset event in place of
//! the event fd, waited on with `WaitForMultipleObjects`.

#[cfg(target_os = "linux")]
#[allow(clippy::disallowed_methods)] // this is where OS calls live
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "proc-ipc is implemented and tested on Linux only so far; see src/sys/mod.rs for the macOS and Windows designs"
);
