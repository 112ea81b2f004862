//! Frames on a process's bootstrap socket (parent ↔ child, client ↔ forkserver).
//!
//! A frame is a 24-byte header (magic, kind, fd count, payload length), the payload, and fds sent
//! with `SCM_RIGHTS`: the first [`MAX_FDS_PER_MSG`](crate::sys::MAX_FDS_PER_MSG) with the header,
//! the rest in one-byte messages after the payload. Frames are only exchanged between copies of the
//! same binary, but a child may die in the middle of writing one, so the reader checks everything
//! and grows its buffer only as bytes arrive.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Instant;

use crate::sys;

const MAGIC: u32 = 0x4d50_5246; // "MPRF"
pub(crate) const HEADER_LEN: usize = 24;

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Parent → child: the job to run.
    Job = 1,
    /// Child → parent: the encoded return value.
    Return = 2,
    /// Child → parent: the target panicked; payload is the message.
    Panic = 3,
    /// Child → parent: the job could not run (bad arguments, result not encodable); payload is the
    /// message.
    Failed = 4,
    /// Child → parent: the entry hook did not run in the child, so it refused to go on.
    HookMissing = 5,
    /// Client → forkserver: fork a child.
    ForkRequest = 6,
    /// Forkserver → client: the child's pid, with its pidfd.
    Forked = 7,
    /// Forkserver → client: the child's exit status.
    Exited = 8,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Job,
            2 => Kind::Return,
            3 => Kind::Panic,
            4 => Kind::Failed,
            5 => Kind::HookMissing,
            6 => Kind::ForkRequest,
            7 => Kind::Forked,
            8 => Kind::Exited,
            _ => return None,
        })
    }
}

/// A received frame.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: Kind,
    pub(crate) payload: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

fn header(kind: Kind, nfds: usize, len: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    h[4] = kind as u8;
    h[8..12].copy_from_slice(&(nfds as u32).to_le_bytes());
    h[16..24].copy_from_slice(&(len as u64).to_le_bytes());
    h
}

struct Header {
    kind: Kind,
    nfds: usize,
    len: usize,
}

fn parse_header(h: &[u8]) -> io::Result<Header> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("bad frame: {what}"));
    if u32::from_le_bytes(h[0..4].try_into().expect("4 bytes")) != MAGIC {
        return Err(bad("magic"));
    }
    let kind = Kind::from_u8(h[4]).ok_or_else(|| bad("kind"))?;
    let nfds = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes")) as usize;
    let len = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
    let len = usize::try_from(len).map_err(|_| bad("length"))?;
    Ok(Header { kind, nfds, len })
}

/// Writes one frame (blocking until all of it is written).
pub(crate) fn send(
    sock: BorrowedFd<'_>,
    kind: Kind,
    payload: &[&[u8]],
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    let len = payload.iter().map(|p| p.len()).sum();
    let h = header(kind, fds.len(), len);
    let first = fds.len().min(sys::MAX_FDS_PER_MSG);
    // The header and up to three payload parts (every frame this crate sends) go out from the
    // stack: a fork child replying this way writes none of the heap it shares with its parent.
    let mut few: [&[u8]; 4] = [&[]; 4];
    let many: Vec<&[u8]>;
    let parts: &[&[u8]] = if payload.len() < few.len() {
        few[0] = &h;
        for (slot, part) in few[1..].iter_mut().zip(payload) {
            *slot = part;
        }
        &few[..=payload.len()]
    } else {
        many = std::iter::once(&h[..]).chain(payload.iter().copied()).collect();
        &many
    };
    sys::send_all_with_fds(sock, parts, &fds[..first])?;
    sys::send_fd_batches(sock, &fds[first..])
}

