//! [`Manager`]: a server process that holds dicts, lists, namespaces, values, queues and locks,
//! and the typed proxies through which other processes use them (Python's `Manager()`).
//!
//! ```
//! use proc_core::Process;
//! use proc_shm::manager::{DictProxy, ListProxy, Manager};
//!
//! fn work(d: DictProxy<u32, String>, l: ListProxy<u32>, n: u32) {
//!     d.insert(n, format!("from {n}")).unwrap();
//!     l.push(n * n).unwrap();
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = Manager::start()?;
//! let d = manager.dict::<u32, String>()?;
//! let l = manager.list::<u32>()?;
//! let mut ps: Vec<_> = (1..=3).map(|n| Process::new(work, (d.clone(), l.clone(), n))).collect();
//! for p in &mut ps {
//!     p.start()?;
//! }
//! for p in &mut ps {
//!     p.join()?;
//! }
//! assert_eq!(d.len()?, 3);
//! assert_eq!(d.get(&2)?.as_deref(), Some("from 2"));
//! let mut squares = l.to_vec()?;
//! squares.sort();
//! assert_eq!(squares, [1, 4, 9]);
//! # Ok(()) }
//! ```
//!
//! # How it works
//! [`Manager::start`] starts a daemon child that listens on a socket (a Unix socket in a private
//! directory by default, or TCP) and serves each connection on a thread of its own. A proxy is a
//! typed handle on one object there. Proxies are `Clone`, and travel to child processes inside
//! spawn arguments (they are serde values); in the child they connect on first use. The manager
//! stores keys and values as encoded bytes, so it never needs to know their types: each proxy
//! encodes and decodes its own.
//!
//! Lists, values, queues and locks live in the manager's memory: every method is one round trip.
//! Dicts and namespaces live in shared memory the manager created, as a hash table and an arena of
//! records under a lock that survives its holder's death. A proxy of a manager on a Unix socket
//! maps it on its first call in a process and from then on works in it directly, with no round
//! trip (a call costs a fraction of a microsecond, against tens for a round trip); a write is
//! visible to every process as soon as the call returns. Requests from processes that cannot map
//! it (a manager on TCP, or reached with [`Manager::connect`] from another program) are applied by
//! the manager to the same table, so every process sees one dict.
//! [`ObjectRef::is_direct`] tells which path a proxy takes.
//!
//! A process killed in the middle of a write, even while holding the dict's lock, leaves it
//! consistent: records are written first and published with one atomic store, and the next
//! process to take the lock learns that its holder died and recounts. A dict holds at most
//! [`ManagerBuilder::max_dict_bytes`] (1 GiB by default); beyond that a write fails with
//! [`ProxyError::Full`].
//!
//! The [`Manager`] value is a guard: dropping it (or [`Manager::shutdown`]) stops the server. The
//! server is a daemon child, so it also dies when its owner is killed. Either way, a proxy whose
//! manager is gone returns [`ProxyError::ManagerGone`]; a call waiting in the manager (a queue's
//! `get`, a lock's `acquire`) ends with it too, never hanging. So does a dict proxy working in
//! shared memory: each call reads a word the manager holds (a robust mutex, which the kernel marks
//! when the manager dies, however it dies) and refuses to touch a dict whose manager is gone.
//!
//! # Python's pitfall, and `update_with`
//! In Python, `d['a'] = [1]; d['a'].append(2)` leaves `d['a'] == [1]`: the proxy returned a copy,
//! and the append changed only the copy. The same holds here, and a read-modify-write from many
//! processes (`d['count'] -= 1`) loses updates unless every process holds a lock around it.
//!
//! [`DictProxy::update_with`] (and its twins on lists, namespaces and values) is the answer: the
//! function runs under the object's own lock, on the stored value: in the calling process for a
//! dict or namespace it works in directly, inside the manager process otherwise. A `fn` item or a
//! closure that captures nothing travels as its offset in the binary (a
//! [`SharedFn`](proc_core::SharedFn)), so a hundred processes decrementing one count need no lock
//! and lose nothing:
//!
//! ```
//! use proc_core::Process;
//! use proc_shm::manager::{DictProxy, Manager};
//!
//! fn work(d: DictProxy<String, i64>) {
//!     d.update_with("count", |c: Option<i64>| c.unwrap_or(0) - 1).unwrap();
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = Manager::start()?;
//! let d = manager.dict::<String, i64>()?;
//! d.insert("count".into(), 10)?;
//! let mut ps: Vec<_> = (0..10).map(|_| Process::new(work, (d.clone(),))).collect();
//! for p in &mut ps {
//!     p.start()?;
//! }
//! for p in &mut ps {
//!     p.join()?;
//! }
//! assert_eq!(d.get("count")?, Some(0));
//! # Ok(()) }
//! ```
//!
//! An update function sent to the manager must be code of this program: processes of other
//! programs (connected with [`Manager::connect`]) get [`ProxyError::Remote`] when they try.
//!
//! # Which object
//! - [`DictProxy`], [`ListProxy`], [`NamespaceProxy`]: Python's `manager.dict()`, `.list()`,
//!   `.Namespace()`, for any serde types.
//! - [`ValueProxy`]: Python's `manager.Value`. Unlike [`Value`](crate::Value) (shared memory, plain
//!   data, fastest), it holds any serde value and is reachable from other programs.
//! - [`QueueProxy`]: a queue held by the manager. [`proc_ipc::Queue`] (shared memory) is much
//!   faster between processes of one family; a managed queue is what processes of *other* programs,
//!   connected over TCP, can share.
//! - [`LockProxy`]: a lock held by the manager. [`proc_sync::Lock`] is faster within a family; a
//!   managed lock works across programs, and is freed (and the next holder told) when its holder's
//!   process dies.
//!
//! # Other programs
//! A manager can listen on TCP ([`ManagerBuilder::address`]) with a key of its own
//! ([`ManagerBuilder::authkey`]). Its owner [`publish`](Manager::publish)es objects by name; a
//! process of another program [`connect`](Manager::connect)s with the address and the key and
//! [`lookup`](Manager::lookup)s them. A client with the wrong key is refused
//! ([`ProxyError::Auth`]).
//!
//! # Lifetime of objects
//! Objects live as long as their manager: dropping every proxy of an object does not free it
//! (Python counts references across processes; a count is lost when a process is killed, so here
//! the manager's lifetime is the rule, and [`DictProxy::clear`] frees a dict's contents).

