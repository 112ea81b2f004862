//! The manager process: it listens, serves every connection on a thread of its own, and holds the
//! objects as encoded bytes (it never knows their types), until its owner shuts it down or dies.
//! Dicts and namespaces live in shared tables (see `table`), which it creates, hands to proxies
//! that ask over a Unix socket, and works in itself for requests from the others.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use proc_core::{SharedRegion, codec};
use proc_ipc::{Address, Connection, Listener, RecvError};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::ObjectKind;
use super::client::{Apply, panic_message};
use super::table::{Liveness, Table, TableError};
use super::wire::{Op, Request, Response, Slot, Wait};

/// What the owner tells the server to do.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum OwnerMsg {
    Shutdown,
}

/// What the server tells its owner once, when it starts.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ServerMsg {
    Ready(Address),
    Failed(String),
}

/// How the owner configures the server.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Setup {
    pub(super) address: Address,
    pub(super) authkey: ByteBuf,
    /// The size of each half of a dict's table.
    pub(super) dict_half: u64,
}

/// The manager process's entry: listen, report, serve until the owner says stop or goes away.
pub(super) fn run(setup: Setup, mut owner: Connection<ServerMsg, OwnerMsg>) {
    // This thread lives as long as the server: it holds the liveness word.
    let alive = SharedRegion::new(std::mem::size_of::<Liveness>())
        .and_then(|r| Liveness::hold(&r).map(|()| r));
    let alive = match alive {
        Ok(a) => a,
        Err(e) => {
            let _ = owner.send(&ServerMsg::Failed(format!("no liveness word: {e}")));
            return;
        }
    };
    let listener = match Listener::bind(setup.address.clone(), Some(&setup.authkey)) {
        Ok(l) => l,
        Err(e) => {
            let _ = owner.send(&ServerMsg::Failed(e.to_string()));
            return;
        }
    };
    let address = listener.address().unwrap_or(setup.address);
    if owner.send(&ServerMsg::Ready(address.clone())).is_err() {
        return;
    }
    let state = Arc::new(State {
        objects: RwLock::default(),
        names: Mutex::default(),
        next_id: AtomicU64::new(0),
        // Only a Unix socket carries the regions' fds.
        alive: matches!(address, Address::Unix(_)).then(|| alive.clone()),
        dict_half: setup.dict_half,
    });
    std::thread::spawn(move || accept_loop(&listener, &state));
    // A shutdown request, or the end of the stream when the owner is gone.
    let request = owner.recv();
    // Proxies working in shared tables stop here; the kernel marks the word too when this
    // thread ends, however that happens.
    Liveness::close(&alive);
    if let Address::Unix(path) = &address {
        let _ = std::fs::remove_file(path);
    }
    if request.is_err() {
        // The owner's process ended (its death also kills this daemon child; whichever comes
        // first): nobody is left to take a return value, so leave without one.
        std::process::exit(0);
    }
}

fn accept_loop(listener: &Listener, state: &Arc<State>) {
    let mut next_conn = 0u64;
    loop {
        // A client with the wrong key, or one that dies in the handshake, fails this accept only.
        let Ok(conn) = listener.accept::<Response, Request>() else { continue };
        next_conn += 1;
        let (state, id) = (Arc::clone(state), next_conn);
        let spawned = std::thread::Builder::new()
            .name(format!("manager-conn-{id}"))
            .spawn(move || serve(&state, conn, id));
        // Out of threads: the connection is dropped (its client sees the manager gone) and the
        // server goes on with the others.
        drop(spawned);
    }
}

/// Every object, by id, and the published names.
struct State {
    objects: RwLock<HashMap<u64, Arc<Object>>>,
    names: Mutex<HashMap<String, u64>>,
    next_id: AtomicU64,
    /// The liveness word handed out with shared tables; `None` where fds cannot travel (TCP).
    alive: Option<SharedRegion>,
    dict_half: u64,
}

struct Object {
    kind: ObjectKind,
    data: Data,
}

enum Data {
    /// Dicts and namespaces.
    Map(Table),
    List(Mutex<Vec<Vec<u8>>>),
    Value(Mutex<Vec<u8>>),
    Queue(Mutex<VecDeque<Vec<u8>>>, Condvar),
    Lock(Mutex<LockState>, Condvar),
}

