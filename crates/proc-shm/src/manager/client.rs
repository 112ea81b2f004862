//! The proxy side: connections to a manager, pooled per manager per process, and [`ObjectRef`],
//! what every proxy holds.
//!
//! # Why a pool per manager per process
//! Every proxy of one manager in one process shares a small pool of connections: a call takes an
//! idle connection (or opens one), makes its round trip, and puts it back. So a process holding
//! fifty proxies uses one connection, not fifty (the manager runs a thread per connection), and
//! threads of one process still call concurrently: each takes its own connection. A call that
//! blocks in the manager (a queue's `get`, a lock's `acquire`) keeps its connection only while it
//! waits, so it never holds up another proxy. A proxy connects lazily, on its first call in a
//! process, so proxies that travel to a child cost nothing until used there.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use proc_core::{SharedFn, codec, current_process};
use proc_ipc::{Address, Client, Connection, RecvError, SendError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_bytes::ByteBuf;

use super::ObjectKind;
use super::direct::DirectMap;
use super::error::ProxyError;
use super::wire::{Op, Request, Response, Slot};

pub(super) type Conn = Connection<Request, Response>;

/// Idle connections a process keeps per manager; more concurrent calls than this open extra
/// connections, closed when they are done.
const MAX_IDLE: usize = 32;

/// The key a manager's connections are authenticated with.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Key {
    /// The process family's key (`current_process().authkey()`), which every child inherits; it
    /// never travels inside a proxy.
    Family,
    /// A key given to the manager's builder (or to `Manager::connect`).
    Given(Vec<u8>),
}

impl Key {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Key::Family => current_process().authkey().as_bytes().to_vec(),
            Key::Given(k) => k.clone(),
        }
    }
}

/// One manager, as this process reaches it.
pub(super) struct Endpoint {
    pub(super) address: Address,
    key: Key,
    /// The process that made the pool: a fork child must not share its parent's connections.
    pid: u32,
    idle: Mutex<Vec<Conn>>,
    /// Whether proxies may work in the manager's shared memory: a manager reached with
    /// `Manager::connect` (another program's) is used through requests only.
    direct_ok: bool,
    /// The tables this process has mapped, by object id (`None`: the object has none).
    attached: Mutex<HashMap<u64, Option<Arc<DirectMap>>>>,
}

static ENDPOINTS: Mutex<Vec<Weak<Endpoint>>> = Mutex::new(Vec::new());

impl Endpoint {
    /// The endpoint of this process for `address`: proxies of one manager share it.
    pub(super) fn shared(address: Address, key: Key, direct_ok: bool) -> Arc<Endpoint> {
        let pid = std::process::id();
        let mut all = ENDPOINTS.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        for w in all.iter() {
            if let Some(e) = w.upgrade()
                && e.pid == pid
                && e.address == address
                && e.key == key
                && e.direct_ok == direct_ok
            {
                return e;
            }
        }
        let e = Arc::new(Endpoint {
            address,
            key,
            pid,
            idle: Mutex::new(Vec::new()),
            direct_ok,
            attached: Mutex::new(HashMap::new()),
        });
        all.push(Arc::downgrade(&e));
        e
    }

    /// A connection for one call: an idle one, or a new one.
    pub(super) fn take(&self) -> Result<Conn, ProxyError> {
        if self.pid == std::process::id()
            && let Some(c) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
        {
            return Ok(c);
        }
        Ok(Client::connect::<Request, Response>(self.address.clone(), Some(&self.key.bytes()))?)
    }

    /// Returns a connection whose last exchange completed.
    pub(super) fn give_back(&self, conn: Conn) {
        if self.pid != std::process::id() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// One round trip.
    pub(super) fn call(&self, request: &Request) -> Result<Response, ProxyError> {
        let mut conn = self.take()?;
        let response = exchange(&mut conn, request)?;
        self.give_back(conn);
        Ok(response)
    }

    /// One operation on object `id`.
    pub(super) fn op(&self, id: u64, op: Op) -> Result<Response, ProxyError> {
        self.call(&Request::Op { id, op })
    }

    /// The shared table of object `id`, mapped in this process; `None` if it has none or this
    /// endpoint does not use them. One round trip the first time per object per process.
    fn attach(&self, id: u64) -> Result<Option<Arc<DirectMap>>, ProxyError> {
        if !self.direct_ok || !matches!(self.address, Address::Unix(_)) {
            return Ok(None);
        }
        if let Some(d) = self.attached.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Ok(d.clone());
        }
        let d = match self.call(&Request::Attach { id })? {
            Response::Attached { table, alive } => DirectMap::new(table, alive),
            Response::NotShared => None,
            // Let the operation itself report it.
            Response::NoSuchObject => return Ok(None),
            other => return Err(unexpected(other)),
        };
        self.attached.lock().unwrap_or_else(|e| e.into_inner()).insert(id, d.clone());
        Ok(d)
    }

