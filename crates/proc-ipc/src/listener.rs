//! [`Listener`] and [`Client`]: connections between processes that did not start each other, over
//! a Unix socket or TCP, optionally authenticated with a shared key (Python's
//! `multiprocessing.connection.Listener` / `Client`).
//!
//! # Authentication
//! When an authkey is given, each side proves to the other that it knows the key without sending
//! it: the listener sends 32 random bytes, the client answers with their HMAC-SHA256 under the key,
//! and the listener answers `WELCOME` or `FAILURE`; then the same the other way round. Both sides
//! must use a key, or neither. Handshake messages are at most [`HANDSHAKE_MAX`] bytes and must
//! arrive within the handshake timeout, so a client sending garbage, or nothing, costs the
//! listener one failed `accept` and nothing more.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use proc_core::Waitable;
use sha2::Sha256;

use crate::connection::Connection;
use crate::error::{RecvError, SendError};

/// Largest handshake message accepted.
pub const HANDSHAKE_MAX: u64 = 256;
const CHALLENGE: &[u8] = b"#MULTIPROC-CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";
const NONCE: usize = 32;
/// Default time a peer has to complete the handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a [`Listener`] listens and a [`Client`] connects. Plain data: pass it to a child process
/// so that it can connect.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{Address, Listener};
/// use std::path::PathBuf;
///
/// let unix = Address::from(PathBuf::from("/tmp/my-app.sock")); // Python: a path string
/// let tcp = Address::from("127.0.0.1:0".parse::<std::net::SocketAddr>()?); // Python: a tuple
/// assert_eq!(unix.to_string(), "unix:/tmp/my-app.sock");
/// let listener = Listener::bind(tcp, None)?;
/// assert!(matches!(listener.address()?, Address::Tcp(a) if a.port() != 0));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Address {
    /// A Unix socket at a path in the file system.
    Unix(PathBuf),
    /// A TCP address (port 0 when binding: any free port; [`Listener::address`] tells which).
    Tcp(SocketAddr),
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Self {
        Address::Tcp(a)
    }
}

impl From<PathBuf> for Address {
    fn from(p: PathBuf) -> Self {
        Address::Unix(p)
    }
}

impl From<&Path> for Address {
    fn from(p: &Path) -> Self {
        Address::Unix(p.to_path_buf())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
            Address::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// Why a connection could not be accepted or made.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{Address, AuthError, Client, Listener};
///
/// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), Some(b"right key"))?;
/// let address = listener.address()?;
/// let client = std::thread::spawn(move || Client::connect::<(), ()>(address, Some(b"wrong key")));
/// assert!(matches!(listener.accept::<(), ()>(), Err(AuthError::WrongKey)));
/// assert!(matches!(client.join().unwrap(), Err(AuthError::Rejected)));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The peer's answer to our challenge was wrong: it does not have our key (Python's
    /// `AuthenticationError`).
    #[error("authentication failed: the peer does not have the key")]
    WrongKey,
    /// The peer refused our answer: we do not have its key.
    #[error("authentication failed: the peer refused our key")]
    Rejected,
    /// The peer did not follow the handshake (garbage, or a peer without a key).
    #[error("the peer did not follow the handshake: {0}")]
    Protocol(String),
    /// The peer did not complete the handshake in time.
    #[error("the peer did not complete the handshake in time")]
    Timeout,
    /// Accepting or connecting failed.
    #[error("connection failed: {0}")]
    Io(#[from] io::Error),
}

impl From<RecvError> for AuthError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Timeout => AuthError::Timeout,
            RecvError::Io(e) => AuthError::Io(e),
            other => AuthError::Protocol(other.to_string()),
        }
    }
}

impl From<SendError> for AuthError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Io(e) => AuthError::Io(e),
            other => AuthError::Protocol(other.to_string()),
        }
    }
}

