//! Process-wide state: who this process is, the children it started, what happens at exit, and the
//! thread that starts daemon children.
//!
//! These globals use `std::sync::Mutex` (a plain futex word on Linux) rather than parking_lot,
//! because the fork start method takes them all before `fork` and releases them in both processes
//! after it: a futex unlock in the child touches only the lock word, never a shared parking table
//! that another thread of the parent might have been holding.

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::child::ChildState;
use crate::status::{Pid, Signal};
use crate::sys;

/// The secret a process family shares: Python's `authkey`, 32 random bytes made by the main
/// process and inherited by every child. Listeners and managers use it to authenticate clients.
///
/// ```
/// use proc_core::{AuthKey, current_process};
///
/// let family = current_process().authkey().clone(); // Python: `current_process().authkey`
/// let other = AuthKey::random();
/// assert_ne!(family, other);
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthKey([u8; 32]);

impl AuthKey {
    /// A fresh random key.
    ///
    /// ```
    /// use proc_core::AuthKey;
    ///
    /// let key = AuthKey::random(); // Python: `os.urandom(32)`
    /// assert_eq!(key.as_bytes().len(), 32);
    /// ```
    pub fn random() -> AuthKey {
        let mut k = [0u8; 32];
        sys::random_bytes(&mut k).expect("the kernel's random number generator is unavailable");
        AuthKey(k)
    }

    /// A key with these bytes.
    ///
    /// ```
    /// use proc_core::AuthKey;
    ///
    /// let key = AuthKey::from_bytes([7; 32]); // a key agreed with another program
    /// assert_eq!(key.as_bytes(), &[7; 32]);
    /// ```
    pub fn from_bytes(bytes: [u8; 32]) -> AuthKey {
        AuthKey(bytes)
    }

    /// The key's bytes.
    ///
    /// ```
    /// use proc_core::current_process;
    ///
    /// let me = current_process();
    /// let bytes: &[u8] = me.authkey().as_bytes(); // for an HMAC of your own, say
    /// assert_eq!(bytes.len(), 32);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(<secret>)")
    }
}

/// What a child is told about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ChildMeta {
    pub(crate) name: String,
    pub(crate) identity: Vec<u32>,
    pub(crate) daemon: bool,
    pub(crate) authkey: AuthKey,
    pub(crate) parent_pid: i32,
    pub(crate) parent_name: String,
}

/// Who this process is.
struct Me {
    name: String,
    identity: Vec<u32>,
    daemon: bool,
    authkey: Option<AuthKey>,
    counter: u32,
    parent: Option<Arc<ParentInfo>>,
    /// The bootstrap socket to our parent, if we are a child: fork children close it.
    bootstrap: Option<std::os::fd::RawFd>,
}

struct ParentInfo {
    pid: Pid,
    name: String,
    pidfd: Option<OwnedFd>,
}

static ME: LazyLock<Mutex<Me>> = LazyLock::new(|| {
    Mutex::new(Me {
        name: "MainProcess".into(),
        identity: Vec::new(),
        daemon: false,
        authkey: None,
        counter: 0,
        parent: None,
        bootstrap: None,
    })
});

/// Children started by this process that have not been joined.
static CHILDREN: LazyLock<Mutex<Vec<Arc<ChildState>>>> = LazyLock::new(|| Mutex::new(Vec::new()));

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these leaves consistent data (every update is a single
    // assignment or push), so poisoning carries no information here.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A snapshot of the calling process: Python's `current_process()`.
///
/// ```
/// use proc_core::{Process, current_process};
///
/// fn describe() -> (String, bool) {
///     let me = current_process();
///     (me.name().to_string(), me.daemon())
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(current_process().name(), "MainProcess");
/// let mut p = Process::builder().name("helper").daemon(true).target(describe, ());
/// p.start()?;
/// assert_eq!(p.join()?, ("helper".to_string(), true));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct CurrentProcess {
    name: String,
    pid: Pid,
    daemon: bool,
    authkey: AuthKey,
    identity: Vec<u32>,
}