    pub(super) fn key_for_wire(&self) -> KeyWire {
        match &self.key {
            Key::Family => KeyWire::Family,
            Key::Given(k) => KeyWire::Given(ByteBuf::from(k.clone())),
        }
    }
}

/// Sends a request and reads its answer. A connection that failed is not returned to the pool.
pub(super) fn exchange(conn: &mut Conn, request: &Request) -> Result<Response, ProxyError> {
    conn.send(request).map_err(|e| match e {
        SendError::Encode(e) => ProxyError::Encode(e.to_string()),
        SendError::TooLarge { len, limit } => {
            ProxyError::Encode(format!("a request of {len} bytes is over the limit of {limit}"))
        }
        other => ProxyError::ManagerGone(other.to_string()),
    })?;
    conn.recv().map_err(|e| match e {
        RecvError::Decode(e) => ProxyError::Decode(e.to_string()),
        e @ (RecvError::Corrupt(_) | RecvError::TooLarge { .. }) => {
            ProxyError::Decode(e.to_string())
        }
        other => ProxyError::ManagerGone(other.to_string()),
    })
}

/// How a proxy's key travels.
#[derive(Serialize, Deserialize)]
pub(super) enum KeyWire {
    Family,
    Given(ByteBuf),
}

/// Where a proxy's object lives: its manager and its id there. Every proxy holds one; cloning a
/// proxy clones this, and serializing a proxy (to pass it to a child) serializes this.
///
/// It travels as the manager's address and the object's id. Proxies of a manager that uses the
/// process family's key (the default) carry no key: the receiving process authenticates with its
/// own family key, which every child inherits. Proxies of a manager given its own key
/// ([`ManagerBuilder::authkey`](super::ManagerBuilder::authkey)) carry that key, so send them only
/// where the key may go.
///
/// ```
/// use proc_shm::manager::{Manager, Proxy};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let d = manager.dict::<String, u32>()?;
/// let copy = d.clone();
/// assert_eq!(copy.object(), d.object());
/// assert_eq!(d.object().address(), manager.address());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ObjectRef {
    pub(super) endpoint: Arc<Endpoint>,
    pub(super) id: u64,
    /// The object's shared table once looked up in this process, shared by clones.
    direct: Arc<OnceLock<Option<Arc<DirectMap>>>>,
}

impl ObjectRef {
    pub(super) fn new(endpoint: Arc<Endpoint>, id: u64) -> ObjectRef {
        ObjectRef { endpoint, id, direct: Arc::new(OnceLock::new()) }
    }

    /// Whether calls through this reference work in the object's shared memory, with no round
    /// trip to the manager: true for a dict or namespace whose manager listens on a Unix socket,
    /// in every process of the family; false for other objects, for a manager on TCP, and for a
    /// manager reached with [`Manager::connect`](super::Manager::connect). The first call in a
    /// process looks it up (one round trip); both paths see the same contents.
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::{Manager, Proxy};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// assert!(manager.dict::<String, u32>()?.object().is_direct()?);
    /// assert!(!manager.list::<u32>()?.object().is_direct()?);
    /// let tcp = Manager::builder().address(Address::Tcp("127.0.0.1:0".parse()?)).start()?;
    /// assert!(!tcp.dict::<String, u32>()?.object().is_direct()?);
    /// # Ok(()) }
    /// ```
    pub fn is_direct(&self) -> Result<bool, ProxyError> {
        Ok(self.direct()?.is_some())
    }

    /// The shared table to work in, if there is one (looked up on the first call).
    pub(super) fn direct(&self) -> Result<Option<&DirectMap>, ProxyError> {
        if let Some(d) = self.direct.get() {
            return Ok(d.as_deref());
        }
        let d = self.endpoint.attach(self.id)?;
        Ok(self.direct.get_or_init(|| d).as_deref())
    }

    /// The address of the object's manager.
    ///
    /// ```
    /// use proc_ipc::Address;
    /// use proc_shm::manager::{Manager, Proxy};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::builder().address(Address::Tcp("127.0.0.1:0".parse()?)).start()?;
    /// let q = manager.queue::<String>()?;
    /// // What another program needs (with the key) to reach the same manager.
    /// assert_eq!(q.object().address(), manager.address());
    /// assert!(matches!(q.object().address(), Address::Tcp(_)));
    /// # Ok(()) }
    /// ```
    pub fn address(&self) -> &Address {
        &self.endpoint.address
    }

