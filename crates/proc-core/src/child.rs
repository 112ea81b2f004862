//! The parent's view of one started child: its pidfd, its bootstrap socket (where the return value
//! arrives), and its exit status once reaped. Shared by the `Process` object and the registry, so a
//! child dropped without `join` is still reaped and joined at exit.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::time::Instant;

use parking_lot::Mutex;

use crate::frame::{self, Frame, Inbox};
use crate::status::{ExitStatus, Pid, Signal};
use crate::sys;

/// How the exit status of a child is learned.
pub(crate) enum Reaper {
    /// Our own child: `waitid` on its pidfd.
    Direct,
    /// A forkserver's child: the server reaps it and reports the status on this socket.
    Server { sock: OwnedFd, inbox: Mutex<Inbox> },
}

pub(crate) struct ChildState {
    pub(crate) pid: Pid,
    pub(crate) name: String,
    pub(crate) daemon: bool,
    pidfd: OwnedFd,
    reaper: Reaper,
    /// Our end of the child's bootstrap socket (non-blocking).
    sock: OwnedFd,
    io: Mutex<Io>,
    status: OnceLock<ExitStatus>,
    reap_lock: Mutex<()>,
}

struct Io {
    inbox: Inbox,
    frame: Option<Frame>,
}

impl ChildState {
    pub(crate) fn new(
        pid: Pid,
        name: String,
        daemon: bool,
        pidfd: OwnedFd,
        reaper: Reaper,
        sock: OwnedFd,
    ) -> ChildState {
        ChildState {
            pid,
            name,
            daemon,
            pidfd,
            reaper,
            sock,
            io: Mutex::new(Io { inbox: Inbox::default(), frame: None }),
            status: OnceLock::new(),
            reap_lock: Mutex::new(()),
        }
    }

    /// The exit status if the child has ended (reaping it), without blocking.
    pub(crate) fn try_status(&self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status.get() {
            return Ok(Some(*s));
        }
        self.pump()?;
        let _g = self.reap_lock.lock();
        if let Some(s) = self.status.get() {
            return Ok(Some(*s));
        }
        let status = match &self.reaper {
            Reaper::Direct => {
                sys::waitid_pidfd(self.pidfd.as_fd(), true)?.map(ExitStatus::from_sys)
            }
            Reaper::Server { sock, inbox } => {
                let mut inbox = inbox.lock();
                let eof = inbox.drain(sock.as_fd())?;
                let mut status = None;
                while let Some(f) = inbox.take_frame()? {
                    if f.kind == frame::Kind::Exited
                        && let Ok(s) = postcard::from_bytes::<ExitStatus>(&f.payload)
                    {
                        status = Some(s);
                    }
                }
                // A forkserver that vanished cannot tell us anything more: report what Python does.
                if status.is_none() && eof && !self.pidfd_alive() {
                    status = Some(ExitStatus::Exited(255));
                }
                status
            }
        };
        if let Some(s) = status {
            // Everything the child wrote is in the socket by now; take it.
            self.pump()?;
            let _ = self.status.set(s);
        }
        Ok(status)
    }

    fn pidfd_alive(&self) -> bool {
        !sys::wait_fd(self.pidfd.as_fd(), sys::Interest::Readable, Some(Instant::now()))
            .unwrap_or(true)
    }

    /// Waits for the child to end (at most until `deadline`), reading its reply meanwhile so that a
    /// child writing a large return value is never blocked by a full socket.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        loop {
            if let Some(s) = self.try_status()? {
                return Ok(Some(s));
            }
            let exit_fd = match &self.reaper {
                Reaper::Direct => self.pidfd.as_fd(),
                Reaper::Server { sock, .. } => sock.as_fd(),
            };
            let set =
                [(exit_fd, sys::Interest::Readable), (self.sock.as_fd(), sys::Interest::Readable)];
            // Once the socket is at end of stream it stays readable: leave it out, or poll would
            // spin. Once the reply is in, nothing more comes on it but that end of stream (which
            // comes just before the exit): leave it out too, so the exit is one wake-up, not two.
            let io = self.io.lock();
            let with_sock = !io.inbox.is_eof() && io.frame.is_none();
            drop(io);
            if !sys::poll_any(&set[..1 + usize::from(with_sock)], deadline)? {
                return Ok(None);
            }
        }
    }

    /// Reads whatever the child has written so far.
    fn pump(&self) -> io::Result<()> {
        let mut io = self.io.lock();
        let Io { inbox, frame } = &mut *io;
        inbox.drain(self.sock.as_fd())?;
        if frame.is_none() {
            *frame = inbox.take_frame()?;
        }
        Ok(())
    }

    /// The child's reply, once it has ended: its return value, panic, or failure.
    pub(crate) fn take_reply(&self) -> Option<Frame> {
        self.io.lock().frame.take()
    }

    /// Sends `sig`; a no-op once the child has ended.
    pub(crate) fn signal(&self, sig: Signal) -> io::Result<()> {
        if self.status.get().is_some() {
            return Ok(());
        }
        sys::pidfd_send_signal(self.pidfd.as_fd(), sig.as_raw())
    }

    /// An fd that becomes readable when the child ends.
    pub(crate) fn sentinel(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// The exit status if already known.
    pub(crate) fn known_status(&self) -> Option<ExitStatus> {
        self.status.get().copied()
    }
}
