//! Unix-only building blocks that the other multiproc crates share: sending fds beside bytes on a
//! Unix socket (`SCM_RIGHTS`) and waiting on fds with a deadline.

use std::io::{self, IoSlice};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Instant;

use crate::sys;

/// The most fds one message may carry.
pub const MAX_FDS_PER_MESSAGE: usize = sys::MAX_FDS_PER_MSG;

/// One `sendmsg` of `bufs` with `fds` attached (at most [`MAX_FDS_PER_MESSAGE`]); returns the bytes
/// written. A closed peer is an `EPIPE` error, never a `SIGPIPE`.
pub fn send_with_fds(
    sock: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    if fds.len() > MAX_FDS_PER_MESSAGE {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many fds for one message"));
    }
    sys::send_with_fds(sock, bufs, fds)
}

/// One `recvmsg` into `buf`; fds that arrive with the bytes are appended to `fds` (close-on-exec).
/// Returns the bytes read; 0 is end of stream.
pub fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    sys::recv_with_fds(sock, buf, fds)
}

/// Waits until `fd` is readable (or hung up) or `deadline` passes; returns whether it is ready.
/// Interrupted waits are resumed with the time that is left.
pub fn wait_readable(fd: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    sys::wait_fd(fd, sys::Interest::Readable, deadline)
}

/// Waits until `fd` is writable or `deadline` passes; returns whether it is ready.
pub fn wait_writable(fd: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    sys::wait_fd(fd, sys::Interest::Writable, deadline)
}

/// The fds open in this process, sorted (from `/proc/self/fd`).
pub fn open_fds() -> io::Result<Vec<i32>> {
    sys::open_fds()
}
