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
///
/// ```
/// use proc_core::os::unix::{recv_with_fds, send_with_fds};
/// use std::io::{IoSlice, Read};
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
///
/// # fn main() -> std::io::Result<()> {
/// let (a, b) = UnixStream::pair()?;
/// let (mut kept, sent) = UnixStream::pair()?;
/// send_with_fds(a.as_fd(), &[IoSlice::new(b"sock")], &[sent.as_fd()])?;
/// drop(sent); // the receiver has its own copy now
///
/// let (mut buf, mut fds) = ([0; 16], Vec::new());
/// let n = recv_with_fds(b.as_fd(), &mut buf, &mut fds)?;
/// assert_eq!(&buf[..n], b"sock");
/// let mut received = UnixStream::from(fds.pop().unwrap());
/// std::io::Write::write_all(&mut received, b"via the passed fd")?;
/// drop(received);
/// let mut text = String::new();
/// kept.read_to_string(&mut text)?;
/// assert_eq!(text, "via the passed fd");
/// # Ok(()) }
/// ```
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
///
/// ```
/// use proc_core::os::unix::{recv_with_fds, send_with_fds};
/// use std::io::IoSlice;
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
///
/// # fn main() -> std::io::Result<()> {
/// let (a, b) = UnixStream::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// send_with_fds(a.as_fd(), &[IoSlice::new(b"x")], &[file.as_fd()])?;
/// drop(a);
///
/// let (mut buf, mut fds) = ([0; 8], Vec::new());
/// assert_eq!(recv_with_fds(b.as_fd(), &mut buf, &mut fds)?, 1);
/// assert_eq!(fds.len(), 1);
/// assert_eq!(recv_with_fds(b.as_fd(), &mut buf, &mut fds)?, 0); // the sender is gone
/// # Ok(()) }
/// ```
pub fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    sys::recv_with_fds(sock, buf, fds)
}

/// Waits until `fd` is readable (or hung up) or `deadline` passes; returns whether it is ready.
/// Interrupted waits are resumed with the time that is left.
///
/// ```
/// use proc_core::os::unix::wait_readable;
/// use std::io::Write;
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::{Duration, Instant};
///
/// # fn main() -> std::io::Result<()> {
/// let (a, mut b) = UnixStream::pair()?;
/// let soon = Instant::now() + Duration::from_millis(10);
/// assert!(!wait_readable(a.as_fd(), Some(soon))?); // nothing written: timed out
/// b.write_all(b"!")?;
/// assert!(wait_readable(a.as_fd(), None)?);
/// # Ok(()) }
/// ```
pub fn wait_readable(fd: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    sys::wait_fd(fd, sys::Interest::Readable, deadline)
}

/// Waits until `fd` is writable or `deadline` passes; returns whether it is ready.
///
/// ```
/// use proc_core::os::unix::wait_writable;
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::{Duration, Instant};
///
/// # fn main() -> std::io::Result<()> {
/// let (a, _b) = UnixStream::pair()?;
/// let deadline = Instant::now() + Duration::from_secs(20);
/// assert!(wait_writable(a.as_fd(), Some(deadline))?); // an empty socket buffer has room
/// # Ok(()) }
/// ```
pub fn wait_writable(fd: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    sys::wait_fd(fd, sys::Interest::Writable, deadline)
}

/// The fds open in this process, sorted (from `/proc/self/fd`).
///
/// ```
/// use proc_core::os::unix::open_fds;
/// use std::os::fd::AsRawFd;
///
/// # fn main() -> std::io::Result<()> {
/// let file = std::fs::File::open("/dev/null")?;
/// let fds = open_fds()?;
/// assert!(fds.contains(&file.as_raw_fd()));
/// assert!(fds.is_sorted());
/// # Ok(()) }
/// ```
pub fn open_fds() -> io::Result<Vec<i32>> {
    sys::open_fds()
}