/// Reads one whole frame into `inbox` (which may keep bytes of the next one), blocking until it is
/// complete or `deadline` passes. For sockets whose peer may send more frames later.
pub(crate) fn recv_buffered(
    sock: BorrowedFd<'_>,
    inbox: &mut Inbox,
    deadline: Option<Instant>,
) -> io::Result<Frame> {
    loop {
        let eof = inbox.drain(sock)?;
        if let Some(f) = inbox.take_frame()? {
            return Ok(f);
        }
        if eof {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if !sys::wait_fd(sock, sys::Interest::Readable, deadline)? {
            return Err(io::ErrorKind::TimedOut.into());
        }
    }
}

/// Reads one whole frame, blocking until it is complete or `deadline` passes. Reads exactly the
/// frame's bytes, so the socket can be shared with other readers of later frames.
pub(crate) fn recv(sock: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<Frame> {
    let mut fds = Vec::new();
    let mut h = [0u8; HEADER_LEN];
    sys::recv_exact_with_fds(sock, &mut h, &mut fds, deadline)?;
    let hdr = parse_header(&h)?;
    let mut payload = Vec::new();
    let mut chunk = vec![0u8; hdr.len.min(1 << 20)];
    while payload.len() < hdr.len {
        let want = (hdr.len - payload.len()).min(chunk.len());
        sys::recv_exact_with_fds(sock, &mut chunk[..want], &mut fds, deadline)?;
        payload.extend_from_slice(&chunk[..want]);
    }
    while fds.len() < hdr.nfds {
        let mut one = [0u8; 1];
        sys::recv_exact_with_fds(sock, &mut one, &mut fds, deadline)?;
    }
    Ok(Frame { kind: hdr.kind, payload, fds })
}

/// Bytes and fds read so far from a non-blocking socket, parsed into a frame once complete.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    buf: Vec<u8>,
    fds: Vec<OwnedFd>,
    eof: bool,
}

impl Inbox {
    /// Reads everything available now without blocking. Returns `true` at end of stream.
    pub(crate) fn drain(&mut self, sock: BorrowedFd<'_>) -> io::Result<bool> {
        if self.eof {
            return Ok(true);
        }
        // Replies are usually a few bytes, sometimes megabytes. Reads start in a small buffer on
        // the stack, so a short reply costs an allocation of its own size (not a zeroed 4 KiB one:
        // in a parent that has just forked, each heap page written is a page copied); once a read
        // fills it, they go straight into the tail of a growing buffer.
        let mut small = [0u8; 512];
        let mut large = false;
        loop {
            let r = if large {
                let old = self.buf.len();
                let want = (old / 2).clamp(4096, 1 << 20);
                self.buf.resize(old + want, 0);
                let r = sys::recv_with_fds(sock, &mut self.buf[old..], &mut self.fds);
                self.buf.truncate(old + *r.as_ref().unwrap_or(&0));
                r
            } else {
                let r = sys::recv_with_fds(sock, &mut small, &mut self.fds);
                if let Ok(n) = r {
                    self.buf.extend_from_slice(&small[..n]);
                    large = n == small.len();
                }
                r
            };
            match r {
                Ok(0) => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                // The peer died with unread data of ours in its buffer: the stream is over.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    self.eof = true;
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the writer has closed its end.
    pub(crate) fn is_eof(&self) -> bool {
        self.eof
    }

    /// Takes the first complete frame, if the bytes read so far hold one. A frame cut short by the
    /// end of the stream (the writer died) is dropped.
    pub(crate) fn take_frame(&mut self) -> io::Result<Option<Frame>> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let hdr = parse_header(&self.buf[..HEADER_LEN])?;
        let extra_bytes =
            hdr.nfds.saturating_sub(sys::MAX_FDS_PER_MSG).div_ceil(sys::MAX_FDS_PER_MSG);
        let total = HEADER_LEN + hdr.len + extra_bytes;
        if self.buf.len() < total || self.fds.len() < hdr.nfds {
            return Ok(None);
        }
        let payload = self.buf[HEADER_LEN..HEADER_LEN + hdr.len].to_vec();
        self.buf.drain(..total);
        let fds = self.fds.drain(..hdr.nfds).collect();
        Ok(Some(Frame { kind: hdr.kind, payload, fds }))
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::{Duration, Instant};

    use super::*;

    /// Reads frames from a non-blocking socket through an [`Inbox`] until `n` have arrived.
    fn read_frames(sock: OwnedFd, n: usize) -> Vec<Frame> {
        sys::set_nonblocking(sock.as_fd(), true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut inbox = Inbox::default();
        (0..n).map(|_| recv_buffered(sock.as_fd(), &mut inbox, Some(deadline)).unwrap()).collect()
    }

    #[test]
    fn frames_of_many_parts_arrive_whole_through_partial_writes() {
        // Parts of every size, empty ones among them, more than one `sendmsg` gathers, and more
        // bytes than the socket holds: the writer (non-blocking) sends them piece by piece.
        let sizes = [3usize, 0, 100_000, 1, 0, 7, 300_000, 2, 5, 1, 0, 4096, 11, 9];
        let parts: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 31 + j) as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let (a, b) = sys::stream_pair().unwrap();
        sys::set_nonblocking(a.as_fd(), true).unwrap();
        let reader = std::thread::spawn(move || read_frames(b, 3));
        send(a.as_fd(), Kind::Return, &refs, &[]).unwrap();
        send(a.as_fd(), Kind::Panic, &[b"short"], &[]).unwrap();
        send(a.as_fd(), Kind::Failed, &[], &[]).unwrap();
        let got = reader.join().unwrap();
        assert_eq!(got[0].kind, Kind::Return);
        assert_eq!(got[0].payload, parts.concat());
        assert_eq!((got[1].kind, got[1].payload.as_slice()), (Kind::Panic, &b"short"[..]));
        assert_eq!((got[2].kind, got[2].payload.len()), (Kind::Failed, 0));
    }

    #[test]
    fn a_reply_of_exactly_the_small_read_size_and_one_past_it_are_read_whole() {
        for len in [512 - HEADER_LEN, 512 - HEADER_LEN + 1, 512, 513, 10_000] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let (a, b) = sys::stream_pair().unwrap();
            send(a.as_fd(), Kind::Return, &[&body], &[]).unwrap();
            drop(a);
            let got = read_frames(b, 1);
            assert_eq!(got[0].payload, body, "{len} bytes");
        }
    }
}
