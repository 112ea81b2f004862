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
///
/// ```
/// use proc_core::{Process, StartMethod};
///
/// fn hello(who: String) -> String {
///     format!("hello, {who}")
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Python: `Process(target=hello, args=("world",), name="greeter", daemon=True)`
/// let mut p = Process::builder()
///     .name("greeter")
///     .daemon(true)
///     .start_method(StartMethod::SPAWN)
///     .target(hello, ("world".to_string(),));
/// p.start()?;
/// assert_eq!(p.join()?, "hello, world");
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// use proc_core::{Process, current_process};
    ///
    /// fn my_name() -> String {
    ///     current_process().name().to_string()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().name("worker-1").target(my_name, ());
    /// p.start()?;
    /// assert_eq!(p.join()?, "worker-1");
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether the child is a daemon: terminated when the parent exits normally, killed when the
    /// parent is killed, and not allowed to start children. Default: the creator's own flag.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn background() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().daemon(true).target(background, ());
    /// assert!(p.daemon());
    /// p.start()?;
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = Some(daemon);
        self
    }

    /// How the child is started (default: [`get_start_method`](crate::get_start_method)).
    ///
    /// ```
    /// use proc_core::{Process, StartMethod};
    ///
    /// fn answer() -> u32 {
    ///     42
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// for method in [StartMethod::SPAWN, StartMethod::FORKSERVER] {
    ///     let mut p = Process::builder().start_method(method).target(answer, ());
    ///     p.start()?;
    ///     assert_eq!(p.join()?, 42);
    /// }
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn add(a: i32, b: i32) -> i32 {
    ///     a + b
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().name("adder").target(add, (2, 3));
    /// p.start()?;
    /// assert_eq!(p.join()?, 5);
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// use proc_core::{Process, Run};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Greeter { name: String }
    ///
    /// impl Run for Greeter {
    ///     type Output = String;
    ///     fn run(self) -> String { format!("hi {}", self.name) }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().name("greeter").runner(Greeter { name: "Ada".into() });
    /// p.start()?;
    /// assert_eq!(p.join()?, "hi Ada");
    /// # Ok(()) }
    /// ```
    pub fn runner<T: Run>(self, value: T) -> Process<T::Output> {
        self.build(Box::new(RunJob(value)))
    }

    /// A process that runs a closure that may capture anything. Only the fork start method can run
    /// it: the start method is set to fork.
    ///
    /// # Safety
    /// As for [`StartMethod::fork`]: the closure runs in a copy of the calling thread only, and must
    /// not depend on locks or data other threads may hold at the moment of `start`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_core::Process;
    ///
    /// let data = vec![1, 2, 3]; // captured: only a fork child can have it
    /// // SAFETY: this example's process has no other thread holding a lock the closure needs.
    /// let mut p = unsafe { Process::builder().fork_closure(move || data.iter().sum::<i32>()) };
    /// p.start()?;
    /// assert_eq!(p.join()?, 6);
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().name("worker").daemon(true).target(work, ());
    /// p.start()?;
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder::default()
    }
}

impl<R: DeserializeOwned> Process<R> {
    /// A process that will run `target(args…)` once started. `args` is a tuple: `()`, `(x,)`,
    /// `(x, y)`, … (Python's `args=`).
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn greet(name: String, times: usize) -> String {
    ///     name.repeat(times)
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(greet, ("ab".to_string(), 3)); // Python: `Process(target=greet, args=("ab", 3))`
    /// p.start()?;
    /// assert_eq!(p.join()?, "ababab");
    /// let mut q = Process::new(|x: u8| x + 1, (1,)); // a closure that captures nothing works too
    /// q.start()?;
    /// assert_eq!(q.join()?, 2);
    /// # Ok(()) }
    /// ```
    pub fn new<F, A>(target: F, args: A) -> Process<R>
    where
        F: Target<A, Output = R>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize,
    {
        ProcessBuilder::default().target(target, args)
    }

    /// A process that will run `value.run()` once started (Python's subclass overriding `run`).
    ///
    /// ```
    /// use proc_core::{Process, Run};
    /// use serde::{Deserialize, Serialize};
    ///
    /// /// Python: `class Doubler(Process): def run(self): …`
    /// #[derive(Serialize, Deserialize)]
    /// struct Doubler { x: u64 }
    ///
    /// impl Run for Doubler {
    ///     type Output = u64;
    ///     fn run(self) -> u64 { 2 * self.x }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::from_run(Doubler { x: 21 });
    /// p.start()?;
    /// assert_eq!(p.join()?, 42);
    /// # Ok(()) }
    /// ```
    pub fn from_run<T: Run<Output = R>>(value: T) -> Process<R> {
        ProcessBuilder::default().runner(value)
    }

    /// Starts the child. The arguments are encoded now and handed to it; the `Process` keeps no copy
    /// (so fds passed in them are closed here once the child has its own).
    ///
    /// ```
    /// use proc_core::{Process, StartError};
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// p.start()?; // Python: `p.start()`
    /// assert!(matches!(p.start(), Err(StartError::AlreadyStarted))); // not twice
    /// p.join()?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// use proc_core::{JoinError, Process};
    ///
    /// fn fails() -> u32 {
    ///     panic!("no luck")
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(fails, ());
    /// p.start()?;
    /// match p.join() {
    ///     Err(JoinError::Panicked { message }) => assert_eq!(message, "no luck"),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn join(&mut self) -> Result<R, JoinError> {
        self.join_until(None)
    }

