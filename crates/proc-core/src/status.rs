//! Process ids, signals and exit statuses, with Python's `exitcode` convention.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sys;

/// A process id.
///
/// ```
/// use proc_core::{Pid, Process};
///
/// fn my_pid() -> Pid {
///     Pid::current()
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(my_pid, ());
/// p.start()?;
/// let started = p.pid();
/// assert_eq!(Some(p.join()?), started); // the child saw the pid the parent did
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid(i32);

impl Pid {
    /// The pid with this number.
    ///
    /// ```
    /// use proc_core::Pid;
    ///
    /// let pid = Pid::from_raw(1);
    /// assert_eq!(pid.as_raw(), 1);
    /// assert_eq!(pid.to_string(), "1");
    /// ```
    pub fn from_raw(pid: i32) -> Self {
        Pid(pid)
    }

    /// The id of the calling process.
    ///
    /// ```
    /// use proc_core::Pid;
    ///
    /// assert_eq!(Pid::current().as_raw() as u32, std::process::id()); // Python: `os.getpid()`
    /// ```
    pub fn current() -> Pid {
        Pid(sys::getpid())
    }

    /// The numeric id, as the OS reports it.
    ///
    /// ```
    /// use proc_core::Pid;
    ///
    /// let raw: i32 = Pid::current().as_raw(); // for an OS call of your own
    /// assert!(raw > 0);
    /// ```
    pub fn as_raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Pid> for u32 {
    fn from(p: Pid) -> u32 {
        p.0 as u32
    }
}

/// A process's identity that survives pid reuse: its pid and the time it started.
///
/// A pid alone may name a different process once the first one has ended; together with the start
/// time it names one process for good. Locks record the identity of their holder so that a waiter can
/// tell a dead holder from a live one; named shared memory records its creator's.
///
/// ```
/// use proc_core::{Process, ProcessIdentity};
///
/// fn work() {}
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(work, ());
/// p.start()?;
/// let who = ProcessIdentity::of(p.pid().unwrap()); // None if it already ended
/// p.join()?;
/// // Even if the pid is reused by a new process, this identity stays dead.
/// assert!(who.is_none_or(|id| !id.is_alive()));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pid: Pid,
    start_ticks: u64,
}

impl ProcessIdentity {
    /// The calling process.
    ///
    /// ```
    /// use proc_core::{Pid, ProcessIdentity};
    ///
    /// let me = ProcessIdentity::current();
    /// assert_eq!(me.pid(), Pid::current());
    /// assert!(me.is_alive());
    /// ```
    pub fn current() -> ProcessIdentity {
        let pid = Pid::current();
        let start_ticks = sys::process_stat(pid.as_raw()).map(|(_, s)| s).unwrap_or(0);
        ProcessIdentity { pid, start_ticks }
    }

    /// The process running as `pid` now, if there is one that has not ended (a zombie has ended).
    ///
    /// ```
    /// use proc_core::{Pid, ProcessIdentity};
    ///
    /// let me = ProcessIdentity::of(Pid::current()).expect("this process is running");
    /// assert_eq!(me, ProcessIdentity::current());
    /// ```
    pub fn of(pid: Pid) -> Option<ProcessIdentity> {
        match sys::process_stat(pid.as_raw())? {
            ('Z' | 'X' | 'x', _) => None,
            (_, start_ticks) => Some(ProcessIdentity { pid, start_ticks }),
        }
    }

    /// An identity from its parts (for identities stored elsewhere, such as in shared memory).
    ///
    /// ```
    /// use proc_core::ProcessIdentity;
    ///
    /// let me = ProcessIdentity::current();
    /// // Stored as two numbers (in shared memory, say), and read back:
    /// let (pid, ticks) = (me.pid(), me.start_ticks());
    /// assert_eq!(ProcessIdentity::from_parts(pid, ticks), me);
    /// ```
    pub fn from_parts(pid: Pid, start_ticks: u64) -> ProcessIdentity {
        ProcessIdentity { pid, start_ticks }
    }

    /// The pid.
    ///
    /// ```
    /// use proc_core::{Pid, ProcessIdentity};
    ///
    /// assert_eq!(ProcessIdentity::current().pid(), Pid::current());
    /// ```
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// When the process started, in clock ticks since boot.
    ///
    /// ```
    /// use proc_core::ProcessIdentity;
    ///
    /// let me = ProcessIdentity::current();
    /// println!("started {} clock ticks after boot", me.start_ticks());
    /// ```
    pub fn start_ticks(&self) -> u64 {
        self.start_ticks
    }

    /// Whether this process is still running (same pid, same start time, not a zombie).
    ///
    /// ```
    /// use proc_core::{Pid, ProcessIdentity};
    ///
    /// let me = ProcessIdentity::current();
    /// assert!(me.is_alive());
    /// let impostor = ProcessIdentity::from_parts(Pid::current(), me.start_ticks() + 1);
    /// assert!(!impostor.is_alive()); // same pid, another start time: not this process
    /// ```
    pub fn is_alive(&self) -> bool {
        ProcessIdentity::of(self.pid).is_some_and(|now| now.start_ticks == self.start_ticks)
    }
}

