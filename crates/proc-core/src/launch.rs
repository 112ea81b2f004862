//! The parent side of the three start methods: make the child exist, hand it its job, and return
//! what the parent needs to watch it.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::child::{ChildState, Reaper};
use crate::codec::Encoded;
use crate::entry::{self, JobHeader, Mode};
use crate::error::StartError;
use crate::frame::{self, Kind};
use crate::runtime::{self, ChildMeta};
use crate::start::Method;
use crate::status::Pid;
use crate::sys;
use crate::target::{self, Entry, Job};

/// Starts `job` as a child described by `meta`.
pub(crate) fn launch(
    job: Box<dyn Job>,
    meta: ChildMeta,
    method: Method,
    init_only: bool,
) -> Result<ChildState, StartError> {
    match method {
        Method::Fork => fork(job, meta),
        Method::Spawn | Method::ForkServer => {
            let Some((entry, encoded)) = job.spawn_form() else {
                return Err(StartError::NeedsFork { method: crate::StartMethod(method) });
            };
            let encoded = encoded?;
            if method == Method::Spawn {
                spawn(entry, &encoded, meta, if init_only { Mode::InitOnly } else { Mode::Child })
            } else {
                crate::forkserver::launch(entry, &encoded, meta)
            }
        }
    }
}

/// Re-exec: start a fresh copy of this binary and send it the job.
fn spawn(
    entry: Entry,
    encoded: &Encoded<'_>,
    meta: ChildMeta,
    mode: Mode,
) -> Result<ChildState, StartError> {
    let (ours, theirs) = sys::stream_pair()?;
    let pid = spawn_self(theirs, mode, String::new(), &[], meta.daemon)?;
    let pidfd = sys::pidfd_open(pid)?;
    let header = JobHeader {
        fingerprint: entry::fingerprint()?,
        layout: entry::layout(),
        entry: target::entry_offset(entry),
        os_parent: sys::getpid(),
        meta: meta.clone(),
    };
    send_job(&ours, &header, encoded, &pidfd)?;
    sys::set_nonblocking(ours.as_fd(), true)?;
    Ok(ChildState::new(Pid::from_raw(pid), meta.name, meta.daemon, pidfd, Reaper::Direct, ours))
}

