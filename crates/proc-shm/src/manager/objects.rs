//! The smaller proxies: [`NamespaceProxy`], [`ValueProxy`], [`QueueProxy`], [`LockProxy`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{
    Conn, Endpoint, ObjectRef, decode, encode, exchange, proxy_type, unexpected, update_present,
};
use super::error::{KeyError, ProxyError};
use super::wire::{Op, Request, Response, Slot, Wait};

/// Values of any types by name, held by a [`Manager`](super::Manager) (Python's
/// `manager.Namespace()`, where `ns.x = 1` sets an attribute). Each call names its own type.
///
/// ```
/// use proc_core::Process;
/// use proc_shm::manager::{Manager, NamespaceProxy};
///
/// fn child(ns: NamespaceProxy) {
///     let x: i32 = ns.get("x").unwrap().unwrap();
///     ns.set("y", format!("x was {x}")).unwrap();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let ns = manager.namespace()?;
/// ns.set("x", 1)?;
/// let mut p = Process::new(child, (ns.clone(),));
/// p.start()?;
/// p.join()?;
/// assert_eq!(ns.get::<String>("y")?.as_deref(), Some("x was 1"));
/// # Ok(()) }
/// ```
pub struct NamespaceProxy {
    object: ObjectRef,
    _types: PhantomData<()>,
}

impl NamespaceProxy {
    /// A copy of the value named `name`, decoded as `V`; `None` if there is none.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// assert_eq!(ns.get::<u8>("x")?, None);
    /// # Ok(()) }
    /// ```
    pub fn get<V: DeserializeOwned>(&self, name: &str) -> Result<Option<V>, ProxyError> {
        self.object.map_get(&encode(name)?)
    }

    /// Sets `name` to `value` (Python's `ns.name = value`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// ns.set("x", (1u8, 'a'))?;
    /// assert_eq!(ns.get::<(u8, char)>("x")?, Some((1, 'a')));
    /// # Ok(()) }
    /// ```
    pub fn set<V: Serialize>(&self, name: &str, value: V) -> Result<(), ProxyError> {
        self.object.map_insert(&encode(name)?, &encode(&value)?)
    }

    /// Removes `name`; [`KeyError::Missing`] if there is none (Python's `del ns.name`).
    ///
    /// ```
    /// # use proc_shm::manager::{KeyError, Manager};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// ns.set("x", 1)?;
    /// ns.remove("x")?;
    /// assert!(matches!(ns.remove("x"), Err(KeyError::Missing)));
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, name: &str) -> Result<(), KeyError> {
        match self.object.map_remove_bytes(&encode(name)?)? {
            Some(_) => Ok(()),
            None => Err(KeyError::Missing),
        }
    }

    /// Whether `name` is set (Python's `hasattr(ns, name)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// ns.set("x", ())?;
    /// assert!(ns.contains("x")?);
    /// # Ok(()) }
    /// ```
    pub fn contains(&self, name: &str) -> Result<bool, ProxyError> {
        self.object.map_contains(&encode(name)?)
    }

    /// The names set, in the order they were first set.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// ns.set("b", 1)?;
    /// ns.set("a", 2)?;
    /// assert_eq!(ns.names()?, ["b", "a"]);
    /// # Ok(()) }
    /// ```
    pub fn names(&self) -> Result<Vec<String>, ProxyError> {
        self.object.map_keys()
    }

    /// Sets `name` to `f(current value)` under the namespace's lock, atomically, and returns the
    /// new value; `f` gets `None` if `name` is not set. As
    /// [`DictProxy::update_with`](super::DictProxy::update_with).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let ns = manager.namespace()?;
    /// let hits = ns.update_with("hits", |n: Option<u64>| n.unwrap_or(0) + 1)?;
    /// assert_eq!(hits, 1);
    /// # Ok(()) }
    /// ```
    pub fn update_with<V, F>(&self, name: &str, f: F) -> Result<V, ProxyError>
    where
        V: Serialize + DeserializeOwned + 'static,
        F: Fn(Option<V>) -> V + Copy + Send + Sync + 'static,
    {
        self.object.map_update_with(&encode(name)?, f)
    }
}

