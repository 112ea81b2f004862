//! The OS layer of proc-core: every system call the crate makes goes through here.
//!
//! Portable code calls `sys::…` only. Each platform module provides the same internal API:
//!
//! - fds: socket pairs, close-on-exec, non-blocking mode, sending and receiving fds beside bytes
//!   (`SCM_RIGHTS`), `poll` with a deadline;
//! - processes: re-exec spawn of the running binary, fork, exit status (pidfd on Linux), signals,
//!   the parent-death signal, the pre-`main` entry hook;
//! - memory: anonymous shared memory that can be passed by fd;
//! - misc: random bytes, cpu counts, thread count, exit.
//!
//! Linux is implemented and verified. macOS fits the Unix module with these substitutions (not built
//! or tested here): `kqueue` `EVFILT_PROC` instead of pidfd, `shm_open` + immediate `shm_unlink`
//! instead of `memfd_create`, `POSIX_SPAWN_CLOEXEC_DEFAULT` instead of `addclosefrom_np`, a
//! parent-liveness pipe instead of `PR_SET_PDEATHSIG`, and `__DATA,__mod_init_func` for the entry
//! hook. Windows needs its own module: `CreateProcessW` with an explicit handle list
//! (`PROC_THREAD_ATTRIBUTE_HANDLE_LIST`), `DuplicateHandle` for handle passing, a job object with
//! `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` for daemon children, `CreateFileMapping` for shared memory,
//! and a `.CRT$XCU` initializer for the entry hook.

#[cfg(unix)]
#[allow(clippy::disallowed_methods)] // this is where OS calls live
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "multiproc is implemented and tested on Linux only so far; the macOS and Windows designs are in \
     crates/proc-core/src/sys/mod.rs and docs/ARCHITECTURE.md"
);