    /// The object's id in its manager.
    ///
    /// ```
    /// use proc_shm::manager::{Manager, Proxy};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let (a, b) = (manager.list::<u8>()?, manager.list::<u8>()?);
    /// assert_ne!(a.object().id(), b.object().id()); // two objects
    /// assert_eq!(a.clone().object().id(), a.object().id()); // one object, two proxies
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn op(&self, op: Op) -> Result<Response, ProxyError> {
        self.endpoint.op(self.id, op)
    }

    /// The object's length, asked of the manager (a dict's, a list's or a queue's).
    pub(super) fn remote_len(&self) -> Result<usize, ProxyError> {
        match self.op(Op::Len)? {
            Response::Len(n) => Ok(n as usize),
            other => Err(unexpected(other)),
        }
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.endpoint.address == other.endpoint.address
    }
}

impl Eq for ObjectRef {}

impl fmt::Debug for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectRef")
            .field("address", &self.endpoint.address)
            .field("id", &self.id)
            .finish()
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = &self.endpoint;
        (&e.address, e.key_for_wire(), self.id, e.direct_ok).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (address, key, id, direct_ok): (Address, KeyWire, u64, bool) =
            Deserialize::deserialize(deserializer)?;
        let key = match key {
            KeyWire::Family => Key::Family,
            KeyWire::Given(k) => Key::Given(k.into_vec()),
        };
        Ok(ObjectRef::new(Endpoint::shared(address, key, direct_ok), id))
    }
}

/// What every proxy type is: a typed view of an object in a manager. Used by
/// [`Manager::lookup`](super::Manager::lookup) to make a proxy of the right kind.
///
/// ```
/// use proc_shm::manager::{DictProxy, Manager, ObjectKind, Proxy};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let d = manager.dict::<String, u32>()?;
/// assert_eq!(<DictProxy<String, u32> as Proxy>::KIND, ObjectKind::Dict);
/// let same = DictProxy::<String, u32>::from_object(d.object().clone());
/// d.insert("a".into(), 1)?;
/// assert_eq!(same.get("a")?, Some(1));
/// # Ok(()) }
/// ```
pub trait Proxy: Sized {
    /// The kind of object this proxy works on.
    const KIND: ObjectKind;

    /// Where the object lives.
    ///
    /// ```
    /// use proc_shm::manager::{Manager, Proxy};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let d = manager.dict::<String, u32>()?;
    /// let object = d.object();
    /// assert_eq!(object.address(), manager.address());
    /// assert!(object.is_direct()?); // a dict of a manager on a Unix socket
    /// # Ok(()) }
    /// ```
    fn object(&self) -> &ObjectRef;

    /// A proxy for `object`, which must be of kind [`KIND`](Proxy::KIND). Item types are not
    /// checked (the manager stores bytes): a proxy decodes what is stored as its own types, and a
    /// mismatch is a [`ProxyError::Decode`] when it reads.
    ///
    /// ```
    /// use proc_shm::manager::{ListError, ListProxy, Manager, Proxy, ProxyError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = Manager::start()?;
    /// let words = manager.list::<String>()?;
    /// words.push("a fairly long word".into())?;
    /// // Another view of the same list, with its own item type.
    /// let same = ListProxy::<String>::from_object(words.object().clone());
    /// assert_eq!(same.len()?, 1);
    /// // Read as the wrong type, the stored bytes do not decode.
    /// let wrong = ListProxy::<bool>::from_object(words.object().clone());
    /// assert!(matches!(wrong.get(0), Err(ListError::Proxy(ProxyError::Decode(_)))));
    /// # Ok(()) }
    /// ```
    fn from_object(object: ObjectRef) -> Self;
}

/// Encodes a key or value for the manager, which holds plain data only.
pub(super) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<ByteBuf, ProxyError> {
    let e = codec::encode(value).map_err(|e| ProxyError::Encode(e.to_string()))?;
    if !e.fds().is_empty() {
        return Err(ProxyError::Encode(
            "the value holds an OS handle; a manager holds plain data only".into(),
        ));
    }
    Ok(ByteBuf::from(e.into_parts().0))
}

/// Decodes what the manager sent back.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProxyError> {
    codec::decode(bytes, Vec::new())
        .map_err(|e| ProxyError::Decode(format!("not a `{}`: {e}", std::any::type_name::<T>())))
}