impl CurrentProcess {
    /// The process's name: `MainProcess` for the main process, `Process-N` (or `Process-N:M` …) for
    /// children unless they were given one.
    ///
    /// ```
    /// use proc_core::current_process;
    ///
    /// println!("running in {}", current_process().name()); // Python: `current_process().name`
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id.
    ///
    /// ```
    /// use proc_core::{Pid, current_process};
    ///
    /// assert_eq!(current_process().pid(), Pid::current());
    /// ```
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Whether this is a daemon process (it may not start children).
    ///
    /// ```
    /// use proc_core::current_process;
    ///
    /// assert!(!current_process().daemon()); // the main process is not a daemon
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// The process family's authentication key.
    ///
    /// ```
    /// use proc_core::{AuthKey, current_process};
    ///
    /// let key: AuthKey = current_process().authkey().clone();
    /// assert_eq!(&key, current_process().authkey()); // the same for the whole family
    /// ```
    pub fn authkey(&self) -> &AuthKey {
        &self.authkey
    }

    /// Position in the process tree: empty for the main process, `[N]` for its N-th child, and so on.
    ///
    /// ```
    /// use proc_core::{Process, current_process};
    ///
    /// fn my_identity() -> Vec<u32> {
    ///     current_process().identity().to_vec()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert!(current_process().identity().is_empty()); // the main process
    /// let mut p = Process::new(my_identity, ());
    /// p.start()?;
    /// assert_eq!(p.join()?.len(), 1); // `[N]`: the N-th child of the main process
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> &[u32] {
        &self.identity
    }
}

/// The calling process (Python's `multiprocessing.current_process()`).
///
/// ```
/// use proc_core::{Process, current_process};
///
/// fn whoami() -> String {
///     current_process().name().to_string()
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(whoami, ());
/// let name = p.name().to_string();
/// p.start()?;
/// assert_eq!(p.join()?, name);
/// # Ok(()) }
/// ```
pub fn current_process() -> CurrentProcess {
    let mut me = lock(&ME);
    let authkey = me.authkey.get_or_insert_with(AuthKey::random).clone();
    CurrentProcess {
        name: me.name.clone(),
        pid: Pid::current(),
        daemon: me.daemon,
        authkey,
        identity: me.identity.clone(),
    }
}

/// This process's authentication key, without the rest of [`current_process`] (no system call,
/// no copies of the name and identity): for checks made per message.
pub(crate) fn authkey() -> AuthKey {
    lock(&ME).authkey.get_or_insert_with(AuthKey::random).clone()
}

/// Renames the calling process (Python's `current_process().name = …`).
///
/// ```
/// use proc_core::{current_process, set_current_process_name};
///
/// set_current_process_name("coordinator");
/// assert_eq!(current_process().name(), "coordinator");
/// ```
pub fn set_current_process_name(name: impl Into<String>) {
    lock(&ME).name = name.into();
}

/// The process that started this one, if this is a child (Python's `parent_process()`).
///
/// ```
/// use proc_core::{Pid, Process, parent_process};
///
/// fn parent_pid() -> Option<Pid> {
///     parent_process().map(|p| p.pid())
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert!(parent_process().is_none()); // the main process has no multiproc parent
/// let mut p = Process::new(parent_pid, ());
/// p.start()?;
/// assert_eq!(p.join()?, Some(Pid::current()));
/// # Ok(()) }
/// ```
pub fn parent_process() -> Option<ParentProcess> {
    lock(&ME).parent.clone().map(|info| ParentProcess { info })
}

/// The parent of the calling process, as seen from a child.
///
/// ```
/// use proc_core::{Process, parent_process};
///
/// fn parent_name() -> String {
///     let parent = parent_process().expect("started by a multiproc parent");
///     parent.name().to_string()
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::new(parent_name, ());
/// p.start()?;
/// assert_eq!(p.join()?, "MainProcess");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ParentProcess {
    info: Arc<ParentInfo>,
}

impl ParentProcess {
    /// The parent's process id.
    ///
    /// ```
    /// use proc_core::{Pid, Process, parent_process};
    ///
    /// fn parent_pid() -> Pid {
    ///     parent_process().unwrap().pid()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(parent_pid, ());
    /// p.start()?;
    /// assert_eq!(p.join()?, Pid::current());
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> Pid {
        self.info.pid
    }

