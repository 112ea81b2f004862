//! Start methods — how a child process comes to exist — and the process-wide default.

use std::fmt;
use std::sync::Mutex;

/// How a child process is started.
///
/// - [`StartMethod::SPAWN`] (the default): the parent starts a fresh copy of its own executable,
///   which runs the job from its entry hook before `main`. Nothing is inherited but what the job
///   carries: safe in any program, with any number of threads.
/// - [`StartMethod::FORKSERVER`] (Linux): a single-threaded server, started by spawn on first use,
///   forks each child. Fork's speed with spawn's safety. The server binds the dynamic symbols of
///   the program at start-up (as `LD_BIND_NOW` does; the variable is not left in the children's
///   environment), so a library that a child loads with `dlopen` has its symbols resolved at load
///   time, as with `RTLD_NOW`.
/// - [`StartMethod::fork`] (Unix, `unsafe`): the child is a copy of the parent. Fastest, and the only
///   method that can run closures that capture, but only the calling thread is copied: see its
///   safety section.
///
/// ```
/// use proc_core::{Process, StartMethod};
///
/// fn answer() -> u8 {
///     42
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Python: `get_context("forkserver").Process(target=answer)`
/// let mut p = Process::builder().start_method(StartMethod::FORKSERVER).target(answer, ());
/// p.start()?;
/// assert_eq!(p.join()?, 42);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StartMethod(pub(crate) Method);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Method {
    Spawn,
    Fork,
    ForkServer,
}

impl StartMethod {
    /// Re-execute this binary; the child runs its job before `main`.
    pub const SPAWN: StartMethod = StartMethod(Method::Spawn);
    /// Ask a single-threaded fork server (started on first use) to fork the child.
    pub const FORKSERVER: StartMethod = StartMethod(Method::ForkServer);

    /// Fork this process; the child runs the job in its copy of the calling thread.
    ///
    /// # Safety
    /// The child has only a copy of the thread that called `start`. Any lock another thread held at
    /// that moment (inside the allocator, stdout, a `Mutex` of the program) stays locked in the child
    /// forever, and any data structure another thread was updating stays half-updated. The caller
    /// promises that the child's work touches no such state: always true in a program with one
    /// thread, and true when the other threads hold no locks or data the target uses.
    /// multiproc's own state is fork-aware, and `start` flushes stdout before forking (so nothing
    /// printed without a newline is written twice); other buffers of the program are copied as they
    /// are, so flush them first.
    ///
    /// ```
    /// use proc_core::{Process, StartMethod};
    ///
    /// fn answer() -> u8 {
    ///     42
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // SAFETY: this example's process has no other thread holding a lock `answer` needs.
    /// let fork = unsafe { StartMethod::fork() };
    /// let mut p = Process::builder().start_method(fork).target(answer, ());
    /// p.start()?;
    /// assert_eq!(p.join()?, 42);
    /// # Ok(()) }
    /// ```
    pub unsafe fn fork() -> StartMethod {
        StartMethod(Method::Fork)
    }

    /// The method's name, as Python spells it: `"spawn"`, `"fork"` or `"forkserver"`.
    ///
    /// ```
    /// use proc_core::StartMethod;
    ///
    /// assert_eq!(StartMethod::SPAWN.name(), "spawn");
    /// assert_eq!(StartMethod::FORKSERVER.name(), "forkserver");
    /// ```
    pub fn name(self) -> &'static str {
        match self.0 {
            Method::Spawn => "spawn",
            Method::Fork => "fork",
            Method::ForkServer => "forkserver",
        }
    }

    /// The spawn method or the forkserver method by name (`"spawn"`, `"forkserver"`). The fork
    /// method is only available through the `unsafe` [`StartMethod::fork`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_core::StartMethod;
    ///
    /// let method = std::env::var("START_METHOD").unwrap_or_else(|_| "spawn".into());
    /// let method = StartMethod::from_name(&method).ok_or("unknown start method")?;
    /// assert_eq!(method, StartMethod::SPAWN);
    /// assert_eq!(StartMethod::from_name("fork"), None); // only through the unsafe `StartMethod::fork`
    /// # Ok(()) }
    /// ```
    pub fn from_name(name: &str) -> Option<StartMethod> {
        match name {
            "spawn" => Some(StartMethod::SPAWN),
            "forkserver" => Some(StartMethod::FORKSERVER),
            _ => None,
        }
    }
}

impl fmt::Debug for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StartMethod({})", self.name())
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The names of the start methods this platform offers (Python's `get_all_start_methods()`).
///
/// ```
/// use proc_core::get_all_start_methods;
///
/// assert!(get_all_start_methods().contains(&"spawn"));
/// ```
pub fn get_all_start_methods() -> &'static [&'static str] {
    &["spawn", "fork", "forkserver"]
}

static DEFAULT: Mutex<Option<StartMethod>> = Mutex::new(None);

/// The start method used by processes that do not choose one (Python's `get_start_method()`).
/// Fixed to [`StartMethod::SPAWN`] on first use unless set before.
///
/// ```
/// use proc_core::{StartMethod, get_start_method};
///
/// assert_eq!(get_start_method(), StartMethod::SPAWN); // unless set before
/// ```
pub fn get_start_method() -> StartMethod {
    *DEFAULT.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(StartMethod::SPAWN)
}

/// The default was already fixed, by an earlier call or by the first process started.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_core::{StartMethod, set_start_method};
///
/// set_start_method(StartMethod::FORKSERVER)?;
/// let err = set_start_method(StartMethod::SPAWN).unwrap_err();
/// assert_eq!(err.current, StartMethod::FORKSERVER);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the start method has already been set to {current}")]
pub struct StartMethodAlreadySet {
    /// The method in force.
    pub current: StartMethod,
}

/// Sets the default start method, once (Python's `set_start_method(method)`): a second call, or a
/// call after the default was used, is an error. [`set_start_method_force`] overrides.
///
/// ```
/// use proc_core::{Process, StartMethod, set_start_method};
///
/// fn work() {}
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// set_start_method(StartMethod::FORKSERVER)?; // Python: `set_start_method("forkserver")`, in main
/// let mut p = Process::new(work, ());
/// assert_eq!(p.start_method(), StartMethod::FORKSERVER);
/// p.start()?;
/// p.join()?;
/// # Ok(()) }
/// ```
pub fn set_start_method(method: StartMethod) -> Result<(), StartMethodAlreadySet> {
    let mut d = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
    match *d {
        Some(current) => Err(StartMethodAlreadySet { current }),
        None => {
            *d = Some(method);
            Ok(())
        }
    }
}

/// Sets the default start method even if it was set before (Python's `force=True`).
///
/// ```
/// use proc_core::{StartMethod, get_start_method, set_start_method_force};
///
/// set_start_method_force(StartMethod::FORKSERVER); // Python: `set_start_method(…, force=True)`
/// set_start_method_force(StartMethod::SPAWN);
/// assert_eq!(get_start_method(), StartMethod::SPAWN);
/// ```
pub fn set_start_method_force(method: StartMethod) {
    *DEFAULT.lock().unwrap_or_else(|e| e.into_inner()) = Some(method);
}
