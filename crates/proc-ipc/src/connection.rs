//! [`Pipe`] and [`Connection`]: framed, typed messages over a socket pair or a pipe.
//!
//! # Frames
//! Every message is a 16-byte header — a magic number, the count of OS handles that travel with it,
//! and the payload length — followed by the payload: the postcard encoding of the value, or the raw
//! bytes of `send_bytes`. Handles inside a value (a [`Handle`](proc_core::Handle), another
//! `Connection`, a queue) travel beside the bytes with `SCM_RIGHTS`, attached to the header's first
//! byte.
//!
//! The reader checks the header before it reads the payload: a length over the limit is refused
//! before anything is allocated, and the message stays in place for a later call with a larger
//! limit. A body is read into a buffer that grows only as bytes arrive, so a forged length costs
//! nothing. Bytes that are not a frame are [`RecvError::Corrupt`].

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice};
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use proc_core::os::unix::{MAX_FDS_PER_MESSAGE, recv_with_fds, send_with_fds, wait_readable};
use proc_core::{Handle, Waitable, codec};
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{RecvError, SendError};
use crate::sys;

const MAGIC: u32 = 0x3143_504d; // "MPC1"
const HEADER: usize = 16;
/// Size of the read buffer: small messages are read many at a time, with one system call.
const READ_BUF: usize = 64 * 1024;
/// Largest length a header may declare.
const MAX_LEN: u64 = 1 << 48;
/// Messages larger than this make a pipe's writer ask for a larger pipe buffer (the default
/// buffer is 64 KiB).
const PIPE_GROW_ABOVE: usize = 64 * 1024;
/// The pipe buffer asked for: the largest an unprivileged process gets by default
/// (`/proc/sys/fs/pipe-max-size`).
const PIPE_GROWN: usize = 1 << 20;
/// The default limit on one message: 1 GiB.
pub const DEFAULT_MAX_MESSAGE_LEN: u64 = 1 << 30;

/// Creates connected pairs of [`Connection`]s (Python's `multiprocessing.Pipe`).
///
/// ```
/// use proc_core::Process;
/// use proc_ipc::{Connection, Pipe};
///
/// fn child(mut conn: Connection<Vec<i32>>) {
///     conn.send(&vec![42, 0, -1]).unwrap();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut parent, child_end) = Pipe::new()?;
/// let mut p = Process::new(child, (child_end,));
/// p.start()?;
/// assert_eq!(parent.recv()?, vec![42, 0, -1]);
/// p.join()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pipe;

impl Pipe {
    /// A duplex pair over a Unix socket pair: each end sends and receives `T`, and OS handles can
    /// travel inside messages (Python's `Pipe()`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, mut b) = Pipe::new::<String>()?; // Python: `a, b = Pipe()`
    /// a.send(&"ping".to_string())?;
    /// assert_eq!(b.recv()?, "ping");
    /// b.send(&"pong".to_string())?; // both ends send and receive
    /// assert_eq!(a.recv()?, "pong");
    /// # Ok(()) }
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new<T>() -> io::Result<(Connection<T>, Connection<T>)> {
        Self::duplex()
    }

    /// A duplex pair whose two directions carry different types: the first end sends `A` and
    /// receives `B`, the second the other way round (a request/response channel).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// // Requests are `u32`s, answers `String`s.
    /// let (mut client, mut server) = Pipe::duplex::<u32, String>()?;
    /// client.send(&7)?;
    /// let n = server.recv()?;
    /// server.send(&format!("{n} squared is {}", n * n))?;
    /// assert_eq!(client.recv()?, "7 squared is 49");
    /// # Ok(()) }
    /// ```
    pub fn duplex<A, B>() -> io::Result<(Connection<A, B>, Connection<B, A>)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((
            Connection::from_parts(Io::Unix(a.into()), Mode::Duplex),
            Connection::from_parts(Io::Unix(b.into()), Mode::Duplex),
        ))
    }

    /// A one-way pair `(reader, writer)` over an OS pipe (Python's `Pipe(duplex=False)`): the
    /// first end only receives, the second only sends. A pipe cannot carry OS handles.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_ipc::{Connection, Pipe};
    ///
    /// fn produce(mut w: Connection<u64>) {
    ///     for i in 0..3 {
    ///         w.send(&i).unwrap();
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut r, w) = Pipe::one_way()?; // Python: `r, w = Pipe(duplex=False)`
    /// let mut p = Process::new(produce, (w,)); // the parent's copy of `w` moves into the child
    /// p.start()?;
    /// let got: Vec<u64> = r.iter().collect::<Result<_, _>>()?; // ends when the child's end closes
    /// assert_eq!(got, [0, 1, 2]);
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn one_way<T>() -> io::Result<(Connection<T>, Connection<T>)> {
        let (r, w) = io::pipe()?;
        Ok((
            Connection::from_parts(Io::Pipe(r.into()), Mode::ReadOnly),
            Connection::from_parts(Io::Pipe(w.into()), Mode::WriteOnly),
        ))
    }
}

