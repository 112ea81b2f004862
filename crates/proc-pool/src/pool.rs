//! The pool: its workers, the threads that feed them and read their replies, and the public API.
//!
//! Each worker has two connections: tasks go down one, replies come up the other. Three kinds of
//! thread touch them:
//! - a submitting thread (`apply_async`, `map`, …) queues tasks and, when a worker has room, writes
//!   them to it itself, so a lone `apply_async` costs one write and no thread hand-off;
//! - the *feeder* thread writes queued tasks when room frees up, and closes task connections when
//!   the pool closes;
//! - the *reader* thread waits on every reply connection, completes tasks, notices workers that
//!   end, fails the task such a worker held, re-queues the ones it never started, and starts a
//!   replacement. It never writes to a worker, so a worker blocked writing a large reply is always
//!   read, and a thread blocked writing a large task to it always gets through.
//!
//! Nobody writes to a worker while holding the state lock; the writer of a worker holds that
//! worker's writer lock, then takes the state lock briefly to move tasks from the queue to the
//! worker's in-flight list, so the order of that list is the order on the wire.

use std::any::TypeId;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use proc_core::{
    ExitStatus, JoinError, Pid, Process, Shared, SharedFn, StartMethod, Target, Waitable,
};
use proc_ipc::{Connection, Pipe, Queue, SendError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{PoolError, TaskError};
use crate::imap::{Imap, ImapOrder};
use crate::result::{AsyncResult, CallbackJob, Callbacks, Delivery, Slot};
use crate::task::{self, Batch, INIT_ID, Kind, Payload, Reply, TaskMsg};

/// What a task's completion does with its outcome (decode and deliver); runs outside every lock.
pub(crate) type Sink = Box<dyn FnOnce(Result<Payload, TaskError>) + Send>;

/// Most handles one batch carries (the kernel takes a few hundred per message).
const MAX_BATCH_FDS: usize = 200;
/// A batch stops growing past this many bytes of payload.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// Tasks pipelined to one worker at most.
const MAX_DEPTH: usize = 64;
/// How much work, in time, a worker gets queued ahead of it.
const PIPELINE_TIME: f64 = 200e-6;
/// How long a worker that ended is waited for before it is killed and reaped.
const REAP_BOUND: Duration = Duration::from_secs(10);

static WORKER_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How a pool is made: Python's `Pool(processes, initializer, initargs, maxtasksperchild)` and
/// more. Start from [`Pool::builder`].
///
/// ```
/// use proc_pool::Pool;
/// use std::time::Duration;
///
/// fn setup(tag: String) { proc_core::set_current_process_name(tag); }
/// fn name(_: ()) -> String { proc_core::current_process().name().to_string() }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::builder()
///     .processes(2)
///     .initializer(setup, ("ready".to_string(),))
///     .maxtasksperchild(100)
///     .task_timeout(Duration::from_secs(60))
///     .build()?;
/// assert_eq!(pool.apply(name, ((),))?, "ready");
/// # Ok(()) }
/// ```
pub struct PoolBuilder {
    processes: Option<usize>,
    init: Option<TaskMsg>,
    maxtasks: Option<u64>,
    start_method: Option<StartMethod>,
    task_timeout: Option<Duration>,
    allow_children: bool,
}

impl PoolBuilder {
    /// Number of workers; default [`cpu_count`](proc_core::cpu_count). Zero is an error at
    /// [`build`](PoolBuilder::build).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(3).build()?;
    /// assert_eq!(pool.processes(), 3);
    /// assert_eq!(pool.map(square, 1..=3)?, [1, 4, 9]);
    /// # Ok(()) }
    /// ```
    pub fn processes(mut self, n: usize) -> Self {
        self.processes = Some(n);
        self
    }

    /// Python's `initializer` and `initargs`: run once in every worker before its first task,
    /// replacement workers included. If it panics, the pool is broken: its tasks fail with
    /// [`TaskError::InitializerFailed`] instead of workers being restarted for ever.
    ///
    /// ```
    /// use proc_pool::Pool;
    /// use std::sync::OnceLock;
    ///
    /// // Per-worker state, set up once in every worker (Python: a global set by the initializer).
    /// static GREETING: OnceLock<String> = OnceLock::new();
    ///
    /// fn setup(greeting: String) {
    ///     GREETING.set(greeting).unwrap();
    /// }
    ///
    /// fn greet(name: String) -> String {
    ///     format!("{} {name}", GREETING.get().unwrap())
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(2).initializer(setup, ("hello".to_string(),)).build()?;
    /// assert_eq!(pool.map(greet, ["ann".to_string(), "bob".to_string()])?, ["hello ann", "hello bob"]);
    /// # Ok(()) }
    /// ```
    pub fn initializer<F, A>(mut self, f: F, args: A) -> Self
    where
        F: Target<A, Output = ()>,
        A: Serialize + DeserializeOwned + 'static,
    {
        let f = SharedFn::new(move |a: A| f.call(a));
        // An encoding failure is kept and reported by `build`.
        self.init = Some(match Payload::encode(&(f, args)) {
            Ok(payload) => TaskMsg {
                id: INIT_ID,
                run: SharedFn::new(task::run_init::<A>),
                payload,
                kind: None,
            },
            Err(e) => TaskMsg {
                id: INIT_ID,
                run: bad_init(),
                payload: Payload { bytes: e.into_bytes(), fds: Vec::new() },
                kind: None,
            },
        });
        self
    }

    /// Python's `maxtasksperchild`: a worker ends after this many tasks (a task is one chunk of a
    /// `map`) and a fresh one takes its place.
    ///
    /// ```
    /// use proc_pool::Pool;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// /// How many tasks this worker process has run, this one included.
    /// fn tasks_run_here() -> u32 {
    ///     static RAN: AtomicU32 = AtomicU32::new(0);
    ///     RAN.fetch_add(1, Ordering::Relaxed) + 1
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(1).maxtasksperchild(2).build()?;
    /// let counts: Vec<u32> = (0..4).map(|_| pool.apply(tasks_run_here, ())).collect::<Result<_, _>>()?;
    /// assert_eq!(counts, [1, 2, 1, 2]); // a fresh worker after every second task
    /// # Ok(()) }
    /// ```
    pub fn maxtasksperchild(mut self, n: u64) -> Self {
        self.maxtasks = Some(n.max(1));
        self
    }

    /// How workers are started; default [`get_start_method`](proc_core::get_start_method).
    ///
    /// ```
    /// use proc_core::StartMethod;
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(2).start_method(StartMethod::FORKSERVER).build()?;
    /// assert_eq!(pool.apply(square, (7,))?, 49);
    /// # Ok(()) }
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = Some(method);
        self
    }

    /// A task that runs longer than this is killed with its worker and fails with
    /// [`TaskError::TimedOut`]; the worker is replaced. The time counts from when the worker
    /// becomes free for the task.
    ///
    /// ```
    /// use proc_pool::{Pool, TaskError};
    /// use std::time::Duration;
    ///
    /// fn stuck() {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(2).task_timeout(Duration::from_millis(500)).build()?;
    /// let hung = pool.apply_async(stuck, ())?;
    /// assert_eq!(pool.apply(square, (3,))?, 9); // the other worker goes on meanwhile
    /// assert_eq!(hung.get(), Err(TaskError::TimedOut { limit: Duration::from_millis(500) }));
    /// assert_eq!(pool.apply(square, (4,))?, 16); // a fresh worker took the stuck one's place
    /// # Ok(()) }
    /// ```
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = Some(timeout);
        self
    }

    /// Lets tasks start processes (and pools) of their own. Workers are daemonic by default, and,
    /// as in Python, daemonic processes may not have children: a task that tries gets a typed
    /// error. With this, workers are not daemonic; they still end when the pool does, because
    /// their task connection closes.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_pool::Pool;
    ///
    /// fn double(x: u32) -> u32 {
    ///     x * 2
    /// }
    ///
    /// /// A task that runs its work in a process of its own.
    /// fn in_a_child(x: u32) -> Result<u32, String> {
    ///     let mut p = Process::new(double, (x,));
    ///     p.start().map_err(|e| e.to_string())?;
    ///     p.join().map_err(|e| e.to_string())
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let strict = Pool::new(1)?;
    /// assert!(strict.apply(in_a_child, (1,))?.is_err()); // daemonic workers have no children
    /// let pool = Pool::builder().processes(1).allow_children(true).build()?;
    /// assert_eq!(pool.apply(in_a_child, (21,))?, Ok(42));
    /// # Ok(()) }
    /// ```
    pub fn allow_children(mut self, allow: bool) -> Self {
        self.allow_children = allow;
        self
    }

    /// Starts the workers.
    ///
    /// ```
    /// use proc_pool::{Pool, PoolError};
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(2).build()?;
    /// assert_eq!(pool.apply(square, (4,))?, 16);
    /// assert!(matches!(Pool::builder().processes(0).build(), Err(PoolError::NoProcesses)));
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<Pool, PoolError> {
        Pool::start(self)
    }
}