mod client;
mod dict;
mod direct;
mod error;
mod list;
mod objects;
mod server;
mod table;
mod wire;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proc_core::{AuthKey, ChildHandle, JoinError, Process, current_process};
use proc_ipc::{Address, Connection, Pipe, RecvError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use self::client::{Endpoint, Key, encode, unexpected};
use self::server::{OwnerMsg, ServerMsg, Setup};
use self::wire::{Request, Response};

pub use self::client::{ObjectRef, Proxy};
pub use self::dict::DictProxy;
pub use self::error::{KeyError, ListError, LookupError, ProxyError, StartManagerError};
pub use self::list::ListProxy;
pub use self::objects::{LockProxy, LockProxyGuard, NamespaceProxy, QueueProxy, ValueProxy};

/// How long a starting server has to report that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server has to stop after a shutdown request before it is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// What kind of object a proxy works on.
///
/// ```
/// use proc_shm::manager::{LockProxy, ObjectKind, Proxy, QueueProxy};
///
/// assert_eq!(LockProxy::KIND, ObjectKind::Lock);
/// assert_eq!(QueueProxy::<String>::KIND, ObjectKind::Queue);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ObjectKind {
    /// [`DictProxy`].
    Dict,
    /// [`ListProxy`].
    List,
    /// [`NamespaceProxy`].
    Namespace,
    /// [`ValueProxy`].
    Value,
    /// [`QueueProxy`].
    Queue,
    /// [`LockProxy`].
    Lock,
}

