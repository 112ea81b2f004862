//! Process ids, signals and exit statuses, with Python's `exitcode` convention.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sys;

/// A process id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid(i32);

impl Pid {
    pub(crate) fn from_raw(pid: i32) -> Self {
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
    fn signals_have_names() {
        assert_eq!(Signal::SIGKILL.to_string(), "SIGKILL");
        assert_eq!(ExitStatus::Signaled(Signal::SIGTERM).to_string(), "killed by SIGTERM");
        assert_eq!(Signal::from_raw(200).to_string(), "signal 200");
    }
}
