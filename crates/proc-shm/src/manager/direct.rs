//! The operations of a dict or namespace, by either path: in place in the shared table when this
//! process has mapped it, or as a request to the manager otherwise.
//!
//! # Which path
//! A dict's contents live in a [`Table`] in shared memory that the manager created. A proxy whose
//! manager listens on a Unix socket asks for the table's region on its first call in a process
//! (one round trip, which also proves it has the key) and from then on works in it directly: each
//! call takes the table's lock, reads or writes, and releases it, with no round trip and, unless
//! another process holds the lock, no system call. A proxy of a manager reached over TCP, or made
//! by [`Manager::connect`](super::Manager::connect) (a process of another program), sends requests,
//! and the manager applies them to the same table: both paths see one dict.
//!
//! # Is the manager still there?
//! Every direct call first reads the manager's liveness word (see [`Liveness`]): a flag the manager
//! sets when it shuts down, beside a robust mutex its main thread holds for good, which the kernel
//! marks the moment that thread dies, whatever killed it. So a proxy whose manager is gone fails
//! with [`ProxyError::ManagerGone`] as on the socket path, instead of working on orphaned memory,
//! at the cost of two atomic loads. A call waiting for the table's lock looks again every
//! [`POLL`], so it does not wait on a dead manager either.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use proc_core::SharedRegion;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

use super::client::{ObjectRef, decode, encode, panic_message, unexpected, update_optional};
use super::error::{KeyError, ProxyError};
use super::table::{Liveness, Locked, Table, TableError};
use super::wire::{Op, Response, Slot};

/// How often a call waiting for a table's lock checks that the manager is alive.
const POLL: Duration = Duration::from_millis(50);

/// A table this process has mapped, with its manager's liveness word.
#[derive(Debug)]
pub(super) struct DirectMap {
    table: Table,
    alive: SharedRegion,
}

impl DirectMap {
    /// The pair the manager sent; `None` if they are not what this build expects.
    pub(super) fn new(table: SharedRegion, alive: SharedRegion) -> Option<Arc<DirectMap>> {
        let table = Table::open(table)?;
        Liveness::of(&alive)?;
        Some(Arc::new(DirectMap { table, alive }))
    }

    fn alive(&self) -> bool {
        Liveness::of(&self.alive).is_some_and(Liveness::alive)
    }

    /// Runs `f` with the table locked, if the manager is alive.
    fn with<R>(
        &self,
        f: impl FnOnce(&Locked<'_>) -> Result<R, ProxyError>,
    ) -> Result<R, ProxyError> {
        if !self.alive() {
            return Err(gone());
        }
        let locked = self.table.lock_until(Some(POLL), || self.alive()).ok_or_else(gone)?;
        if !self.alive() {
            return Err(gone());
        }
        f(&locked)
    }
}

fn gone() -> ProxyError {
    ProxyError::ManagerGone("the manager process has ended".into())
}

/// A table error as a proxy sees it, on either path.
pub(super) fn table_error(e: TableError) -> ProxyError {
    match e {
        TableError::Full { .. } => ProxyError::Full(e.to_string()),
        other => ProxyError::Remote(other.to_string()),
    }
}

fn t<T>(r: Result<T, TableError>) -> Result<T, ProxyError> {
    r.map_err(table_error)
}

/// The map operations, for [`DictProxy`](super::DictProxy) and
/// [`NamespaceProxy`](super::NamespaceProxy). Keys arrive encoded.
impl ObjectRef {
    pub(super) fn map_get<V: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<V>, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| t(l.get(key))?.map(decode).transpose());
        }
        match self.op(Op::Get(ByteBuf::from(key)))? {
            Response::Maybe(v) => v.map(|b| decode(&b)).transpose(),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_insert(&self, key: &[u8], value: &[u8]) -> Result<(), ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| t(l.insert(key, value)));
        }
        match self.op(Op::Insert(ByteBuf::from(key), ByteBuf::from(value)))? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_remove<V: DeserializeOwned>(&self, key: &[u8]) -> Result<V, KeyError> {
        match self.map_remove_bytes(key)? {
            Some(v) => Ok(decode(&v)?),
            None => Err(KeyError::Missing),
        }
    }

    /// Removes `key`; its encoded value, if it was there.
    pub(super) fn map_remove_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| t(l.remove(key)));
        }
        match self.op(Op::Remove(ByteBuf::from(key)))? {
            Response::Bytes(b) => Ok(Some(b.into_vec())),
            Response::KeyMissing => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_contains(&self, key: &[u8]) -> Result<bool, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| Ok(t(l.get(key))?.is_some()));
        }
        match self.op(Op::ContainsKey(ByteBuf::from(key)))? {
            Response::Bool(b) => Ok(b),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_len(&self) -> Result<usize, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| Ok(l.len() as usize));
        }
        self.remote_len()
    }

    pub(super) fn map_keys<K: DeserializeOwned>(&self) -> Result<Vec<K>, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| t(l.entries())?.iter().map(|r| decode(r.key)).collect());
        }
        match self.op(Op::Keys)? {
            Response::Many(ks) => ks.iter().map(|b| decode(b)).collect(),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_values<V: DeserializeOwned>(&self) -> Result<Vec<V>, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| t(l.entries())?.iter().map(|r| decode(r.value)).collect());
        }
        match self.op(Op::Values)? {
            Response::Many(vs) => vs.iter().map(|b| decode(b)).collect(),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_items<K: DeserializeOwned, V: DeserializeOwned>(
        &self,
    ) -> Result<Vec<(K, V)>, ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| {
                t(l.entries())?.iter().map(|r| Ok((decode(r.key)?, decode(r.value)?))).collect()
            });
        }
        match self.op(Op::Items)? {
            Response::Pairs(ps) => ps.iter().map(|(k, v)| Ok((decode(k)?, decode(v)?))).collect(),
            other => Err(unexpected(other)),
        }
    }

    /// Inserts every entry under one lock (one request on the socket path).
    pub(super) fn map_update(&self, entries: Vec<(ByteBuf, ByteBuf)>) -> Result<(), ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| entries.iter().try_for_each(|(k, v)| t(l.insert(k, v))));
        }
        match self.op(Op::Update(entries))? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub(super) fn map_clear(&self) -> Result<(), ProxyError> {
        if let Some(d) = self.direct()? {
            return d.with(|l| t(l.clear()));
        }
        match self.op(Op::Clear)? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// `key = f(key's value)`, atomically. On the direct path `f` runs here, under the table's
    /// lock; on the socket path, in the manager under the same lock.
    pub(super) fn map_update_with<V, F>(&self, key: &[u8], f: F) -> Result<V, ProxyError>
    where
        V: Serialize + DeserializeOwned + 'static,
        F: Fn(Option<V>) -> V + Copy + Send + Sync + 'static,
    {
        if let Some(d) = self.direct()? {
            return d.with(|l| {
                let old = t(l.get(key))?.map(decode::<V>).transpose()?;
                // The lock is released when `l` drops, also after a panic; a panic changes nothing
                // because nothing is written before `f` returns.
                let new = catch_unwind(AssertUnwindSafe(|| f(old))).map_err(|p| {
                    ProxyError::Remote(format!(
                        "the update function panicked: {}",
                        panic_message(p.as_ref())
                    ))
                })?;
                t(l.insert(key, &encode(&new)?))?;
                Ok(new)
            });
        }
        match self.op(update_optional(Slot::Key(ByteBuf::from(key)), f)?)? {
            Response::Bytes(b) => decode(&b),
            other => Err(unexpected(other)),
        }
    }
}