#[derive(Default)]
struct LockState {
    /// The connection holding the lock.
    holder: Option<u64>,
    /// The last holder's connection ended while it held the lock.
    owner_died: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Updates run user code under catch_unwind and store only complete values, so a poisoned
    // mutex (a panic elsewhere while holding it) still guards consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection: requests in, answers out, until the client goes away.
fn serve(state: &State, mut conn: Connection<Response, Request>, conn_id: u64) {
    let mut cache: HashMap<u64, Arc<Object>> = HashMap::new();
    let mut held: Vec<Arc<Object>> = Vec::new();
    loop {
        let request = match conn.recv() {
            Ok(r) => r,
            Err(RecvError::Decode(e)) => {
                let _ = conn.send(&Response::Failed(format!("undecodable request: {e}")));
                continue;
            }
            // The client closed, died (possibly in the middle of a request), or sent garbage.
            Err(_) => break,
        };
        let (response, taken) = match request {
            Request::Op { id, op } => {
                let Some(obj) = state.object(id, &mut cache) else {
                    if conn.send(&Response::NoSuchObject).is_err() {
                        break;
                    }
                    continue;
                };
                let r = operate(&obj, op, conn_id, &mut held);
                (r, Some(obj))
            }
            other => (state.manage(other), None),
        };
        if conn.send(&response).is_err() {
            // The client is gone, and did not get what it was handed: put it back.
            if let Some(obj) = taken {
                match (&obj.data, response) {
                    (Data::Queue(q, ready), Response::Bytes(item)) => {
                        lock(q).push_front(item.into_vec());
                        ready.notify_one();
                    }
                    (Data::Lock(..), Response::Acquired { .. }) => {
                        held.retain(|h| !Arc::ptr_eq(h, &obj));
                        release(&obj, conn_id, false);
                    }
                    _ => {}
                }
            }
            break;
        }
    }
    // Locks this connection still holds: its process died (or dropped a guard without
    // releasing). Free them, and tell the next holder.
    for obj in held {
        release(&obj, conn_id, true);
    }
}

impl State {
    fn object(&self, id: u64, cache: &mut HashMap<u64, Arc<Object>>) -> Option<Arc<Object>> {
        if let Some(o) = cache.get(&id) {
            return Some(Arc::clone(o));
        }
        let o = Arc::clone(self.objects.read().unwrap_or_else(|e| e.into_inner()).get(&id)?);
        cache.insert(id, Arc::clone(&o));
        Some(o)
    }

    fn manage(&self, request: Request) -> Response {
        match request {
            Request::Ping => Response::Done,
            Request::Attach { id } => {
                let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
                match (objects.get(&id).map(|o| &o.data), &self.alive) {
                    (None, _) => Response::NoSuchObject,
                    (Some(Data::Map(t)), Some(alive)) => {
                        Response::Attached { table: t.region().clone(), alive: alive.clone() }
                    }
                    _ => Response::NotShared,
                }
            }
            Request::Create { kind, init } => {
                let data = match kind {
                    ObjectKind::Dict | ObjectKind::Namespace => match Table::create(self.dict_half)
                    {
                        Ok(t) => Data::Map(t),
                        Err(e) => return Response::Failed(format!("no shared table: {e}")),
                    },
                    ObjectKind::List => Data::List(Mutex::new(Vec::new())),
                    ObjectKind::Value => Data::Value(Mutex::new(init.into_vec())),
                    ObjectKind::Queue => Data::Queue(Mutex::new(VecDeque::new()), Condvar::new()),
                    ObjectKind::Lock => {
                        Data::Lock(Mutex::new(LockState::default()), Condvar::new())
                    }
                };
                let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                self.objects
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, Arc::new(Object { kind, data }));
                Response::Id(id)
            }
            Request::Publish { name, id } => {
                if !self.objects.read().unwrap_or_else(|e| e.into_inner()).contains_key(&id) {
                    return Response::NoSuchObject;
                }
                lock(&self.names).insert(name, id);
                Response::Done
            }
            Request::Lookup { name } => {
                let Some(id) = lock(&self.names).get(&name).copied() else {
                    return Response::NotFound;
                };
                match self.objects.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
                    Some(o) => Response::Found { id, kind: o.kind },
                    None => Response::NotFound,
                }
            }
            Request::Op { .. } => unreachable!("operations are dispatched by `serve`"),
        }
    }
}

