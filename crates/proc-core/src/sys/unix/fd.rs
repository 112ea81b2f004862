//! File descriptors: socket pairs, flags, fd passing with `SCM_RIGHTS`, and `poll` with a deadline.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType};

/// Most fds the kernel accepts in one `SCM_RIGHTS` message (`SCM_MAX_FD`).
pub(crate) const MAX_FDS_PER_MSG: usize = 253;

fn errno(e: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// A connected pair of Unix stream sockets, both close-on-exec.
pub(crate) fn stream_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    socket::socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
        .map_err(errno)
}

/// Sets or clears `O_NONBLOCK`, in one system call (`FIONBIO`).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let mut v: libc::c_int = on.into();
    // SAFETY: FIONBIO reads one int from the live local `v`; `fd` is borrowed for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONBIO, &mut v) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets `FD_CLOEXEC` on a raw fd this process owns.
pub(crate) fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(errno)?;
    Ok(())
}

/// Duplicates an fd; the copy is close-on-exec.
pub(crate) fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// Takes ownership of a raw fd number this process was handed at start-up (the bootstrap socket).
///
/// # Safety
/// `fd` must be open and owned by nobody else in this process.
pub(crate) unsafe fn adopt(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller guarantees `fd` is open and unowned.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Sends `bufs` as one `sendmsg`, with `fds` attached as `SCM_RIGHTS`; returns the bytes written.
///
/// `MSG_NOSIGNAL`: a closed peer is an `EPIPE` error, never a `SIGPIPE`.
pub(crate) fn send_with_fds(
    sock: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    debug_assert!(fds.len() <= MAX_FDS_PER_MSG);
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let cmsgs: &[ControlMessage<'_>] =
        if raw.is_empty() { &[] } else { &[ControlMessage::ScmRights(&raw)] };
    loop {
        match socket::sendmsg::<()>(sock.as_raw_fd(), bufs, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) => return Ok(n),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(errno(e)),
        }
    }
}

/// Writes all of `bytes` to a stream socket, attaching `fds` to the first byte (`MSG_NOSIGNAL`).
/// More than [`MAX_FDS_PER_MSG`] fds need [`send_fd_batches`].
pub(crate) fn send_all_with_fds(
    sock: BorrowedFd<'_>,
    bytes: &[&[u8]],
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    // Slices go out up to `BATCH` per `sendmsg`, gathered on the stack: no allocation, so a fork
    // child sending its reply copies none of its parent's heap pages.
    const BATCH: usize = 8;
    let mut fds = fds;
    // The first slice not fully sent, and how much of it is.
    let (mut i, mut off) = (0, 0);
    loop {
        while i < bytes.len() && off == bytes[i].len() {
            (i, off) = (i + 1, 0);
        }
        if i == bytes.len() {
            return Ok(());
        }
        let mut iov = [IoSlice::new(&[]); BATCH];
        let mut k = 0;
        for (j, b) in bytes.iter().enumerate().skip(i) {
            if k == BATCH {
                break;
            }
            let rest = if j == i { &b[off..] } else { b };
            if !rest.is_empty() {
                iov[k] = IoSlice::new(rest);
                k += 1;
            }
        }
        let mut n = match send_with_fds(sock, &iov[..k], fds) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_fd(sock, Interest::Writable, None)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        fds = &[];
        while n > 0 {
            let rest = bytes[i].len() - off;
            if n < rest {
                off += n;
                n = 0;
            } else {
                n -= rest;
                (i, off) = (i + 1, 0);
            }
        }
    }
}

/// Sends fds beyond the first [`MAX_FDS_PER_MSG`] as extra one-byte messages of up to that many fds each.
pub(crate) fn send_fd_batches(sock: BorrowedFd<'_>, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    for batch in fds.chunks(MAX_FDS_PER_MSG) {
        send_all_with_fds(sock, &[&[0u8]], batch)?;
    }
    Ok(())
}

/// Room for the largest `SCM_RIGHTS` message ([`MAX_FDS_PER_MSG`] fds): `CMSG_SPACE` of that
/// many ints, with slack for the header's alignment.
const CMSG_BUF: usize = 64 + MAX_FDS_PER_MSG * std::mem::size_of::<RawFd>();

/// A control buffer aligned for `cmsghdr`, kept on the stack: a receive costs no allocation and no
/// zeroing (the kernel writes only what it reports in `msg_controllen`).
#[repr(C, align(8))]
struct CmsgBuf([std::mem::MaybeUninit<u8>; CMSG_BUF]);