#[derive(Debug)]
enum Io {
    /// A Unix stream socket: handles can travel.
    Unix(OwnedFd),
    /// A TCP socket: bytes only.
    Tcp(OwnedFd),
    /// One end of a pipe.
    Pipe(OwnedFd),
}

impl Io {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Io::Unix(fd) | Io::Tcp(fd) | Io::Pipe(fd) => fd.as_fd(),
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Io::Unix(_) => 0,
            Io::Tcp(_) => 1,
            Io::Pipe(_) => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Duplex,
    ReadOnly,
    WriteOnly,
}

#[derive(Clone, Copy, Debug)]
struct Header {
    fds: usize,
    len: u64,
}

/// One end of a [`Pipe`], or a connection made by a [`Listener`](crate::Listener) or
/// [`Client`](crate::Client): sends `S` and receives `R` (Python's `Connection`).
///
/// Typed, so a mismatch between what one side sends and the other expects is caught where the
/// types meet, and decode failures are typed errors; `send_bytes` / `recv_bytes` carry raw bytes on
/// any connection. A `Connection` is one reader and one writer: its methods take `&mut self`. It
/// travels to other processes in spawn arguments or inside messages on another connection.
///
/// Dropping or [`close`](Connection::close)-ing every copy of one end (in every process) makes the
/// other end's `recv` return [`RecvError::Disconnected`] once it has read everything sent.
///
/// ```
/// use proc_core::Process;
/// use proc_ipc::{Connection, Pipe};
///
/// fn double(mut conn: Connection<i64>) {
///     while let Ok(x) = conn.recv() {
///         conn.send(&(2 * x)).unwrap();
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut mine, theirs) = Pipe::new()?;
/// let mut p = Process::new(double, (theirs,));
/// p.start()?;
/// mine.send(&21)?;
/// assert_eq!(mine.recv()?, 42);
/// drop(mine); // the child's `recv` sees end of stream and it returns
/// p.join()?;
/// # Ok(()) }
/// ```
pub struct Connection<S, R = S> {
    io: Option<Io>,
    mode: Mode,
    rbuf: Box<[u8]>,
    rpos: usize,
    rend: usize,
    /// Handles that arrived and belong to messages not consumed yet, in order.
    fds: VecDeque<OwnedFd>,
    /// The header of the next message, once read.
    pending: Option<Header>,
    /// A large body being read, kept across a timeout.
    body: Vec<u8>,
    /// Set when the stream turned out not to be frames.
    failed: Option<&'static str>,
    limit: u64,
    wbuf: Vec<u8>,
    /// Whether this end already asked for a larger pipe buffer (pipes only).
    pipe_grown: bool,
    _types: PhantomData<fn(S) -> R>,
}

impl<S, R> Connection<S, R> {
    fn from_parts(io: Io, mode: Mode) -> Self {
        Connection {
            io: Some(io),
            mode,
            rbuf: Box::default(),
            rpos: 0,
            rend: 0,
            fds: VecDeque::new(),
            pending: None,
            body: Vec::new(),
            failed: None,
            limit: DEFAULT_MAX_MESSAGE_LEN,
            wbuf: Vec::new(),
            pipe_grown: false,
            _types: PhantomData,
        }
    }

    /// A connection over a TCP stream whose peer is a multiproc connection too.
    pub(crate) fn from_tcp(stream: std::net::TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        Self::from_parts(Io::Tcp(stream.into()), Mode::Duplex)
    }