/// A manager: a server process holding shared objects, and the guard that stops it (Python's
/// `Manager()` / `SyncManager`).
///
/// The owner gets it from [`Manager::start`] (or [`Manager::builder`]); dropping it, or calling
/// [`shutdown`](Manager::shutdown), stops the server. A process of another program gets one from
/// [`Manager::connect`]: that one only connects, and dropping it leaves the server running.
///
/// ```
/// use proc_shm::manager::Manager;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let ns = manager.namespace()?;
/// ns.set("x", 1.5f64)?;
/// assert_eq!(ns.get::<f64>("x")?, Some(1.5));
/// manager.shutdown();
/// # Ok(()) }
/// ```
pub struct Manager {
    endpoint: Arc<Endpoint>,
    owned: Option<Owned>,
}

/// The owner's side of a running server.
struct Owned {
    process: Process<()>,
    control: Connection<OwnerMsg, ServerMsg>,
    /// The private directory holding the Unix socket, removed at shutdown.
    dir: Option<PathBuf>,
}

/// Options for a new [`Manager`]: Python's `BaseManager(address=…, authkey=…)`.
///
/// ```
/// use proc_ipc::Address;
/// use proc_shm::manager::Manager;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::builder()
///     .address(Address::Tcp("127.0.0.1:0".parse()?))
///     .authkey(b"a key for other programs".to_vec())
///     .start()?;
/// assert!(matches!(manager.address(), Address::Tcp(a) if a.port() != 0));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct ManagerBuilder {
    address: Option<Address>,
    authkey: Option<Vec<u8>>,
    max_dict_bytes: Option<u64>,
}

impl fmt::Debug for ManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerBuilder")
            .field("address", &self.address)
            .field("authkey", &self.authkey.as_ref().map(|_| "<secret>"))
            .field("max_dict_bytes", &self.max_dict_bytes)
            .finish()
    }
}