/// A signal number, such as [`Signal::SIGTERM`].
///
/// ```
/// use proc_core::{Process, Signal};
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
/// p.signal(Signal::SIGTERM)?;
/// let _ = p.join_timeout(Duration::from_secs(60));
/// assert_eq!(p.exit_status().and_then(|st| st.signal()), Some(Signal::SIGTERM));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signal(i32);

impl Signal {
    /// Hang-up.
    pub const SIGHUP: Signal = Signal(1);
    /// Interrupt (Ctrl-C).
    pub const SIGINT: Signal = Signal(2);
    /// Abort, as from `std::process::abort`.
    pub const SIGABRT: Signal = Signal(6);
    /// Kill: cannot be caught or ignored.
    pub const SIGKILL: Signal = Signal(9);
    /// Segmentation fault.
    pub const SIGSEGV: Signal = Signal(11);
    /// Termination request, what `terminate()` sends.
    pub const SIGTERM: Signal = Signal(15);

    /// The signal with this number.
    ///
    /// ```
    /// use proc_core::Signal;
    ///
    /// assert_eq!(Signal::from_raw(9), Signal::SIGKILL);
    /// ```
    pub fn from_raw(sig: i32) -> Signal {
        Signal(sig)
    }

    /// The signal number.
    ///
    /// ```
    /// use proc_core::Signal;
    ///
    /// assert_eq!(Signal::SIGTERM.as_raw(), 15);
    /// ```
    pub fn as_raw(self) -> i32 {
        self.0
    }

    /// The conventional name, such as `"SIGKILL"`, if the number has one.
    ///
    /// ```
    /// use proc_core::Signal;
    ///
    /// assert_eq!(Signal::SIGKILL.name(), Some("SIGKILL"));
    /// ```
    pub fn name(self) -> Option<&'static str> {
        sys::signal_name(self.0)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} ({})", self.0)
    }
}

/// How a process ended.
///
/// ```
/// use proc_core::{ExitStatus, Process};
///
/// fn leave() {
///     std::process::exit(3);
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(leave, ());
/// p.start()?;
/// assert!(p.join().is_err()); // exited without returning
/// match p.exit_status() {
///     Some(ExitStatus::Exited(code)) => assert_eq!(code, 3),
///     other => panic!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It exited with this code (0 is success).
    Exited(i32),
    /// A signal ended it.
    Signaled(Signal),
}

impl ExitStatus {
    /// Python's `exitcode`: the exit code, or `-N` for death by signal `N`.
    ///
    /// ```
    /// use proc_core::{ExitStatus, Signal};
    ///
    /// assert_eq!(ExitStatus::Exited(1).code(), 1);
    /// assert_eq!(ExitStatus::Signaled(Signal::SIGKILL).code(), -9); // as Python's `exitcode`
    /// ```
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => -s.as_raw(),
        }
    }

    /// Whether the process exited with code 0.
    ///
    /// ```
    /// use proc_core::{ExitStatus, Signal};
    ///
    /// assert!(ExitStatus::Exited(0).success());
    /// assert!(!ExitStatus::Signaled(Signal::SIGTERM).success());
    /// ```
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }

    /// The signal that ended the process, if one did.
    ///
    /// ```
    /// use proc_core::{ExitStatus, Signal};
    ///
    /// assert_eq!(ExitStatus::Signaled(Signal::SIGINT).signal(), Some(Signal::SIGINT));
    /// assert_eq!(ExitStatus::Exited(0).signal(), None);
    /// ```
    pub fn signal(self) -> Option<Signal> {
        match self {
            ExitStatus::Signaled(s) => Some(s),
            ExitStatus::Exited(_) => None,
        }
    }

    pub(crate) fn from_sys(raw: sys::RawStatus) -> Self {
        match raw {
            sys::RawStatus::Exited(c) => ExitStatus::Exited(c),
            sys::RawStatus::Signaled(s) => ExitStatus::Signaled(Signal(s)),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit code {c}"),
            ExitStatus::Signaled(s) => write!(f, "killed by {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exitcode_follows_python() {
        assert_eq!(ExitStatus::Exited(0).code(), 0);
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(Signal::SIGTERM).code(), -15);
        assert_eq!(ExitStatus::Signaled(Signal::SIGKILL).code(), -9);
        assert!(ExitStatus::Exited(0).success());
        assert!(!ExitStatus::Exited(1).success());
    }

    #[test]
    fn identities_tell_live_from_gone() {
        let me = ProcessIdentity::current();
        assert!(me.is_alive());
        assert_eq!(ProcessIdentity::of(me.pid()), Some(me));
        assert!(
            !ProcessIdentity::from_parts(me.pid(), me.start_ticks() + 1).is_alive(),
            "same pid, other start"
        );
        assert!(ProcessIdentity::of(Pid::from_raw(i32::MAX)).is_none());
    }

    #[test]
    fn signals_have_names() {
        assert_eq!(Signal::SIGKILL.to_string(), "SIGKILL");
        assert_eq!(ExitStatus::Signaled(Signal::SIGTERM).to_string(), "killed by SIGTERM");
        assert_eq!(Signal::from_raw(200).to_string(), "signal 200");
    }
}