    /// A connection over a Unix stream whose peer is a multiproc connection too.
    pub(crate) fn from_unix(stream: std::os::unix::net::UnixStream) -> Self {
        Self::from_parts(Io::Unix(stream.into()), Mode::Duplex)
    }

    /// The same connection, seen with other message types (used after a handshake).
    pub(crate) fn retype<S2, R2>(self) -> Connection<S2, R2> {
        Connection {
            io: self.io,
            mode: self.mode,
            rbuf: self.rbuf,
            rpos: self.rpos,
            rend: self.rend,
            fds: self.fds,
            pending: self.pending,
            body: self.body,
            failed: self.failed,
            limit: self.limit,
            wbuf: self.wbuf,
            pipe_grown: self.pipe_grown,
            _types: PhantomData,
        }
    }

    /// Another handle on the same end of the stream (the descriptor duplicated), like handing a
    /// copy of a Python `Connection` to a second process.
    ///
    /// Both handles write whole frames, so sending from either is fine as long as one sender at a
    /// time writes (frames from two concurrent senders may interleave). Reading is for one of them:
    /// bytes already read ahead into this handle's buffer stay with this handle; the copy starts
    /// with empty buffers and reads from where the stream is. The other end sees end of stream only
    /// once every copy is closed, in every process.
    ///
    /// ```
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, mut b) = Pipe::new::<u32>()?;
    /// let mut a2 = a.try_clone()?;
    /// a2.send(&7)?;
    /// assert_eq!(b.recv()?, 7);
    /// a.close();
    /// a2.close();
    /// assert!(b.recv().is_err()); // every copy closed: end of stream
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        let io = match &self.io {
            None => {
                return Err(io::Error::new(io::ErrorKind::NotConnected, "connection is closed"));
            }
            Some(io) => io,
        };
        let fd = io.fd().try_clone_to_owned()?;
        let io = match io {
            Io::Unix(_) => Io::Unix(fd),
            Io::Tcp(_) => Io::Tcp(fd),
            Io::Pipe(_) => Io::Pipe(fd),
        };
        let mut copy = Self::from_parts(io, self.mode);
        copy.limit = self.limit;
        Ok(copy)
    }

    /// Closes this end. Later calls return [`SendError::Closed`] / [`RecvError::Closed`]; the
    /// other end sees end of stream once no other copy of this end is open.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Pipe, RecvError, SendError};
    ///
    /// let (mut a, mut b) = Pipe::new::<u8>()?;
    /// a.close();
    /// assert!(matches!(a.send(&1), Err(SendError::Closed)));
    /// assert!(matches!(b.recv(), Err(RecvError::Disconnected))); // Python's `EOFError`
    /// # Ok(()) }
    /// ```
    pub fn close(&mut self) {
        self.io = None;
        self.fds.clear();
        self.pending = None;
        self.rpos = 0;
        self.rend = 0;
    }

    /// Whether [`close`](Connection::close) was called.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, _b) = Pipe::new::<u8>()?;
    /// assert!(!a.is_closed());
    /// a.close();
    /// assert!(a.is_closed());
    /// # Ok(()) }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.io.is_none()
    }

    /// Whether this end can receive (Python's `readable`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (r, w) = Pipe::one_way::<u8>()?;
    /// assert!(r.is_readable() && !w.is_readable());
    /// # Ok(()) }
    /// ```
    pub fn is_readable(&self) -> bool {
        self.mode != Mode::WriteOnly
    }

    /// Whether this end can send (Python's `writable`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (r, w) = Pipe::one_way::<u8>()?;
    /// assert!(w.is_writable() && !r.is_writable());
    /// # Ok(()) }
    /// ```
    pub fn is_writable(&self) -> bool {
        self.mode != Mode::ReadOnly
    }

    /// The largest message this end sends or accepts, in bytes (default 1 GiB).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{DEFAULT_MAX_MESSAGE_LEN, Pipe};
    ///
    /// let (a, _b) = Pipe::new::<u8>()?;
    /// assert_eq!(a.max_message_len(), DEFAULT_MAX_MESSAGE_LEN);
    /// # Ok(()) }
    /// ```
    pub fn max_message_len(&self) -> u64 {
        self.limit
    }

    /// Sets the largest message this end sends or accepts (at most 2⁴⁸ bytes).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Pipe, RecvError};
    ///
    /// let (mut a, mut b) = Pipe::new::<Vec<u8>>()?;
    /// b.set_max_message_len(100);
    /// a.send(&vec![0; 1000])?;
    /// assert!(matches!(b.recv(), Err(RecvError::TooLarge { .. }))); // the message stays in place
    /// b.set_max_message_len(10_000);
    /// assert_eq!(b.recv()?.len(), 1000);
    /// # Ok(()) }
    /// ```
    pub fn set_max_message_len(&mut self, limit: u64) {
        self.limit = limit.min(MAX_LEN);
    }

    /// Sends raw bytes as one message (Python's `send_bytes`); the other end reads them with
    /// [`recv_bytes`](Connection::recv_bytes).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, mut b) = Pipe::new::<()>()?;
    /// a.send_bytes(b"raw bytes, not encoded")?;
    /// assert_eq!(b.recv_bytes()?, b"raw bytes, not encoded");
    /// # Ok(()) }
    /// ```
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.writer()?;
        let len = bytes.len() as u64;
        if len > self.limit {
            return Err(SendError::TooLarge { len, limit: self.limit });
        }
        self.grow_pipe_for(bytes.len());
        let io = self.writer()?;
        let header = header_bytes(0, len);
        write_all(io, &[&header, bytes], &[])
    }

    /// Receives one message as raw bytes (Python's `recv_bytes`), up to the connection's limit.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, mut b) = Pipe::new::<()>()?;
    /// a.send_bytes(&[1, 2, 3])?;
    /// assert_eq!(b.recv_bytes()?, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn recv_bytes(&mut self) -> Result<Vec<u8>, RecvError> {
        self.recv_bytes_max(self.limit)
    }

    /// Receives one message as raw bytes if it is at most `max_len` bytes (Python's
    /// `recv_bytes(maxlength)`). A longer message is [`RecvError::TooLarge`] and stays in place.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Pipe, RecvError};
    ///
    /// let (mut a, mut b) = Pipe::new::<()>()?;
    /// a.send_bytes(&[0; 64])?;
    /// assert!(matches!(b.recv_bytes_max(16), Err(RecvError::TooLarge { len: 64, .. })));
    /// assert_eq!(b.recv_bytes_max(64)?.len(), 64); // still there
    /// # Ok(()) }
    /// ```
    pub fn recv_bytes_max(&mut self, max_len: u64) -> Result<Vec<u8>, RecvError> {
        let h = self.fetch(max_len.min(self.limit), None)?;
        Ok(self.take_payload(h))
    }

    /// The payload of the fetched message `h`, consumed.
    fn take_payload(&mut self, h: Header) -> Vec<u8> {
        let out = if h.len as usize <= READ_BUF {
            self.payload(h).to_vec()
        } else {
            std::mem::take(&mut self.body)
        };
        self.consume(h);
        out
    }

    /// Receives one message of at most `max_len` bytes, waiting until `deadline`.
    pub(crate) fn recv_bytes_deadline(
        &mut self,
        max_len: u64,
        deadline: Instant,
    ) -> Result<Vec<u8>, RecvError> {
        let h = self.fetch(max_len.min(self.limit), Some(deadline))?;
        Ok(self.take_payload(h))
    }

    /// Receives one message as raw bytes, waiting at most `timeout`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Pipe, RecvError};
    /// use std::time::Duration;
    ///
    /// let (mut a, mut b) = Pipe::new::<()>()?;
    /// assert!(matches!(b.recv_bytes_timeout(Duration::from_millis(10)), Err(RecvError::Timeout)));
    /// a.send_bytes(b"now")?;
    /// assert_eq!(b.recv_bytes_timeout(Duration::from_secs(5))?, b"now");
    /// # Ok(()) }
    /// ```
    pub fn recv_bytes_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>, RecvError> {
        self.recv_bytes_deadline(self.limit, deadline(timeout))
    }

    /// Receives one message into `buf` and returns its length (Python's `recv_bytes_into`). A
    /// message longer than `buf` is [`RecvError::BufferTooSmall`] and stays in place.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, mut b) = Pipe::new::<()>()?;
    /// a.send_bytes(b"hello")?;
    /// let mut buf = [0u8; 16];
    /// let n = b.recv_bytes_into(&mut buf)?;
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(()) }
    /// ```
    pub fn recv_bytes_into(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        let h = self.header(None)?;
        if h.len > buf.len() as u64 {
            return Err(RecvError::BufferTooSmall {
                needed: usize::try_from(h.len).unwrap_or(usize::MAX),
                available: buf.len(),
            });
        }
        let n = h.len as usize;
        if n > READ_BUF && self.body.is_empty() {
            // Straight into the caller's buffer: no intermediate copy.
            let buffered = (self.rend - self.rpos).min(n);
            buf[..buffered].copy_from_slice(&self.rbuf[self.rpos..self.rpos + buffered]);
            self.rpos += buffered;
            let mut have = buffered;
            while have < n {
                self.reader()?;
                let io = self.io.as_ref().expect("checked by reader()");
                match read_some(io, &mut buf[have..n], &mut self.fds)? {
                    0 => return Err(self.truncated()),
                    k => have += k,
                }
            }
            self.pending = None;
            return Ok(n);
        }
        let h = self.fetch(self.limit, None)?;
        buf[..n].copy_from_slice(self.payload(h));
        self.consume(h);
        Ok(n)
    }

    /// Whether a message (or end of stream) can be received without waiting, waiting up to
    /// `timeout` for one (Python's `poll`; `Duration::ZERO` only looks).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    /// use std::time::Duration;
    ///
    /// let (mut a, mut b) = Pipe::new::<u8>()?;
    /// assert!(!b.poll(Duration::ZERO)?); // Python: `b.poll()` is `False`
    /// a.send(&1)?;
    /// assert!(b.poll(Duration::from_secs(5))?);
    /// # Ok(()) }
    /// ```
    pub fn poll(&mut self, timeout: Duration) -> Result<bool, RecvError> {
        self.reader()?;
        if self.pending.is_some() || self.rend > self.rpos {
            return Ok(true);
        }
        let fd = self.reader()?.fd();
        Ok(wait_readable(fd, Some(deadline(timeout)))?)
    }

    /// Before the first large message on a pipe: asks the kernel for a larger pipe buffer, so
    /// that a large message crosses in a few big copies instead of many 64 KiB round trips between
    /// writer and reader. Pipes that only carry small messages keep the default size (the
    /// enlarged buffer counts against a per-user limit). A refusal changes nothing.
    fn grow_pipe_for(&mut self, len: usize) {
        if len > PIPE_GROW_ABOVE
            && !self.pipe_grown
            && let Some(Io::Pipe(fd)) = &self.io
        {
            self.pipe_grown = true;
            sys::grow_pipe(fd.as_fd(), PIPE_GROWN);
        }
    }

    fn writer(&self) -> Result<&Io, SendError> {
        let io = self.io.as_ref().ok_or(SendError::Closed)?;
        if self.mode == Mode::ReadOnly {
            return Err(SendError::ReadOnly);
        }
        Ok(io)
    }

    fn reader(&self) -> Result<&Io, RecvError> {
        let io = self.io.as_ref().ok_or(RecvError::Closed)?;
        if self.mode == Mode::WriteOnly {
            return Err(RecvError::WriteOnly);
        }
        if let Some(why) = self.failed {
            return Err(RecvError::Corrupt(why));
        }
        Ok(io)
    }

    /// Reads more bytes into the buffer; returns how many (0: end of stream).
    fn fill(&mut self, deadline: Option<Instant>) -> Result<usize, RecvError> {
        if self.rbuf.is_empty() {
            self.rbuf = vec![0; READ_BUF].into_boxed_slice();
        }
        if self.rpos == self.rend {
            self.rpos = 0;
            self.rend = 0;
        } else if self.rend == self.rbuf.len() {
            self.rbuf.copy_within(self.rpos..self.rend, 0);
            self.rend -= self.rpos;
            self.rpos = 0;
        }
        self.reader()?;
        let io = self.io.as_ref().expect("checked by reader()");
        if let Some(d) = deadline
            && !wait_readable(io.fd(), Some(d))?
        {
            return Err(RecvError::Timeout);
        }
        let spare = &mut self.rbuf[self.rend..];
        let n = read_some(io, spare, &mut self.fds)?;
        self.rend += n;
        Ok(n)
    }

    /// The header of the next message, read if need be.
    fn header(&mut self, deadline: Option<Instant>) -> Result<Header, RecvError> {
        self.reader()?;
        if let Some(h) = self.pending {
            return Ok(h);
        }
        while self.rend - self.rpos < HEADER {
            if self.fill(deadline)? == 0 {
                return Err(if self.rend == self.rpos {
                    RecvError::Disconnected
                } else {
                    RecvError::Truncated
                });
            }
        }
        let raw = &self.rbuf[self.rpos..self.rpos + HEADER];
        let magic = u32::from_le_bytes(raw[0..4].try_into().expect("4 bytes"));
        let fds = u32::from_le_bytes(raw[4..8].try_into().expect("4 bytes")) as usize;
        let len = u64::from_le_bytes(raw[8..16].try_into().expect("8 bytes"));
        let why = if magic != MAGIC {
            Some("bad magic number")
        } else if fds > MAX_FDS_PER_MESSAGE {
            Some("more handles than a message can carry")
        } else if len > MAX_LEN {
            Some("impossible length")
        } else if fds > self.fds.len() {
            Some("handles announced but not received")
        } else {
            None
        };
        if let Some(why) = why {
            self.failed = Some(why);
            return Err(RecvError::Corrupt(why));
        }
        self.rpos += HEADER;
        let h = Header { fds, len };
        self.pending = Some(h);
        Ok(h)
    }

    /// Reads the whole next message if it is at most `limit` bytes.
    fn fetch(&mut self, limit: u64, deadline: Option<Instant>) -> Result<Header, RecvError> {
        let h = self.header(deadline)?;
        if h.len > limit {
            return Err(RecvError::TooLarge { len: h.len, limit });
        }
        let len = h.len as usize;
        if len <= READ_BUF {
            while self.rend - self.rpos < len {
                if self.fill(deadline)? == 0 {
                    return Err(self.truncated());
                }
            }
            return Ok(h);
        }
        // A large body: read straight into a buffer of its own, growing it as bytes arrive.
        if self.body.is_empty() {
            let buffered = self.rend - self.rpos;
            self.body.extend_from_slice(&self.rbuf[self.rpos..self.rend]);
            self.rpos += buffered;
        }
        let mut have = self.body.len();
        while have < len {
            // Grow as bytes arrive, in large steps: a forged length costs nothing, a real one
            // few reallocations.
            let grow = len.min(have.max(8 * READ_BUF) * 4);
            if self.body.len() < grow {
                self.body.resize(grow, 0);
            }
            self.reader()?;
            let io = self.io.as_ref().expect("checked by reader()");
            if let Some(d) = deadline
                && !wait_readable(io.fd(), Some(d))?
            {
                self.body.truncate(have);
                return Err(RecvError::Timeout);
            }
            let n = match read_some(io, &mut self.body[have..grow], &mut self.fds) {
                Ok(n) => n,
                Err(e) => {
                    self.body.truncate(have);
                    return Err(e);
                }
            };
            if n == 0 {
                self.body.truncate(have);
                return Err(self.truncated());
            }
            have += n;
        }
        self.body.truncate(len);
        Ok(h)
    }

    fn truncated(&mut self) -> RecvError {
        self.failed = Some("the connection ended in the middle of a message");
        RecvError::Truncated
    }

    fn payload(&self, h: Header) -> &[u8] {
        if h.len as usize <= READ_BUF {
            &self.rbuf[self.rpos..self.rpos + h.len as usize]
        } else {
            &self.body
        }
    }

    fn consume(&mut self, h: Header) {
        if h.len as usize <= READ_BUF {
            self.rpos += h.len as usize;
        } else {
            self.body = Vec::new();
        }
        self.pending = None;
    }
}