/// Starts a fresh copy of this binary in `mode` with `bootstrap` as its fd 3, and `more_env` added
/// to its environment. A process that must die with us is started from a thread that lives as long
/// as the process (see `runtime::Spawner`).
pub(crate) fn spawn_self(
    bootstrap: OwnedFd,
    mode: Mode,
    extra: String,
    more_env: &[(&'static str, String)],
    die_with_us: bool,
) -> io::Result<i32> {
    let mut env = vec![(entry::ENV, entry::env_value(mode, &extra))];
    env.extend(more_env.iter().cloned());
    let run = move || {
        sys::spawn_self(&sys::SpawnRequest { extra_env: &env, bootstrap: bootstrap.as_fd() })
    };
    if runtime::needs_spawner(die_with_us) { runtime::on_spawner_thread(run) } else { run() }
}

/// Sends the job frame: header length, header, encoded arguments, with the arguments' fds.
pub(crate) fn send_job(
    sock: &OwnedFd,
    header: &JobHeader,
    encoded: &Encoded<'_>,
    pidfd: &OwnedFd,
) -> Result<(), StartError> {
    job_sent(send_job_frame(sock, header, encoded), pidfd)
}

/// Writes the job frame.
pub(crate) fn send_job_frame(
    sock: &OwnedFd,
    header: &JobHeader,
    encoded: &Encoded<'_>,
) -> Result<(), StartError> {
    let head = postcard::to_stdvec(header).map_err(crate::codec::EncodeError::from)?;
    let len = (head.len() as u32).to_le_bytes();
    frame::send(sock.as_fd(), Kind::Job, &[&len, &head, encoded.bytes()], encoded.fds())
        .map_err(StartError::from)
}

/// What a failed job send means: a child that is already gone is reaped and reported by join; any
/// other failure means it cannot get its job, so it is killed rather than left waiting.
pub(crate) fn job_sent(sent: Result<(), StartError>, pidfd: &OwnedFd) -> Result<(), StartError> {
    match sent {
        Ok(()) => Ok(()),
        Err(StartError::Io(e))
            if e.kind() == io::ErrorKind::BrokenPipe
                || e.kind() == io::ErrorKind::ConnectionReset =>
        {
            Ok(())
        }
        Err(e) => {
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc_sigkill());
            let _ = sys::waitid_pidfd(pidfd.as_fd(), false);
            Err(e)
        }
    }
}

fn libc_sigkill() -> i32 {
    crate::Signal::SIGKILL.as_raw()
}

/// This process's pidfd of itself (close-on-exec), opened on the first fork and kept: `pid << 32 |
/// fd`, or [`NO_PIDFD`].
static SELF_PIDFD: AtomicU64 = AtomicU64::new(NO_PIDFD);
const NO_PIDFD: u64 = u64::MAX;

/// The fd of this process's pidfd of itself, for fork children to inherit as their parent's pidfd.
/// `None` if it cannot be opened (the child then opens one itself).
fn self_pidfd(me: i32) -> Option<RawFd> {
    let cached = SELF_PIDFD.load(Ordering::Acquire);
    if cached != NO_PIDFD && (cached >> 32) as i32 == me {
        return Some(cached as u32 as RawFd);
    }
    let fd = sys::pidfd_open(me).ok()?;
    let packed = (u64::from(me as u32) << 32) | u64::from(fd.as_raw_fd() as u32);
    match SELF_PIDFD.compare_exchange(cached, packed, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(fd.into_raw_fd()),
        // Another thread opened one first: use it, close ours.
        Err(now) if now != NO_PIDFD && (now >> 32) as i32 == me => Some(now as u32 as RawFd),
        Err(_) => None,
    }
}

/// Fork: the child runs the job in a copy of this process.
///
/// Everything the child needs is made here, before the fork: a page the child writes is a page
/// copied, and the allocator's pages are among the first it would write.
fn fork(job: Box<dyn Job>, mut meta: ChildMeta) -> Result<ChildState, StartError> {
    let (ours, theirs) = sys::stream_pair()?;
    let daemon = meta.daemon;
    let name = meta.name.clone();
    let parent = sys::getpid();
    let ours_raw = ours.as_raw_fd();
    let own_pidfd = self_pidfd(parent);
    let record = runtime::ParentRecord::take(&mut meta);
    let run = move || -> io::Result<i32> {
        // What the parent has printed but not yet written would be written again by the child's
        // copy of the buffer when the child flushes at exit (Python flushes here too). This also
        // sets up stdout in the parent, once, rather than in every child.
        let _ = std::io::stdout().flush();
        // On the thread that forks (this may be the spawner thread).
        crate::codec::prepare_thread();
        let alone = sys::single_threaded();
        let locks = runtime::fork_locks();
        let other = crate::forkserver::lock_for_fork();
        let regions = crate::region::lock_for_fork();
        // SAFETY: the caller of `StartMethod::fork` promised the job touches no state another thread
        // may hold; multiproc's own state is held by this thread across the fork (the locks above)
        // and reset in the child before use.
        match unsafe { sys::fork() } {
            Err(e) => Err(e),
            Ok(sys::Forked::Parent(pid)) => {
                drop((locks, other, regions));
                drop(theirs);
                Ok(pid)
            }
            Ok(sys::Forked::Child) => {
                entry::FORKED_ALONE.store(alone, std::sync::atomic::Ordering::Relaxed);
                locks.reset_for_child();
                other.reset_for_child();
                drop(regions);
                // SAFETY: our copy of the parent's end of the socket; the parent keeps its own.
                drop(unsafe { sys::adopt(ours_raw) });
                // The child's copy of our own pidfd is its pidfd of its parent: no `pidfd_open` in
                // the child. It is the child's now, not a pidfd of itself.
                SELF_PIDFD.store(NO_PIDFD, Ordering::Relaxed);
                let parent_pidfd = own_pidfd.map(|fd| {
                    // SAFETY: the fork copied our open pidfd into the child, where nothing else
                    // owns it (the cache that held it was just emptied).
                    unsafe { sys::adopt(fd) }
                });
                entry::run_forked_child(job, meta, record, theirs, parent, parent_pidfd)
            }
        }
    };
    let pid = if runtime::needs_spawner(daemon) { runtime::on_spawner_thread(run) } else { run() }?;
    let pidfd = sys::pidfd_open(pid)?;
    sys::set_nonblocking(ours.as_fd(), true)?;
    Ok(ChildState::new(Pid::from_raw(pid), name, daemon, pidfd, Reaper::Direct, ours))
}