    /// As [`join`](Self::join), waiting at most `timeout`. [`JoinError::Timeout`] leaves the child
    /// running and the `Process` joinable again.
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
    /// assert!(p.join_timeout(Duration::from_millis(10)).unwrap_err().is_timeout()); // still running
    /// p.kill()?;
    /// assert!(p.join_timeout(Duration::from_secs(60)).is_err()); // killed: no value
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// assert!(!p.is_alive()); // not started
    /// p.start()?;
    /// p.join()?;
    /// assert!(!p.is_alive()); // ended
    /// # Ok(()) }
    /// ```
    pub fn is_alive(&self) -> bool {
        self.child.as_ref().is_some_and(|c| matches!(c.try_status(), Ok(None)))
    }

    /// The child's process id, once started.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// assert_eq!(p.pid(), None);
    /// p.start()?;
    /// println!("started {:?}", p.pid().unwrap());
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        self.child.as_ref().map(|c| c.pid)
    }

    /// The process's name.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// let p = Process::new(work, ());
    /// assert!(p.name().starts_with("Process-")); // Python's default names
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the process (before start, this is the name the child sees).
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// let mut p = Process::new(work, ());
    /// p.set_name("loader"); // Python: `p.name = "loader"`
    /// assert_eq!(p.name(), "loader");
    /// ```
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Whether the process is a daemon.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// assert!(!Process::new(work, ()).daemon());
    /// assert!(Process::builder().daemon(true).target(work, ()).daemon());
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// Makes the process a daemon (or not). Only before `start` (Python: "process has already
    /// started").
    ///
    /// ```
    /// use proc_core::{Process, StateError};
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// p.set_daemon(true)?; // Python: `p.daemon = True`
    /// p.start()?;
    /// assert_eq!(p.set_daemon(false), Err(StateError::AlreadyStarted));
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn set_daemon(&mut self, daemon: bool) -> Result<(), StateError> {
        if self.child.is_some() {
            return Err(StateError::AlreadyStarted);
        }
        self.daemon = daemon;
        Ok(())
    }

    /// Python's `exitcode`: `None` before start and while running; then the exit code, or `-N` if
    /// signal `N` ended the child.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// assert_eq!(p.exitcode(), None);
    /// p.start()?;
    /// p.join()?;
    /// assert_eq!(p.exitcode(), Some(0));
    /// # Ok(()) }
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        self.exit_status().map(ExitStatus::code)
    }

    /// How the child ended, once it has (reaping it if it just did).
    ///
    /// ```
    /// use proc_core::{ExitStatus, Process, Signal};
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
    /// p.terminate()?;
    /// let _ = p.join_timeout(Duration::from_secs(60));
    /// assert_eq!(p.exit_status(), Some(ExitStatus::Signaled(Signal::SIGTERM)));
    /// # Ok(()) }
    /// ```
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let c = self.child.as_ref()?;
        c.known_status().or_else(|| c.try_status().ok().flatten())
    }

    /// Sends SIGTERM (Python's `terminate()`); the child's exit code becomes `-15` unless it handles
    /// the signal. A no-op once the child has ended.
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
    /// p.terminate()?; // Python: `p.terminate()`
    /// let err = p.join_timeout(Duration::from_secs(60)).unwrap_err();
    /// println!("{err}"); // the process ended without a result: killed by SIGTERM
    /// assert_eq!(p.exitcode(), Some(-15));
    /// # Ok(()) }
    /// ```
    pub fn terminate(&self) -> Result<(), SignalError> {
        self.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL (Python's `kill()`); exit code `-9`.
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
    /// p.kill()?; // Python: `p.kill()`
    /// let _ = p.join_timeout(Duration::from_secs(60));
    /// assert_eq!(p.exitcode(), Some(-9));
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) -> Result<(), SignalError> {
        self.signal(Signal::SIGKILL)
    }

    /// Sends any signal to the running child.
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
    /// p.signal(Signal::SIGINT)?;
    /// let _ = p.join_timeout(Duration::from_secs(60));
    /// assert_eq!(p.exitcode(), Some(-2));
    /// # Ok(()) }
    /// ```
    pub fn signal(&self, sig: Signal) -> Result<(), SignalError> {
        let c = self.child.as_ref().ok_or(SignalError::NotStarted)?;
        Ok(c.signal(sig)?)
    }

    /// An fd that becomes readable when the child ends (a pidfd): Python's `sentinel`, for
    /// [`wait`](crate::wait) or any poller.
    ///
    /// ```
    /// use proc_core::{Process, wait};
    /// use std::time::Duration;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// p.start()?;
    /// let sentinel = p.sentinel()?;
    /// let ready = wait(&[&sentinel], Some(Duration::from_secs(60)))?; // Python: `wait([p.sentinel])`
    /// assert_eq!(ready, [0]);
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn sentinel(&self) -> Result<BorrowedFd<'_>, StateError> {
        self.child.as_ref().map(|c| c.sentinel()).ok_or(StateError::NotStarted)
    }

    /// The authentication key the child inherits (Python's `authkey`).
    ///
    /// ```
    /// use proc_core::{Process, current_process};
    ///
    /// fn key_bytes() -> Vec<u8> {
    ///     current_process().authkey().as_bytes().to_vec()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(key_bytes, ());
    /// let key = p.authkey().as_bytes().to_vec(); // inherited from this process by default
    /// p.start()?;
    /// assert_eq!(p.join()?, key);
    /// # Ok(()) }
    /// ```
    pub fn authkey(&self) -> &AuthKey {
        &self.authkey
    }

    /// Sets the key the child will inherit (before start).
    ///
    /// ```
    /// use proc_core::{AuthKey, Process, current_process};
    ///
    /// fn key_bytes() -> Vec<u8> {
    ///     current_process().authkey().as_bytes().to_vec()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(key_bytes, ());
    /// let key = AuthKey::random();
    /// p.set_authkey(key.clone())?; // Python: `p.authkey = os.urandom(32)`
    /// p.start()?;
    /// assert_eq!(p.join()?, key.as_bytes());
    /// # Ok(()) }
    /// ```
    pub fn set_authkey(&mut self, key: AuthKey) -> Result<(), StateError> {
        if self.child.is_some() {
            return Err(StateError::AlreadyStarted);
        }
        self.authkey = key;
        Ok(())
    }

    /// The start method this process uses.
    ///
    /// ```
    /// use proc_core::{Process, StartMethod, get_start_method};
    ///
    /// fn work() {}
    /// assert_eq!(Process::new(work, ()).start_method(), get_start_method());
    /// let p = Process::builder().start_method(StartMethod::FORKSERVER).target(work, ());
    /// assert_eq!(p.start_method(), StartMethod::FORKSERVER);
    /// ```
    pub fn start_method(&self) -> StartMethod {
        self.method.unwrap_or_else(start::get_start_method)
    }

    /// A handle to the running child that can watch and signal it but not take its value.
    ///
    /// ```
    /// use proc_core::Process;
    /// use std::time::Duration;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// assert!(p.handle().is_none()); // not started
    /// p.start()?;
    /// let h = p.handle().unwrap(); // can go to another thread; `p` keeps the result
    /// let watcher = std::thread::spawn(move || h.wait_timeout(Duration::from_secs(60)));
    /// p.join()?;
    /// assert!(watcher.join().unwrap()?.is_some_and(|st| st.success()));
    /// # Ok(()) }
    /// ```
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
///
/// ```
/// use proc_core::Process;
/// use std::time::Duration;
///
/// fn work() {}
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(work, ());
/// p.start()?;
/// let h = p.handle().unwrap();
/// println!("{} is pid {:?}", h.name(), h.pid());
/// let status = h.wait_timeout(Duration::from_secs(60))?;
/// assert!(status.is_some());
/// p.join()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ChildHandle {
    state: Arc<ChildState>,
}

