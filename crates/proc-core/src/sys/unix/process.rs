//! Processes: re-exec spawn of this binary, fork, pidfds, exit status, signals and the parent-death
//! signal.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::ptr;

/// The fd number a spawned child finds its bootstrap socket on.
pub(crate) const BOOTSTRAP_FD: RawFd = 3;

/// Exit status as the kernel reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawStatus {
    Exited(i32),
    Signaled(i32),
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

fn cvt_long(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

/// The calling process's id.
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

/// The parent process's id.
pub(crate) fn getppid() -> i32 {
    // SAFETY: getppid has no preconditions and cannot fail.
    unsafe { libc::getppid() }
}

/// Whether the calling thread is the process's main thread (its tid equals the pid).
pub(crate) fn on_main_thread() -> bool {
    // SAFETY: gettid and getpid have no preconditions and cannot fail.
    unsafe { libc::gettid() == libc::getpid() }
}

/// Opens a pidfd for a child of ours that has not been reaped (so the pid cannot have been reused).
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = cvt_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the syscall returned a fresh fd (close-on-exec by definition) that only we know.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Reaps the child behind `pidfd` if it has exited. `Ok(None)`: still running (only with `nohang`).
pub(crate) fn waitid_pidfd(pidfd: BorrowedFd<'_>, nohang: bool) -> io::Result<Option<RawStatus>> {
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value to be overwritten by waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | if nohang { libc::WNOHANG } else { 0 };
        // SAFETY: `info` is a valid out-pointer; P_PIDFD with a borrowed, open pidfd.
        let r = unsafe {
            libc::waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, flags)
        };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: after a successful waitid the pid field is initialised (0 if nothing was reaped).
        if unsafe { info.si_pid() } == 0 {
            return Ok(None);
        }
        // SAFETY: si_status is initialised for CLD_* codes, which waitid(WEXITED) reports.
        let status = unsafe { info.si_status() };
        return Ok(Some(match info.si_code {
            libc::CLD_EXITED => RawStatus::Exited(status),
            _ => RawStatus::Signaled(status),
        }));
    }
}

