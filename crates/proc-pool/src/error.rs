//! The errors of the pool: [`PoolError`] for what the pool refuses or could not do, [`TaskError`] for
//! one task that did not produce its value.

use std::time::Duration;

use proc_core::{ExitStatus, Pid, StartError};

/// Why one task did not produce its value.
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
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked { .. })
    }

    /// Whether the task's worker died under it.
    pub fn is_worker_died(&self) -> bool {
        matches!(self, TaskError::WorkerDied { .. })
    }
}

/// What the pool refused or could not do.
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
    pub fn task_error(&self) -> Option<&TaskError> {
        match self {
            PoolError::Task(e) | PoolError::Item { error: e, .. } => Some(e),
            _ => None,
        }
    }
}
