//! [`Process`]: Python's `multiprocessing.Process` — a Rust function running in a child process.

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::child::ChildState;
use crate::codec;
use crate::error::{JoinError, SignalError, StartError, StateError};
use crate::frame::Kind;
use crate::runtime::{self, AuthKey, ChildMeta};
use crate::start::{self, StartMethod};
use crate::status::{ExitStatus, Pid, Signal};
use crate::sys;
use crate::target::{ClosureJob, Job, Run, RunJob, Target, TargetJob};

/// A child process running a Rust function: Python's `multiprocessing.Process`.
///
/// Create it with [`Process::new`] (a function and its arguments), [`Process::from_run`] (a value
/// implementing [`Run`]), or [`Process::builder`]; then [`start`](Process::start) it and
/// [`join`](Process::join) it to get the function's return value. `R` is the return type.
///
/// ```
/// use proc_core::Process;
///
/// fn greet(name: String, times: u32) -> String {
///     format!("hello {name} x{times} from pid {}", std::process::id())
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(greet, ("bob".to_string(), 2));
/// p.start()?;
/// let reply = p.join()?;
/// assert!(reply.starts_with("hello bob x2 from pid"));
/// assert_eq!(p.exitcode(), Some(0));
/// # Ok(()) }
/// ```
///
/// The target must not capture anything: the child re-creates it from its type. A closure that
/// captures does not compile, whether what it captures is `Copy` or not:
///
/// ```compile_fail,E0080
/// use proc_core::Process;
/// let n = 5u32;
/// let p = Process::new(move || n + 1, ());
/// ```
///
/// ```compile_fail,E0277
/// use proc_core::Process;
/// let greeting = String::from("hi");
/// let p = Process::new(move || greeting.len(), ());
/// ```
///
/// Pass the data as arguments instead: `Process::new(|n: u32| n + 1, (n,))`.
///
/// Dropping a `Process` does not stop the child. Children not joined are reaped by
/// [`active_children`](crate::active_children) and joined when the program exits, as in Python
/// (daemon children are terminated first).
pub struct Process<R = ()> {
    name: String,
    identity: Vec<u32>,
    daemon: bool,
    method: Option<StartMethod>,
    init_only: bool,
    authkey: AuthKey,
    job: Option<Box<dyn Job>>,
    child: Option<Arc<ChildState>>,
    joined: bool,
    _result: PhantomData<fn() -> R>,
}

/// Options for a new [`Process`]: Python's `Process(name=…, daemon=…)` keyword arguments, plus the
/// start method (Python's context).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ProcessBuilder {
    name: Option<String>,
    daemon: Option<bool>,
    method: Option<StartMethod>,
    init_only: bool,
}

impl ProcessBuilder {
    /// The process's name (default `Process-N`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether the child is a daemon: terminated when the parent exits normally, killed when the
    /// parent is killed, and not allowed to start children. Default: the creator's own flag.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = Some(daemon);
        self
    }

    /// How the child is started (default: [`get_start_method`](crate::get_start_method)).
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Starts the child so that its entry hook ignores the job and only `init()` would run it: what a
    /// child sees on a platform without pre-`main` hooks. For testing that such a child fails loudly
    /// instead of running `main` as if it were the parent.
    #[doc(hidden)]
    pub fn entry_hook_ignored_for_testing(mut self) -> Self {
        self.init_only = true;
        self
    }

    /// A process that will run `target(args…)`; `args` is the tuple of the target's arguments.
    pub fn target<F, A>(self, target: F, args: A) -> Process<F::Output>
    where
        F: Target<A>,
        A: Serialize + DeserializeOwned + Send + 'static,
        F::Output: Serialize + DeserializeOwned,
    {
        const {
            assert!(
                std::mem::size_of::<F>() == 0,
                "a process target must be a fn item or a closure that captures nothing (not a capturing closure, not a fn pointer)"
            )
        };
        self.build(Box::new(TargetJob { target, args }))
    }

    /// A process that will run `value.run()`.
    pub fn runner<T: Run>(self, value: T) -> Process<T::Output> {
        self.build(Box::new(RunJob(value)))
    }

    /// A process that runs a closure that may capture anything. Only the fork start method can run
    /// it: the start method is set to fork.
    ///
    /// # Safety
    /// As for [`StartMethod::fork`]: the closure runs in a copy of the calling thread only, and must
    /// not depend on locks or data other threads may hold at the moment of `start`.
    #[cfg(unix)]
    pub unsafe fn fork_closure<C, R>(mut self, closure: C) -> Process<R>
    where
        C: FnOnce() -> R + Send + 'static,
        R: Serialize + DeserializeOwned,
    {
        // SAFETY: forwarded to the caller.
        self.method = Some(unsafe { StartMethod::fork() });
        self.build(Box::new(ClosureJob(closure)))
    }

    fn build<R>(self, job: Box<dyn Job>) -> Process<R> {
        let (default_name, identity, authkey, creator_daemon) = runtime::next_child();
        Process {
            name: self.name.unwrap_or(default_name),
            identity,
            daemon: self.daemon.unwrap_or(creator_daemon),
            method: self.method,
            init_only: self.init_only,
            authkey,
            job: Some(job),
            child: None,
            joined: false,
            _result: PhantomData,
        }
    }
}