/// The initializer stand-in when the initializer's arguments could not be encoded: fails with the
/// message it carries, in the worker, so the pool reports it as a broken initializer.
fn bad_init() -> task::Trampoline {
    SharedFn::new(|p: Payload| Err(String::from_utf8_lossy(&p.bytes).into_owned()))
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("processes", &self.processes)
            .field("initializer", &self.init.is_some())
            .field("maxtasksperchild", &self.maxtasks)
            .field("start_method", &self.start_method)
            .field("task_timeout", &self.task_timeout)
            .field("allow_children", &self.allow_children)
            .finish()
    }
}

struct Config {
    processes: usize,
    init: Option<TaskMsg>,
    maxtasks: Option<u64>,
    start_method: StartMethod,
    task_timeout: Option<Duration>,
    allow_children: bool,
}

struct Pending {
    task: Arc<TaskMsg>,
    sink: Sink,
}

struct InFlight {
    task: Arc<TaskMsg>,
    sink: Sink,
    sent_at: Instant,
}

/// The pool's view of one worker slot.
struct Worker {
    /// Bumped each time the slot gets a new worker.
    generation: u64,
    process: Option<Process<()>>,
    pid: Option<Pid>,
    current: Option<Shared<AtomicU64>>,
    in_flight: VecDeque<InFlight>,
    /// Tasks written to this worker (for `maxtasksperchild`).
    sent: u64,
    /// Its task connection is open and tasks may be written.
    writable: bool,
    /// When its first in-flight task became its first.
    head_since: Instant,
    last_reply: Instant,
    /// It was killed for running over the task timeout.
    timed_out: bool,
}

impl Worker {
    fn empty() -> Worker {
        let now = Instant::now();
        Worker {
            generation: 0,
            process: None,
            pid: None,
            current: None,
            in_flight: VecDeque::new(),
            sent: 0,
            writable: false,
            head_since: now,
            last_reply: now,
            timed_out: false,
        }
    }

    /// How many more tasks it may be sent now, when the next one is expected to take `cost`
    /// seconds (`None`: not known yet).
    fn room(&self, maxtasks: Option<u64>, cost: Option<f64>) -> usize {
        if !self.writable {
            return 0;
        }
        // Until a task time is known, one at a time: the first tasks spread over all workers.
        // Then enough to keep the worker busy while its replies travel (one queued behind the
        // running one at least), and no more, so that work still queued here goes to whichever
        // worker frees up first.
        let depth = match cost {
            None => 1,
            Some(c) => ((PIPELINE_TIME / c.max(1e-9)).ceil() as usize + 1).clamp(2, MAX_DEPTH),
        };
        // Top up only once half the queue drained, so tasks go out in batches rather than one
        // per reply.
        if self.in_flight.len() > depth / 2 {
            return 0;
        }
        let mut room = depth - self.in_flight.len();
        if let Some(max) = maxtasks {
            room = room.min(max.saturating_sub(self.sent) as usize);
        }
        room
    }
}

struct State {
    workers: Vec<Worker>,
    pending: VecDeque<Pending>,
    next_id: u64,
    closed: bool,
    terminated: bool,
    broken: Option<String>,
    /// The feeder has work: queued tasks and room, or task connections to close.
    feed: bool,
    /// The reader thread has finished: every worker is gone.
    finished: bool,
    /// What one call of each function has taken, in seconds (a moving average).
    costs: HashMap<TypeId, f64>,
}

impl State {
    /// The expected time of the next queued task, if its function has run here before.
    fn head_cost(&self) -> Option<f64> {
        let kind = self.pending.front()?.task.kind?;
        self.costs.get(&kind.function).map(|c| c * kind.calls as f64)
    }
}

struct WriterSlot {
    generation: u64,
    conn: Option<Connection<Batch, ()>>,
}

struct Inner {
    config: Config,
    /// Where workers put their replies (see `task::worker_main`).
    results: Queue<Reply>,
    state: Mutex<State>,
    /// The feeder waits on this.
    feed_cond: Condvar,
    writers: Vec<Mutex<WriterSlot>>,
    /// Wakes the reader thread.
    wake: UnixStream,
    callbacks: Mutex<Option<Sender<CallbackJob>>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent before anything that can panic
        // (user code never runs under this lock), so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn writer(&self, i: usize) -> MutexGuard<'_, WriterSlot> {
        self.writers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake_reader(&self) {
        let _ = (&self.wake).write(&[1]);
    }

    fn wake_feeder(&self, st: &mut State) {
        st.feed = true;
        self.feed_cond.notify_one();
    }

    fn callback_sender(&self) -> Sender<CallbackJob> {
        self.callbacks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| mpsc::channel().0)
    }
}

