//! The errors of the pool: [`PoolError`] for what the pool refuses or could not do, [`TaskError`] for
//! one task that did not produce its value.

use std::time::Duration;

use proc_core::{ExitStatus, Pid, StartError};

/// Why one task did not produce its value.
///
/// ```
/// use proc_pool::{Pool, PoolError, TaskError};
///
/// fn parse(s: String) -> u32 {
///     s.parse().expect("not a number")
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::new(1)?;
/// match pool.apply(parse, ("x".to_string(),)) {
///     Err(PoolError::Task(TaskError::Panicked { message })) => {
///         assert!(message.contains("not a number"))
///     }
///     other => panic!("expected a panic, got {other:?}"),
/// }
/// // The worker survived the panic and takes the next task.
/// assert_eq!(pool.apply(parse, ("42".to_string(),))?, 42);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked in its worker; the worker survives and goes on with other tasks.
    #[error("the task panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The worker running the task ended before the task finished: killed by a signal (SIGKILL,
    /// an abort, the OOM killer) or exited. The pool has started a replacement; tasks queued behind
    /// this one on the same worker were not started and run elsewhere.
    #[error("worker {pid} ended while running the task ({status})")]
    WorkerDied {
        /// The worker's pid.
        pid: Pid,
        /// How it ended.
        status: ExitStatus,
    },
    /// The task ran longer than the pool's task timeout; its worker was killed and replaced.
    #[error("the task ran longer than its timeout of {limit:?} and was killed with its worker")]
    TimedOut {
        /// The pool's task timeout.
        limit: Duration,
    },
    /// [`AsyncResult::get_timeout`](crate::AsyncResult::get_timeout) gave up waiting; the task
    /// goes on and the result can be waited for again.
    #[error("the result is not ready yet")]
    NotReady,
    /// The value was taken already by an earlier `get_timeout`.
    #[error("the result was already taken")]
    AlreadyTaken,
    /// The pool was terminated (or dropped) before the task finished.
    #[error("the pool was terminated before the task finished")]
    Terminated,
    /// The workers' initializer failed, so no worker can run tasks.
    #[error("the pool's initializer failed: {message}")]
    InitializerFailed {
        /// Why: the initializer's panic message.
        message: String,
    },
    /// The arguments could not be decoded in the worker, or the result could not be encoded there
    /// or decoded here.
    #[error("the task's data could not be carried: {0}")]
    Message(String),
}

impl TaskError {
    /// Whether the task panicked.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn fail(_: u8) -> u8 {
    ///     panic!("no")
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let err = pool.apply_async(fail, (0,))?.get().unwrap_err();
    /// assert!(err.is_panic());
    /// assert!(!err.is_worker_died());
    /// # Ok(()) }
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked { .. })
    }

    /// Whether the task's worker died under it.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn quit(code: i32) -> i32 {
    ///     std::process::exit(code)
    /// }
    ///
    /// fn double(x: i32) -> i32 {
    ///     x * 2
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let err = pool.apply_async(quit, (3,))?.get().unwrap_err();
    /// assert!(err.is_worker_died());
    /// // A replacement worker runs the next task.
    /// assert_eq!(pool.apply(double, (21,))?, 42);
    /// # Ok(()) }
    /// ```
    pub fn is_worker_died(&self) -> bool {
        matches!(self, TaskError::WorkerDied { .. })
    }
}

/// What the pool refused or could not do.
///
/// ```
/// use proc_pool::{Pool, PoolError};
///
/// fn double(x: i32) -> i32 {
///     x * 2
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert!(matches!(Pool::new(0), Err(PoolError::NoProcesses)));
///
/// let pool = Pool::new(1)?;
/// assert!(matches!(pool.join(), Err(PoolError::StillRunning)));
/// pool.close();
/// assert!(matches!(pool.apply(double, (1,)), Err(PoolError::Closed)));
/// pool.join()?;
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// `processes(0)` (Python: "Number of processes must be at least 1").
    #[error("a pool needs at least one process")]
    NoProcesses,
    /// Work was submitted after [`close`](crate::Pool::close) (Python: "Pool not running").
    #[error("the pool is closed")]
    Closed,
    /// Work was submitted after [`terminate`](crate::Pool::terminate).
    #[error("the pool was terminated")]
    Terminated,
    /// [`join`](crate::Pool::join) before [`close`](crate::Pool::close) or
    /// [`terminate`](crate::Pool::terminate).
    #[error("join needs the pool to be closed or terminated first")]
    StillRunning,
    /// The workers' initializer failed; the pool runs nothing.
    #[error("the pool's initializer failed: {message}")]
    Broken {
        /// The initializer's panic message.
        message: String,
    },
    /// A worker could not be started (for instance, from inside a daemonic process such as
    /// another pool's worker: Python's "daemonic processes are not allowed to have children").
    #[error("could not start a worker: {0}")]
    Start(#[from] StartError),
    /// The arguments could not be encoded; nothing was submitted.
    #[error("the arguments could not be encoded: {0}")]
    Encode(String),
    /// A task failed (`apply`).
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The task for input item `index` failed (`map`, `starmap`); the whole call fails, as in
    /// Python.
    #[error("item {index}: {error}")]
    Item {
        /// Position of the item in the input.
        index: usize,
        /// What happened to it.
        error: TaskError,
    },
}

impl PoolError {
    /// The task error inside, for `Task` and `Item`.
    ///
    /// ```
    /// use proc_pool::{Pool, PoolError};
    ///
    /// fn inverse(x: i32) -> i32 {
    ///     100 / x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let err = pool.map(inverse, [4, 2, 0, 1]).unwrap_err();
    /// assert!(matches!(err, PoolError::Item { index: 2, .. }));
    /// assert!(err.task_error().is_some_and(|e| e.is_panic()));
    /// assert!(PoolError::Closed.task_error().is_none());
    /// # Ok(()) }
    /// ```
    pub fn task_error(&self) -> Option<&TaskError> {
        match self {
            PoolError::Task(e) | PoolError::Item { error: e, .. } => Some(e),
            _ => None,
        }
    }
}