enum Socket {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Listens for [`Client`] connections (Python's `Listener`).
///
/// ```
/// use proc_ipc::{Address, Client, Listener};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = b"secret key";
/// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), Some(key))?;
/// let address = listener.address()?;
/// let client = std::thread::spawn(move || {
///     let mut conn = Client::connect::<String, String>(address, Some(key)).unwrap();
///     conn.send(&"hello".to_string()).unwrap();
///     conn.recv().unwrap()
/// });
/// let mut conn = listener.accept::<String, String>()?;
/// let got = conn.recv()?;
/// conn.send(&format!("{got}, back"))?;
/// assert_eq!(client.join().unwrap(), "hello, back");
/// # Ok(()) }
/// ```
pub struct Listener {
    socket: Socket,
    authkey: Option<Vec<u8>>,
    handshake_timeout: Duration,
    /// The socket file this process created, removed on drop.
    created: Option<(PathBuf, u32)>,
}

impl Listener {
    /// Listens at `address`. With an `authkey`, every connection must prove it has the same key.
    /// A Unix socket path must not exist yet; it is removed when the listener is dropped.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Listener;
    ///
    /// let path = std::env::temp_dir().join(format!("bind-example-{}.sock", std::process::id()));
    /// let listener = Listener::bind(path.as_path(), Some(b"secret"))?; // Python: `Listener(path, authkey=…)`
    /// assert!(path.exists());
    /// drop(listener); // the socket file goes with it
    /// assert!(!path.exists());
    /// # Ok(()) }
    /// ```
    pub fn bind(address: impl Into<Address>, authkey: Option<&[u8]>) -> io::Result<Listener> {
        let address = address.into();
        let (socket, created) = match &address {
            Address::Unix(p) => {
                (Socket::Unix(UnixListener::bind(p)?), Some((p.clone(), std::process::id())))
            }
            Address::Tcp(a) => (Socket::Tcp(TcpListener::bind(a)?), None),
        };
        Ok(Listener {
            socket,
            authkey: authkey.map(<[u8]>::to_vec),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            created,
        })
    }

    /// The address it listens at (with the real port, for a TCP port 0).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Address, Listener};
    ///
    /// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), None)?;
    /// let Address::Tcp(addr) = listener.address()? else { unreachable!() };
    /// println!("listening on port {}", addr.port()); // the port the system picked
    /// # Ok(()) }
    /// ```
    pub fn address(&self) -> io::Result<Address> {
        Ok(match &self.socket {
            Socket::Unix(l) => Address::Unix(
                l.local_addr()?
                    .as_pathname()
                    .map(Path::to_path_buf)
                    .ok_or_else(|| io::Error::other("unnamed Unix socket"))?,
            ),
            Socket::Tcp(l) => Address::Tcp(l.local_addr()?),
        })
    }

    /// How long a connecting peer has to complete the handshake (default 10 s).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Address, Listener};
    /// use std::time::Duration;
    ///
    /// let mut listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), Some(b"key"))?;
    /// listener.set_handshake_timeout(Duration::from_secs(2)); // slow peers are dropped sooner
    /// # Ok(()) }
    /// ```
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    /// Waits for the next connection and authenticates it. A peer that fails authentication or
    /// sends garbage is an error for this call only: the listener goes on accepting.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_ipc::{Address, Client, Listener};
    ///
    /// fn client(address: Address) -> String {
    ///     let mut conn = Client::connect::<String, String>(address, Some(b"key")).unwrap();
    ///     conn.send(&"hi".to_string()).unwrap();
    ///     conn.recv().unwrap()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), Some(b"key"))?;
    /// let mut p = Process::new(client, (listener.address()?,));
    /// p.start()?;
    /// let mut conn = listener.accept::<String, String>()?; // Python: `listener.accept()`
    /// let hi = conn.recv()?;
    /// conn.send(&format!("{hi} yourself"))?;
    /// assert_eq!(p.join()?, "hi yourself");
    /// # Ok(()) }
    /// ```
    pub fn accept<S, R>(&self) -> Result<Connection<S, R>, AuthError> {
        let mut conn: Connection<(), ()> = match &self.socket {
            Socket::Unix(l) => Connection::from_unix(l.accept()?.0),
            Socket::Tcp(l) => Connection::from_tcp(l.accept()?.0),
        };
        if let Some(key) = &self.authkey {
            let deadline = Instant::now() + self.handshake_timeout;
            deliver_challenge(&mut conn, key, deadline)?;
            answer_challenge(&mut conn, key, deadline)?;
        }
        Ok(conn.retype())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some((path, pid)) = &self.created
            && *pid == std::process::id()
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("address", &self.address().ok())
            .field("authenticated", &self.authkey.is_some())
            .finish()
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.socket {
            Socket::Unix(l) => l.as_fd(),
            Socket::Tcp(l) => l.as_fd(),
        }
    }
}

impl Waitable for Listener {
    /// Ready when a connection is waiting to be accepted.
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }
}

/// Connects to a [`Listener`] (Python's `Client`).
///
/// ```
/// use proc_core::Process;
/// use proc_ipc::{Address, Client, Listener};
///
/// fn serve(listener_address: Address) -> u32 {
///     let mut conn = Client::connect::<u32, u32>(listener_address, None).unwrap();
///     conn.send(&1).unwrap();
///     conn.recv().unwrap()
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), None)?;
/// let mut p = Process::new(serve, (listener.address()?,));
/// p.start()?;
/// let mut conn = listener.accept::<u32, u32>()?;
/// let n = conn.recv()?;
/// conn.send(&(n + 1))?;
/// assert_eq!(p.join()?, 2);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects to `address`, authenticating with `authkey` if given (the listener must use the
    /// same key).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Address, Client, Listener};
    ///
    /// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), Some(b"key"))?;
    /// let address = listener.address()?;
    /// let server = std::thread::spawn(move || listener.accept::<u8, u8>().unwrap().recv());
    /// let mut conn = Client::connect::<u8, u8>(address, Some(b"key"))?; // Python: `Client(address, authkey=…)`
    /// conn.send(&9)?;
    /// assert_eq!(server.join().unwrap()?, 9);
    /// # Ok(()) }
    /// ```
    pub fn connect<S, R>(
        address: impl Into<Address>,
        authkey: Option<&[u8]>,
    ) -> Result<Connection<S, R>, AuthError> {
        Self::connect_timeout(address, authkey, DEFAULT_HANDSHAKE_TIMEOUT)
    }

    /// As [`connect`](Client::connect), with a limit on the handshake's duration.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{Address, Client, Listener};
    /// use std::time::Duration;
    ///
    /// let listener = Listener::bind(Address::Tcp("127.0.0.1:0".parse()?), Some(b"key"))?;
    /// let address = listener.address()?;
    /// let server = std::thread::spawn(move || listener.accept::<(), ()>().map(drop));
    /// let conn = Client::connect_timeout::<(), ()>(address, Some(b"key"), Duration::from_secs(5))?;
    /// drop(conn);
    /// server.join().unwrap()?;
    /// # Ok(()) }
    /// ```
    pub fn connect_timeout<S, R>(
        address: impl Into<Address>,
        authkey: Option<&[u8]>,
        handshake_timeout: Duration,
    ) -> Result<Connection<S, R>, AuthError> {
        let mut conn: Connection<(), ()> = match address.into() {
            Address::Unix(p) => Connection::from_unix(UnixStream::connect(p)?),
            Address::Tcp(a) => Connection::from_tcp(TcpStream::connect(a)?),
        };
        if let Some(key) = authkey {
            let deadline = Instant::now() + handshake_timeout;
            answer_challenge(&mut conn, key, deadline)?;
            deliver_challenge(&mut conn, key, deadline)?;
        }
        Ok(conn.retype())
    }
}