    /// The parent's name.
    ///
    /// ```
    /// use proc_core::{Process, parent_process};
    ///
    /// fn parent_name() -> String {
    ///     parent_process().unwrap().name().to_string()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(parent_name, ());
    /// p.start()?;
    /// assert_eq!(p.join()?, "MainProcess");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Whether the parent is still running.
    ///
    /// ```
    /// use proc_core::{Process, parent_process};
    ///
    /// fn parent_alive() -> bool {
    ///     parent_process().unwrap().is_alive()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(parent_alive, ());
    /// p.start()?;
    /// assert!(p.join()?); // this process is waiting for it, so alive
    /// # Ok(()) }
    /// ```
    pub fn is_alive(&self) -> bool {
        match &self.info.pidfd {
            Some(fd) => {
                !sys::wait_fd(fd.as_fd(), sys::Interest::Readable, Some(std::time::Instant::now()))
                    .unwrap_or(false)
            }
            None => false,
        }
    }

    /// Waits until the parent has ended, at most `timeout`; returns whether it has.
    ///
    /// ```
    /// use proc_core::{Process, parent_process};
    /// use std::time::Duration;
    ///
    /// fn parent_ended() -> bool {
    ///     parent_process().unwrap().join_timeout(Duration::from_millis(10))
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(parent_ended, ());
    /// p.start()?;
    /// assert!(!p.join()?); // the parent is still here
    /// # Ok(()) }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        match &self.info.pidfd {
            Some(fd) => {
                sys::wait_fd(fd.as_fd(), sys::Interest::Readable, sys::deadline_after(timeout))
                    .unwrap_or(true)
            }
            None => true,
        }
    }

    /// The parent's pidfd, readable once it has ended (usable with [`wait`](crate::wait)).
    ///
    /// ```
    /// use proc_core::{Process, parent_process, wait};
    /// use std::time::Duration;
    ///
    /// fn parent_ready() -> Vec<usize> {
    ///     let parent = parent_process().unwrap();
    ///     let fd = parent.sentinel().expect("a pidfd on Linux");
    ///     wait(&[&fd], Some(Duration::from_millis(10))).unwrap()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(parent_ready, ());
    /// p.start()?;
    /// assert!(p.join()?.is_empty()); // not readable: the parent has not ended
    /// # Ok(()) }
    /// ```
    pub fn sentinel(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.info.pidfd.as_ref().map(|fd| fd.as_fd())
    }
}

impl fmt::Debug for ParentProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParentProcess")
            .field("pid", &self.info.pid)
            .field("name", &self.info.name)
            .finish()
    }
}

/// Name, identity and authkey for the next child created by this process.
pub(crate) fn next_child() -> (String, Vec<u32>, AuthKey, bool) {
    let mut me = lock(&ME);
    me.counter += 1;
    let mut identity = me.identity.clone();
    identity.push(me.counter);
    let name =
        format!("Process-{}", identity.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(":"));
    let authkey = me.authkey.get_or_insert_with(AuthKey::random).clone();
    (name, identity, authkey, me.daemon)
}

/// Whether the calling process is a daemon.
pub(crate) fn is_daemon() -> bool {
    lock(&ME).daemon
}

/// A child's record of its parent, made from its [`ChildMeta`] before the child exists when the
/// child is a fork (so the child does not allocate it), or in the child otherwise.
pub(crate) struct ParentRecord(Arc<ParentInfo>);

impl ParentRecord {
    /// The parent `meta` names (its name is moved out of `meta`).
    pub(crate) fn take(meta: &mut ChildMeta) -> ParentRecord {
        ParentRecord(Arc::new(ParentInfo {
            pid: Pid::from_raw(meta.parent_pid),
            name: std::mem::take(&mut meta.parent_name),
            pidfd: None,
        }))
    }
}

/// Becomes the child described by `meta`, whose parent is `parent` with the pidfd `parent_pidfd`
/// (called first thing in every child).
pub(crate) fn become_child(
    meta: ChildMeta,
    parent: ParentRecord,
    parent_pidfd: Option<OwnedFd>,
    bootstrap: Option<std::os::fd::RawFd>,
) {
    let mut parent = parent.0;
    if let Some(info) = Arc::get_mut(&mut parent) {
        info.pidfd = parent_pidfd;
    }
    let mut me = lock(&ME);
    // Moved in, not copied, and the parent's values forgotten rather than freed: a fork child
    // writes as few of the pages it shares with its parent as it can (each one written is copied),
    // and the allocator's are among them. (A spawned child has only the defaults to forget.)
    std::mem::forget(std::mem::replace(&mut me.name, meta.name));
    std::mem::forget(std::mem::replace(&mut me.identity, meta.identity));
    me.daemon = meta.daemon;
    me.authkey = Some(meta.authkey);
    me.counter = 0;
    // Dropped: only a child of a child had a parent before, and its pidfd must be closed.
    drop(me.parent.replace(parent));
    if let Some(old) = std::mem::replace(&mut me.bootstrap, bootstrap) {
        // A fork child does not answer to its parent's parent: close the inherited socket.
        // SAFETY: `old` is the bootstrap socket this process adopted at start-up and still owns.
        drop(unsafe { sys::adopt(old) });
    }
}