impl ManagerBuilder {
    /// Where the server listens. Default: a Unix socket in a new private directory under the
    /// system's temporary directory (removed at shutdown). A TCP address with port 0 takes any free
    /// port; [`Manager::address`] tells which.
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Python: `BaseManager(address=("127.0.0.1", 0), authkey=b"...")`
    /// let tcp = Manager::builder()
    ///     .address(Address::Tcp("127.0.0.1:0".parse()?))
    ///     .authkey(b"secret".to_vec())
    ///     .start()?;
    /// assert!(matches!(tcp.address(), Address::Tcp(a) if a.port() != 0));
    ///
    /// // A Unix socket at a path of our choosing.
    /// let dir = std::env::temp_dir().join(format!("manager-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let unix = Manager::builder().address(dir.join("m.sock")).start()?;
    /// assert_eq!(unix.address(), &Address::Unix(dir.join("m.sock")));
    /// unix.shutdown();
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    pub fn address(mut self, address: impl Into<Address>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// The key every connection must prove it has. Default: the process family's key
    /// ([`current_process().authkey()`](proc_core::CurrentProcess::authkey)), which every child
    /// inherits, so children need nothing more. Give a key of its own to a manager that processes
    /// of other programs will [`connect`](Manager::connect) to. Proxies of such a manager carry
    /// the key when they are serialized (see [`ObjectRef`]).
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::{Manager, ProxyError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let owner = Manager::builder()
    ///     .address(Address::Tcp("127.0.0.1:0".parse()?))
    ///     .authkey(b"ours".to_vec())
    ///     .start()?;
    /// let _client = Manager::connect(owner.address().clone(), b"ours")?;
    /// assert!(matches!(
    ///     Manager::connect(owner.address().clone(), b"theirs"),
    ///     Err(ProxyError::Auth(_))
    /// ));
    /// # Ok(()) }
    /// ```
    pub fn authkey(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.authkey = Some(key.into());
        self
    }

    /// The most a dict or namespace of this manager can hold: its encoded keys and values, and
    /// its hash table (16 bytes a slot, at most half full after growing). Default 1 GiB; the
    /// least is 64 KiB. A write beyond it fails with [`ProxyError::Full`].
    ///
    /// Each dict reserves twice this much address space (not memory: memory is taken as the dict
    /// fills, and given back as it empties) in every process that uses it directly.
    ///
    /// ```
    /// use proc_shm::manager::{Manager, ProxyError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::builder().max_dict_bytes(64 * 1024).start()?;
    /// let d = manager.dict::<u32, Vec<u8>>()?;
    /// d.insert(1, vec![0; 1000])?;
    /// assert!(matches!(d.insert(2, vec![0; 100_000]), Err(ProxyError::Full(_))));
    /// assert_eq!(d.len()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn max_dict_bytes(mut self, bytes: u64) -> Self {
        self.max_dict_bytes = Some(bytes);
        self
    }

    /// Starts the server process and waits until it listens.
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::builder().max_dict_bytes(1 << 20).start()?;
    /// assert!(manager.server().is_some_and(|s| s.is_alive()));
    /// let d = manager.dict::<u32, u32>()?;
    /// d.insert(1, 2)?;
    /// assert_eq!(d.get(&1)?, Some(2));
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<Manager, StartManagerError> {
        let (address, dir) = match self.address {
            Some(a) => (a, None),
            None => {
                let dir = private_dir()?;
                (Address::Unix(dir.join("manager.sock")), Some(dir))
            }
        };
        let (key, key_bytes) = match self.authkey {
            Some(k) => (Key::Given(k.clone()), k),
            None => (Key::Family, current_process().authkey().as_bytes().to_vec()),
        };
        let dict_half = self.max_dict_bytes.unwrap_or(table::DEFAULT_HALF);
        let result = start_server(address.clone(), key_bytes, dict_half);
        let (process, control, address) = match result {
            Ok(started) => started,
            Err(e) => {
                if let Some(dir) = &dir {
                    let _ = std::fs::remove_dir_all(dir);
                }
                return Err(e);
            }
        };
        Ok(Manager {
            endpoint: Endpoint::shared(address, key, true),
            owned: Some(Owned { process, control, dir }),
        })
    }
}

type Started = (Process<()>, Connection<OwnerMsg, ServerMsg>, Address);

fn start_server(
    address: Address,
    authkey: Vec<u8>,
    dict_half: u64,
) -> Result<Started, StartManagerError> {
    let (mut control, server_end) = Pipe::duplex::<OwnerMsg, ServerMsg>()?;
    let setup = Setup { address: address.clone(), authkey: ByteBuf::from(authkey), dict_half };
    let mut process =
        Process::builder().name("Manager").daemon(true).target(server::run, (setup, server_end));
    process.start()?;
    let failure = match control.recv_timeout(START_TIMEOUT) {
        Ok(ServerMsg::Ready(bound)) => return Ok((process, control, bound)),
        Ok(ServerMsg::Failed(reason)) => {
            let _ = process.join_timeout(SHUTDOWN_TIMEOUT);
            return Err(StartManagerError::Listen { address: address.to_string(), reason });
        }
        Err(RecvError::Timeout) => {
            format!("it did not report within {} s", START_TIMEOUT.as_secs())
        }
        Err(e) => e.to_string(),
    };
    let _ = process.kill();
    let why = match process.join_timeout(SHUTDOWN_TIMEOUT) {
        Err(JoinError::Timeout) | Ok(()) => failure,
        Err(e) => e.to_string(),
    };
    Err(StartManagerError::Died(why))
}

/// A new directory only this user can enter, for the server's socket.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;

    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let random = AuthKey::random();
    let tag: String = random.as_bytes()[..6].iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!(
        "multiproc-{}-{}-{tag}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

impl Manager {
    /// Starts a manager with the defaults: a Unix socket, the process family's key (Python's
    /// `Manager()`).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// l.extend([1, 2, 3])?;
    /// assert_eq!(l.to_vec()?, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn start() -> Result<Manager, StartManagerError> {
        ManagerBuilder::default().start()
    }

    /// Options: address and key.
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::builder().address(Address::Tcp("127.0.0.1:0".parse()?)).start()?;
    /// let v = manager.value(0u64)?;
    /// v.set(7)?;
    /// assert_eq!(v.get()?, 7);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// Connects to a manager that another process started (possibly another program, over TCP),
    /// authenticating with `authkey`. Fails with [`ProxyError::Auth`] if the key is wrong, and
    /// [`ProxyError::ManagerGone`] if nothing listens there. Dropping the result leaves the
    /// manager running.
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::{Manager, ProxyError, QueueProxy};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = b"shared with the other program".to_vec();
    /// let owner =
    ///     Manager::builder().address(Address::Tcp("127.0.0.1:0".parse()?)).authkey(key.clone()).start()?;
    /// owner.publish("jobs", &owner.queue::<String>()?)?;
    ///
    /// // In the other program: the address and the key are all it needs.
    /// let remote = Manager::connect(owner.address().clone(), &key)?;
    /// let jobs: QueueProxy<String> = remote.lookup("jobs")?;
    /// jobs.put("hello".into())?;
    /// assert!(matches!(
    ///     Manager::connect(owner.address().clone(), b"wrong"),
    ///     Err(ProxyError::Auth(_))
    /// ));
    /// # Ok(()) }
    /// ```
    pub fn connect(address: impl Into<Address>, authkey: &[u8]) -> Result<Manager, ProxyError> {
        let endpoint = Endpoint::shared(address.into(), Key::Given(authkey.to_vec()), false);
        match endpoint.call(&Request::Ping)? {
            Response::Done => Ok(Manager { endpoint, owned: None }),
            other => Err(unexpected(other)),
        }
    }

    /// Where the server listens (with the real port, for TCP port 0).
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// // The default: a Unix socket in a private directory.
    /// assert!(matches!(manager.address(), Address::Unix(path) if path.exists()));
    /// # Ok(()) }
    /// ```
    pub fn address(&self) -> &Address {
        &self.endpoint.address
    }

    /// The server process, for watching or signalling it; `None` for a manager reached with
    /// [`connect`](Manager::connect).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let server = manager.server().expect("we started it");
    /// assert!(server.daemon() && server.is_alive());
    /// # Ok(()) }
    /// ```
    pub fn server(&self) -> Option<ChildHandle> {
        self.owned.as_ref().and_then(|o| o.process.handle())
    }

    fn create(&self, kind: ObjectKind, init: ByteBuf) -> Result<ObjectRef, ProxyError> {
        match self.endpoint.call(&Request::Create { kind, init })? {
            Response::Id(id) => Ok(ObjectRef::new(Arc::clone(&self.endpoint), id)),
            other => Err(unexpected(other)),
        }
    }

    /// A new, empty dict (Python's `manager.dict()`); fill it with
    /// [`update`](DictProxy::update). Keys and values are any serde types.
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let d = manager.dict::<String, i32>()?;
    /// d.update([("count".to_string(), 100)])?;
    /// assert_eq!(d.get("count")?, Some(100));
    /// # Ok(()) }
    /// ```
    pub fn dict<K, V>(&self) -> Result<DictProxy<K, V>, ProxyError>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        Ok(DictProxy::from_object(self.create(ObjectKind::Dict, ByteBuf::new())?))
    }