/// A pool of worker processes (Python's `multiprocessing.Pool`).
///
/// Functions given to the pool are `fn` items or non-capturing closures, as for
/// [`Process`](proc_core::Process); their arguments and results are serde values (and may hold
/// handles). What Python's `Pool` gets wrong is made right here:
/// - a worker that dies (SIGKILL, abort, the OOM killer) fails exactly the task it was running
///   with [`TaskError::WorkerDied`], naming the signal; the tasks queued behind it run elsewhere, a
///   replacement starts, and nothing hangs;
/// - a task that panics fails with its message; the worker goes on;
/// - a per-task timeout ([`PoolBuilder::task_timeout`]) kills and replaces a stuck worker;
/// - a failing initializer breaks the pool with a typed error instead of restarting workers for
///   ever;
/// - dropping the pool terminates its workers and never hangs.
///
/// Handles (files, sockets) inside a task's arguments: the pool keeps its own copy until the
/// task's reply comes, so that a task whose worker dies before starting it can run elsewhere. A
/// socket handed to a task therefore reaches end of stream for its peer when the task returns, not
/// when the task drops it; shut it down explicitly (`TcpStream::shutdown`) to end it earlier.
///
/// ```
/// use proc_pool::Pool;
///
/// fn square(x: u64) -> u64 { x * x }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::new(2)?;
/// assert_eq!(pool.map(square, 0..5)?, vec![0, 1, 4, 9, 16]);
/// assert_eq!(pool.apply(square, (9,))?, 81);
/// pool.close();
/// pool.join()?;
/// # Ok(()) }
/// ```
pub struct Pool {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    callback_thread: Mutex<Option<JoinHandle<()>>>,
}

impl Pool {
    /// A pool of `processes` workers, started with the default start method.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Python: `with Pool(4) as p: print(p.map(square, range(10)))`
    /// let pool = Pool::new(4)?;
    /// assert_eq!(pool.map(square, 0..10)?, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    /// # Ok(()) }
    /// ```
    pub fn new(processes: usize) -> Result<Pool, PoolError> {
        Pool::builder().processes(processes).build()
    }