impl<S: Serialize, R> Connection<S, R> {
    /// Sends `value` (Python's `send`). Blocks while the other end's buffer is full. Handles
    /// inside `value` travel with it (Unix sockets only).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    /// use std::collections::HashMap;
    ///
    /// let (mut a, mut b) = Pipe::new::<HashMap<String, u32>>()?;
    /// a.send(&HashMap::from([("apples".to_string(), 3)]))?; // any serde type
    /// assert_eq!(b.recv()?["apples"], 3);
    /// # Ok(()) }
    /// ```
    pub fn send(&mut self, value: &S) -> Result<(), SendError> {
        let limit = self.limit;
        self.writer()?;
        self.wbuf.clear();
        self.wbuf.resize(HEADER, 0);
        let fds = codec::encode_into(value, &mut self.wbuf)?;
        let len = (self.wbuf.len() - HEADER) as u64;
        if len > limit {
            return Err(SendError::TooLarge { len, limit });
        }
        if fds.len() > MAX_FDS_PER_MESSAGE {
            return Err(SendError::Handles("more OS handles than one message can carry"));
        }
        self.wbuf[..HEADER].copy_from_slice(&header_bytes(fds.len(), len));
        self.grow_pipe_for(len as usize);
        let io = self.writer()?;
        let r = write_all(io, &[&self.wbuf], &fds);
        if self.wbuf.capacity() > READ_BUF {
            self.wbuf = Vec::new();
        }
        r
    }
}