    /// A new, empty list (Python's `manager.list()`); fill it with
    /// [`extend`](ListProxy::extend).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let l = manager.list::<i32>()?;
    /// l.extend(0..5)?; // Python's manager.list(range(5))
    /// assert_eq!(l.len()?, 5);
    /// # Ok(()) }
    /// ```
    pub fn list<T>(&self) -> Result<ListProxy<T>, ProxyError>
    where
        T: Serialize + DeserializeOwned,
    {
        Ok(ListProxy::from_object(self.create(ObjectKind::List, ByteBuf::new())?))
    }

    /// A new namespace: values of any types by name (Python's `manager.Namespace()`).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// ns.set("name", "run 7".to_string())?;
    /// ns.set("done", false)?;
    /// assert_eq!(ns.names()?, ["name", "done"]);
    /// # Ok(()) }
    /// ```
    pub fn namespace(&self) -> Result<NamespaceProxy, ProxyError> {
        Ok(NamespaceProxy::from_object(self.create(ObjectKind::Namespace, ByteBuf::new())?))
    }

    /// A new value holding `initial` (Python's `manager.Value(typecode, initial)`).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let v = manager.value(vec!["a".to_string()])?;
    /// v.update_with(|mut l: Vec<String>| {
    ///     l.push("b".into());
    ///     l
    /// })?;
    /// assert_eq!(v.get()?, ["a", "b"]);
    /// # Ok(()) }
    /// ```
    pub fn value<T>(&self, initial: T) -> Result<ValueProxy<T>, ProxyError>
    where
        T: Serialize + DeserializeOwned,
    {
        Ok(ValueProxy::from_object(self.create(ObjectKind::Value, encode(&initial)?)?))
    }

