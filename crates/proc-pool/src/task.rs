//! What travels between the pool and its workers, and the worker's loop.
//!
//! A task is a chunk of calls of one function: the pool encodes `(function, [args…])` with
//! [`codec`](proc_core::codec), and names a trampoline, monomorphised for the argument and result
//! types, that decodes them in the worker, makes each call under `catch_unwind`, and encodes the
//! list of results. Trampolines and functions travel as [`SharedFn`] offsets, so one connection
//! carries tasks of any types. Handles (files, sockets) in the arguments or results travel beside
//! the bytes.
//!
//! A worker writes each reply as soon as its task is done, and stores the id of the task it is
//! running in a word of shared memory before it starts it: when a worker dies, the pool knows which
//! task it held (the one in that word, if no reply came for it) and which queued ones it never
//! started.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use proc_core::{Handle, Shared, SharedFn, codec};
use proc_ipc::{Connection, Queue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The id a worker's initializer reports under.
pub(crate) const INIT_ID: u64 = u64::MAX;

/// Encoded data and the handles it refers to.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    pub(crate) bytes: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

impl Payload {
    /// Encodes `value`, duplicating the handles it holds so the payload owns them.
    pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Payload, String> {
        let enc = codec::encode(value).map_err(|e| e.to_string())?;
        let (bytes, fds) = enc.into_parts();
        let fds = fds
            .iter()
            .map(|fd| fd.try_clone_to_owned())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("could not duplicate a handle: {e}"))?;
        Ok(Payload { bytes, fds })
    }

    /// Decodes the payload, consuming its handles.
    pub(crate) fn decode<T: DeserializeOwned>(self) -> Result<T, String> {
        codec::decode(&self.bytes, self.fds).map_err(|e| e.to_string())
    }
}

/// A trampoline: runs a task's payload and returns the encoded results.
pub(crate) type Trampoline = SharedFn<Payload, Result<Payload, String>>;

/// Which function a task calls and how many times: the pool learns what a call of each function
/// costs, to decide how many of its tasks to queue ahead of a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// The function's type (every `fn` item and closure has its own).
    pub(crate) function: TypeId,
    /// Calls in the task (a chunk's length).
    pub(crate) calls: usize,
}

impl Kind {
    pub(crate) fn of<F: 'static>(calls: usize) -> Kind {
        Kind { function: TypeId::of::<F>(), calls: calls.max(1) }
    }
}

/// One task as it travels to a worker.
#[derive(Debug)]
pub(crate) struct TaskMsg {
    pub(crate) id: u64,
    pub(crate) run: Trampoline,
    pub(crate) payload: Payload,
    /// Known on the pool's side only (it does not travel).
    pub(crate) kind: Option<Kind>,
}

#[derive(Serialize)]
struct TaskOut<'a> {
    id: u64,
    run: &'a Trampoline,
    #[serde(with = "serde_bytes")]
    bytes: &'a [u8],
    fds: Vec<Handle<std::os::fd::BorrowedFd<'a>>>,
}

#[derive(Deserialize)]
struct TaskIn {
    id: u64,
    run: Trampoline,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
    fds: Vec<Handle<OwnedFd>>,
}

impl Serialize for TaskMsg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TaskOut {
            id: self.id,
            run: &self.run,
            bytes: &self.payload.bytes,
            fds: self.payload.fds.iter().map(|fd| Handle::new(fd.as_fd())).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TaskMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = TaskIn::deserialize(d)?;
        Ok(TaskMsg {
            id: t.id,
            run: t.run,
            payload: Payload {
                bytes: t.bytes,
                fds: t.fds.into_iter().map(Handle::into_inner).collect(),
            },
            kind: None,
        })
    }
}

/// Tasks sent to a worker in one message. The pool keeps its own reference to each task until the
/// reply comes, so a task can be sent again if its worker dies before starting it.
#[derive(Debug, Default)]
pub(crate) struct Batch(pub(crate) Vec<Arc<TaskMsg>>);

impl Serialize for Batch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| &**t))
    }
}

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<TaskMsg>::deserialize(d)?;
        Ok(Batch(v.into_iter().map(Arc::new).collect()))
    }
}

/// A worker's answer for one task: the encoded list of per-call results, or why the whole task
/// could not run.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The pool's slot of the worker that ran the task.
    pub(crate) slot: u32,
    pub(crate) id: u64,
    pub(crate) outcome: Result<Payload, String>,
}

#[derive(Serialize)]
struct ReplyOut<'a> {
    slot: u32,
    id: u64,
    outcome: Result<(&'a serde_bytes::Bytes, Vec<Handle<std::os::fd::BorrowedFd<'a>>>), &'a str>,
}