fn digest(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac
}

/// Challenges the peer to prove it has `key`.
fn deliver_challenge(
    conn: &mut Connection<(), ()>,
    key: &[u8],
    deadline: Instant,
) -> Result<(), AuthError> {
    let mut message = CHALLENGE.to_vec();
    let mut nonce = [0u8; NONCE];
    getrandom::fill(&mut nonce).map_err(|e| AuthError::Io(io::Error::other(e.to_string())))?;
    message.extend_from_slice(&nonce);
    conn.send_bytes(&message)?;
    let answer = conn.recv_bytes_deadline(HANDSHAKE_MAX, deadline)?;
    if digest(key, &message).verify_slice(&answer).is_ok() {
        conn.send_bytes(WELCOME)?;
        Ok(())
    } else {
        let _ = conn.send_bytes(FAILURE);
        Err(AuthError::WrongKey)
    }
}

/// Answers the peer's challenge with `key`.
fn answer_challenge(
    conn: &mut Connection<(), ()>,
    key: &[u8],
    deadline: Instant,
) -> Result<(), AuthError> {
    let message = conn.recv_bytes_deadline(HANDSHAKE_MAX, deadline)?;
    if !message.starts_with(CHALLENGE) || message.len() != CHALLENGE.len() + NONCE {
        return Err(AuthError::Protocol("expected a challenge".into()));
    }
    conn.send_bytes(&digest(key, &message).finalize().into_bytes())?;
    match conn.recv_bytes_deadline(HANDSHAKE_MAX, deadline)?.as_slice() {
        WELCOME => Ok(()),
        FAILURE => Err(AuthError::Rejected),
        _ => Err(AuthError::Protocol("expected WELCOME or FAILURE".into())),
    }
}
