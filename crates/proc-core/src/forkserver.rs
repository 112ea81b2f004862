//! The forkserver start method (Linux): a single-threaded server, started by spawn on first use,
//! forks each child on request.
//!
//! The client sends the server two socket ends: the child's bootstrap socket and a status socket. The
//! server forks; the child keeps only its bootstrap socket (as fd 3) and then behaves exactly like a
//! spawned child, reading its job from the client. The server replies on the status socket with the
//! child's pid and pidfd, and later with its exit status, which only the server (its parent) can
//! reap. The server dies with the process that started it (parent-death signal) and exits when that
//! process closes the control socket; daemon children die with the server.
//!
//! The server keeps one child forked ahead of time (the spare), waiting on a socket of its own with
//! no other fd open. A request hands the spare its bootstrap socket and is answered at once; the
//! next spare is forked after the answer, while the client and the new child get on with the job.
//! So a start does not wait for a `fork`. A spare that is gone when needed (killed) is reaped and
//! replaced by a child forked on the spot.
//!
//! The server is started with `LD_BIND_NOW=1` (and removes it from its environment), so that the
//! children it forks find every library function bound instead of each binding them on first call.
//! A side effect, documented on [`StartMethod`](crate::StartMethod): `dlopen` in the server's
//! children resolves symbols at load time, as with `RTLD_NOW`.