fn bytes(v: &[u8]) -> ByteBuf {
    ByteBuf::from(v.to_vec())
}

fn unsupported(obj: &Object, op: &Op) -> Response {
    Response::Failed(format!("a {:?} has no operation {op:?}", obj.kind))
}

/// Carries out one operation on one object.
fn operate(obj: &Arc<Object>, op: Op, conn_id: u64, held: &mut Vec<Arc<Object>>) -> Response {
    match &obj.data {
        Data::Map(t) => map_op(obj, t, op),
        Data::List(l) => list_op(obj, l, op),
        Data::Value(v) => match op {
            Op::Values => Response::Bytes(bytes(&lock(v))),
            Op::Set(new) => {
                *lock(v) = new.into_vec();
                Response::Done
            }
            Op::UpdateWith { slot: Slot::Value, apply, f } => {
                let mut v = lock(v);
                match run_update(&apply, Some(&v), f) {
                    Ok(new) => {
                        *v = new.to_vec();
                        Response::Bytes(new)
                    }
                    Err(why) => Response::Failed(why),
                }
            }
            other => unsupported(obj, &other),
        },
        Data::Queue(q, ready) => match op {
            Op::Put(item) => {
                lock(q).push_back(item.into_vec());
                ready.notify_one();
                Response::Done
            }
            Op::Take { wait } => {
                let mut q = lock(q);
                let deadline = deadline(wait);
                loop {
                    if let Some(item) = q.pop_front() {
                        return Response::Bytes(ByteBuf::from(item));
                    }
                    q = match wait_on(ready, q, wait, deadline) {
                        Some(q) => q,
                        None => return Response::TimedOut,
                    };
                }
            }
            Op::Len => Response::Len(lock(q).len() as u64),
            Op::Clear => {
                lock(q).clear();
                Response::Done
            }
            other => unsupported(obj, &other),
        },
        Data::Lock(l, free) => match op {
            Op::Acquire { wait } => {
                let mut s = lock(l);
                let deadline = deadline(wait);
                loop {
                    if s.holder.is_none() {
                        s.holder = Some(conn_id);
                        let owner_died = std::mem::take(&mut s.owner_died);
                        held.push(Arc::clone(obj));
                        return Response::Acquired { owner_died };
                    }
                    s = match wait_on(free, s, wait, deadline) {
                        Some(s) => s,
                        None => return Response::TimedOut,
                    };
                }
            }
            Op::Release => {
                if lock(l).holder != Some(conn_id) {
                    return Response::NotHeld;
                }
                held.retain(|h| !Arc::ptr_eq(h, obj));
                release(obj, conn_id, false);
                Response::Done
            }
            other => unsupported(obj, &other),
        },
    }
}

fn deadline(wait: Wait) -> Option<Instant> {
    match wait {
        Wait::For(d) => Instant::now().checked_add(d),
        Wait::No | Wait::Forever => None,
    }
}

/// Waits on `cv` as `wait` allows; `None` when the time is up.
fn wait_on<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    wait: Wait,
    deadline: Option<Instant>,
) -> Option<MutexGuard<'a, T>> {
    Some(match (wait, deadline) {
        (Wait::No, _) => return None,
        (Wait::Forever, _) | (Wait::For(_), None) => {
            cv.wait(guard).unwrap_or_else(|e| e.into_inner())
        }
        (Wait::For(_), Some(deadline)) => {
            let left = deadline.checked_duration_since(Instant::now())?;
            cv.wait_timeout(guard, left).unwrap_or_else(|e| e.into_inner()).0
        }
    })
}

/// Frees a lock held by `conn_id`; `died` marks it for the next holder.
fn release(obj: &Object, conn_id: u64, died: bool) {
    if let Data::Lock(l, free) = &obj.data {
        let mut s = lock(l);
        if s.holder == Some(conn_id) {
            s.holder = None;
            s.owner_died = died;
            free.notify_one();
        }
    }
}

