//! Process ids, signals and exit statuses, with Python's `exitcode` convention.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sys;

/// A process id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid(i32);

impl Pid {
    /// The pid with this number.
    pub fn from_raw(pid: i32) -> Self {
        Pid(pid)
    }

    /// The id of the calling process.
    pub fn current() -> Pid {
        Pid(sys::getpid())
    }

    /// The numeric id, as the OS reports it.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pid: Pid,
    start_ticks: u64,
}

impl ProcessIdentity {
    /// The calling process.
    pub fn current() -> ProcessIdentity {
        let pid = Pid::current();
        let start_ticks = sys::process_stat(pid.as_raw()).map(|(_, s)| s).unwrap_or(0);
        ProcessIdentity { pid, start_ticks }
    }

    /// The process running as `pid` now, if there is one that has not ended (a zombie has ended).
    pub fn of(pid: Pid) -> Option<ProcessIdentity> {
        match sys::process_stat(pid.as_raw())? {
            ('Z' | 'X' | 'x', _) => None,
            (_, start_ticks) => Some(ProcessIdentity { pid, start_ticks }),
        }
    }

    /// An identity from its parts (for identities stored elsewhere, such as in shared memory).
    pub fn from_parts(pid: Pid, start_ticks: u64) -> ProcessIdentity {
        ProcessIdentity { pid, start_ticks }
    }

    /// The pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// When the process started, in clock ticks since boot.
    pub fn start_ticks(&self) -> u64 {
        self.start_ticks
    }

    /// Whether this process is still running (same pid, same start time, not a zombie).
    pub fn is_alive(&self) -> bool {
        ProcessIdentity::of(self.pid).is_some_and(|now| now.start_ticks == self.start_ticks)
    }
}

/// A signal number, such as [`Signal::SIGTERM`].
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
    pub fn from_raw(sig: i32) -> Signal {
        Signal(sig)
    }

    /// The signal number.
    pub fn as_raw(self) -> i32 {
        self.0
    }

    /// The conventional name, such as `"SIGKILL"`, if the number has one.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It exited with this code (0 is success).
    Exited(i32),
    /// A signal ended it.
    Signaled(Signal),
}

impl ExitStatus {
    /// Python's `exitcode`: the exit code, or `-N` for death by signal `N`.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => -s.as_raw(),
        }
    }

    /// Whether the process exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }

    /// The signal that ended the process, if one did.
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
