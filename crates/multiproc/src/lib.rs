//! Python's `multiprocessing`, rebuilt for Rust: processes that run Rust functions, with the
//! pieces to make them work together.
//!
//! ```
//! use multiproc::Process;
//!
//! fn cube(x: i64) -> i64 {
//!     x * x * x
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut p = Process::new(cube, (3,));
//! p.start()?;
//! assert_eq!(p.join()?, 27);
//! # Ok(()) }
//! ```
//!
//! No `if __name__ == "__main__"` guard, no `init()` call: a child is a fresh copy of your binary
//! that runs its job before `main` would start.
//!
//! # Pieces
//! - [`process`]: [`Process`], start methods, exit status, daemon rules, handle passing, shared
//!   regions (the `proc-core` crate; always present).
//! - [`sync`]: [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`], [`Condition`], [`Event`],
//!   [`Barrier`] (the `proc-sync` crate).
//!
//! - [`shm`]: [`Value`], [`Array`], [`RawValue`], [`RawArray`], [`AtomicValue`], [`SharedMemory`]
//!   (the `proc-shm` crate).
//! - [`ipc`]: [`Pipe`], [`Connection`], [`Queue`], [`JoinableQueue`], [`SimpleQueue`],
//!   [`Listener`], [`Client`] (the `proc-ipc` crate).
//! - [`manager`]: [`Manager`] and its proxies [`DictProxy`], [`ListProxy`], [`NamespaceProxy`],
//!   [`ValueProxy`], [`QueueProxy`], [`LockProxy`] (in the `proc-shm` crate, feature `manager`).
//! - [`pool`]: [`Pool`], [`AsyncResult`], [`Callbacks`], [`Imap`] (the `proc-pool` crate).
//!
//! # Feature flags
//! - `full` (default): every piece.
//! - `sync`: the synchronisation primitives.
//! - `shm`: shared values, arrays and named shared memory (turns on `sync`).
//! - `ipc`: pipes, connections and queues (turns on `sync`).
//! - `pool`: the process pool (turns on `ipc`).
//! - `manager`: the manager process and its proxies (turns on `shm` and `ipc`).
//!
//! # Python → Rust
//! | Python | multiproc |
//! |---|---|
//! | `Process(target=f, args=(a, b))` | [`Process::new(f, (a, b))`](Process::new) |
//! | `class P(Process): def run(self)` | `impl Run for P` + [`Process::from_run`] |
//! | `p.start()`, `p.join()`, `p.join(1.5)` | `p.start()?`, `p.join()?` (returns the value), `p.join_timeout(d)` |
//! | `p.exitcode`, `p.is_alive()`, `p.pid` | [`Process::exitcode`], [`Process::is_alive`], [`Process::pid`] |
//! | `p.terminate()`, `p.kill()` | [`Process::terminate`], [`Process::kill`] |
//! | `p.daemon = True` | `Process::builder().daemon(true)` or [`Process::set_daemon`] |
//! | `current_process()`, `parent_process()` | [`current_process`], [`parent_process`] |
//! | `active_children()`, `cpu_count()` | [`active_children`], [`cpu_count`] |
//! | `set_start_method('spawn')` | [`set_start_method(StartMethod::SPAWN)`](set_start_method) |
//! | `connection.wait([...])` | [`wait`] |
//! | `Lock()`, `lock.acquire()` … `release()` | `Lock::new()?`, `lock.acquire()` (a guard; or `leak()` + `release()`) |
//! | `acquire(block=False)`, `acquire(timeout=t)` | `try_acquire()`, `acquire_timeout(t)` |
//! | `Semaphore(4)`, `Event()`, `Barrier(3)` | `Semaphore::new(4)?`, `Event::new()?`, `Barrier::new(3)?` |
//! | `Value('i', 0)`, `Array('d', [1.0, 2.0])` | `Value::<i32>::new(0)?`, `Array::<f64>::from_slice(&[1.0, 2.0])?` |
//! | `with v.get_lock(): v.value += 1` | `*v.lock() += 1` |
//! | `a, b = Pipe()`, `r, w = Pipe(duplex=False)` | `let (a, b) = Pipe::new()?`, `let (r, w) = Pipe::one_way()?` |
//! | `conn.send(x)`, `conn.recv()`, `conn.poll(t)` | `conn.send(&x)?`, `conn.recv()?`, `conn.poll(t)?` |
//! | `except EOFError` | `Err(RecvError::Disconnected)` |
//! | `Queue()`, `Queue(3)` | `Queue::new()?`, `Queue::bounded(3)?` |
//! | `q.put(x)`, `q.get()`, `q.get(timeout=t)` | `q.put(x)?`, `q.get()?`, `q.get_timeout(t)?` |
//! | `q.put_nowait(x)`, `q.get_nowait()` | `q.try_put(x)` (`Err(PutError::Full(x))`), `q.try_get()` (`Err(GetError::Empty)`) |
//! | `q.put(None)` as a sentinel | `q.close()`, and consumers `for x in q.iter()` |
//! | `JoinableQueue()`, `task_done()`, `join()` | `JoinableQueue::new()?`, `q.task_done()?`, `q.join()` |
//! | `Listener(addr, authkey=k)`, `Client(addr, authkey=k)` | `Listener::bind(addr, Some(k))?`, `Client::connect(addr, Some(k))?` |
//! | `shared_memory.SharedMemory(create=True, size=n)` | `SharedMemory::create(n)?`, `SharedMemory::attach(name)?` |
//! | `Pool(4)`, `Pool(initializer=f, initargs=a, maxtasksperchild=k)` | [`Pool::new(4)?`](Pool::new), `Pool::builder().initializer(f, a).maxtasksperchild(k).build()?` |
//! | `pool.apply(f, (x,))`, `pool.apply_async(f, (x,), callback=cb)` | `pool.apply(f, (x,))?`, `pool.apply_async_with(f, (x,), Callbacks::new().on_success(cb))?` |
//! | `r.get()`, `r.get(timeout=t)`, `r.ready()`, `r.successful()` | `r.get()?`, `r.get_timeout(t)`, `r.ready()`, `r.successful()?`, or `r.await` |
//! | `pool.map(f, xs)`, `pool.map(f, xs, chunksize=n)`, `pool.starmap(f, pairs)` | `pool.map(f, xs)?`, `pool.map_chunked(f, xs, n)?`, `pool.starmap(f, pairs)?` |
//! | `for r in pool.imap(f, xs)`, `imap_unordered` | `for r in pool.imap(f, xs)? { r? }`, `pool.imap_unordered(f, xs)?` |
//! | `pool.close(); pool.join()`, `pool.terminate()` | `pool.close(); pool.join()?`, `pool.terminate()` (also on drop) |
//! | `with Manager() as m: d = m.dict(); l = m.list(range(5))` | `let m = Manager::start()?; let d = m.dict::<K, V>()?; let l = m.list()?; l.extend(0..5)?` (the guard shuts it down) |
//! | `d[k] = v`, `d[k]`, `del d[k]`, `l.append(x)`, `l[i]` | `d.insert(k, v)?`, `d.get(&k)?` (an `Option`), `d.remove(&k)?` (`Err(KeyError::Missing)`), `l.push(x)?`, `l.get(i)?` (`Err(ListError::OutOfRange { .. })`) |
//! | `with lock: d['count'] -= 1` | `d.update_with("count", \|c: Option<i64>\| c.unwrap_or(0) - 1)?`: atomic in the manager, no lock |
//! | `BaseManager(address=('', 50000), authkey=k)`, `m.connect()` | `Manager::builder().address(addr).authkey(k).start()?`, `Manager::connect(addr, k)?` + `lookup(name)` |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