impl Process<()> {
    /// Options for a new process.
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder::default()
    }
}

impl<R: DeserializeOwned> Process<R> {
    /// A process that will run `target(args…)` once started. `args` is a tuple: `()`, `(x,)`,
    /// `(x, y)`, … (Python's `args=`).
    pub fn new<F, A>(target: F, args: A) -> Process<R>
    where
        F: Target<A, Output = R>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize,
    {
        ProcessBuilder::default().target(target, args)
    }

    /// A process that will run `value.run()` once started (Python's subclass overriding `run`).
    pub fn from_run<T: Run<Output = R>>(value: T) -> Process<R> {
        ProcessBuilder::default().runner(value)
    }

    /// Starts the child. The arguments are encoded now and handed to it; the `Process` keeps no copy
    /// (so fds passed in them are closed here once the child has its own).
    pub fn start(&mut self) -> Result<(), StartError> {
        crate::entry::refuse_if_unhooked_child();
        if self.child.is_some() {
            return Err(StartError::AlreadyStarted);
        }
        if runtime::is_daemon() {
            return Err(StartError::DaemonicParent);
        }
        if !crate::entry::hook_available() {
            return Err(StartError::EntryHookMissing);
        }
        // Reap children that ended unobserved, as Python does on every start.
        runtime::reap();
        let method = self.method.unwrap_or_else(start::get_start_method);
        let me = runtime::current_process();
        let meta = ChildMeta {
            name: self.name.clone(),
            identity: self.identity.clone(),
            daemon: self.daemon,
            authkey: self.authkey.clone(),
            parent_pid: me.pid().as_raw(),
            parent_name: me.name().to_owned(),
        };
        let job = self.job.take().ok_or(StartError::AlreadyStarted)?;
        let child = Arc::new(crate::launch::launch(job, meta, method.0, self.init_only)?);
        runtime::register(child.clone());
        self.child = Some(child);
        Ok(())
    }

    /// Waits for the child to end and returns its return value.
    ///
    /// A panic in the child is [`JoinError::Panicked`] with its message; a child killed by a signal
    /// is [`JoinError::Died`] naming it. After a successful join, [`exitcode`](Self::exitcode) is
    /// `Some(0)`.
    pub fn join(&mut self) -> Result<R, JoinError> {
        self.join_until(None)
    }

    /// As [`join`](Self::join), waiting at most `timeout`. [`JoinError::Timeout`] leaves the child
    /// running and the `Process` joinable again.
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<R, JoinError> {
        self.join_until(sys::deadline_after(timeout))
    }

    fn join_until(&mut self, deadline: Option<std::time::Instant>) -> Result<R, JoinError> {
        let child = self.child.as_ref().ok_or(JoinError::NotStarted)?;
        if self.joined {
            return Err(JoinError::AlreadyJoined);
        }
        let status = child.wait(deadline)?.ok_or(JoinError::Timeout)?;
        runtime::unregister(child);
        self.joined = true;
        let reply = child.take_reply();
        match reply {
            Some(f) if f.kind == Kind::Return => Ok(codec::decode(&f.payload, f.fds)?),
            Some(f) if f.kind == Kind::Panic => Err(JoinError::Panicked {
                message: String::from_utf8_lossy(&f.payload).into_owned(),
            }),
            Some(f) if f.kind == Kind::Failed => Err(JoinError::Failed {
                message: String::from_utf8_lossy(&f.payload).into_owned(),
                status,
            }),
            Some(f) if f.kind == Kind::HookMissing => Err(JoinError::EntryHookNotRun),
            // Python's sys.exit(0) in a child: a clean exit without a value is fine when the value
            // carries nothing (unit).
            _ if status.success() => {
                codec::decode(&[], Vec::new()).map_err(|_| JoinError::Died { status })
            }
            _ => Err(JoinError::Died { status }),
        }
    }

    /// Whether the child is running: `false` before `start` and after it ended.
    pub fn is_alive(&self) -> bool {
        self.child.as_ref().is_some_and(|c| matches!(c.try_status(), Ok(None)))
    }

    /// The child's process id, once started.
    pub fn pid(&self) -> Option<Pid> {
        self.child.as_ref().map(|c| c.pid)
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the process (before start, this is the name the child sees).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Whether the process is a daemon.
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// Makes the process a daemon (or not). Only before `start` (Python: "process has already
    /// started").
    pub fn set_daemon(&mut self, daemon: bool) -> Result<(), StateError> {
        if self.child.is_some() {
            return Err(StateError::AlreadyStarted);
        }
        self.daemon = daemon;
        Ok(())
    }

    /// Python's `exitcode`: `None` before start and while running; then the exit code, or `-N` if
    /// signal `N` ended the child.
    pub fn exitcode(&self) -> Option<i32> {
        self.exit_status().map(ExitStatus::code)
    }

    /// How the child ended, once it has (reaping it if it just did).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let c = self.child.as_ref()?;
        c.known_status().or_else(|| c.try_status().ok().flatten())
    }

