//! Anonymous shared memory: a memfd that is mapped shared and passed to other processes by fd.
//! The kernel frees it when the last fd and mapping are gone, so nothing can leak into `/dev/shm`.

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use memmap2::MmapRaw;

/// Creates an anonymous, zero-filled shared memory object of `len` bytes.
pub(crate) fn memfd(len: usize) -> io::Result<OwnedFd> {
    // SAFETY: the name is a valid NUL-terminated string; memfd_create returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"multiproc".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh fd that nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let file = File::from(fd);
    file.set_len(len as u64)?;
    Ok(file.into())
}

/// Size of the object behind a shared-memory fd.
pub(crate) fn fd_len(fd: &OwnedFd) -> io::Result<u64> {
    let file = File::from(fd.try_clone()?);
    Ok(file.metadata()?.len())
}

/// Maps `len` bytes of the object behind `fd`, shared and writable, with every page present
/// (`MAP_POPULATE`): a region is zero-filled memory that is about to be used, so its pages are
/// allocated when it is created and mapped when a process receives it, instead of faulting one page
/// at a time on first touch.
pub(crate) fn map_shared(fd: &OwnedFd, len: usize) -> io::Result<MmapRaw> {
    memmap2::MmapOptions::new().len(len).populate().map_raw(fd)
}

/// Device and inode of the object behind `fd`: equal for every fd of one memfd, in any process.
pub(crate) fn fd_identity(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    let st = nix::sys::stat::fstat(fd).map_err(|e| io::Error::from_raw_os_error(e as i32))?;
    Ok((st.st_dev, st.st_ino))
}
