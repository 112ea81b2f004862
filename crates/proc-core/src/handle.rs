//! [`Handle`]: a value that owns an OS handle (a file, a socket) and can travel to another process
//! inside spawn arguments or through a pipe, arriving there usable.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;

/// Wraps a value that owns an OS handle so that it can be sent to another process.
///
/// Put a `Handle` anywhere inside the arguments of a [`Process`](crate::Process) (or a message sent
/// through a pipe); the fd travels beside the encoded bytes and the other process gets a working
/// duplicate. The sender keeps its own copy until it drops the `Handle`.
///
/// Works for any type that owns an fd and can be rebuilt from one: [`std::fs::File`],
/// [`std::net::TcpStream`], [`std::net::TcpListener`], [`std::net::UdpSocket`],
/// [`std::os::unix::net::UnixStream`], [`std::os::unix::net::UnixListener`], [`OwnedFd`].
///
/// ```
/// use proc_core::{Handle, Process};
/// use std::io::{Read, Seek, Write};
///
/// fn write_greeting(mut file: Handle<std::fs::File>) {
///     file.write_all(b"hello from the child\n").unwrap();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("multiproc-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("greeting.txt");
/// let file = std::fs::File::options().create(true).truncate(true).read(true).write(true).open(&path)?;
/// let mut p = Process::new(write_greeting, (Handle::new(file.try_clone()?),));
/// p.start()?;
/// p.join()?;
/// let mut text = String::new();
/// let mut file = file;
/// file.rewind()?;
/// file.read_to_string(&mut text)?;
/// assert_eq!(text, "hello from the child\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub struct Handle<T>(T);

impl<T> Handle<T> {
    /// Wraps `inner` for sending.
    ///
    /// ```
    /// use proc_core::{Handle, Process};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// fn answer(mut sock: Handle<UnixStream>) {
    ///     sock.write_all(b"pong").unwrap();
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut ours, theirs) = UnixStream::pair()?;
    /// let mut p = Process::new(answer, (Handle::new(theirs),));
    /// p.start()?;
    /// let mut reply = [0; 4];
    /// ours.read_exact(&mut reply)?;
    /// assert_eq!(&reply, b"pong");
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn new(inner: T) -> Self {
        Handle(inner)
    }

    /// The wrapped value.
    ///
    /// ```
    /// use proc_core::{Handle, Process};
    /// use std::io::{BufRead, BufReader, Write};
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// // The child accepts one connection on a listener the parent bound.
    /// fn serve_one(listener: Handle<TcpListener>) {
    ///     let listener: TcpListener = listener.into_inner();
    ///     let (mut conn, _) = listener.accept().unwrap();
    ///     conn.write_all(b"hello\n").unwrap();
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let mut p = Process::new(serve_one, (Handle::new(listener),));
    /// p.start()?;
    /// let mut line = String::new();
    /// BufReader::new(TcpStream::connect(addr)?).read_line(&mut line)?;
    /// assert_eq!(line, "hello\n");
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Handle<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Handle<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Handle<T> {
    fn from(inner: T) -> Self {
        Handle(inner)
    }
}

impl<T: fmt::Debug> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handle").field(&self.0).finish()
    }
}

impl<T: AsFd> AsFd for Handle<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl<T: AsFd> Serialize for Handle<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_fd(self.0.as_fd(), serializer)
    }
}

impl<'de, T: From<OwnedFd>> Deserialize<'de> for Handle<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Handle(T::from(deserialize_fd(deserializer)?)))
    }
}

/// Serializes an fd owned by the value being encoded as its side-table index.
pub(crate) fn serialize_fd<S: Serializer>(
    fd: BorrowedFd<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let index = codec::register_fd(fd).map_err(S::Error::custom)?;
    serializer.serialize_u32(index)
}

/// Deserializes a side-table index and takes the fd it names.
pub(crate) fn deserialize_fd<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<OwnedFd, D::Error> {
    let index = u32::deserialize(deserializer)?;
    codec::take_fd(index).map_err(D::Error::custom)
}