    /// Sends SIGTERM (Python's `terminate()`); the child's exit code becomes `-15` unless it handles
    /// the signal. A no-op once the child has ended.
    pub fn terminate(&self) -> Result<(), SignalError> {
        self.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL (Python's `kill()`); exit code `-9`.
    pub fn kill(&self) -> Result<(), SignalError> {
        self.signal(Signal::SIGKILL)
    }

    /// Sends any signal to the running child.
    pub fn signal(&self, sig: Signal) -> Result<(), SignalError> {
        let c = self.child.as_ref().ok_or(SignalError::NotStarted)?;
        Ok(c.signal(sig)?)
    }

    /// An fd that becomes readable when the child ends (a pidfd): Python's `sentinel`, for
    /// [`wait`](crate::wait) or any poller.
    pub fn sentinel(&self) -> Result<BorrowedFd<'_>, StateError> {
        self.child.as_ref().map(|c| c.sentinel()).ok_or(StateError::NotStarted)
    }

    /// The authentication key the child inherits (Python's `authkey`).
    pub fn authkey(&self) -> &AuthKey {
        &self.authkey
    }

    /// Sets the key the child will inherit (before start).
    pub fn set_authkey(&mut self, key: AuthKey) -> Result<(), StateError> {
        if self.child.is_some() {
            return Err(StateError::AlreadyStarted);
        }
        self.authkey = key;
        Ok(())
    }

    /// The start method this process uses.
    pub fn start_method(&self) -> StartMethod {
        self.method.unwrap_or_else(start::get_start_method)
    }

    /// A handle to the running child that can watch and signal it but not take its value.
    pub fn handle(&self) -> Option<ChildHandle> {
        self.child.clone().map(|state| ChildHandle { state })
    }
}

impl<R> fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's repr: <Process name='Process-1' pid=123 started daemon>
        let mut d = f.debug_struct("Process");
        d.field("name", &self.name);
        match &self.child {
            None => d.field("state", &"initial"),
            Some(c) => {
                d.field("pid", &c.pid.as_raw());
                match c.known_status() {
                    Some(s) => d.field("state", &format_args!("stopped ({s})")),
                    None => d.field("state", &"started"),
                }
            }
        };
        d.field("daemon", &self.daemon).finish()
    }
}

/// A running (or finished, unjoined) child, as [`active_children`] returns it: it can be watched and
/// signalled but its return value stays with its `Process`.
#[derive(Clone)]
pub struct ChildHandle {
    state: Arc<ChildState>,
}

impl ChildHandle {
    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.state.pid
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Whether the child is a daemon.
    pub fn daemon(&self) -> bool {
        self.state.daemon
    }

    /// Whether the child is running.
    pub fn is_alive(&self) -> bool {
        matches!(self.state.try_status(), Ok(None))
    }

    /// Python's `exitcode`.
    pub fn exitcode(&self) -> Option<i32> {
        self.state.try_status().ok().flatten().map(ExitStatus::code)
    }

    /// Waits up to `timeout` for the child to end; returns how it ended, or `None` if still running.
    pub fn wait_timeout(&self, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
        self.state.wait(sys::deadline_after(timeout))
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) -> std::io::Result<()> {
        self.state.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL.
    pub fn kill(&self) -> std::io::Result<()> {
        self.state.signal(Signal::SIGKILL)
    }

    /// An fd that becomes readable when the child ends.
    pub fn sentinel(&self) -> BorrowedFd<'_> {
        self.state.sentinel()
    }
}

impl fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle")
            .field("name", &self.state.name)
            .field("pid", &self.state.pid.as_raw())
            .field("daemon", &self.state.daemon)
            .finish()
    }
}

/// The children of this process that are still running; finished ones are reaped on the way
/// (Python's `active_children()`), so none is left a zombie.
pub fn active_children() -> Vec<ChildHandle> {
    runtime::reap().into_iter().map(|state| ChildHandle { state }).collect()
}

/// The number of CPUs in the system (Python's `cpu_count()`).
pub fn cpu_count() -> usize {
    sys::cpu_count().unwrap_or(1)
}

/// The number of CPUs this process may run on (Python 3.13's `process_cpu_count()`); the default
/// size of a pool.
pub fn process_cpu_count() -> usize {
    sys::process_cpu_count().unwrap_or_else(cpu_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: u64) -> u64 {
        x * x
    }

    #[test]
    fn a_unit_test_binary_can_start_children() {
        let mut p = Process::new(square, (12,));
        p.start().unwrap();
        assert_eq!(p.join_timeout(Duration::from_secs(60)).unwrap(), 144);
    }
}