    /// A new, empty, unbounded queue held by the manager (Python's `manager.Queue()`).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let q = manager.queue::<u64>()?;
    /// q.put(7)?;
    /// assert_eq!(q.get()?, 7);
    /// assert_eq!(q.try_get()?, None);
    /// # Ok(()) }
    /// ```
    pub fn queue<T>(&self) -> Result<QueueProxy<T>, ProxyError>
    where
        T: Serialize + DeserializeOwned,
    {
        Ok(QueueProxy::from_object(self.create(ObjectKind::Queue, ByteBuf::new())?))
    }

    /// A new lock held by the manager (Python's `manager.Lock()`).
    ///
    /// ```
    /// use proc_shm::manager::Manager;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let lock = manager.lock()?;
    /// let held = lock.acquire()?;
    /// assert!(lock.try_acquire()?.is_none());
    /// drop(held);
    /// assert!(lock.try_acquire()?.is_some());
    /// # Ok(()) }
    /// ```
    pub fn lock(&self) -> Result<LockProxy, ProxyError> {
        Ok(LockProxy::from_object(self.create(ObjectKind::Lock, ByteBuf::new())?))
    }

    /// Names an object of this manager, so that processes that only know the address and the key
    /// can [`lookup`](Manager::lookup) it. Publishing a name again points it at the new object.
    ///
    /// ```
    /// use proc_shm::manager::{DictProxy, Manager};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// manager.publish("results", &manager.dict::<u32, f64>()?)?;
    /// let found: DictProxy<u32, f64> = manager.lookup("results")?;
    /// found.insert(1, 0.5)?;
    /// # Ok(()) }
    /// ```
    pub fn publish<P: Proxy>(&self, name: &str, proxy: &P) -> Result<(), ProxyError> {
        if proxy.object().address() != self.address() {
            return Err(ProxyError::NoSuchObject);
        }
        let request = Request::Publish { name: name.to_string(), id: proxy.object().id() };
        match self.endpoint.call(&request)? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// The object published as `name`, as a proxy of type `P` (whose kind must match).
    ///
    /// ```
    /// use proc_shm::manager::{LookupError, Manager, QueueProxy};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let missing = manager.lookup::<QueueProxy<u8>>("nothing here");
    /// assert!(matches!(missing, Err(LookupError::NotFound(_))));
    /// # Ok(()) }
    /// ```
    pub fn lookup<P: Proxy>(&self, name: &str) -> Result<P, LookupError> {
        match self.endpoint.call(&Request::Lookup { name: name.to_string() })? {
            Response::Found { id, kind } if kind == P::KIND => {
                Ok(P::from_object(ObjectRef::new(Arc::clone(&self.endpoint), id)))
            }
            Response::Found { kind, .. } => Err(LookupError::WrongKind {
                name: name.to_string(),
                expected: P::KIND,
                found: kind,
            }),
            Response::NotFound => Err(LookupError::NotFound(name.to_string())),
            other => Err(unexpected(other).into()),
        }
    }

    /// Stops the server (what dropping the manager does). Proxies of it fail with
    /// [`ProxyError::ManagerGone`] from then on. For a manager reached with
    /// [`connect`](Manager::connect), this only disconnects.
    ///
    /// ```
    /// use proc_shm::manager::{Manager, ProxyError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// manager.shutdown();
    /// assert!(matches!(d.len(), Err(ProxyError::ManagerGone(_))));
    /// # Ok(()) }
    /// ```
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(mut owned) = self.owned.take() else { return };
        let _ = owned.control.send(&OwnerMsg::Shutdown);
        if let Err(JoinError::Timeout) = owned.process.join_timeout(SHUTDOWN_TIMEOUT) {
            let _ = owned.process.kill();
            let _ = owned.process.join_timeout(SHUTDOWN_TIMEOUT);
        }
        if let Some(dir) = owned.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("address", self.address())
            .field("owner", &self.owned.is_some())
            .field("server", &self.owned.as_ref().and_then(|o| o.process.pid()))
            .finish()
    }
}
