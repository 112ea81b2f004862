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

/// Maps `len` bytes of the object behind `fd`, shared and writable, reserving no memory: pages are
/// allocated when first touched (or by [`allocate`]). For large regions used a part at a time.
pub(crate) fn map_sparse(fd: &OwnedFd, len: usize) -> io::Result<MmapRaw> {
    memmap2::MmapOptions::new().len(len).no_reserve_swap().map_raw(fd)
}

/// Allocates the pages of `len` bytes at `offset` in the object behind `fd`, so that touching them
/// cannot fail later (a failed page allocation on touch would be a SIGBUS).
pub(crate) fn allocate(fd: &OwnedFd, offset: u64, len: u64) -> io::Result<()> {
    fallocate(fd, 0, offset, len)
}

/// Gives the pages of `len` bytes at `offset` back to the system; they read as zero afterwards.
pub(crate) fn release(fd: &OwnedFd, offset: u64, len: u64) -> io::Result<()> {
    fallocate(fd, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, offset, len)
}

/// Maps (and for `write`, allocates) the pages of `len` bytes at `addr` in this process in one
/// call, instead of one page fault per page on first touch. Kernels before 5.14 do not know the
/// call; the pages then fault in as usual.
pub(crate) fn prefault(addr: *mut u8, len: usize, write: bool) -> io::Result<()> {
    let advice = if write { libc::MADV_POPULATE_WRITE } else { libc::MADV_POPULATE_READ };
    loop {
        // SAFETY: `addr..addr + len` lies inside one of our shared mappings (checked by the
        // caller); the populate advice only faults pages in, it changes no contents.
        let r = unsafe { libc::madvise(addr.cast(), len, advice) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
            Some(libc::EINVAL) => return Ok(()),
            _ => return Err(e),
        }
    }
}

fn fallocate(fd: &OwnedFd, mode: libc::c_int, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: `fd` is an open memfd; fallocate only reads its arguments.
        let r = unsafe {
            libc::fallocate(fd.as_raw_fd(), mode, offset as libc::off_t, len as libc::off_t)
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Device and inode of the object behind `fd`: equal for every fd of one memfd, in any process.
pub(crate) fn fd_identity(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    let st = nix::sys::stat::fstat(fd).map_err(|e| io::Error::from_raw_os_error(e as i32))?;
    Ok((st.st_dev, st.st_ino))
}