#[doc(inline)]
pub use proc_core as process;

#[cfg(feature = "sync")]
#[doc(inline)]
pub use proc_sync as sync;

#[cfg(feature = "sync")]
pub use proc_sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};

#[cfg(feature = "shm")]
#[doc(inline)]
pub use proc_shm as shm;

#[cfg(feature = "shm")]
pub use proc_shm::{Array, AtomicValue, RawArray, RawValue, SharedMemory, Value};

#[cfg(feature = "ipc")]
#[doc(inline)]
pub use proc_ipc as ipc;

#[cfg(feature = "ipc")]
pub use proc_ipc::{Client, Connection, JoinableQueue, Listener, Pipe, Queue, SimpleQueue};

#[cfg(feature = "pool")]
#[doc(inline)]
pub use proc_pool as pool;

#[cfg(feature = "pool")]
pub use proc_pool::{AsyncResult, Callbacks, Imap, Pool, PoolBuilder, PoolError, TaskError};

#[cfg(feature = "manager")]
#[doc(inline)]
pub use proc_shm::manager;

#[cfg(feature = "manager")]
pub use proc_shm::manager::{
    DictProxy, ListProxy, LockProxy, Manager, NamespaceProxy, QueueProxy, ValueProxy,
};

pub use proc_core::{
    ExitStatus, Handle, JoinError, Pid, Process, ProcessBuilder, Run, Signal, StartError,
    StartMethod, active_children, cpu_count, current_process, get_start_method, init,
    parent_process, process_cpu_count, set_start_method, wait,
};