impl ChildHandle {
    /// The child's process id.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// p.start()?;
    /// assert_eq!(Some(p.handle().unwrap().pid()), p.pid());
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> Pid {
        self.state.pid
    }

    /// The child's name.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().name("w").target(work, ());
    /// p.start()?;
    /// assert_eq!(p.handle().unwrap().name(), "w");
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Whether the child is a daemon.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::builder().daemon(true).target(work, ());
    /// p.start()?;
    /// assert!(p.handle().unwrap().daemon());
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn daemon(&self) -> bool {
        self.state.daemon
    }

    /// Whether the child is running.
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
    /// let h = p.handle().unwrap();
    /// assert!(h.is_alive());
    /// h.kill()?;
    /// h.wait_timeout(Duration::from_secs(60))?;
    /// assert!(!h.is_alive());
    /// # Ok(()) }
    /// ```
    pub fn is_alive(&self) -> bool {
        matches!(self.state.try_status(), Ok(None))
    }

    /// Python's `exitcode`.
    ///
    /// ```
    /// use proc_core::Process;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(work, ());
    /// p.start()?;
    /// let h = p.handle().unwrap();
    /// p.join()?;
    /// assert_eq!(h.exitcode(), Some(0));
    /// # Ok(()) }
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        self.state.try_status().ok().flatten().map(ExitStatus::code)
    }

    /// Waits up to `timeout` for the child to end; returns how it ended, or `None` if still running.
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
    /// let h = p.handle().unwrap();
    /// assert_eq!(h.wait_timeout(Duration::from_millis(10))?, None); // still running
    /// h.kill()?;
    /// assert!(h.wait_timeout(Duration::from_secs(60))?.is_some());
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
        self.state.wait(sys::deadline_after(timeout))
    }

    /// Sends SIGTERM.
    ///
    /// ```
    /// use proc_core::{Process, active_children};
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
    /// for child in active_children() {
    ///     child.terminate()?; // stop every child, from anywhere
    ///     child.wait_timeout(Duration::from_secs(60))?;
    /// }
    /// assert_eq!(p.exitcode(), Some(-15));
    /// # Ok(()) }
    /// ```
    pub fn terminate(&self) -> std::io::Result<()> {
        self.state.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL.
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
    /// let h = p.handle().unwrap();
    /// h.kill()?;
    /// assert_eq!(h.wait_timeout(Duration::from_secs(60))?.map(|st| st.code()), Some(-9));
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) -> std::io::Result<()> {
        self.state.signal(Signal::SIGKILL)
    }

    /// An fd that becomes readable when the child ends.
    ///
    /// ```
    /// use proc_core::{Process, wait};
    /// use std::time::Duration;
    ///
    /// fn work() {}
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut a = Process::new(work, ());
    /// let mut b = Process::new(work, ());
    /// a.start()?;
    /// b.start()?;
    /// let (ha, hb) = (a.handle().unwrap(), b.handle().unwrap());
    /// let ready = wait(&[&ha.sentinel(), &hb.sentinel()], Some(Duration::from_secs(60)))?;
    /// assert!(!ready.is_empty()); // at least one has ended
    /// a.join()?;
    /// b.join()?;
    /// # Ok(()) }
    /// ```
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
///
/// ```
/// use proc_core::{Process, active_children};
///
/// fn work() {}
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(work, ());
/// p.start()?;
/// p.join()?;
/// assert!(active_children().iter().all(|c| Some(c.pid()) != p.pid())); // ended and reaped
/// # Ok(()) }
/// ```
pub fn active_children() -> Vec<ChildHandle> {
    runtime::reap().into_iter().map(|state| ChildHandle { state }).collect()
}

/// The number of CPUs in the system (Python's `cpu_count()`).
///
/// ```
/// use proc_core::cpu_count;
///
/// println!("this machine has {} CPUs", cpu_count()); // Python: `os.cpu_count()`
/// assert!(cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    sys::cpu_count().unwrap_or(1)
}

/// The number of CPUs this process may run on (Python 3.13's `process_cpu_count()`); the default
/// size of a pool.
///
/// ```
/// use proc_core::{cpu_count, process_cpu_count};
///
/// // Python 3.13's `os.process_cpu_count()`: the CPUs this process may run on.
/// assert!(process_cpu_count() >= 1 && process_cpu_count() <= cpu_count());
/// ```
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