fn map_op(obj: &Object, t: &Table, op: Op) -> Response {
    let l = t.lock();
    let r = match op {
        Op::Get(k) => l.get(&k).map(|v| Response::Maybe(v.map(bytes))),
        Op::Insert(k, v) => l.insert(&k, &v).map(|()| Response::Done),
        Op::Remove(k) => l.remove(&k).map(|v| match v {
            Some(v) => Response::Bytes(ByteBuf::from(v)),
            None => Response::KeyMissing,
        }),
        Op::ContainsKey(k) => l.get(&k).map(|v| Response::Bool(v.is_some())),
        Op::Len => Ok(Response::Len(l.len())),
        Op::Clear => l.clear().map(|()| Response::Done),
        Op::Keys => l.entries().map(|es| Response::Many(es.iter().map(|r| bytes(r.key)).collect())),
        Op::Values => {
            l.entries().map(|es| Response::Many(es.iter().map(|r| bytes(r.value)).collect()))
        }
        Op::Items => l
            .entries()
            .map(|es| Response::Pairs(es.iter().map(|r| (bytes(r.key), bytes(r.value))).collect())),
        Op::Update(items) => {
            items.iter().try_for_each(|(k, v)| l.insert(k, v)).map(|()| Response::Done)
        }
        Op::UpdateWith { slot: Slot::Key(k), apply, f } => {
            let new = match l.get(&k) {
                Ok(old) => run_update(&apply, old, f),
                Err(e) => return table_failure(e),
            };
            match new {
                Ok(new) => l.insert(&k, &new).map(|()| Response::Bytes(new)),
                Err(why) => Ok(Response::Failed(why)),
            }
        }
        other => Ok(unsupported(obj, &other)),
    };
    r.unwrap_or_else(table_failure)
}

fn table_failure(e: TableError) -> Response {
    match e {
        TableError::Full { .. } => Response::Full(e.to_string()),
        other => Response::Failed(other.to_string()),
    }
}

fn list_op(obj: &Object, l: &Mutex<Vec<Vec<u8>>>, op: Op) -> Response {
    let mut l = lock(l);
    let out_of_range = |index: u64, len: usize| Response::OutOfRange { index, len: len as u64 };
    match op {
        Op::Push(v) => {
            l.push(v.into_vec());
            Response::Done
        }
        Op::Pop => Response::Maybe(l.pop().map(ByteBuf::from)),
        Op::Index(i) => match l.get(i as usize) {
            Some(v) => Response::Bytes(bytes(v)),
            None => out_of_range(i, l.len()),
        },
        Op::SetIndex(i, v) => {
            let len = l.len();
            match l.get_mut(i as usize) {
                Some(slot) => {
                    *slot = v.into_vec();
                    Response::Done
                }
                None => out_of_range(i, len),
            }
        }
        Op::Extend(items) => {
            l.extend(items.into_iter().map(ByteBuf::into_vec));
            Response::Done
        }
        Op::Len => Response::Len(l.len() as u64),
        Op::Clear => {
            l.clear();
            Response::Done
        }
        Op::Values => Response::Many(l.iter().map(|v| bytes(v)).collect()),
        Op::UpdateWith { slot: Slot::Index(i), apply, f } => {
            let len = l.len();
            let Some(slot) = l.get_mut(i as usize) else { return out_of_range(i, len) };
            match run_update(&apply, Some(slot), f) {
                Ok(new) => {
                    *slot = new.to_vec();
                    Response::Bytes(new)
                }
                Err(why) => Response::Failed(why),
            }
        }
        other => unsupported(obj, &other),
    }
}

/// Runs an update function sent by a proxy, on the stored bytes. A function from another program
/// (or another process family) is refused when decoded; one that panics is reported, and the
/// stored value stays as it was.
fn run_update(apply: &[u8], old: Option<&[u8]>, f: ByteBuf) -> Result<ByteBuf, String> {
    let apply: Apply = codec::decode(apply, Vec::new())
        .map_err(|e| format!("the update function cannot run in the manager: {e}"))?;
    let old = old.map(bytes);
    match catch_unwind(AssertUnwindSafe(|| apply.call((old, f)))) {
        Ok(r) => r,
        Err(panic) => {
            Err(format!("the update function panicked: {}", panic_message(panic.as_ref())))
        }
    }
}
