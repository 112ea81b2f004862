//! The OS layer of proc-sync: waiting on and waking a 32-bit word in shared memory, and telling
//! whether a process (by pid and start time) is still alive.
//!
//! Every primitive is a state machine on atomics in a shared region; the OS is only asked to put a
//! thread to sleep until a word changes, and to wake sleepers. The internal API, per platform:
//!
//! - `wait(word, expected, deadline) -> Wait`: sleep while `*word == expected`, until woken or the
//!   deadline; spurious wake-ups allowed; interruptions by signals are absorbed by the callers'
//!   loops, which recompute the time left.
//! - `wake(word, n)`: wake up to `n` sleepers on `word`, in any process.
//! - `ProcessId::me()`, `ProcessId::is_alive()`: a process identity that survives pid reuse.
//!
//! Linux (implemented, tested): shared (not `FUTEX_PRIVATE`) futexes, keyed by the physical page so
//! they work across processes that map the region at different addresses; identities from
//! `/proc/<pid>/stat` (pid plus start time).
//!
//! macOS (designed, not built here): `os_sync_wait_on_address` / `os_sync_wake_by_address_any` with
//! `OS_SYNC_WAIT_ON_ADDRESS_SHARED` (macOS 14.4+; `__ulock_wait` with `UL_COMPARE_AND_WAIT_SHARED`
//! before), identities from `proc_pidinfo` (`pbi_start_tvsec`).
//!
//! Windows (designed, not built here): `WaitOnAddress` only works within one process, so a shared
//! word is paired with a named event per primitive (`CreateEventW` in the `Local\` namespace, opened
//! by name in each process) that sleepers wait on after checking the word; identities from
//! `OpenProcess` + `GetProcessTimes`.

#[cfg(target_os = "linux")]
#[allow(clippy::disallowed_methods)] // this is where OS calls live
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "proc-sync is implemented and tested on Linux only so far; see src/sys/mod.rs for the macOS and Windows designs"
);

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Woken, or the word no longer held the expected value, or a spurious wake-up: look again.
    Woken,
    /// The deadline passed.
    TimedOut,
}
