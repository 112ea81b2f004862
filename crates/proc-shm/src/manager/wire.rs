//! The messages between proxies and the manager process. Values and keys travel as the bytes the
//! proxy encoded: the server never knows their types.

use std::time::Duration;

use proc_core::SharedRegion;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::ObjectKind;

/// One request; the server answers each with exactly one [`Response`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Request {
    /// Is the server there? (Used by `Manager::connect`.)
    Ping,
    /// A new object; `init` is the encoded initial value of a `Value`, empty otherwise.
    Create { kind: ObjectKind, init: ByteBuf },
    /// Names an object so that processes of other programs can find it.
    Publish { name: String, id: u64 },
    /// The object of that name.
    Lookup { name: String },
    /// An operation on object `id`.
    Op { id: u64, op: Op },
    /// The shared memory of object `id`, to work in directly (dicts and namespaces).
    Attach { id: u64 },
}

/// What to do to an object. Keys, values and items are encoded bytes.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Op {
    Len,
    Clear,
    /// Every element (list), value (dict), or the value (`Value`).
    Values,
    /// An update run in the manager: `apply` is an encoded `SharedFn` that decodes the old value,
    /// calls the user's function (encoded in `f`) and encodes the new one.
    UpdateWith {
        slot: Slot,
        apply: ByteBuf,
        f: ByteBuf,
    },

    // Dicts and namespaces.
    Get(ByteBuf),
    Insert(ByteBuf, ByteBuf),
    Remove(ByteBuf),
    ContainsKey(ByteBuf),
    Keys,
    Items,
    Update(Vec<(ByteBuf, ByteBuf)>),

    // Lists.
    Push(ByteBuf),
    Pop,
    Index(u64),
    SetIndex(u64, ByteBuf),
    Extend(Vec<ByteBuf>),

    // Values.
    Set(ByteBuf),

    // Queues.
    Put(ByteBuf),
    Take {
        wait: Wait,
    },

    // Locks.
    Acquire {
        wait: Wait,
    },
    Release,
}

/// Where an update applies.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Slot {
    Key(ByteBuf),
    Index(u64),
    Value,
}

/// How long a blocking operation may wait in the server.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) enum Wait {
    No,
    For(Duration),
    Forever,
}

/// The answer to one request.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Response {
    Done,
    Id(u64),
    Found {
        id: u64,
        kind: ObjectKind,
    },
    Bool(bool),
    Len(u64),
    Bytes(ByteBuf),
    Maybe(Option<ByteBuf>),
    Many(Vec<ByteBuf>),
    Pairs(Vec<(ByteBuf, ByteBuf)>),
    /// A lock was taken; `owner_died` if its previous holder's process ended while holding it.
    Acquired {
        owner_died: bool,
    },
    /// The lock was not released: this connection does not hold it.
    NotHeld,
    KeyMissing,
    OutOfRange {
        index: u64,
        len: u64,
    },
    /// Nothing came (a queue stayed empty, a lock stayed held) within the wait.
    TimedOut,
    NoSuchObject,
    NotFound,
    WrongKind(ObjectKind),
    /// The operation failed in the server (an update function that panicked or came from another
    /// program, an operation the object does not have).
    Failed(String),
    /// A dict or namespace had no room for the write.
    Full(String),
    /// The answer to `Attach`: the object's table and the manager's liveness word.
    Attached {
        table: SharedRegion,
        alive: SharedRegion,
    },
    /// The answer to `Attach` for an object without shared memory, or over a connection that
    /// cannot carry it (TCP).
    NotShared,
}