/// The error for an answer the operation does not expect.
pub(super) fn unexpected(r: Response) -> ProxyError {
    match r {
        Response::NoSuchObject => ProxyError::NoSuchObject,
        Response::Failed(why) => ProxyError::Remote(why),
        Response::Full(why) => ProxyError::Full(why),
        other => ProxyError::Decode(format!("unexpected answer from the manager: {other:?}")),
    }
}

/// The message of a caught panic.
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".into())
}

/// The type-erased function the manager calls for an update: it decodes the stored value and the
/// user's function, calls it, and encodes the result. The manager knows only this signature; the
/// concrete types are fixed in the instance the proxy sends.
pub(super) type Apply = SharedFn<(Option<ByteBuf>, ByteBuf), Result<ByteBuf, String>>;

/// For updates whose slot may be empty (a dict key, a namespace name): `f(Option<V>) -> V`.
fn apply_optional<V: Serialize + DeserializeOwned + 'static>(
    (old, f): (Option<ByteBuf>, ByteBuf),
) -> Result<ByteBuf, String> {
    let f: SharedFn<Option<V>, V> = codec::decode(&f, Vec::new()).map_err(|e| e.to_string())?;
    let old = old.map(|b| decode_stored::<V>(&b)).transpose()?;
    encode(&f.call(old)).map_err(|e| e.to_string())
}

/// For updates whose slot always holds a value (a list element, a `Value`): `f(V) -> V`.
fn apply_present<V: Serialize + DeserializeOwned + 'static>(
    (old, f): (Option<ByteBuf>, ByteBuf),
) -> Result<ByteBuf, String> {
    let f: SharedFn<V, V> = codec::decode(&f, Vec::new()).map_err(|e| e.to_string())?;
    let old = old.ok_or("the slot is empty")?;
    encode(&f.call(decode_stored::<V>(&old)?)).map_err(|e| e.to_string())
}

fn decode_stored<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, String> {
    codec::decode(bytes, Vec::new())
        .map_err(|e| format!("the stored value is not a `{}`: {e}", std::any::type_name::<V>()))
}

/// The request for `f(Option<V>) -> V` applied at `slot`.
pub(super) fn update_optional<V, F>(slot: Slot, f: F) -> Result<Op, ProxyError>
where
    V: Serialize + DeserializeOwned + 'static,
    F: Fn(Option<V>) -> V + Copy + Send + Sync + 'static,
{
    let apply: Apply = SharedFn::new(apply_optional::<V>);
    Ok(Op::UpdateWith { slot, apply: encode(&apply)?, f: encode(&SharedFn::new(f))? })
}

/// The request for `f(V) -> V` applied at `slot`.
pub(super) fn update_present<V, F>(slot: Slot, f: F) -> Result<Op, ProxyError>
where
    V: Serialize + DeserializeOwned + 'static,
    F: Fn(V) -> V + Copy + Send + Sync + 'static,
{
    let apply: Apply = SharedFn::new(apply_present::<V>);
    Ok(Op::UpdateWith { slot, apply: encode(&apply)?, f: encode(&SharedFn::new(f))? })
}

/// The trait impls every proxy type has: [`Proxy`], `Clone`, `Debug`, and serde as its
/// [`ObjectRef`]. A proxy type is `struct Name<…> { object: ObjectRef, _types: PhantomData<…> }`.
macro_rules! proxy_type {
    ($name:ident, $kind:ident) => {
        proxy_type!($name<>, $kind);
    };
    ($name:ident <$($g:ident),*>, $kind:ident) => {
        impl<$($g),*> $crate::manager::Proxy for $name<$($g),*> {
            const KIND: $crate::manager::ObjectKind = $crate::manager::ObjectKind::$kind;

            fn object(&self) -> &$crate::manager::ObjectRef {
                &self.object
            }

            fn from_object(object: $crate::manager::ObjectRef) -> Self {
                $name { object, _types: ::std::marker::PhantomData }
            }
        }

        impl<$($g),*> Clone for $name<$($g),*> {
            fn clone(&self) -> Self {
                $name { object: self.object.clone(), _types: ::std::marker::PhantomData }
            }
        }

        impl<$($g),*> ::std::fmt::Debug for $name<$($g),*> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("object", &self.object)
                    $(.field(stringify!($g), &::std::any::type_name::<$g>()))*
                    .finish()
            }
        }

        impl<$($g),*> ::serde::Serialize for $name<$($g),*> {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&self.object, serializer)
            }
        }

        impl<'de, $($g),*> ::serde::Deserialize<'de> for $name<$($g),*> {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let object =
                    <$crate::manager::ObjectRef as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(<Self as $crate::manager::Proxy>::from_object(object))
            }
        }
    };
}
pub(super) use proxy_type;