use std::io;
use std::os::fd::{AsFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::child::{ChildState, Reaper};
use crate::codec::Encoded;
use crate::entry::{self, JobHeader, Mode};
use crate::error::StartError;
use crate::frame::{self, Inbox, Kind};
use crate::launch;
use crate::runtime::ChildMeta;
use crate::status::{ExitStatus, Pid};
use crate::sys;
use crate::target::{self, Entry};

/// The dynamic loader's variable for binding every symbol at start-up.
const BIND_NOW: &str = "LD_BIND_NOW";

/// How long a client waits for the server to report a fork before giving up on it.
const FORK_REPLY_TIMEOUT: Duration = Duration::from_secs(60);

struct Client {
    owner: i32,
    ctl: OwnedFd,
    pid: i32,
    pidfd: OwnedFd,
}

static CLIENT: Mutex<Option<Client>> = Mutex::new(None);

fn client() -> MutexGuard<'static, Option<Client>> {
    CLIENT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held across a fork: the child must not share the parent's server connection.
pub(crate) struct ForkGuard(MutexGuard<'static, Option<Client>>);

pub(crate) fn lock_for_fork() -> ForkGuard {
    ForkGuard(client())
}

impl ForkGuard {
    pub(crate) fn reset_for_child(mut self) {
        // Closes this process's copies of the connection; the parent's stay open.
        self.0.take();
    }
}

/// Closes the connection at exit; the server sees end of stream and exits.
pub(crate) fn shutdown() {
    let mut c = client();
    if c.as_ref().is_some_and(|c| c.owner == sys::getpid()) {
        c.take();
    }
}

/// Starts a child through the server.
pub(crate) fn launch(
    entry: Entry,
    encoded: &Encoded<'_>,
    meta: ChildMeta,
) -> Result<ChildState, StartError> {
    let (ours, theirs) = sys::stream_pair()?;
    let (status_ours, status_theirs) = sys::stream_pair()?;
    let server_pid = request(meta.daemon, &theirs, &status_theirs)?;
    drop((theirs, status_theirs));
    // Send the job while the server forks: the child finds it waiting. (The socket only holds so
    // much, so this cannot come before the request: a large job would block with no reader.)
    let header = JobHeader {
        fingerprint: entry::fingerprint()?,
        layout: entry::layout(),
        entry: target::entry_offset(entry),
        os_parent: server_pid,
        meta: meta.clone(),
    };
    let sent = launch::send_job_frame(&ours, &header, encoded);
    // Non-blocking from here on: the reaper drains this socket without waiting.
    sys::set_nonblocking(status_ours.as_fd(), true)?;
    let mut inbox = Inbox::default();
    let reply = frame::recv_buffered(
        status_ours.as_fd(),
        &mut inbox,
        Some(Instant::now() + FORK_REPLY_TIMEOUT),
    )?;
    let pid = match (&reply.kind, reply.payload.get(..4)) {
        (Kind::Forked, Some(b)) => i32::from_le_bytes(b.try_into().expect("4 bytes")),
        _ => return Err(io::Error::other("the fork server sent an unexpected reply").into()),
    };
    let pidfd = reply
        .fds
        .into_iter()
        .next()
        .ok_or_else(|| io::Error::other("the fork server sent no pidfd"))?;
    launch::job_sent(sent, &pidfd)?;
    sys::set_nonblocking(ours.as_fd(), true)?;
    let reaper = Reaper::Server { sock: status_ours, inbox: parking_lot::Mutex::new(inbox) };
    Ok(ChildState::new(Pid::from_raw(pid), meta.name, meta.daemon, pidfd, reaper, ours))
}

/// Sends a fork request, starting (or restarting) the server as needed. Returns the server's pid.
fn request(daemon: bool, bootstrap: &OwnedFd, status: &OwnedFd) -> io::Result<i32> {
    let mut c = client();
    let me = sys::getpid();
    for attempt in 0..2 {
        let usable = c.as_ref().is_some_and(|c| {
            c.owner == me
                && !sys::wait_fd(c.pidfd.as_fd(), sys::Interest::Readable, Some(Instant::now()))
                    .unwrap_or(true)
        });
        if !usable {
            if let Some(old) = c.take()
                && old.owner == me
            {
                let _ = sys::waitid_pidfd(old.pidfd.as_fd(), true);
            }
            *c = Some(start_server()?);
        }
        let cl = c.as_ref().expect("server just started");
        match frame::send(
            cl.ctl.as_fd(),
            Kind::ForkRequest,
            &[&[daemon as u8]],
            &[bootstrap.as_fd(), status.as_fd()],
        ) {
            Ok(()) => return Ok(cl.pid),
            // The server died since we last used it: start a new one once.
            Err(_) if attempt == 0 => *c = None,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns on its second attempt")
}

fn start_server() -> io::Result<Client> {
    let (ours, theirs) = sys::stream_pair()?;
    let me = sys::getpid();
    // The server binds every dynamic symbol at start-up (LD_BIND_NOW), so that its children,
    // which share its memory, do not each look up and patch in the library functions they call
    // first (a symbol search and a copied page per function). It takes the variable out of its
    // environment again, so children see the client's environment; one set by the user stays.
    let (extra, env) = if std::env::var_os(BIND_NOW).is_some() {
        (me.to_string(), Vec::new())
    } else {
        (format!("{me}:{BIND_NOW}"), vec![(BIND_NOW, "1".to_string())])
    };
    let pid = launch::spawn_self(theirs, Mode::ForkServer, extra, &env, true)?;
    let pidfd = sys::pidfd_open(pid)?;
    Ok(Client { owner: me, ctl: ours, pid, pidfd })
}

/// The server's loop, in the process the entry hook started in forkserver mode. Never returns.
pub(crate) fn serve(fd: RawFd, extra: &str) -> ! {
    // SAFETY: the client placed the control socket on this fd for us; nothing else owns it.
    let ctl = unsafe { sys::adopt(fd) };
    sys::ignore_sigpipe();
    let (parent, bind_now) = match extra.split_once(':') {
        Some((parent, flag)) => (parent, flag == BIND_NOW),
        None => (extra, false),
    };
    if bind_now {
        // SAFETY: the server never ran `main` and starts no threads: nobody else reads the
        // environment.
        unsafe { std::env::remove_var(BIND_NOW) };
    }
    if let Ok(parent) = parent.parse() {
        sys::die_with_parent(parent);
        // Opened once, here, and inherited by every child as its pidfd of the client (which
        // children report as their parent), instead of each child opening one.
        if let Ok(fd) = sys::pidfd_open(parent) {
            let packed = (u64::from(parent as u32) << 32) | u64::from(fd.into_raw_fd() as u32);
            CLIENT_PIDFD.store(packed, Ordering::Relaxed);
        }
    }
    let me = sys::getpid();
    let mut children: Vec<(OwnedFd, OwnedFd)> = Vec::new();
    let mut spare = fork_spare(me);
    loop {
        let mut set = vec![(ctl.as_fd(), sys::Interest::Readable)];
        set.extend(children.iter().map(|(pidfd, _)| (pidfd.as_fd(), sys::Interest::Readable)));
        let Ok(ready) = sys::poll(&set, None) else { entry::finish(1, entry::Exit::Immediate) };
        let exited: Vec<usize> =
            ready.iter().enumerate().skip(1).filter(|(_, r)| **r).map(|(i, _)| i - 1).collect();
        for i in exited.into_iter().rev() {
            let (pidfd, status) = children.swap_remove(i);
            if let Ok(Some(raw)) = sys::waitid_pidfd(pidfd.as_fd(), true) {
                let s = postcard::to_stdvec(&ExitStatus::from_sys(raw)).unwrap_or_default();
                let _ = frame::send(status.as_fd(), Kind::Exited, &[&s], &[]);
            } else {
                children.push((pidfd, status));
            }
        }
        if ready[0] {
            match frame::recv(ctl.as_fd(), None) {
                Ok(req) => {
                    if let Some(child) = start_child(req, me, &mut spare) {
                        children.push(child);
                    }
                    if spare.is_none() {
                        spare = fork_spare(me);
                    }
                }
                // The client closed the connection (it exited) or broke the protocol: stop.
                Err(_) => entry::finish(0, entry::Exit::Immediate),
            }
        }
    }
}

/// The server's pidfd of the client, `pid << 32 | fd` (or `u64::MAX`): set once in the
/// single-threaded server; in its children, the fd is [`CLIENT_FD`].
static CLIENT_PIDFD: AtomicU64 = AtomicU64::new(u64::MAX);
/// Where a child of the server keeps its copy of the client's pidfd.
const CLIENT_FD: RawFd = sys::BOOTSTRAP_FD + 1;

/// In a child of the server: puts its copy of the client's pidfd on [`CLIENT_FD`]; returns the
/// first fd number that is free to close.
fn keep_client_pidfd() -> RawFd {
    let c = CLIENT_PIDFD.load(Ordering::Relaxed);
    if c == u64::MAX || sys::dup_to(c as u32 as RawFd, CLIENT_FD).is_err() {
        CLIENT_PIDFD.store(u64::MAX, Ordering::Relaxed);
        return CLIENT_FD;
    }
    CLIENT_PIDFD.store((c & !0xffff_ffff) | CLIENT_FD as u64, Ordering::Relaxed);
    CLIENT_FD + 1
}

/// In a child of the server, once its fds are in place: the client's pidfd, with its pid.
fn take_client_pidfd() -> Option<(i32, OwnedFd)> {
    let c = CLIENT_PIDFD.swap(u64::MAX, Ordering::Relaxed);
    // SAFETY: `keep_client_pidfd` placed this child's copy of the pidfd on CLIENT_FD, and nothing
    // else in the child owns it.
    (c != u64::MAX).then(|| ((c >> 32) as i32, unsafe { sys::adopt(c as u32 as RawFd) }))
}

/// A child forked ahead of a request, waiting for its bootstrap socket.
struct Spare {
    pid: i32,
    pidfd: OwnedFd,
    /// Where its bootstrap socket (and whether it is a daemon) is handed over.
    handoff: OwnedFd,
}

/// Forks the next spare. It closes every fd but its end of the hand-off socket, so it holds
/// nothing of the server's (the control socket's end of stream must reach the server when the
/// client goes), and waits.
fn fork_spare(me: i32) -> Option<Spare> {
    let (ours, theirs) = sys::stream_pair().ok()?;
    // Set up once here rather than in every child (see `codec::prepare_thread`).
    crate::codec::prepare_thread();
    // SAFETY: the server is single-threaded (it never ran `main`, and starts no threads), so the
    // child gets a consistent copy of everything.
    match unsafe { sys::fork() } {
        Err(_) => None,
        Ok(sys::Forked::Child) => {
            if sys::move_fd_to(theirs, sys::BOOTSTRAP_FD).is_err()
                || sys::close_fds_from(keep_client_pidfd()).is_err()
            {
                entry::finish(entry::EXIT_BOOTSTRAP_FAILED, entry::Exit::Immediate)
            }
            // SAFETY: fd 3 is the hand-off socket just placed there, owned by nothing else.
            let handoff = unsafe { sys::adopt(sys::BOOTSTRAP_FD) };
            let Ok(job) = frame::recv(handoff.as_fd(), None) else {
                // The server went away without a request for us.
                entry::finish(0, entry::Exit::Immediate)
            };
            std::mem::forget(handoff);
            let daemon = job.payload.first() == Some(&1);
            let Some(bootstrap) = job.fds.into_iter().next() else {
                entry::finish(entry::EXIT_BOOTSTRAP_FAILED, entry::Exit::Immediate)
            };
            become_requested_child(bootstrap, daemon, me)
        }
        Ok(sys::Forked::Parent(pid)) => {
            let pidfd = sys::pidfd_open(pid).ok()?;
            Some(Spare { pid, pidfd, handoff: ours })
        }
    }
}

/// In a child of the server: keeps only the bootstrap socket, on fd 3, as a spawned child has it,
/// and the client's pidfd, and runs as a spawned child.
fn become_requested_child(bootstrap: OwnedFd, daemon: bool, server: i32) -> ! {
    if sys::move_fd_to(bootstrap, sys::BOOTSTRAP_FD).is_err()
        || sys::close_fds_from(keep_client_pidfd()).is_err()
    {
        entry::finish(entry::EXIT_BOOTSTRAP_FAILED, entry::Exit::Immediate)
    }
    if daemon {
        sys::die_with_parent(server);
    }
    entry::run_spawned_child(sys::BOOTSTRAP_FD, take_client_pidfd())
}

/// Starts one child for a request, from the spare if there is one (else by forking now); returns
/// its pidfd and status socket.
fn start_child(
    req: frame::Frame,
    me: i32,
    spare: &mut Option<Spare>,
) -> Option<(OwnedFd, OwnedFd)> {
    if req.kind != Kind::ForkRequest || req.fds.len() != 2 {
        return None;
    }
    let daemon = req.payload.first() == Some(&1);
    let mut fds = req.fds.into_iter();
    let (bootstrap, status) = (fds.next()?, fds.next()?);
    if let Some(sp) = spare.take() {
        let handed = frame::send(
            sp.handoff.as_fd(),
            Kind::ForkRequest,
            &[&[daemon as u8]],
            &[bootstrap.as_fd()],
        );
        if handed.is_ok() {
            drop(bootstrap);
            return report_forked(sp.pid, sp.pidfd, status);
        }
        // The spare is gone (killed): reap it and fork this child now.
        let _ = sys::waitid_pidfd(sp.pidfd.as_fd(), false);
    }
    fork_child(bootstrap, status, daemon, me)
}

/// Tells the client the child's pid, with its pidfd; returns what the server watches.
fn report_forked(pid: i32, pidfd: OwnedFd, status: OwnedFd) -> Option<(OwnedFd, OwnedFd)> {
    frame::send(status.as_fd(), Kind::Forked, &[&pid.to_le_bytes()], &[pidfd.as_fd()]).ok()?;
    Some((pidfd, status))
}

/// Forks one child for a request; returns its pidfd and status socket.
fn fork_child(
    bootstrap: OwnedFd,
    status: OwnedFd,
    daemon: bool,
    me: i32,
) -> Option<(OwnedFd, OwnedFd)> {
    // SAFETY: the server is single-threaded (it never ran `main`, and starts no threads), so the
    // child gets a consistent copy of everything.
    match unsafe { sys::fork() } {
        Err(_) => None,
        Ok(sys::Forked::Child) => become_requested_child(bootstrap, daemon, me),
        Ok(sys::Forked::Parent(pid)) => {
            drop(bootstrap);
            let pidfd = sys::pidfd_open(pid).ok()?;
            report_forked(pid, pidfd, status)
        }
    }
}