/// One `recvmsg`: reads bytes into `buf` and appends any fds that came with them to `fds`
/// (close-on-exec). Returns the number of bytes read; 0 means end of stream.
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    let mut cmsg = CmsgBuf([std::mem::MaybeUninit::uninit(); CMSG_BUF]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    loop {
        // SAFETY: an all-zero msghdr is valid (no name, no iov, no control) before we fill it in.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = CMSG_BUF as _;
        // SAFETY: `msg` points at one iovec covering `buf` (exclusively borrowed) and at a control
        // buffer of `CMSG_BUF` bytes on our stack, both live for the call.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if msg.msg_controllen > 0 {
            take_rights(&msg, fds);
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "more fds arrived than one message may carry",
            ));
        }
        return Ok(r as usize);
    }
}

/// Moves the fds of every `SCM_RIGHTS` header of a received message into `fds`.
fn take_rights(msg: &libc::msghdr, fds: &mut Vec<OwnedFd>) {
    // SAFETY: `msg` was just filled by a successful recvmsg; the CMSG_* walk stays within the
    // `msg_controllen` bytes the kernel wrote, and each SCM_RIGHTS payload holds
    // `(cmsg_len - CMSG_LEN(0)) / 4` ints, read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                let n = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                    / std::mem::size_of::<RawFd>();
                for i in 0..n {
                    let fd = data.add(i).read_unaligned();
                    // The kernel just installed this fd in our table for us; nobody else knows
                    // its number, so we are its sole owner.
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
}

/// Reads exactly `buf.len()` bytes (blocking, even on a non-blocking fd), collecting fds that arrive.
pub(crate) fn recv_exact_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    deadline: Option<Instant>,
) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match recv_with_fds(sock, &mut buf[got..], fds) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait_fd(sock, Interest::Readable, deadline)? {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What a `poll` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Readable,
    Writable,
}

/// Waits until `fd` is ready (or hung up / in error, which also ends a wait). Returns `false` at the
/// deadline. EINTR is retried with the time that is left.
pub(crate) fn wait_fd(
    fd: BorrowedFd<'_>,
    interest: Interest,
    deadline: Option<Instant>,
) -> io::Result<bool> {
    poll_any(&[(fd, interest)], deadline)
}

/// `poll` over several fds until one is ready or the deadline passes; returns readiness per fd.
/// Hang-up and error count as ready, so the caller's next read sees them.
pub(crate) fn poll(
    fds: &[(BorrowedFd<'_>, Interest)],
    deadline: Option<Instant>,
) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds.iter().map(pollfd).collect();
    poll_raw(&mut pfds, deadline)?;
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

/// Like [`poll`], but only says whether any fd is ready. Up to four fds cost no allocation (the
/// parent of a fork child waits this way, and each heap page it writes then is a page copied).
pub(crate) fn poll_any(
    fds: &[(BorrowedFd<'_>, Interest)],
    deadline: Option<Instant>,
) -> io::Result<bool> {
    const FEW: usize = 4;
    if fds.len() > FEW {
        return Ok(poll(fds, deadline)?.contains(&true));
    }
    let mut pfds = [libc::pollfd { fd: -1, events: 0, revents: 0 }; FEW];
    for (p, f) in pfds.iter_mut().zip(fds) {
        *p = pollfd(f);
    }
    Ok(poll_raw(&mut pfds[..fds.len()], deadline)? > 0)
}

fn pollfd((fd, interest): &(BorrowedFd<'_>, Interest)) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events: match interest {
            Interest::Readable => libc::POLLIN,
            Interest::Writable => libc::POLLOUT,
        },
        revents: 0,
    }
}

/// `poll(2)` on `pfds` until one is ready (returns how many) or the deadline passes (returns 0).
fn poll_raw(pfds: &mut [libc::pollfd], deadline: Option<Instant>) -> io::Result<usize> {
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so a wait never ends a hair early and spins.
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(i32::MAX as u128) as i32
            }
        };
        // SAFETY: `pfds` is a valid, exclusively borrowed array of `pfds.len()` pollfd structs whose
        // fds are borrowed for the duration of the call.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            if let Some(d) = deadline
                && Instant::now() < d
            {
                continue;
            }
            return Ok(0);
        }
        return Ok(n as usize);
    }
}

/// The deadline `timeout` from now, or `None` (forever) if it does not fit in an `Instant`.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Borrows a raw fd for the length of a call.
///
/// # Safety
/// `fd` must stay open for `'a`.
pub(crate) unsafe fn borrow_raw<'a>(fd: RawFd) -> BorrowedFd<'a> {
    // SAFETY: forwarded to the caller.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Lists the fds open in this process (from `/proc/self/fd`), without the one used to list them.
pub(crate) fn open_fds() -> io::Result<Vec<RawFd>> {
    let mut out = Vec::new();
    let dir = std::fs::read_dir("/proc/self/fd")?;
    let mut names = Vec::new();
    for e in dir {
        names.push(e?.file_name());
    }
    for n in names {
        if let Some(fd) = n.to_str().and_then(|s| s.parse::<RawFd>().ok()) {
            // The directory fd itself is closed by now; skip numbers that no longer resolve.
            if std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok() {
                out.push(fd);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}
