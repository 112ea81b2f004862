//! The errors of the manager and its proxies: one for what any call can meet (the manager is gone,
//! the key is wrong), and small ones for what a single operation can answer (a missing key, an
//! index out of range).

use std::io;

use proc_ipc::AuthError;

use super::ObjectKind;

/// Why a call on a proxy (or on a [`Manager`](super::Manager)) failed. Every call can meet these.
///
/// ```
/// use proc_core::Handle;
/// use proc_shm::manager::{Manager, ProxyError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let files = manager.list::<Handle<std::fs::File>>()?;
/// let null = Handle::new(std::fs::File::open("/dev/null")?);
/// // A manager holds plain data, not OS handles.
/// assert!(matches!(files.push(null), Err(ProxyError::Encode(_))));
///
/// let (d, l) = (manager.dict::<String, u32>()?, manager.list::<u32>()?);
/// manager.shutdown();
/// // Whichever path a proxy takes, a manager that is gone is an error, not a hang.
/// assert!(matches!(d.get("a"), Err(ProxyError::ManagerGone(_))));
/// assert!(matches!(l.len(), Err(ProxyError::ManagerGone(_))));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The manager process is gone (shut down, killed, or its owner died), or never answered.
    /// Nothing waits forever for a dead manager: a pending call ends with this error.
    #[error("the manager is gone: {0}")]
    ManagerGone(String),
    /// The manager refused this process's key (or this process refused the manager's):
    /// [`AuthError::WrongKey`] or [`AuthError::Rejected`].
    #[error("the manager refused the connection: {0}")]
    Auth(AuthError),
    /// The value could not be encoded, or holds an OS handle (a manager holds plain data; share
    /// handles through spawn arguments or a pipe instead).
    #[error("could not encode for the manager: {0}")]
    Encode(String),
    /// What the manager sent back is not a valid encoding of the proxy's type: another process
    /// stored a value of another type under the same object, or a protocol mismatch.
    #[error("could not decode the manager's answer: {0}")]
    Decode(String),
    /// The object does not exist in this manager (a proxy from another manager at a reused address).
    #[error("the manager has no such object")]
    NoSuchObject,
    /// The operation could not be carried out; the message says why (an update function that
    /// panicked, or that comes from another program; no memory for a dict's shared table).
    #[error("the manager failed: {0}")]
    Remote(String),
    /// A dict or namespace has no room for the write: its shared table holds at most
    /// [`ManagerBuilder::max_dict_bytes`](super::ManagerBuilder::max_dict_bytes) of encoded keys
    /// and values. Nothing was written.
    #[error("{0}")]
    Full(String),
}

impl From<AuthError> for ProxyError {
    fn from(e: AuthError) -> Self {
        match e {
            // A refusal either way is about the key.
            AuthError::WrongKey | AuthError::Rejected => ProxyError::Auth(e),
            // Anything else (the socket closed in the middle of the handshake, no answer in time,
            // nothing listening) means there is no working manager there.
            other => ProxyError::ManagerGone(other.to_string()),
        }
    }
}

impl From<io::Error> for ProxyError {
    fn from(e: io::Error) -> Self {
        ProxyError::ManagerGone(e.to_string())
    }
}

/// A key was not in a managed dict or namespace (Python's `KeyError`).
///
/// ```
/// use proc_shm::manager::{KeyError, Manager};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let d = manager.dict::<String, u32>()?;
/// d.insert("a".into(), 1)?;
/// match d.remove("b") {
///     Err(KeyError::Missing) => {} // Python: `except KeyError:`
///     other => panic!("expected a missing key, got {other:?}"),
/// }
/// let ns = manager.namespace()?;
/// assert!(matches!(ns.remove("nothing"), Err(KeyError::Missing)));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is not there.
    #[error("no such key")]
    Missing,
    /// The call itself failed.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

/// An index was past the end of a managed list (Python's `IndexError`).
///
/// ```
/// use proc_shm::manager::{ListError, Manager};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let l = manager.list::<char>()?;
/// l.extend(['a', 'b'])?;
/// assert_eq!(l.get(1)?, 'b');
/// assert!(matches!(l.get(2), Err(ListError::OutOfRange { index: 2, len: 2 })));
/// assert!(matches!(l.set(5, 'z'), Err(ListError::OutOfRange { .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The index is not less than the list's length (at the moment the manager looked).
    #[error("list index {index} out of range for a list of length {len}")]
    OutOfRange {
        /// The index asked for.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// The call itself failed.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

/// Why [`Manager::lookup`](super::Manager::lookup) found no object.
///
/// ```
/// use proc_shm::manager::{DictProxy, ListProxy, LookupError, Manager, ObjectKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// manager.publish("scores", &manager.dict::<String, u32>()?)?;
/// assert!(matches!(
///     manager.lookup::<DictProxy<String, u32>>("score"),
///     Err(LookupError::NotFound(name)) if name == "score"
/// ));
/// assert!(matches!(
///     manager.lookup::<ListProxy<u32>>("scores"),
///     Err(LookupError::WrongKind { found: ObjectKind::Dict, .. })
/// ));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Nothing was published under that name.
    #[error("nothing is published as {0:?}")]
    NotFound(String),
    /// The object of that name is of another kind.
    #[error("{name:?} is a {found:?}, not a {expected:?}")]
    WrongKind {
        /// The name looked up.
        name: String,
        /// The kind asked for.
        expected: ObjectKind,
        /// The kind it is.
        found: ObjectKind,
    },
    /// The call itself failed.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

/// Why a manager could not be started.
///
/// ```
/// use proc_ipc::Address;
/// use proc_shm::manager::{Manager, StartManagerError};
/// use std::path::Path;
///
/// let at = Address::Unix(Path::new("/nonexistent/dir/manager.sock").into());
/// match Manager::builder().address(at).start() {
///     Err(StartManagerError::Listen { address, reason }) => {
///         assert!(address.contains("/nonexistent/dir"));
///         println!("could not listen: {reason}");
///     }
///     other => panic!("expected a listen error, got {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartManagerError {
    /// The server process could not be started.
    #[error("could not start the manager process: {0}")]
    Start(#[from] proc_core::StartError),
    /// The server could not listen at the address (in use, no permission, a bad path).
    #[error("the manager could not listen at {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: String,
        /// What the OS said.
        reason: String,
    },
    /// Preparing the socket's directory, or talking to the starting server, failed.
    #[error("could not start the manager: {0}")]
    Io(#[from] io::Error),
    /// The server process ended before it was ready.
    #[error("the manager process ended before it was ready: {0}")]
    Died(String),
}
