//! The OS layer of proc-shm: named shared memory objects.
//!
//! Linux (implemented, tested): POSIX `shm_open` objects, which live in `/dev/shm`.
//! macOS (designed, not built here): the same `shm_open`, but with no `/dev/shm` to list, the
//! cleanup pass would keep a registry of created names in a per-user file. Windows (designed, not
//! built here): `CreateFileMappingW` with a name in the `Local\` namespace; the kernel frees a
//! mapping with its last handle, so nothing outlives its users and no cleanup is needed.

#[cfg(target_os = "linux")]
#[allow(clippy::disallowed_methods)] // this is where OS calls live
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "proc-shm is implemented and tested on Linux only so far; see src/sys/mod.rs for the macOS and Windows designs"
);