impl<S, R: DeserializeOwned> Connection<S, R> {
    /// Receives the next message, waiting as long as it takes (Python's `recv`).
    /// [`RecvError::Disconnected`] once the other end is closed and everything was read.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Pipe, RecvError};
    ///
    /// let (mut a, mut b) = Pipe::new::<(u8, String)>()?;
    /// a.send(&(1, "one".to_string()))?;
    /// drop(a);
    /// assert_eq!(b.recv()?, (1, "one".to_string()));
    /// assert!(matches!(b.recv(), Err(RecvError::Disconnected))); // Python's `EOFError`
    /// # Ok(()) }
    /// ```
    pub fn recv(&mut self) -> Result<R, RecvError> {
        self.recv_until(None)
    }

    /// Receives the next message, waiting at most `timeout`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Pipe, RecvError};
    /// use std::time::Duration;
    ///
    /// let (_a, mut b) = Pipe::new::<u8>()?;
    /// assert!(matches!(b.recv_timeout(Duration::from_millis(10)), Err(RecvError::Timeout)));
    /// # Ok(()) }
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<R, RecvError> {
        self.recv_until(Some(deadline(timeout)))
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<R, RecvError> {
        let h = self.fetch(self.limit, deadline)?;
        let fds: Vec<OwnedFd> = self.fds.drain(..h.fds).collect();
        let value = codec::decode(self.payload(h), fds);
        self.consume(h);
        Ok(value?)
    }

    /// An iterator over received messages that ends when the other end is closed (or at the
    /// first error, which it yields).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Pipe;
    ///
    /// let (mut a, mut b) = Pipe::new::<u32>()?;
    /// for i in 1..=3 {
    ///     a.send(&i)?;
    /// }
    /// drop(a);
    /// let sum: u32 = b.iter().map(Result::unwrap).sum(); // ends at end of stream
    /// assert_eq!(sum, 6);
    /// # Ok(()) }
    /// ```
    pub fn iter(&mut self) -> impl Iterator<Item = Result<R, RecvError>> + '_ {
        std::iter::from_fn(move || match self.recv() {
            Err(RecvError::Disconnected) => None,
            other => Some(other),
        })
    }
}