    /// A builder for the other options.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder().processes(2).maxtasksperchild(10).build()?;
    /// assert_eq!(pool.processes(), 2);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            processes: None,
            init: None,
            maxtasks: None,
            start_method: None,
            task_timeout: None,
            allow_children: false,
        }
    }

    fn start(b: PoolBuilder) -> Result<Pool, PoolError> {
        let processes = b.processes.unwrap_or_else(proc_core::cpu_count);
        if processes == 0 {
            return Err(PoolError::NoProcesses);
        }
        let config = Config {
            processes,
            init: b.init,
            maxtasks: b.maxtasks,
            start_method: b.start_method.unwrap_or_else(proc_core::get_start_method),
            task_timeout: b.task_timeout,
            allow_children: b.allow_children,
        };
        let (wake, wake_rx) = UnixStream::pair().map_err(|e| PoolError::Start(e.into()))?;
        wake.set_nonblocking(true).map_err(|e| PoolError::Start(e.into()))?;
        wake_rx.set_nonblocking(true).map_err(|e| PoolError::Start(e.into()))?;

        let results = Queue::new().map_err(|e| PoolError::Start(e.into()))?;
        let mut workers = Vec::with_capacity(processes);
        let mut writers = Vec::with_capacity(processes);
        let mut readers = Vec::with_capacity(processes);
        for slot in 0..processes {
            let started = match start_worker(&config, &results, slot) {
                Ok(s) => s,
                Err(e) => {
                    for w in &workers {
                        kill_quietly(w);
                    }
                    return Err(e);
                }
            };
            let mut w = Worker::empty();
            w.generation = 1;
            w.pid = started.process.pid();
            w.process = Some(started.process);
            w.current = Some(started.current);
            w.writable = true;
            workers.push(w);
            writers.push(Mutex::new(WriterSlot { generation: 1, conn: Some(started.writer) }));
            readers.push(Some(started.reader));
        }

        let (cb_tx, cb_rx) = mpsc::channel::<CallbackJob>();
        let inner = Arc::new(Inner {
            config,
            results,
            state: Mutex::new(State {
                workers,
                pending: VecDeque::new(),
                next_id: 0,
                closed: false,
                terminated: false,
                broken: None,
                feed: false,
                finished: false,
                costs: HashMap::new(),
            }),
            feed_cond: Condvar::new(),
            writers,
            wake,
            callbacks: Mutex::new(Some(cb_tx)),
        });

        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| PoolError::Start(e.into()))
        };
        let callback_thread = spawn(
            "pool-callbacks",
            Box::new(move || {
                for job in cb_rx {
                    job();
                }
            }),
        )?;
        let reader = {
            let inner = inner.clone();
            spawn("pool-reader", Box::new(move || reader_loop(&inner, readers, wake_rx)))
        };
        let feeder = {
            let inner = inner.clone();
            spawn("pool-feeder", Box::new(move || feeder_loop(&inner)))
        };
        let pool = Pool {
            inner,
            threads: Mutex::new(Vec::new()),
            callback_thread: Mutex::new(Some(callback_thread)),
        };
        // If a thread could not start, dropping the pool terminates what did.
        pool.threads.lock().unwrap_or_else(|e| e.into_inner()).push(reader?);
        pool.threads.lock().unwrap_or_else(|e| e.into_inner()).push(feeder?);
        Ok(pool)
    }

    /// Number of worker processes.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(Pool::new(3)?.processes(), 3);
    /// // Python's `Pool()`: one worker per CPU.
    /// let pool = Pool::builder().build()?;
    /// assert_eq!(pool.processes(), proc_core::cpu_count());
    /// # Ok(()) }
    /// ```
    pub fn processes(&self) -> usize {
        self.inner.config.processes
    }

    /// The pids of the workers alive now (a worker that died and was not replaced yet is left
    /// out).
    ///
    /// ```
    /// use proc_core::Pid;
    /// use proc_pool::Pool;
    ///
    /// fn my_pid() -> Pid {
    ///     Pid::current()
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let pids = pool.worker_pids();
    /// assert_eq!(pids.len(), 2);
    /// assert!(pids.contains(&pool.apply(my_pid, ())?));
    /// # Ok(()) }
    /// ```
    pub fn worker_pids(&self) -> Vec<Pid> {
        self.inner
            .lock()
            .workers
            .iter()
            .filter(|w| w.process.is_some())
            .filter_map(|w| w.pid)
            .collect()
    }

    // ---- submitting -------------------------------------------------------------------------

    /// Checks that the pool takes work.
    fn accepting(st: &State) -> Result<(), PoolError> {
        if st.terminated {
            Err(PoolError::Terminated)
        } else if let Some(m) = &st.broken {
            Err(PoolError::Broken { message: m.clone() })
        } else if st.closed {
            Err(PoolError::Closed)
        } else {
            Ok(())
        }
    }

    /// Queues tasks and writes what fits to the workers.
    fn submit(
        &self,
        tasks: Vec<(Payload, task::Trampoline, Kind, Sink)>,
        lazy: bool,
    ) -> Result<(), PoolError> {
        {
            let mut st = self.inner.lock();
            if lazy {
                // An `imap` iterator goes on after `close`, as its tasks belong to a call made
                // before it.
                if st.terminated {
                    return Err(PoolError::Terminated);
                }
                if let Some(m) = &st.broken {
                    return Err(PoolError::Broken { message: m.clone() });
                }
            } else {
                Self::accepting(&st)?;
            }
            for (payload, run, kind, sink) in tasks {
                let id = st.next_id;
                st.next_id += 1;
                let task = Arc::new(TaskMsg { id, run, payload, kind: Some(kind) });
                st.pending.push_back(Pending { task, sink });
            }
        }
        pump(&self.inner);
        Ok(())
    }

    /// Runs `f(args…)` in a worker and waits for the result (Python's `apply`).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn power(base: u64, exp: u32) -> u64 {
    ///     base.pow(exp)
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// assert_eq!(pool.apply(power, (2, 10))?, 1024);
    /// assert_eq!(pool.apply(|| String::from("no arguments"), ())?, "no arguments");
    /// # Ok(()) }
    /// ```
    pub fn apply<F, A>(&self, f: F, args: A) -> Result<F::Output, PoolError>
    where
        F: Target<A>,
        A: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + Send + 'static,
    {
        Ok(self.apply_async(f, args)?.get()?)
    }

    /// Starts `f(args…)` in a worker and returns at once (Python's `apply_async`).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let pending: Vec<_> = (1..=4).map(|x| pool.apply_async(square, (x,))).collect::<Result<_, _>>()?;
    /// // ... do other work here ...
    /// let results: Vec<u64> = pending.into_iter().map(|r| r.get()).collect::<Result<_, _>>()?;
    /// assert_eq!(results, [1, 4, 9, 16]);
    /// # Ok(()) }
    /// ```
    pub fn apply_async<F, A>(&self, f: F, args: A) -> Result<AsyncResult<F::Output>, PoolError>
    where
        F: Target<A>,
        A: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async_with(f, args, Callbacks::new())
    }

    /// [`apply_async`](Pool::apply_async) with Python's `callback` / `error_callback`, run in this
    /// process on the pool's callback thread.
    ///
    /// ```
    /// use proc_pool::{Callbacks, Pool};
    /// use std::sync::mpsc;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = Callbacks::new()
    ///     .on_success(move |v: &u64| tx.send(*v).unwrap())
    ///     .on_error(|e| eprintln!("task failed: {e}"));
    /// pool.apply_async_with(square, (9,), callbacks)?;
    /// assert_eq!(rx.recv()?, 81);
    /// # Ok(()) }
    /// ```
    pub fn apply_async_with<F, A>(
        &self,
        f: F,
        args: A,
        callbacks: Callbacks<F::Output>,
    ) -> Result<AsyncResult<F::Output>, PoolError>
    where
        F: Target<A>,
        A: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + Send + 'static,
    {
        let g = SharedFn::new(move |a: A| f.call(a));
        let payload =
            Payload::encode(&(g, std::slice::from_ref(&args))).map_err(PoolError::Encode)?;
        let slot = Slot::new();
        let delivery = Delivery::new(slot.clone(), callbacks, &self.inner.callback_sender());
        let sink: Sink = Box::new(move |outcome| {
            let value = outcome.and_then(decode_results::<F::Output>).and_then(|mut v| {
                v.pop().unwrap_or_else(|| Err(TaskError::Message("an empty reply".into())))
            });
            delivery.deliver(value);
        });
        let run = task::chunk_trampoline::<A, F::Output>();
        self.submit(vec![(payload, run, Kind::of::<F>(1), sink)], false)?;
        Ok(AsyncResult::new(slot))
    }

    /// Applies `f` to every item and returns the results in input order (Python's `map`). The
    /// input is cut into chunks by Python's formula (about four chunks per worker); if any item
    /// fails, the call fails with [`PoolError::Item`] naming it.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// assert_eq!(pool.map(square, [3, 1, 2])?, [9, 1, 4]);
    /// let lengths = pool.map(|s: String| s.len(), ["a".to_string(), "abc".to_string()])?;
    /// assert_eq!(lengths, [1, 3]);
    /// # Ok(()) }
    /// ```
    pub fn map<F, A, R, I>(&self, f: F, items: I) -> Result<Vec<R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(f, items, None, Callbacks::new())?.get()
    }

    /// [`map`](Pool::map) with an explicit `chunksize` (items per task).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// // Many cheap items: bigger chunks mean fewer messages.
    /// let squares = pool.map_chunked(square, 0..1000, 100)?;
    /// assert_eq!(squares.len(), 1000);
    /// assert_eq!(squares[999], 999 * 999);
    /// # Ok(()) }
    /// ```
    pub fn map_chunked<F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(f, items, Some(chunksize), Callbacks::new())?.get()
    }

    /// Like [`map`](Pool::map) but returns at once (Python's `map_async`).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let r = pool.map_async(square, 1..=3)?;
    /// // ... do other work here ...
    /// assert_eq!(r.get()?, [1, 4, 9]);
    /// # Ok(()) }
    /// ```
    pub fn map_async<F, A, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<AsyncResult<Vec<R>, PoolError>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(f, items, None, Callbacks::new())
    }

    /// [`map_async`](Pool::map_async) with a `chunksize` (`None`: Python's default) and callbacks:
    /// `on_success` gets the whole list, `on_error` the first failure.
    ///
    /// ```
    /// use proc_pool::{Callbacks, Pool};
    /// use std::sync::mpsc;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = Callbacks::new().on_success(move |all: &Vec<u64>| tx.send(all.iter().sum::<u64>()).unwrap());
    /// let r = pool.map_async_with(square, 1..=4, Some(2), callbacks)?;
    /// assert_eq!(r.get()?, [1, 4, 9, 16]);
    /// assert_eq!(rx.recv()?, 30);
    /// # Ok(()) }
    /// ```
    pub fn map_async_with<F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>, PoolError>,
    ) -> Result<AsyncResult<Vec<R>, PoolError>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunksize =
            chunksize.unwrap_or_else(|| default_chunksize(items.len(), self.processes())).max(1);
        let g = SharedFn::new(f);
        let run = task::chunk_trampoline::<A, R>();
        let slot = Slot::new();
        let delivery = Delivery::new(slot.clone(), callbacks, &self.inner.callback_sender());
        let n = items.len();
        if n == 0 {
            delivery.deliver(Ok(Vec::new()));
            return Ok(AsyncResult::new(slot));
        }
        let collector = Arc::new(Mutex::new(MapCollector {
            results: (0..n).map(|_| None).collect(),
            remaining: n.div_ceil(chunksize),
            delivery: Some(delivery),
        }));
        let mut tasks = Vec::with_capacity(n.div_ceil(chunksize));
        for (c, chunk) in items.chunks(chunksize).enumerate() {
            let payload = Payload::encode(&(g, chunk)).map_err(PoolError::Encode)?;
            let collector = collector.clone();
            let start = c * chunksize;
            let sink: Sink = Box::new(move |outcome| {
                let results = outcome.and_then(decode_results::<R>);
                lock_ignoring_poison(&collector).chunk_done(start, results);
            });
            tasks.push((payload, run, Kind::of::<F>(chunk.len()), sink));
        }
        self.submit(tasks, false)?;
        Ok(AsyncResult::new(slot))
    }

    /// `f(*args)` for every tuple of arguments, in input order (Python's `starmap`).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn add(a: i32, b: i32) -> i32 {
    ///     a + b
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// // Python: `pool.starmap(add, [(1, 2), (3, 4)])`
    /// assert_eq!(pool.starmap(add, [(1, 2), (3, 4)])?, [3, 7]);
    /// # Ok(()) }
    /// ```
    pub fn starmap<F, A, I>(&self, f: F, items: I) -> Result<Vec<F::Output>, PoolError>
    where
        F: Target<A>,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + Send + 'static,
    {
        self.starmap_async(f, items)?.get()
    }

    /// Like [`starmap`](Pool::starmap) but returns at once (Python's `starmap_async`).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn repeat(s: String, n: usize) -> String {
    ///     s.repeat(n)
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let r = pool.starmap_async(repeat, [("ab".to_string(), 2), ("c".to_string(), 3)])?;
    /// assert_eq!(r.get()?, ["abab", "ccc"]);
    /// # Ok(()) }
    /// ```
    pub fn starmap_async<F, A, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<AsyncResult<Vec<F::Output>, PoolError>, PoolError>
    where
        F: Target<A>,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(move |a: A| f.call(a), items, None, Callbacks::new())
    }

    /// A lazy, ordered map (Python's `imap`): items are read from `items` as results are taken,
    /// with a bounded look-ahead, so an endless iterator works. One item per task; see
    /// [`imap_chunked`](Pool::imap_chunked).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// // An endless input: only what is taken is computed (plus a bounded look-ahead).
    /// for (x, r) in (1..).zip(pool.imap(square, 1..)?).take(5) {
    ///     assert_eq!(r?, x * x);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn imap<F, A, R, I>(&self, f: F, items: I) -> Result<Imap<'_, I::IntoIter, R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.imap_chunked(f, items, 1)
    }

    /// [`imap`](Pool::imap) with `chunksize` items per task.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let total: u64 = pool.imap_chunked(square, 0..1000, 50)?.sum::<Result<u64, _>>()?;
    /// assert_eq!(total, (0..1000u64).map(|x| x * x).sum());
    /// # Ok(()) }
    /// ```
    pub fn imap_chunked<F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<Imap<'_, I::IntoIter, R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.start_imap(f, items, chunksize, ImapOrder::Ordered)
    }

    /// Like [`imap`](Pool::imap) but yields results in the order they complete (Python's
    /// `imap_unordered`).
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let mut squares: Vec<u64> = pool.imap_unordered(square, 0..8)?.collect::<Result<_, _>>()?;
    /// squares.sort(); // the order is the order of completion
    /// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
    /// # Ok(()) }
    /// ```
    pub fn imap_unordered<F, A, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<Imap<'_, I::IntoIter, R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.imap_unordered_chunked(f, items, 1)
    }

    /// [`imap_unordered`](Pool::imap_unordered) with `chunksize` items per task.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let results = pool.imap_unordered_chunked(square, 0..100, 10)?;
    /// let total: u64 = results.sum::<Result<u64, _>>()?;
    /// assert_eq!(total, (0..100u64).map(|x| x * x).sum());
    /// # Ok(()) }
    /// ```
    pub fn imap_unordered_chunked<F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<Imap<'_, I::IntoIter, R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.start_imap(f, items, chunksize, ImapOrder::Unordered)
    }

    /// The iterator of [`imap_chunked`](Pool::imap_chunked) and
    /// [`imap_unordered_chunked`](Pool::imap_unordered_chunked).
    fn start_imap<F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
        order: ImapOrder,
    ) -> Result<Imap<'_, I::IntoIter, R>, PoolError>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        Self::accepting(&self.inner.lock())?;
        Ok(Imap::new(
            self,
            SharedFn::new(f),
            TypeId::of::<F>(),
            items.into_iter(),
            chunksize.max(1),
            order,
        ))
    }

    /// Submits one chunk for an `imap` iterator.
    pub(crate) fn submit_chunk<A, R>(
        &self,
        f: SharedFn<A, R>,
        chunk: &[A],
        function: TypeId,
        sink: Sink,
    ) -> Result<(), PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let payload = Payload::encode(&(f, chunk)).map_err(PoolError::Encode)?;
        let kind = Kind { function, calls: chunk.len().max(1) };
        self.submit(vec![(payload, task::chunk_trampoline::<A, R>(), kind, sink)], true)
    }

    // ---- ending -----------------------------------------------------------------------------

    /// Takes no more work (Python's `close`); the workers finish what was submitted and exit.
    ///
    /// ```
    /// use proc_pool::{Pool, PoolError};
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let r = pool.map_async(square, 0..4)?;
    /// pool.close();
    /// assert!(matches!(pool.apply(square, (1,)), Err(PoolError::Closed)));
    /// pool.join()?; // the submitted work finished
    /// assert_eq!(r.get()?, [0, 1, 4, 9]);
    /// # Ok(()) }
    /// ```
    pub fn close(&self) {
        let mut st = self.inner.lock();
        if !st.closed {
            st.closed = true;
            self.inner.wake_feeder(&mut st);
        }
    }

    /// Stops at once (Python's `terminate`): kills the workers; unfinished tasks fail with
    /// [`TaskError::Terminated`].
    ///
    /// ```
    /// use proc_pool::{Pool, TaskError};
    ///
    /// fn stuck() {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let r = pool.apply_async(stuck, ())?;
    /// pool.terminate();
    /// assert_eq!(r.get(), Err(TaskError::Terminated));
    /// pool.join()?;
    /// # Ok(()) }
    /// ```
    pub fn terminate(&self) {
        let sinks = {
            let mut st = self.inner.lock();
            if st.terminated {
                return;
            }
            st.terminated = true;
            st.closed = true;
            let mut sinks: Vec<Sink> = st.pending.drain(..).map(|p| p.sink).collect();
            for w in &mut st.workers {
                sinks.extend(w.in_flight.drain(..).map(|t| t.sink));
                w.writable = false;
                kill_quietly(w);
            }
            self.inner.wake_feeder(&mut st);
            sinks
        };
        self.inner.wake_reader();
        for s in sinks {
            s(Err(TaskError::Terminated));
        }
    }

    /// Waits for the workers to exit and every callback to run (Python's `join`); the pool must be
    /// closed or terminated first.
    ///
    /// ```
    /// use proc_core::ProcessIdentity;
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let pids = pool.worker_pids();
    /// pool.apply(square, (2,))?;
    /// pool.close();
    /// pool.join()?;
    /// // Every worker has exited.
    /// assert!(pids.iter().all(|&pid| ProcessIdentity::of(pid).is_none_or(|w| !w.is_alive())));
    /// # Ok(()) }
    /// ```
    pub fn join(&self) -> Result<(), PoolError> {
        {
            let st = self.inner.lock();
            if !st.closed && !st.terminated {
                return Err(PoolError::StillRunning);
            }
        }
        self.wait_threads();
        Ok(())
    }

    fn wait_threads(&self) {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
        // Every task is settled: no more callbacks come. Close the channel so the callback
        // thread ends after the ones queued, and wait for it unless this is it.
        self.inner.callbacks.lock().unwrap_or_else(|e| e.into_inner()).take();
        let cb = self.callback_thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(cb) = cb.filter(|cb| cb.thread().id() != std::thread::current().id()) {
            let _ = cb.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
        self.wait_threads();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("Pool")
            .field("processes", &self.inner.config.processes)
            .field("queued", &st.pending.len())
            .field("closed", &st.closed)
            .field("terminated", &st.terminated)
            .finish()
    }
}