/// Adds a started child to the registry (and arms the exit hook the first time).
pub(crate) fn register(child: Arc<ChildState>) {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| sys::atexit(at_exit));
    lock(&CHILDREN).push(child);
}

/// Removes a joined child from the registry.
pub(crate) fn unregister(child: &Arc<ChildState>) {
    lock(&CHILDREN).retain(|c| !Arc::ptr_eq(c, child));
}

/// Reaps finished children and returns the ones still running.
pub(crate) fn reap() -> Vec<Arc<ChildState>> {
    let all: Vec<Arc<ChildState>> = lock(&CHILDREN).clone();
    let mut alive = Vec::new();
    let mut done = Vec::new();
    for c in all {
        if c.try_status().ok().flatten().is_some() {
            done.push(c);
        } else {
            alive.push(c);
        }
    }
    if !done.is_empty() {
        lock(&CHILDREN).retain(|c| !done.iter().any(|d| Arc::ptr_eq(c, d)));
    }
    alive
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(run_exit_hooks);
}

/// Python's exit behaviour: terminate daemon children, then join every child.
pub(crate) fn run_exit_hooks() {
    let children: Vec<Arc<ChildState>> = std::mem::take(&mut *lock(&CHILDREN));
    for c in &children {
        if c.daemon && matches!(c.try_status(), Ok(None)) {
            let _ = c.signal(Signal::SIGTERM);
        }
    }
    for c in &children {
        let _ = c.wait(None);
    }
    crate::forkserver::shutdown();
}

/// Everything a fork must hold so the child gets consistent copies; released in both processes.
pub(crate) struct ForkLocks {
    _me: MutexGuard<'static, Me>,
    children: MutexGuard<'static, Vec<Arc<ChildState>>>,
    _spawner: MutexGuard<'static, Option<Spawner>>,
}

pub(crate) fn fork_locks() -> ForkLocks {
    ForkLocks { _me: lock(&ME), children: lock(&CHILDREN), _spawner: lock(&SPAWNER) }
}

impl ForkLocks {
    /// In the fork child: the parent's children and threads are not ours.
    pub(crate) fn reset_for_child(mut self) {
        // Dropping our copies closes the fds of the parent's children in this process only.
        self.children.clear();
        // The spawner thread did not survive the fork; a new one is made on demand.
        if let Some(sp) = self._spawner.take() {
            std::mem::forget(sp);
        }
    }
}

/// The thread that starts daemon children when the caller is not the main thread.
///
/// Linux delivers the parent-death signal when the *thread* that created a child exits, not the
/// process. A daemon child started from a short-lived thread would die with that thread; started
/// from this thread, which lives as long as the process, it dies with the process.
struct Spawner {
    tx: mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

static SPAWNER: LazyLock<Mutex<Option<Spawner>>> = LazyLock::new(|| Mutex::new(None));

/// Runs `f` on the spawner thread and returns its result.
pub(crate) fn on_spawner_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (rtx, rrx) = mpsc::sync_channel(1);
    let job: Box<dyn FnOnce() + Send> = Box::new(move || {
        let _ = rtx.send(f());
    });
    let mut job = Some(job);
    {
        let mut sp = lock(&SPAWNER);
        if let Some(s) = sp.as_ref()
            && let Err(mpsc::SendError(j)) = s.tx.send(job.take().expect("job not yet sent"))
        {
            job = Some(j);
            *sp = None;
        }
        if let Some(j) = job.take() {
            let (tx, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
            std::thread::Builder::new()
                .name("multiproc-spawner".into())
                // Fork children run on a copy of this thread's stack: give it a main-thread-sized one.
                .stack_size(8 << 20)
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .expect("could not start the spawner thread");
            tx.send(j).expect("the new spawner thread is listening");
            *sp = Some(Spawner { tx });
        }
    }
    rrx.recv().expect("the spawner thread ran the job")
}

/// Whether a daemon child started from the calling thread must go through the spawner thread.
pub(crate) fn needs_spawner(daemon: bool) -> bool {
    daemon && !sys::on_main_thread()
}