fn header_bytes(fds: usize, len: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&(fds as u32).to_le_bytes());
    h[8..16].copy_from_slice(&len.to_le_bytes());
    h
}

fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400))
}

fn read_some(io: &Io, buf: &mut [u8], fds: &mut VecDeque<OwnedFd>) -> Result<usize, RecvError> {
    let r = match io {
        Io::Unix(fd) | Io::Tcp(fd) => {
            let mut got = Vec::new();
            let r = recv_with_fds(fd.as_fd(), buf, &mut got);
            fds.extend(got);
            r
        }
        Io::Pipe(fd) => sys::read(fd.as_fd(), buf),
    };
    match r {
        Ok(n) => Ok(n),
        // A reset connection is an ended one: what was sent before it was read already.
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(0),
        Err(e) => Err(RecvError::Io(e)),
    }
}

fn write_all(io: &Io, bufs: &[&[u8]], fds: &[BorrowedFd<'_>]) -> Result<(), SendError> {
    if !fds.is_empty() && !matches!(io, Io::Unix(_)) {
        return Err(SendError::Handles(
            "OS handles travel over Unix sockets only (a duplex Pipe, or a Unix Listener)",
        ));
    }
    // A frame is one or two slices (header and body): one system call with the slices on the
    // stack, which writes all of it unless the other end's buffer is nearly full.
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    let (mut n, mut fds) = match bufs {
        [a] => (write_once(io, &[IoSlice::new(a)], fds)?, &[][..]),
        [a, b] => (write_once(io, &[IoSlice::new(a), IoSlice::new(b)], fds)?, &[][..]),
        _ => (0, fds),
    };
    if n == total {
        return Ok(());
    }
    let mut slices: Vec<&[u8]> = bufs.iter().copied().filter(|b| !b.is_empty()).collect();
    loop {
        while let Some(first) = slices.first_mut() {
            if n >= first.len() {
                n -= first.len();
                slices.remove(0);
            } else {
                *first = &first[n..];
                break;
            }
        }
        if slices.is_empty() {
            return Ok(());
        }
        let iov: Vec<IoSlice<'_>> = slices.iter().map(|s| IoSlice::new(s)).collect();
        n = write_once(io, &iov, fds)?;
        fds = &[];
    }
}

/// One `sendmsg` (sockets) or `writev` (pipes); returns the bytes written.
fn write_once(io: &Io, iov: &[IoSlice<'_>], fds: &[BorrowedFd<'_>]) -> Result<usize, SendError> {
    let r = match io {
        Io::Unix(fd) | Io::Tcp(fd) => send_with_fds(fd.as_fd(), iov, fds),
        Io::Pipe(fd) => sys::writev(fd.as_fd(), iov),
    };
    match r {
        Ok(n) => Ok(n),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::NotConnected
            ) =>
        {
            Err(SendError::Disconnected)
        }
        Err(e) => Err(SendError::Io(e)),
    }
}

