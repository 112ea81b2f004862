//! Linux: pipe reads and writes, pipe buffer size, event fds.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn cvt(r: isize) -> io::Result<usize> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r as usize) }
}

/// One `read` into `buf`, retried on EINTR; 0 is end of stream.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
        let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match cvt(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// One `writev` of `bufs`, retried on EINTR; returns the bytes written. A closed reader is an
/// `EPIPE` error (SIGPIPE is ignored in every process multiproc starts, as in Rust's `main`).
pub(crate) fn writev(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let n = bufs.len().min(libc::UIO_MAXIOV as usize) as libc::c_int;
    loop {
        // SAFETY: `IoSlice` is ABI-compatible with `iovec`, and every slice is valid for reads for
        // the duration of the call.
        let r = unsafe { libc::writev(fd.as_raw_fd(), bufs.as_ptr().cast(), n) };
        match cvt(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A new event fd: non-blocking, close-on-exec, counter zero.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain system call; returns a new fd or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes an event fd readable (adds one to its counter). Never blocks: at the counter's limit the
/// fd is readable already.
pub(crate) fn signal_event(fd: BorrowedFd<'_>) {
    let one: u64 = 1;
    loop {
        // SAFETY: writes 8 bytes from a live u64.
        let r = unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
        if r >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// Resets an event fd's counter to zero (not readable).
pub(crate) fn clear_event(fd: BorrowedFd<'_>) {
    let mut v: u64 = 0;
    loop {
        // SAFETY: reads at most 8 bytes into a live u64; the fd is non-blocking.
        let r = unsafe { libc::read(fd.as_raw_fd(), (&raw mut v).cast(), 8) };
        if r >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// Asks for a pipe buffer of `size` bytes (`F_SETPIPE_SZ`). Best effort: the kernel may refuse
/// (over `/proc/sys/fs/pipe-max-size`, or the user's pipe memory limit), and the pipe then keeps
/// the size it has.
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, size: usize) {
    let size = size.min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: F_SETPIPE_SZ takes an int argument and touches no memory of ours; on an fd that is
    // not a pipe it fails with EBADF/EINVAL, which we ignore.
    let _ = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
}