/// Python's default `chunksize` for `map`: the items over four times the workers, rounded up.
///
/// ```
/// use proc_pool::default_chunksize;
///
/// assert_eq!(default_chunksize(100, 4), 7); // 100 / 16, rounded up
/// assert_eq!(default_chunksize(3, 4), 1);
/// assert_eq!(default_chunksize(0, 4), 0);
/// ```
pub fn default_chunksize(items: usize, processes: usize) -> usize {
    if items == 0 {
        return 0;
    }
    items.div_ceil(processes.max(1) * 4)
}

pub(crate) fn lock_ignoring_poison<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decodes a worker's list of per-call results.
pub(crate) fn decode_results<R: DeserializeOwned>(
    p: Payload,
) -> Result<Vec<Result<R, TaskError>>, TaskError> {
    let v: Vec<Result<R, String>> = p
        .decode()
        .map_err(|e| TaskError::Message(format!("the result could not be decoded: {e}")))?;
    Ok(v.into_iter().map(|r| r.map_err(|message| TaskError::Panicked { message })).collect())
}

struct MapCollector<R> {
    results: Vec<Option<R>>,
    remaining: usize,
    delivery: Option<Delivery<Vec<R>, PoolError>>,
}

impl<R: Send + 'static> MapCollector<R> {
    fn chunk_done(&mut self, start: usize, results: Result<Vec<Result<R, TaskError>>, TaskError>) {
        if self.delivery.is_none() {
            return; // failed already
        }
        let failure = match results {
            Err(error) => Some(PoolError::Item { index: start, error }),
            Ok(values) => {
                let mut failure = None;
                for (k, v) in values.into_iter().enumerate() {
                    match v {
                        Ok(v) if start + k < self.results.len() => {
                            self.results[start + k] = Some(v)
                        }
                        Ok(_) => {
                            failure = Some(PoolError::Item {
                                index: start + k,
                                error: TaskError::Message("more results than items".into()),
                            })
                        }
                        Err(error) => {
                            failure = Some(PoolError::Item { index: start + k, error });
                            break;
                        }
                    }
                }
                failure
            }
        };
        if let Some(f) = failure {
            if let Some(d) = self.delivery.take() {
                d.deliver(Err(f));
            }
            return;
        }
        self.remaining -= 1;
        if self.remaining == 0 {
            let results: Option<Vec<R>> = std::mem::take(&mut self.results).into_iter().collect();
            let value = results.ok_or_else(|| PoolError::Item {
                index: 0,
                error: TaskError::Message("a reply with too few results".into()),
            });
            if let Some(d) = self.delivery.take() {
                d.deliver(value);
            }
        }
    }
}

