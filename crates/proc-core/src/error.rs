//! The errors of starting, joining and signalling processes.

use std::io;

use crate::codec::{DecodeError, EncodeError};
use crate::status::ExitStatus;

/// A process could not be started.
///
/// ```
/// use proc_core::{Process, StartError};
///
/// fn work() {}
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(work, ());
/// p.start()?;
/// match p.start() {
///     Err(StartError::AlreadyStarted) => {} // Python: "cannot start a process twice"
///     other => panic!("{other:?}"),
/// }
/// p.join()?;
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `start` was called on a process that was already started (Python: "cannot start a process
    /// twice").
    #[error("cannot start a process twice")]
    AlreadyStarted,
    /// A daemon process tried to start a child (Python: "daemonic processes are not allowed to have
    /// children").
    #[error("daemonic processes are not allowed to have children")]
    DaemonicParent,
    /// The target is a capturing closure, which only the fork start method can run.
    #[error("a closure target can only be started with the fork start method, not {method}")]
    NeedsFork {
        /// The method that was asked for.
        method: crate::StartMethod,
    },
    /// This binary cannot start children of itself: its entry hook did not run and `init()` was not
    /// called (for instance, multiproc is linked into a library loaded by another program).
    #[error(
        "this process cannot start children: multiproc's entry hook did not run here and init() was not called"
    )]
    EntryHookMissing,
    /// The arguments could not be encoded for the child; nothing was started.
    #[error("the arguments could not be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// The operating system refused.
    #[error("could not start the process: {0}")]
    Io(#[from] io::Error),
}

/// `join` did not produce the child's return value.
///
/// ```
/// use proc_core::{JoinError, Process};
///
/// fn work() -> u8 {
///     1
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(work, ());
/// assert!(matches!(p.join(), Err(JoinError::NotStarted)));
/// p.start()?;
/// assert_eq!(p.join()?, 1);
/// assert!(matches!(p.join(), Err(JoinError::AlreadyJoined))); // the value was taken
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The process was never started.
    #[error("can only join a started process")]
    NotStarted,
    /// The timeout passed while the process was still running; it can be joined again.
    #[error("timed out waiting for the process to end")]
    Timeout,
    /// An earlier `join` already returned the value.
    #[error("the process was already joined")]
    AlreadyJoined,
    /// The target panicked (exit code 1); `message` is the panic's message.
    #[error("the process panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The job could not run: its arguments did not decode in the child, or its return value did
    /// not encode.
    #[error("the process failed: {message}")]
    Failed {
        /// What went wrong, as the child reported it.
        message: String,
        /// How the child ended.
        status: ExitStatus,
    },
    /// The process ended without returning: it exited early (`std::process::exit`), or a signal
    /// killed it.
    #[error("the process ended without a result: {status}")]
    Died {
        /// How it ended.
        status: ExitStatus,
    },
    /// The child's entry hook did not run, so it refused to run `main` instead of its job.
    #[error(
        "the child's entry hook did not run (call init() first thing in main on this platform)"
    )]
    EntryHookNotRun,
    /// The return value arrived but could not be decoded.
    #[error("the return value could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// Waiting failed.
    #[error("could not wait for the process: {0}")]
    Io(#[from] io::Error),
}

impl JoinError {
    /// Whether the target panicked.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn boom() {
    ///     panic!("boom")
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(boom, ());
    /// p.start()?;
    /// assert!(p.join().unwrap_err().is_panic());
    /// # Ok(()) }
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked { .. })
    }

    /// Whether the timeout passed.
    ///
    /// ```
    /// use proc_core::Process;
    /// use std::time::Duration;
    ///
    /// fn wait_forever() {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(wait_forever, ());
    /// p.start()?;
    /// assert!(p.join_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// p.kill()?;
    /// # Ok(()) }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, JoinError::Timeout)
    }

    /// How the process ended, where the error says.
    ///
    /// ```
    /// use proc_core::{ExitStatus, Process};
    ///
    /// fn leave() {
    ///     std::process::exit(7);
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(leave, ());
    /// p.start()?;
    /// assert_eq!(p.join().unwrap_err().exit_status(), Some(ExitStatus::Exited(7)));
    /// # Ok(()) }
    /// ```
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            JoinError::Panicked { .. } => Some(ExitStatus::Exited(1)),
            JoinError::Failed { status, .. } | JoinError::Died { status } => Some(*status),
            JoinError::EntryHookNotRun => {
                Some(ExitStatus::Exited(crate::entry::EXIT_ENTRY_HOOK_NOT_RUN))
            }
            _ => None,
        }
    }
}

/// An operation that needs a started (or not yet started) process was called at the wrong time.
///
/// ```
/// use proc_core::{Process, StateError};
///
/// fn work() {}
/// let p = Process::new(work, ());
/// assert_eq!(p.sentinel().unwrap_err(), StateError::NotStarted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The process has not been started.
    #[error("the process has not been started")]
    NotStarted,
    /// The process has already been started (Python: "process has already started").
    #[error("process has already started")]
    AlreadyStarted,
}

/// A signal could not be sent.
///
/// ```
/// use proc_core::{Process, SignalError};
///
/// fn work() {}
/// let p = Process::new(work, ());
/// assert!(matches!(p.terminate(), Err(SignalError::NotStarted)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// The process has not been started.
    #[error("the process has not been started")]
    NotStarted,
    /// The operating system refused.
    #[error("could not signal the process: {0}")]
    Io(#[from] io::Error),
}