/// Sends `sig` to the process behind `pidfd` (race-free against pid reuse).
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: pidfd_send_signal(fd, sig, NULL info, 0 flags) has no memory preconditions.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    match cvt_long(r) {
        Ok(_) => Ok(()),
        // Already exited (a zombie still has its pidfd): nothing to do, as Python's terminate().
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Asks the kernel to send SIGKILL to this process when the thread that created it exits, then checks
/// that the expected parent is still there: if it died before the request took effect, the signal
/// will never come, so exit now.
pub(crate) fn die_with_parent(expected_parent: i32) {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no memory is involved.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    if getppid() != expected_parent {
        exit_immediately(1);
    }
}

/// Names this process after the program (the name `ps` and `top` show). A re-exec'd child would
/// otherwise be called `exe`, after `/proc/self/exe`.
pub(crate) fn name_after_program() {
    let Some(argv0) = std::env::args_os().next() else { return };
    let path = std::path::Path::new(&argv0);
    let Some(base) = path.file_name() else { return };
    let mut name: Vec<u8> =
        base.as_encoded_bytes().iter().copied().take(15).filter(|b| *b != 0).collect();
    name.push(0);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes, which `name` is.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

/// Ends the process now: no atexit handlers, no stdio flushing.
pub(crate) fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// Registers an `atexit` handler.
pub(crate) fn atexit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain function that lives for the whole program.
    unsafe { libc::atexit(f) };
}

/// Ignores SIGPIPE, as Rust's runtime does before `main` (which a child never reaches).
pub(crate) fn ignore_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_IGN has no memory preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Points fd 0 at `/dev/null`, as Python's child bootstrap does (so a read of stdin sees EOF).
/// No allocation: a fork child copies every page of its parent's heap it writes to.
pub(crate) fn stdin_from_dev_null() -> io::Result<()> {
    // The path is built on the stack, which a fork child has touched already, rather than read from
    // a constant: that would fault in one more page of the binary just for the kernel to copy ten
    // bytes out of it. (`black_box` keeps the compiler from passing the constant after all.)
    let path: [u8; 10] = std::hint::black_box(*b"/dev/null\0");
    // SAFETY: a NUL-terminated path that outlives the call; the fd returned is this function's to
    // own.
    let fd = cvt(unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    if fd == 0 {
        // stdin was closed, and the lowest free fd is 0: it is /dev/null already (and must stay
        // open), but close-on-exec was asked for; clear it as dup2 would have.
        // SAFETY: fd 0 is open (just opened above).
        cvt(unsafe { libc::fcntl(0, libc::F_SETFD, 0) })?;
        return Ok(());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let null = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: dup2 onto fd 0 replaces stdin; both fds are valid.
    cvt(unsafe { libc::dup2(null.as_raw_fd(), 0) })?;
    Ok(())
}

/// Closes every fd numbered `first` or above.
pub(crate) fn close_fds_from(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range closes fds this process owns; the callers guarantee nothing above `first`
    // is still in use (they run before any other code in a fresh child).
    cvt_long(unsafe { libc::syscall(libc::SYS_close_range, first as libc::c_uint, !0u32, 0u32) })?;
    Ok(())
}

/// Moves `fd` to exactly `target` (clearing close-on-exec there) and closes the original.
pub(crate) fn move_fd_to(fd: OwnedFd, target: RawFd) -> io::Result<()> {
    if fd.as_raw_fd() == target {
        std::mem::forget(fd);
        return Ok(());
    }
    // SAFETY: both fds are valid; dup2 atomically replaces `target`.
    cvt(unsafe { libc::dup2(fd.as_raw_fd(), target) })?;
    Ok(())
}

/// Makes `target` a copy of `fd` (clearing close-on-exec there); `fd` stays open.
pub(crate) fn dup_to(fd: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 on fd numbers; it fails with EBADF if `fd` is not open, and atomically replaces
    // `target`, which the callers (fresh children arranging their fds) own.
    cvt(unsafe { libc::dup2(fd, target) })?;
    Ok(())
}

/// What the parent needs to start a re-exec child.
pub(crate) struct SpawnRequest<'a> {
    /// Environment entries `KEY=VALUE` to add to the child's copy of ours.
    pub(crate) extra_env: &'a [(&'a str, String)],
    /// The child's end of the bootstrap socket; becomes fd [`BOOTSTRAP_FD`].
    pub(crate) bootstrap: BorrowedFd<'a>,
}