// ---- workers ----------------------------------------------------------------------------------

struct Started {
    process: Process<()>,
    writer: Connection<Batch, ()>,
    reader: Connection<(), Reply>,
    current: Shared<AtomicU64>,
}

fn start_worker(
    config: &Config,
    results: &Queue<Reply>,
    slot: usize,
) -> Result<Started, PoolError> {
    let io = |e: std::io::Error| PoolError::Start(e.into());
    let (mut writer, mut task_end) = Pipe::duplex::<Batch, ()>().map_err(io)?;
    let (mut reader, mut reply_end) = Pipe::duplex::<(), Reply>().map_err(io)?;
    let big = 1 << 40;
    writer.set_max_message_len(big);
    task_end.set_max_message_len(big);
    reader.set_max_message_len(big);
    reply_end.set_max_message_len(big);
    let current = Shared::new(AtomicU64::new(0)).map_err(io)?;
    let init = match &config.init {
        Some(t) => Some(TaskMsg {
            id: t.id,
            run: t.run,
            payload: Payload {
                bytes: t.payload.bytes.clone(),
                fds: t
                    .payload
                    .fds
                    .iter()
                    .map(|fd| fd.try_clone())
                    .collect::<Result<_, _>>()
                    .map_err(io)?,
            },
            kind: None,
        }),
        None => None,
    };
    let n = WORKER_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    let kind = match config.start_method.name() {
        "fork" => "Fork",
        "forkserver" => "ForkServer",
        _ => "Spawn",
    };
    let mut process = Process::builder()
        .name(format!("{kind}PoolWorker-{n}"))
        .daemon(!config.allow_children)
        .start_method(config.start_method)
        .target(
            task::worker_main,
            (task_end, reply_end, results.clone(), current.clone(), slot as u32, init),
        );
    process.start()?;
    Ok(Started { process, writer, reader, current })
}

fn kill_quietly(w: &Worker) {
    if let Some(p) = &w.process {
        let _ = p.kill();
    }
}

/// How a worker ended, after its reply connection reached end of stream.
fn reap(mut process: Process<()>) -> ExitStatus {
    let status = match process.join_timeout(REAP_BOUND) {
        Ok(()) => return ExitStatus::Exited(0),
        Err(JoinError::Timeout) => {
            let _ = process.kill();
            let _ = process.join_timeout(REAP_BOUND);
            process.exit_status()
        }
        Err(e) => e.exit_status().or_else(|| process.exit_status()),
    };
    status.unwrap_or(ExitStatus::Exited(1))
}

// ---- the feeder --------------------------------------------------------------------------------