#[derive(Deserialize)]
struct ReplyIn {
    slot: u32,
    id: u64,
    outcome: Result<(serde_bytes::ByteBuf, Vec<Handle<OwnedFd>>), String>,
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let outcome = match &self.outcome {
            Ok(p) => Ok((
                serde_bytes::Bytes::new(&p.bytes),
                p.fds.iter().map(|fd| Handle::new(fd.as_fd())).collect(),
            )),
            Err(e) => Err(e.as_str()),
        };
        ReplyOut { slot: self.slot, id: self.id, outcome }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Reply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ReplyIn::deserialize(d)?;
        Ok(Reply {
            slot: r.slot,
            id: r.id,
            outcome: r.outcome.map(|(b, fds)| Payload {
                bytes: b.into_vec(),
                fds: fds.into_iter().map(Handle::into_inner).collect(),
            }),
        })
    }
}

thread_local! {
    /// Set while a task runs in this worker: its panics are the task's error, not the process's.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// Where the last task panic happened.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Makes panics inside tasks quiet (they travel to the parent as the task's error, with where
/// they happened); other panics go to the process's hook as before.
fn quiet_task_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if IN_TASK.with(Cell::get) {
            let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            PANIC_AT.with(|p| *p.borrow_mut() = at);
        } else {
            previous(info);
        }
    }));
}

/// Runs `f` as task code: a panic becomes its message and location.
fn as_task<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    IN_TASK.with(|t| t.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(false));
    r.map_err(|p| {
        let message = panic_message(&*p);
        match PANIC_AT.with(|at| at.borrow_mut().take()) {
            Some(at) => format!("{message} (at {at})"),
            None => message,
        }
    })
}

/// The message for a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// The trampoline of `map`-like tasks: `(f, [args…])` → `[Result<f(args), panic message>…]`.
pub(crate) fn run_chunk<A, R>(p: Payload) -> Result<Payload, String>
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    let (f, args): (SharedFn<A, R>, Vec<A>) =
        p.decode().map_err(|e| format!("the arguments could not be decoded in the worker: {e}"))?;
    let results: Vec<Result<R, String>> = args.into_iter().map(|a| as_task(|| f.call(a))).collect();
    Payload::encode(&results)
        .map_err(|e| format!("the result could not be encoded in the worker: {e}"))
}

/// The trampoline of the initializer: `(f, args)` → `()`; a panic is the initializer's failure.
pub(crate) fn run_init<A>(p: Payload) -> Result<Payload, String>
where
    A: DeserializeOwned + 'static,
{
    let (f, args): (SharedFn<A, ()>, A) =
        p.decode().map_err(|e| format!("the arguments could not be decoded in the worker: {e}"))?;
    as_task(|| f.call(args))?;
    Ok(Payload::default())
}

/// The trampoline for the chunk trampoline of `A → R`.
pub(crate) fn chunk_trampoline<A, R>() -> Trampoline
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    SharedFn::new(run_chunk::<A, R>)
}

/// A worker: runs the initializer, then every task it is sent, in order, until the pool closes its
/// task connection. `current` holds `id + 1` of the task being run (0 between tasks).
///
/// Replies go into `results`, a queue in shared memory that all workers share: no system call per
/// reply while the pool's reader is awake, and a reply put before the worker dies is never lost or
/// torn (the queue's guarantee), which is what lets the pool fail only the task that was running.
/// Replies that carry handles go over `replies`, the worker's own connection; its end of stream is
/// also how the pool learns that the worker is gone.
pub(crate) fn worker_main(
    mut tasks: Connection<(), Batch>,
    mut replies: Connection<Reply, ()>,
    results: Queue<Reply>,
    current: Shared<AtomicU64>,
    slot: u32,
    init: Option<TaskMsg>,
) {
    quiet_task_panics();
    if let Some(Err(message)) = init.map(|init| init.run.call(init.payload)) {
        // The pool marks itself broken instead of starting replacements for ever.
        let _ = replies.send(&Reply { slot, id: INIT_ID, outcome: Err(message) });
        return;
    }
    // End of stream means the pool closed this worker's task connection (close,
    // maxtasksperchild) or is gone.
    while let Ok(Batch(batch)) = tasks.recv() {
        for task in batch {
            let task = Arc::try_unwrap(task)
                .unwrap_or_else(|_| unreachable!("a received task has one owner"));
            current.store(task.id.wrapping_add(1), Ordering::SeqCst);
            let reply = Reply { slot, id: task.id, outcome: task.run.call(task.payload) };
            let has_handles = reply.outcome.as_ref().is_ok_and(|p| !p.fds.is_empty());
            if (has_handles || results.put_ref(&reply).is_err()) && replies.send(&reply).is_err() {
                return; // the pool is gone
            }
        }
        current.store(0, Ordering::SeqCst);
    }
}
