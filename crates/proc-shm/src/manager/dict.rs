//! [`DictProxy`]: a dict held by a manager (Python's `DictProxy`).

use std::borrow::Borrow;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{ObjectRef, encode, proxy_type};
use super::error::{KeyError, ProxyError};

/// A dict held by a [`Manager`](super::Manager): keys `K` to values `V`, any serde types (Python's
/// `manager.dict()`). Every method is atomic: it runs under the dict's lock, in the dict's shared
/// memory (directly, or through the manager for a process that cannot map it; see
/// [`ObjectRef::is_direct`](super::ObjectRef::is_direct)).
///
/// Keys are compared by their encoding, so a key needs `Serialize` only (not `Hash` or `Eq`), and
/// the methods that take a key accept any borrowed form that encodes the same (`&str` for
/// `String`). Iteration order is insertion order, as in Python.
///
/// What [`get`](DictProxy::get) returns is a copy: changing it changes nothing in the manager
/// (Python's pitfall, silent there too). Write it back with [`insert`](DictProxy::insert), or change
/// it in place with [`update_with`](DictProxy::update_with), which also makes a read-modify-write
/// from many processes atomic.
///
/// ```
/// use proc_shm::manager::{KeyError, Manager};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let d = manager.dict::<String, Vec<u32>>()?;
/// d.insert("a".into(), vec![1])?;
/// let mut copy = d.get("a")?.unwrap();
/// copy.push(2); // lost: only the copy changed
/// assert_eq!(d.get("a")?, Some(vec![1]));
/// d.update_with("a", |v: Option<Vec<u32>>| {
///     let mut v = v.unwrap_or_default();
///     v.push(2);
///     v
/// })?;
/// assert_eq!(d.get("a")?, Some(vec![1, 2]));
/// assert!(matches!(d.remove("b"), Err(KeyError::Missing)));
/// # Ok(()) }
/// ```
pub struct DictProxy<K, V> {
    object: ObjectRef,
    _types: PhantomData<fn(K) -> V>,
}

impl<K, V> DictProxy<K, V>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    /// A copy of the value at `key`, or `None` (Python's `d.get(key)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, char>()?;
    /// d.insert(1, 'x')?;
    /// assert_eq!(d.get(&1)?, Some('x'));
    /// assert_eq!(d.get(&2)?, None);
    /// # Ok(()) }
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>, ProxyError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.object.map_get(&encode(key)?)
    }

    /// Sets `key` to `value` (Python's `d[key] = value`). A key already there keeps its place in
    /// the order.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<String, i32>()?;
    /// d.insert("a".into(), 1)?;
    /// d.insert("a".into(), 2)?;
    /// assert_eq!(d.items()?, [("a".to_string(), 2)]);
    /// # Ok(()) }
    /// ```
    pub fn insert(&self, key: K, value: V) -> Result<(), ProxyError> {
        self.object.map_insert(&encode(&key)?, &encode(&value)?)
    }

    /// Removes `key` and returns its value; [`KeyError::Missing`] if it is not there (Python's
    /// `d.pop(key)`).
    ///
    /// ```
    /// # use proc_shm::manager::{KeyError, Manager};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<String, i32>()?;
    /// d.insert("a".into(), 1)?;
    /// assert_eq!(d.remove("a")?, 1);
    /// assert!(matches!(d.remove("a"), Err(KeyError::Missing)));
    /// # Ok(()) }
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Result<V, KeyError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.object.map_remove(&encode(key)?)
    }

    /// Whether `key` is there (Python's `key in d`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<String, ()>()?;
    /// d.insert("a".into(), ())?;
    /// assert!(d.contains_key("a")?);
    /// assert!(!d.contains_key("b")?);
    /// # Ok(()) }
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> Result<bool, ProxyError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.object.map_contains(&encode(key)?)
    }

    /// The number of entries (Python's `len(d)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// d.update([(1, 1), (2, 4)])?;
    /// assert_eq!(d.len()?, 2);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> Result<usize, ProxyError> {
        self.object.map_len()
    }

    /// Whether the dict is empty.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// assert!(d.is_empty()?);
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> Result<bool, ProxyError> {
        Ok(self.len()? == 0)
    }

    /// The keys, in insertion order: a snapshot.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// d.update([(3, 0), (1, 0)])?;
    /// assert_eq!(d.keys()?, [3, 1]);
    /// # Ok(()) }
    /// ```
    pub fn keys(&self) -> Result<Vec<K>, ProxyError> {
        self.object.map_keys()
    }

    /// The values, in insertion order: a snapshot.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// d.update([(3, 9), (1, 1)])?;
    /// assert_eq!(d.values()?, [9, 1]);
    /// # Ok(()) }
    /// ```
    pub fn values(&self) -> Result<Vec<V>, ProxyError> {
        self.object.map_values()
    }

    /// The entries, in insertion order: a snapshot (Python's `d.items()`, or `dict(d)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// d.update([(3, 9), (1, 1)])?;
    /// assert_eq!(d.items()?, [(3, 9), (1, 1)]);
    /// # Ok(()) }
    /// ```
    pub fn items(&self) -> Result<Vec<(K, V)>, ProxyError> {
        self.object.map_items()
    }

    /// Inserts every entry, in one round trip and atomically (Python's `d.update(...)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<String, u32>()?;
    /// d.update([("a".to_string(), 1), ("b".to_string(), 2)])?;
    /// assert_eq!(d.len()?, 2);
    /// # Ok(()) }
    /// ```
    pub fn update(&self, entries: impl IntoIterator<Item = (K, V)>) -> Result<(), ProxyError> {
        let entries = entries
            .into_iter()
            .map(|(k, v)| Ok((encode(&k)?, encode(&v)?)))
            .collect::<Result<Vec<_>, ProxyError>>()?;
        self.object.map_update(entries)
    }

    /// Removes every entry.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<u8, u8>()?;
    /// d.insert(1, 1)?;
    /// d.clear()?;
    /// assert!(d.is_empty()?);
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) -> Result<(), ProxyError> {
        self.object.map_clear()
    }

    /// Sets `key` to `f(current value)` under the dict's lock, atomically, and returns the new
    /// value. `f` gets `None` when the key is not there. No other call on this dict runs
    /// meanwhile, so concurrent updates from many processes are never lost, with no lock.
    ///
    /// Where the proxy works in the dict's memory directly, `f` runs in the calling process;
    /// otherwise in the manager process. Either way `f` is a `fn` item or a closure that captures
    /// nothing: it travels as its offset in this program's binary (a
    /// [`SharedFn`](proc_core::SharedFn)). A function from another program fails with
    /// [`ProxyError::Remote`], as does one that panics (the lock is released and the value
    /// unchanged). `f` must not call this dict: the lock is not reentrant.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let d = manager.dict::<String, i64>()?;
    /// assert_eq!(d.update_with("count", |c: Option<i64>| c.unwrap_or(100) - 1)?, 99);
    /// assert_eq!(d.update_with("count", |c: Option<i64>| c.unwrap_or(100) - 1)?, 98);
    /// # Ok(()) }
    /// ```
    pub fn update_with<Q, F>(&self, key: &Q, f: F) -> Result<V, ProxyError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
        V: 'static,
        F: Fn(Option<V>) -> V + Copy + Send + Sync + 'static,
    {
        self.object.map_update_with(&encode(key)?, f)
    }
}

proxy_type!(DictProxy<K, V>, Dict);