/// Writes queued tasks to workers with room, in as few messages as fit. Called by submitters and
/// by the feeder thread.
fn pump(inner: &Inner) {
    let maxtasks = inner.config.maxtasks;
    loop {
        let i = {
            let st = inner.lock();
            if st.terminated || st.pending.is_empty() {
                return;
            }
            // The worker with the least queued that has room.
            let cost = st.head_cost();
            match (0..st.workers.len())
                .filter(|&i| st.workers[i].room(maxtasks, cost) > 0)
                .min_by_key(|&i| st.workers[i].in_flight.len())
            {
                Some(i) => i,
                None => return,
            }
        };
        let mut wr = inner.writer(i);
        let (batch, generation, last, was_idle) = {
            let mut st = inner.lock();
            let st = &mut *st;
            let w = &mut st.workers[i];
            if wr.conn.is_none() || wr.generation != w.generation {
                continue;
            }
            // Share what is queued among the workers with room, so one worker does not take
            // everything while another idles.
            let cost = st.head_cost();
            let sharers = st.workers.iter().filter(|w| w.room(maxtasks, cost) > 0).count().max(1);
            let w = &mut st.workers[i];
            let room = w.room(maxtasks, cost).min(st.pending.len().div_ceil(sharers).max(1));
            let now = Instant::now();
            let was_idle = w.in_flight.is_empty();
            if was_idle {
                w.head_since = now;
            }
            let mut batch = Vec::new();
            let (mut fds, mut bytes) = (0, 0);
            while batch.len() < room {
                let Some(p) = st.pending.front() else { break };
                let (f, b) = (p.task.payload.fds.len(), p.task.payload.bytes.len());
                if !batch.is_empty() && (fds + f > MAX_BATCH_FDS || bytes + b > MAX_BATCH_BYTES) {
                    break;
                }
                fds += f;
                bytes += b;
                let p = st.pending.pop_front().expect("checked above");
                batch.push(p.task.clone());
                w.in_flight.push_back(InFlight { task: p.task, sink: p.sink, sent_at: now });
            }
            if batch.is_empty() {
                continue;
            }
            w.sent += batch.len() as u64;
            let last = maxtasks.is_some_and(|m| w.sent >= m);
            if last {
                w.writable = false;
            }
            (Batch(batch), w.generation, last, was_idle)
        };
        let sent = wr.conn.as_mut().expect("checked above").send(&batch);
        if last || sent.is_err() {
            wr.conn = None;
        }
        drop(wr);
        match sent {
            Err(e) => undo_send(inner, i, generation, &batch, &e),
            // A worker that was idle is running a task now: the reader may be asleep with no
            // deadline (or a later one), so it must look again at when the earliest task runs over.
            Ok(()) if was_idle && inner.config.task_timeout.is_some() => inner.wake_reader(),
            Ok(()) => {}
        }
    }
}

/// A batch could not be written: the worker is gone (its tasks go back to the queue; the reader
/// thread replaces it) or the batch could not be encoded (its tasks fail).
fn undo_send(inner: &Inner, i: usize, generation: u64, batch: &Batch, e: &SendError) {
    let gone = matches!(e, SendError::Disconnected | SendError::Io(_) | SendError::Closed);
    let mut failed = Vec::new();
    {
        let mut st = inner.lock();
        let st = &mut *st;
        let w = &mut st.workers[i];
        if w.generation != generation {
            return; // the reader thread has dealt with this worker already
        }
        w.writable = false;
        let ids: Vec<u64> = batch.0.iter().map(|t| t.id).collect();
        let mut taken = Vec::new();
        w.in_flight.retain_mut(|t| {
            if ids.contains(&t.task.id) {
                taken.push(std::mem::replace(&mut t.sink, Box::new(|_| {})));
                false
            } else {
                true
            }
        });
        w.sent = w.sent.saturating_sub(ids.len() as u64);
        if gone {
            for (task, sink) in batch.0.iter().zip(taken).rev() {
                st.pending.push_front(Pending { task: task.clone(), sink });
            }
        } else {
            failed = taken;
            // This worker's connection is closed now; let it finish and be replaced.
        }
    }
    inner.wake_reader();
    for s in failed {
        s(Err(TaskError::Message(format!("the tasks could not be sent: {e}"))));
    }
}