proxy_type!(NamespaceProxy, Namespace);

/// One value of any serde type `T`, held by a [`Manager`](super::Manager) (Python's
/// `manager.Value`).
///
/// [`Value`](crate::Value) is the faster choice between processes of one program (shared memory,
/// no round trip) for plain data; a managed value holds anything serde can encode (a `String`, a
/// `Vec`), and processes of other programs can reach it.
///
/// ```
/// use proc_shm::manager::Manager;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let status = manager.value(String::from("starting"))?;
/// status.set("running".into())?;
/// assert_eq!(status.get()?, "running");
/// # Ok(()) }
/// ```
pub struct ValueProxy<T> {
    object: ObjectRef,
    _types: PhantomData<fn(T) -> T>,
}

impl<T: Serialize + DeserializeOwned> ValueProxy<T> {
    /// A copy of the value (Python's `v.value`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let v = manager.value(3.5f64)?;
    /// assert_eq!(v.get()?, 3.5);
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> Result<T, ProxyError> {
        match self.object.op(Op::Values)? {
            Response::Bytes(b) => decode(&b),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces the value (Python's `v.value = x`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let v = manager.value(0u8)?;
    /// v.set(4)?;
    /// assert_eq!(v.get()?, 4);
    /// # Ok(()) }
    /// ```
    pub fn set(&self, value: T) -> Result<(), ProxyError> {
        match self.object.op(Op::Set(encode(&value)?))? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces the value with `f(value)` inside the manager process, atomically, and returns the
    /// new value. As [`DictProxy::update_with`](super::DictProxy::update_with).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let v = manager.value(10i32)?;
    /// assert_eq!(v.update_with(|x: i32| x - 1)?, 9);
    /// # Ok(()) }
    /// ```
    pub fn update_with<F>(&self, f: F) -> Result<T, ProxyError>
    where
        T: 'static,
        F: Fn(T) -> T + Copy + Send + Sync + 'static,
    {
        match self.object.op(update_present(Slot::Value, f)?)? {
            Response::Bytes(b) => decode(&b),
            other => Err(unexpected(other)),
        }
    }
}

proxy_type!(ValueProxy<T>, Value);

/// An unbounded queue of any serde type `T`, held by a [`Manager`](super::Manager) (Python's
/// `manager.Queue()`).
///
/// Between processes of one program, [`proc_ipc::Queue`] is far faster (shared memory, no round
/// trip per item). A managed queue is what processes of *other* programs, connected over TCP with
/// the key ([`Manager::connect`](super::Manager::connect)), can share. A `get` waits in the
/// manager; if the manager goes away meanwhile it ends with [`ProxyError::ManagerGone`]. An item
/// handed to a process that died before receiving it goes back to the front of the queue.
///
/// ```
/// use proc_core::Process;
/// use proc_shm::manager::{Manager, QueueProxy};
///
/// fn worker(jobs: QueueProxy<Option<u32>>, results: QueueProxy<u32>) {
///     while let Some(n) = jobs.get().unwrap() {
///         results.put(n * n).unwrap();
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let jobs = manager.queue::<Option<u32>>()?;
/// let results = manager.queue::<u32>()?;
/// let mut p = Process::new(worker, (jobs.clone(), results.clone()));
/// p.start()?;
/// for n in 1..=3 {
///     jobs.put(Some(n))?;
/// }
/// jobs.put(None)?; // no more jobs
/// p.join()?;
/// assert_eq!(results.len()?, 3);
/// assert_eq!(results.get()?, 1);
/// # Ok(()) }
/// ```
pub struct QueueProxy<T> {
    object: ObjectRef,
    _types: PhantomData<fn(T) -> T>,
}

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    /// Adds `item` at the back (Python's `q.put(item)`); never waits: the queue is unbounded.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let q = manager.queue::<String>()?;
    /// q.put("a".into())?;
    /// assert_eq!(q.len()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn put(&self, item: T) -> Result<(), ProxyError> {
        match self.object.op(Op::Put(encode(&item)?))? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    fn take(&self, wait: Wait) -> Result<Option<T>, ProxyError> {
        match self.object.op(Op::Take { wait })? {
            Response::Bytes(b) => decode(&b).map(Some),
            Response::TimedOut => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// Takes the front item, waiting as long as it takes (Python's `q.get()`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let q = manager.queue::<u8>()?;
    /// q.put(1)?;
    /// assert_eq!(q.get()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> Result<T, ProxyError> {
        self.take(Wait::Forever)?.ok_or_else(|| unexpected(Response::TimedOut))
    }

    /// Takes the front item if there is one (Python's `q.get_nowait()`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let q = manager.queue::<u8>()?;
    /// assert_eq!(q.try_get()?, None);
    /// # Ok(()) }
    /// ```
    pub fn try_get(&self) -> Result<Option<T>, ProxyError> {
        self.take(Wait::No)
    }

    /// Takes the front item, waiting at most `timeout`; `None` if none came (Python's
    /// `q.get(timeout=t)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let q = manager.queue::<u8>()?;
    /// assert_eq!(q.get_timeout(Duration::from_millis(10))?, None);
    /// # Ok(()) }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<Option<T>, ProxyError> {
        self.take(Wait::For(timeout))
    }

    /// The number of items (Python's `q.qsize()`), exact at the moment the manager counted.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let q = manager.queue::<u8>()?;
    /// assert_eq!(q.len()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> Result<usize, ProxyError> {
        self.object.remote_len()
    }

    /// Whether the queue is empty (Python's `q.empty()`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let q = manager.queue::<u8>()?;
    /// assert!(q.is_empty()?);
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> Result<bool, ProxyError> {
        Ok(self.len()? == 0)
    }
}

proxy_type!(QueueProxy<T>, Queue);

/// A lock held by a [`Manager`](super::Manager) (Python's `manager.Lock()`).
///
/// [`proc_sync::Lock`] is far faster within one program (a futex in shared memory); a managed lock
/// can be shared with processes of other programs. Acquiring returns a guard that releases on
/// drop. If the holder's process dies, the manager frees the lock and the next holder's guard says
/// so ([`previous_holder_died`](LockProxyGuard::previous_holder_died)): nobody waits forever.
///
/// ```
/// use proc_core::Process;
/// use proc_shm::manager::{DictProxy, LockProxy, Manager};
///
/// fn work(d: DictProxy<String, i32>, lock: LockProxy) {
///     let _held = lock.acquire().unwrap();
///     let count = d.get("count").unwrap().unwrap();
///     d.insert("count".into(), count - 1).unwrap();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let (d, lock) = (manager.dict::<String, i32>()?, manager.lock()?);
/// d.insert("count".into(), 5)?;
/// let mut ps: Vec<_> = (0..5).map(|_| Process::new(work, (d.clone(), lock.clone()))).collect();
/// for p in &mut ps {
///     p.start()?;
/// }
/// for p in &mut ps {
///     p.join()?;
/// }
/// assert_eq!(d.get("count")?, Some(0));
/// # Ok(()) }
/// ```
pub struct LockProxy {
    object: ObjectRef,
    _types: PhantomData<()>,
}

/// The managed lock is held while this lives (from [`LockProxy::acquire`] and its twins); dropping
/// it releases the lock.
///
/// It keeps the connection the lock was taken on, which is how the manager knows who holds it:
/// when that connection ends (the process died), the lock is freed.
///
/// ```
/// use proc_core::Process;
/// use proc_shm::manager::{LockProxy, Manager};
/// use std::time::Duration;
///
/// fn die_holding(lock: LockProxy) {
///     let _held = lock.acquire().unwrap();
///     std::process::exit(1); // the guard is never dropped
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let lock = manager.lock()?;
/// let mut p = Process::new(die_holding, (lock.clone(),));
/// p.start()?;
/// assert!(p.join().is_err());
/// // The manager freed the lock when the holder's connection ended, and says so.
/// let held = lock.acquire_timeout(Duration::from_secs(20))?.expect("freed");
/// assert!(held.previous_holder_died());
/// drop(held); // released
/// assert!(!lock.acquire()?.previous_holder_died());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockProxyGuard<'a> {
    lock: &'a LockProxy,
    conn: Option<Conn>,
    owner_died: bool,
}

impl LockProxy {
    fn acquire_with(&self, wait: Wait) -> Result<Option<LockProxyGuard<'_>>, ProxyError> {
        let endpoint: &Arc<Endpoint> = &self.object.endpoint;
        let mut conn = endpoint.take()?;
        let request = Request::Op { id: self.object.id, op: Op::Acquire { wait } };
        match exchange(&mut conn, &request)? {
            Response::Acquired { owner_died } => {
                Ok(Some(LockProxyGuard { lock: self, conn: Some(conn), owner_died }))
            }
            Response::TimedOut => {
                endpoint.give_back(conn);
                Ok(None)
            }
            other => {
                endpoint.give_back(conn);
                Err(unexpected(other))
            }
        }
    }