impl<S, R> fmt::Debug for Connection<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("io", &self.io)
            .field("mode", &self.mode)
            .field("buffered", &(self.rend - self.rpos))
            .finish_non_exhaustive()
    }
}

impl<S, R> AsFd for Connection<S, R> {
    /// The socket or pipe end. Panics if the connection is closed.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_ref().expect("the connection is closed").fd()
    }
}

impl<S, R> Waitable for Connection<S, R> {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        self.io.as_ref().map(Io::fd)
    }

    fn arm(&self) -> bool {
        self.pending.is_some() || self.rend > self.rpos || self.failed.is_some()
    }
}

impl<S, R> Serialize for Connection<S, R> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let io = self.io.as_ref().ok_or_else(|| Z::Error::custom("the connection is closed"))?;
        if self.pending.is_some() || self.rend > self.rpos || !self.fds.is_empty() {
            return Err(Z::Error::custom(
                "a connection holding messages it has read but not returned cannot be sent",
            ));
        }
        let mode = match self.mode {
            Mode::Duplex => 0u8,
            Mode::ReadOnly => 1,
            Mode::WriteOnly => 2,
        };
        (Handle::new(io.fd()), io.tag(), mode, self.limit).serialize(serializer)
    }
}

impl<'de, S, R> Deserialize<'de> for Connection<S, R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (fd, tag, mode, limit): (Handle<OwnedFd>, u8, u8, u64) =
            Deserialize::deserialize(deserializer)?;
        let fd = fd.into_inner();
        let io = match tag {
            0 => Io::Unix(fd),
            1 => Io::Tcp(fd),
            2 => Io::Pipe(fd),
            _ => return Err(D::Error::custom("unknown connection kind")),
        };
        let mode = match mode {
            0 => Mode::Duplex,
            1 => Mode::ReadOnly,
            2 => Mode::WriteOnly,
            _ => return Err(D::Error::custom("unknown connection mode")),
        };
        let mut c = Connection::from_parts(io, mode);
        c.set_max_message_len(limit);
        Ok(c)
    }
}