fn feeder_loop(inner: &Inner) {
    loop {
        let closing = {
            let mut st = inner.lock();
            while !st.feed && !st.finished {
                st = inner.feed_cond.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if st.finished || st.terminated {
                // Drop the task connections so workers see end of stream.
                drop(st);
                for i in 0..inner.writers.len() {
                    inner.writer(i).conn = None;
                }
                return;
            }
            st.feed = false;
            st.closed
        };
        pump(inner);
        if closing {
            // Close the task connection of every worker once nothing is queued; each worker ends
            // after its last reply.
            for i in 0..inner.writers.len() {
                let mut wr = inner.writer(i);
                let mut st = inner.lock();
                if st.pending.is_empty() && wr.generation == st.workers[i].generation {
                    wr.conn = None;
                    st.workers[i].writable = false;
                }
            }
            inner.wake_reader();
        }
    }
}

/// A worker whose reply connection reached end of stream, and what it held.
struct Ended {
    slot: usize,
    process: Process<()>,
    pid: Option<Pid>,
    /// `id + 1` of the task it was running, 0 if none.
    current: u64,
    held: VecDeque<InFlight>,
    timed_out: bool,
}

// ---- the reader --------------------------------------------------------------------------------

fn reader_loop(
    inner: &Inner,
    mut readers: Vec<Option<Connection<(), Reply>>>,
    mut wake_rx: UnixStream,
) {
    let timeout = inner.config.task_timeout;
    loop {
        // When the earliest running task runs over its time.
        let deadline = timeout.and_then(|t| {
            let st = inner.lock();
            st.workers
                .iter()
                .filter(|w| !w.in_flight.is_empty() && !w.timed_out)
                .map(|w| w.head_since + t)
                .min()
        });

        let mut index = Vec::new();
        let ready = {
            let mut objs: Vec<&dyn Waitable> = Vec::new();
            for (i, r) in readers.iter().enumerate() {
                if let Some(r) = r {
                    objs.push(r);
                    index.push(i);
                }
            }
            let wake_fd = wake_rx.as_fd();
            objs.push(&wake_fd);
            objs.push(&inner.results);
            let wait_for = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            proc_core::wait(&objs, wait_for).unwrap_or_default()
        };

        let mut replies: Vec<Reply> = Vec::new();
        let mut ended: Vec<usize> = Vec::new();
        for k in ready {
            let Some(&i) = index.get(k) else {
                if k == index.len() {
                    let mut sink = [0u8; 64];
                    while matches!(wake_rx.read(&mut sink), Ok(n) if n > 0) {}
                }
                continue;
            };
            let conn = readers[i].as_mut().expect("listed above");
            loop {
                match conn.recv() {
                    Ok(r) => replies.push(r),
                    Err(_) => {
                        // End of stream (or garbage, which only a dying worker writes).
                        ended.push(i);
                        break;
                    }
                }
                // Go on while whole replies are buffered already; the next wait polls the rest.
                if !conn.arm() {
                    break;
                }
            }
        }
        for &i in &ended {
            readers[i] = None;
        }
        // After the connections: a worker whose end of stream was seen put its last replies
        // before it, so they are all here now.
        while let Ok(r) = inner.results.try_get() {
            replies.push(r);
        }

        let mut sinks: Vec<(Sink, Result<Payload, TaskError>)> = Vec::new();
        let mut gone: Vec<Ended> = Vec::new();
        let mut broken_now = None;
        {
            let mut st = inner.lock();
            let st = &mut *st;
            let now = Instant::now();
            for reply in replies {
                if reply.id == INIT_ID {
                    if let Err(m) = reply.outcome {
                        broken_now = Some(m);
                    }
                    continue;
                }
                let Some(w) = st.workers.get_mut(reply.slot as usize) else { continue };
                // Replies come in order, but those with handles take the other path.
                let Some(k) = w.in_flight.iter().position(|t| t.task.id == reply.id) else {
                    continue;
                };
                let t = w.in_flight.remove(k).expect("found above");
                let took = now.saturating_duration_since(t.sent_at.max(w.last_reply)).as_secs_f64();
                w.last_reply = now;
                if let Some(kind) = t.task.kind {
                    let per_call = took / kind.calls as f64;
                    st.costs
                        .entry(kind.function)
                        .and_modify(|c| *c = 0.8 * *c + 0.2 * per_call)
                        .or_insert(per_call);
                }
                w.head_since = now;
                sinks.push((t.sink, reply.outcome.map_err(TaskError::Message)));
            }
            if let Some(m) = broken_now.take() {
                if st.broken.is_none() {
                    st.broken = Some(m.clone());
                }
                let m = st.broken.clone().unwrap_or(m);
                for p in st.pending.drain(..) {
                    sinks.push((p.sink, Err(TaskError::InitializerFailed { message: m.clone() })));
                }
                for w in &mut st.workers {
                    for t in w.in_flight.drain(..) {
                        sinks.push((
                            t.sink,
                            Err(TaskError::InitializerFailed { message: m.clone() }),
                        ));
                    }
                    w.writable = false;
                    kill_quietly(w);
                }
            }
            if let Some(t) = timeout {
                for w in &mut st.workers {
                    if !w.in_flight.is_empty() && !w.timed_out && now >= w.head_since + t {
                        w.timed_out = true;
                        kill_quietly(w);
                    }
                }
            }
            for &i in &ended {
                let w = &mut st.workers[i];
                w.writable = false;
                w.generation += 1;
                let current = w.current.take().map(|c| c.load(Ordering::SeqCst)).unwrap_or(0);
                let held = std::mem::take(&mut w.in_flight);
                let timed_out = std::mem::replace(&mut w.timed_out, false);
                if let Some(process) = w.process.take() {
                    gone.push(Ended { slot: i, process, pid: w.pid, current, held, timed_out });
                }
            }
        }
        // Closing the task connection of a worker that ended lets a blocked writer go on.
        for e in &gone {
            inner.writer(e.slot).conn = None;
        }

        for (s, outcome) in sinks {
            s(outcome);
        }

        let mut requeue: Vec<(usize, VecDeque<InFlight>)> = Vec::new();
        let mut failed = Vec::new();
        for Ended { slot, process, pid, current, mut held, timed_out } in gone {
            let status = reap(process);
            // The task it was running, if it had started one of those it held.
            if held.front().is_some_and(|head| current == head.task.id.wrapping_add(1)) {
                let head = held.pop_front().expect("checked above");
                let error = match (timed_out, timeout) {
                    (true, Some(limit)) => TaskError::TimedOut { limit },
                    _ => TaskError::WorkerDied { pid: pid.unwrap_or(Pid::from_raw(0)), status },
                };
                failed.push((head.sink, error));
            }
            requeue.push((slot, held));
        }
        for (s, e) in failed {
            s(Err(e));
        }

        // Back to the queue, in order, ahead of newer work; then replace the workers.
        let mut replace = Vec::new();
        let mut late = Vec::new();
        {
            let mut st = inner.lock();
            let st = &mut *st;
            for (i, held) in requeue {
                for t in held.into_iter().rev() {
                    st.pending.push_front(Pending { task: t.task, sink: t.sink });
                }
                replace.push(i);
            }
            // Workers retired by maxtasksperchild or close end without holding anything; replace
            // them while the pool is open or work is queued.
            replace.retain(|_| {
                !st.terminated && st.broken.is_none() && (!st.closed || !st.pending.is_empty())
            });
            if st.terminated || st.broken.is_some() {
                let error = match &st.broken {
                    Some(m) => TaskError::InitializerFailed { message: m.clone() },
                    None => TaskError::Terminated,
                };
                late.extend(st.pending.drain(..).map(|p| (p.sink, error.clone())));
            }
        }
        for (s, e) in late {
            s(Err(e));
        }
        for i in replace {
            match start_worker(&inner.config, &inner.results, i) {
                Ok(s) => {
                    let generation = {
                        let st = inner.lock();
                        st.workers[i].generation
                    };
                    {
                        let mut wr = inner.writer(i);
                        wr.generation = generation;
                        wr.conn = Some(s.writer);
                    }
                    let mut st = inner.lock();
                    let w = &mut st.workers[i];
                    w.pid = s.process.pid();
                    w.process = Some(s.process);
                    w.current = Some(s.current);
                    w.sent = 0;
                    w.writable = true;
                    w.last_reply = Instant::now();
                    readers[i] = Some(s.reader);
                    if st.terminated {
                        kill_quietly(&st.workers[i]);
                    }
                }
                Err(e) => {
                    let mut st = inner.lock();
                    if st.broken.is_none() {
                        st.broken = Some(format!("a replacement worker could not be started: {e}"));
                    }
                    let m = st.broken.clone().unwrap_or_default();
                    let sinks: Vec<Sink> = st.pending.drain(..).map(|p| p.sink).collect();
                    drop(st);
                    drop_sinks_later(sinks, TaskError::InitializerFailed { message: m });
                }
            }
        }

        let mut st = inner.lock();
        if !st.pending.is_empty() || st.closed {
            inner.wake_feeder(&mut st);
        }
        let all_gone = readers.iter().all(Option::is_none);
        let idle = st.pending.is_empty() && st.workers.iter().all(|w| w.in_flight.is_empty());
        if all_gone && (st.terminated || st.broken.is_some() || (st.closed && idle)) {
            st.finished = true;
            inner.feed_cond.notify_all();
            return;
        }
        if st.broken.is_some() {
            // Nothing runs any more: end the workers that are left.
            for w in &st.workers {
                kill_quietly(w);
            }
        }
    }
}

/// Fails tasks outside the state lock.
fn drop_sinks_later(sinks: Vec<Sink>, error: TaskError) {
    for s in sinks {
        s(Err(error.clone()));
    }
}