/// Starts a fresh copy of the running executable (`/proc/self/exe`) with a clean signal state, stdin
/// from `/dev/null`, the bootstrap socket on fd 3 and every other fd closed.
pub(crate) fn spawn_self(req: &SpawnRequest<'_>) -> io::Result<i32> {
    // The child reaches its job through the entry hook; make sure the linker kept it.
    super::entry_hook::keep();

    // The bootstrap socket must not collide with the fds the file actions set up (0 and 3).
    let sock_holder;
    let mut sock = req.bootstrap.as_raw_fd();
    if sock <= BOOTSTRAP_FD {
        // SAFETY: F_DUPFD_CLOEXEC on a valid fd returns a new fd >= 10 or -1.
        let fd = cvt(unsafe { libc::fcntl(sock, libc::F_DUPFD_CLOEXEC, 10) })?;
        // SAFETY: `fd` is freshly created and owned by nobody else.
        sock_holder = unsafe { OwnedFd::from_raw_fd(fd) };
        sock = sock_holder.as_raw_fd();
    }

    let argv0 = CString::new(exe_argv0().into_vec())
        .unwrap_or_else(|_| CString::new("multiproc-child").expect("no NUL in literal"));
    let argv: [*mut libc::c_char; 2] = [argv0.as_ptr() as *mut _, ptr::null_mut()];

    let mut env: Vec<CString> = Vec::new();
    for (k, v) in std::env::vars_os() {
        if req.extra_env.iter().any(|(ek, _)| OsStr::new(ek) == k) {
            continue;
        }
        let mut kv: OsString = k;
        kv.push("=");
        kv.push(v);
        if let Ok(c) = CString::new(kv.into_vec()) {
            env.push(c);
        }
    }
    for (k, v) in req.extra_env {
        env.push(CString::new(format!("{k}={v}")).map_err(io::Error::other)?);
    }
    let mut envp: Vec<*mut libc::c_char> = env.iter().map(|c| c.as_ptr() as *mut _).collect();
    envp.push(ptr::null_mut());

    let mut actions = FileActions::new()?;
    actions.open(0, c"/dev/null", libc::O_RDONLY)?;
    actions.dup2(sock, BOOTSTRAP_FD)?;
    actions.close_from(BOOTSTRAP_FD + 1)?;
    let attr = SpawnAttr::clean()?;

    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid for the call: a NUL-terminated path, initialised file actions
    // and attributes, and NULL-terminated argv/envp arrays of NUL-terminated strings that outlive it.
    let r = unsafe {
        libc::posix_spawn(
            &mut pid,
            c"/proc/self/exe".as_ptr(),
            &actions.0,
            &attr.0,
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(pid)
}

fn exe_argv0() -> OsString {
    std::env::args_os().next().unwrap_or_else(|| OsString::from("multiproc-child"))
}

struct FileActions(libc::posix_spawn_file_actions_t);

impl FileActions {
    fn new() -> io::Result<Self> {
        // SAFETY: a zeroed posix_spawn_file_actions_t is initialised by the init call below.
        let mut fa: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
        // SAFETY: `fa` is a valid out-pointer.
        let r = unsafe { libc::posix_spawn_file_actions_init(&mut fa) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(Self(fa))
    }

    fn open(&mut self, fd: RawFd, path: &std::ffi::CStr, flags: i32) -> io::Result<()> {
        // SAFETY: self.0 is initialised; glibc copies the path.
        let r = unsafe {
            libc::posix_spawn_file_actions_addopen(&mut self.0, fd, path.as_ptr(), flags, 0)
        };
        if r != 0 { Err(io::Error::from_raw_os_error(r)) } else { Ok(()) }
    }

    fn dup2(&mut self, fd: RawFd, target: RawFd) -> io::Result<()> {
        // SAFETY: self.0 is initialised.
        let r = unsafe { libc::posix_spawn_file_actions_adddup2(&mut self.0, fd, target) };
        if r != 0 { Err(io::Error::from_raw_os_error(r)) } else { Ok(()) }
    }

    fn close_from(&mut self, first: RawFd) -> io::Result<()> {
        // SAFETY: self.0 is initialised.
        let r = unsafe { libc::posix_spawn_file_actions_addclosefrom_np(&mut self.0, first) };
        if r != 0 { Err(io::Error::from_raw_os_error(r)) } else { Ok(()) }
    }
}

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: self.0 was initialised by posix_spawn_file_actions_init.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}

struct SpawnAttr(libc::posix_spawnattr_t);

impl SpawnAttr {
    /// Attributes for a child that starts like a fresh program: no blocked signals and every
    /// signal at its default disposition (the parent may ignore SIGPIPE or SIGINT; the child must not
    /// inherit that through exec).
    fn clean() -> io::Result<Self> {
        // SAFETY: a zeroed posix_spawnattr_t is initialised by the init call below.
        let mut attr: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
        // SAFETY: `attr` is a valid out-pointer.
        let r = unsafe { libc::posix_spawnattr_init(&mut attr) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let this = Self(attr);
        // SAFETY: zeroed sigset_t values are initialised by sigemptyset before use.
        let (mut empty, mut defaults): (libc::sigset_t, libc::sigset_t) =
            unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to sigset_t values we own.
        unsafe {
            libc::sigemptyset(&mut empty);
            libc::sigemptyset(&mut defaults);
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::sigaddset(&mut defaults, sig);
                }
            }
        }
        let mut this = this;
        // SAFETY: `this.0` is initialised; the sets are valid.
        let r = unsafe {
            libc::posix_spawnattr_setsigmask(&mut this.0, &empty);
            libc::posix_spawnattr_setsigdefault(&mut this.0, &defaults);
            libc::posix_spawnattr_setflags(
                &mut this.0,
                (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
            )
        };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(this)
    }
}

impl Drop for SpawnAttr {
    fn drop(&mut self) {
        // SAFETY: self.0 was initialised by posix_spawnattr_init.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

/// The result of [`fork`].
pub(crate) enum Forked {
    Parent(i32),
    Child,
}

/// Forks the calling process.
///
/// # Safety
/// In the child only the calling thread exists; the caller must only run code there that does not
/// depend on locks or state owned by other threads of the parent.
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: forwarded to the caller.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(if pid == 0 { Forked::Child } else { Forked::Parent(pid) })
}

/// Whether a re-exec'd child is guaranteed to run the parent's file: true on Linux, where the child
/// executes `/proc/self/exe`.
pub(crate) const EXEC_IS_SAME_FILE: bool = cfg!(target_os = "linux");

/// Whether this process has never started a second thread, by glibc's own flag: no system call
/// (the `stat` of procfs below costs microseconds). `false` when unknown.
#[cfg(target_env = "gnu")]
fn never_threaded() -> bool {
    unsafe extern "C" {
        /// glibc (2.32+): nonzero while the process has never created a thread; glibc clears it
        /// when the first thread starts and never sets it again.
        static __libc_single_threaded: libc::c_char;
    }
    // SAFETY: a one-byte read of a glibc global that only glibc writes; a volatile read so it is
    // read at each call.
    unsafe { std::ptr::read_volatile(&raw const __libc_single_threaded) != 0 }
}

#[cfg(not(target_env = "gnu"))]
fn never_threaded() -> bool {
    false
}

/// Whether this process has exactly one thread. procfs gives `/proc/self/task` a link count of two
/// plus the number of threads, which a `stat` reads far faster than parsing `/proc/self/stat`.
pub(crate) fn single_threaded() -> bool {
    use std::os::unix::fs::MetadataExt;
    if never_threaded() {
        return true;
    }
    match std::fs::metadata("/proc/self/task") {
        Ok(m) if m.nlink() >= 3 => m.nlink() == 3,
        _ => {
            let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return false };
            // The command name (field 2) is in parentheses and may contain spaces.
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            rest.split_whitespace().nth(17) == Some("1")
        }
    }
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
/// Identity of the running executable: device, inode, size, modification time.
pub(crate) fn exe_fingerprint() -> io::Result<[u64; 4]> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata("/proc/self/exe")?;
    Ok([m.dev(), m.ino(), m.size(), (m.mtime() as u64) ^ ((m.mtime_nsec() as u64) << 32)])
}

/// Fills `buf` from the kernel's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// CPUs online in the system (Python's `os.cpu_count()`).
pub(crate) fn cpu_count() -> Option<usize> {
    // SAFETY: sysconf has no memory preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (n > 0).then_some(n as usize)
}

/// CPUs this process may run on (Python's `os.process_cpu_count()`).
pub(crate) fn process_cpu_count() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid out-pointer of the size we pass.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return cpu_count();
    }
    // SAFETY: `set` was filled by sched_getaffinity.
    let n = unsafe { libc::CPU_COUNT(&set) };
    (n > 0).then_some(n as usize)
}

/// The name of signal `sig` (`"SIGTERM"`), if it has one.
pub(crate) fn signal_name(sig: i32) -> Option<&'static str> {
    nix::sys::signal::Signal::try_from(sig).ok().map(|s| s.as_str())
}

/// State letter and start time (clock ticks since boot) of process `pid`, from `/proc/<pid>/stat`.
pub(crate) fn process_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain anything: parse after the last ')'.
    let rest = s.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3), the start time is field 22: the 19th from here.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}