    /// Takes the lock, waiting as long as it takes (Python's `lock.acquire()`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let lock = manager.lock()?;
    /// let held = lock.acquire()?;
    /// assert!(!held.previous_holder_died());
    /// # Ok(()) }
    /// ```
    pub fn acquire(&self) -> Result<LockProxyGuard<'_>, ProxyError> {
        self.acquire_with(Wait::Forever)?.ok_or_else(|| unexpected(Response::TimedOut))
    }

    /// Takes the lock if it is free (Python's `lock.acquire(block=False)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let lock = manager.lock()?;
    /// let _held = lock.try_acquire()?.expect("free");
    /// assert!(lock.try_acquire()?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Result<Option<LockProxyGuard<'_>>, ProxyError> {
        self.acquire_with(Wait::No)
    }

    /// Takes the lock, waiting at most `timeout`; `None` if it stayed held (Python's
    /// `lock.acquire(timeout=t)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let lock = manager.lock()?;
    /// let _held = lock.acquire()?;
    /// assert!(lock.acquire_timeout(Duration::from_millis(10))?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<LockProxyGuard<'_>>, ProxyError> {
        self.acquire_with(Wait::For(timeout))
    }
}

proxy_type!(LockProxy, Lock);

impl LockProxyGuard<'_> {
    /// Whether the previous holder's process ended while holding the lock (the manager freed it):
    /// what it protected may be half-updated.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let lock = manager.lock()?;
    /// assert!(!lock.acquire()?.previous_holder_died());
    /// # Ok(()) }
    /// ```
    pub fn previous_holder_died(&self) -> bool {
        self.owner_died
    }

    /// Releases the lock now, reporting failure (dropping the guard releases it too, silently).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let lock = manager.lock()?;
    /// lock.acquire()?.release()?;
    /// assert!(lock.try_acquire()?.is_some());
    /// # Ok(()) }
    /// ```
    pub fn release(mut self) -> Result<(), ProxyError> {
        self.release_now()
    }

    fn release_now(&mut self) -> Result<(), ProxyError> {
        let Some(mut conn) = self.conn.take() else { return Ok(()) };
        let object = &self.lock.object;
        let request = Request::Op { id: object.id, op: Op::Release };
        match exchange(&mut conn, &request)? {
            Response::Done => {
                object.endpoint.give_back(conn);
                Ok(())
            }
            other => Err(unexpected(other)),
        }
    }
}

impl Drop for LockProxyGuard<'_> {
    fn drop(&mut self) {
        // If this fails the manager is gone, and the lock with it; or the connection broke, and
        // the manager frees the lock when it sees the connection end.
        let _ = self.release_now();
    }
}
