//! [`wait`]: block until any of several processes, pipes or other waitable objects is ready
//! (Python's `multiprocessing.connection.wait`).

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::process::{ChildHandle, Process};
use crate::runtime::ParentProcess;
use crate::sys;

/// Something [`wait`] can wait on: it is ready when its fd is readable (a process has ended, a
/// connection has a message or reached end of stream).
///
/// Objects whose readiness is not simply their fd's (a queue in shared memory signals an event fd
/// only while someone is waiting on it, and a connection may hold a message it already read) also
/// implement [`arm`](Waitable::arm) and [`disarm`](Waitable::disarm).
///
/// ```
/// use proc_core::{Process, Waitable, wait};
/// use std::io::{Read, Write};
/// use std::os::fd::{AsFd, BorrowedFd};
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// /// One end of a socket, ready when the other end has written to it.
/// struct Inbox(UnixStream);
///
/// impl Waitable for Inbox {
///     fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
///         Some(self.0.as_fd())
///     }
/// }
///
/// fn report(mut out: proc_core::Handle<UnixStream>) {
///     out.write_all(b"done").unwrap();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (ours, theirs) = UnixStream::pair()?;
/// let mut inbox = Inbox(ours);
/// let mut p = Process::new(report, (proc_core::Handle::new(theirs),));
/// p.start()?;
/// // Wait for the message and the process together, as Python's `connection.wait` does.
/// let ready = wait(&[&inbox, &p], Some(Duration::from_secs(20)))?;
/// assert!(ready.contains(&0));
/// let mut msg = [0; 4];
/// inbox.0.read_exact(&mut msg)?;
/// assert_eq!(&msg, b"done");
/// p.join()?;
/// # Ok(()) }
/// ```
pub trait Waitable {
    /// The fd that becomes readable when the object is ready; `None` if it never will be (a process
    /// that was not started).
    ///
    /// ```
    /// use proc_core::{Process, Waitable};
    ///
    /// fn nothing() {}
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(nothing, ());
    /// assert!(p.wait_fd().is_none()); // not started: nothing will ever be ready
    /// p.start()?;
    /// assert!(p.wait_fd().is_some()); // readable once the child has ended
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    fn wait_fd(&self) -> Option<BorrowedFd<'_>>;

    /// Called before [`wait`] sleeps: the object starts signalling its fd, and returns `true` if it
    /// is ready already. The default does nothing and returns `false`.
    ///
    /// ```
    /// use proc_core::{Waitable, wait};
    /// use std::cell::RefCell;
    /// use std::os::fd::{AsFd, BorrowedFd};
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    ///
    /// /// A reader that may hold a message it already took off the socket.
    /// struct Reader {
    ///     sock: UnixStream,
    ///     held: RefCell<Option<Vec<u8>>>,
    /// }
    ///
    /// impl Waitable for Reader {
    ///     fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
    ///         Some(self.sock.as_fd())
    ///     }
    ///     fn arm(&self) -> bool {
    ///         self.held.borrow().is_some() // ready whatever the socket says
    ///     }
    /// }
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let (sock, _peer) = UnixStream::pair()?;
    /// let reader = Reader { sock, held: RefCell::new(Some(b"early".to_vec())) };
    /// // Nothing is on the socket, yet the reader is ready: `wait` returns at once.
    /// assert_eq!(wait(&[&reader], Some(Duration::from_secs(20)))?, [0]);
    /// # Ok(()) }
    /// ```
    fn arm(&self) -> bool {
        false
    }

    /// Called after [`wait`] woke up, for every armed object, with whether its fd was readable;
    /// returns whether the object is really ready (a readable fd can be stale). The default trusts
    /// the fd.
    ///
    /// ```
    /// use proc_core::{Waitable, wait};
    /// use std::io::Write;
    /// use std::os::fd::{AsFd, BorrowedFd};
    /// use std::os::unix::net::UnixStream;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::time::Duration;
    ///
    /// /// A doorbell that can ring for nothing: ready only when a job is really posted.
    /// struct Jobs {
    ///     bell: UnixStream,
    ///     posted: AtomicBool,
    /// }
    ///
    /// impl Waitable for Jobs {
    ///     fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
    ///         Some(self.bell.as_fd())
    ///     }
    ///     fn disarm(&self, fd_ready: bool) -> bool {
    ///         fd_ready && self.posted.load(Ordering::SeqCst)
    ///     }
    /// }
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let (bell, mut ringer) = UnixStream::pair()?;
    /// let jobs = Jobs { bell, posted: AtomicBool::new(false) };
    /// ringer.write_all(b"!")?; // the bell rings, but no job is posted
    /// assert!(wait(&[&jobs], Some(Duration::from_millis(50)))?.is_empty());
    /// jobs.posted.store(true, Ordering::SeqCst);
    /// assert_eq!(wait(&[&jobs], Some(Duration::from_secs(20)))?, [0]);
    /// # Ok(()) }
    /// ```
    fn disarm(&self, fd_ready: bool) -> bool {
        fd_ready
    }
}

impl Waitable for BorrowedFd<'_> {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(*self)
    }
}

impl<R: serde::de::DeserializeOwned> Waitable for Process<R> {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        self.sentinel().ok()
    }
}

impl Waitable for ChildHandle {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.sentinel())
    }
}

impl Waitable for ParentProcess {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        self.sentinel()
    }
}

/// Waits until at least one of `objects` is ready, or `timeout` passes (`None`: no limit). Returns
/// the indices of the ready objects, in order; empty after a timeout.
///
/// ```
/// use proc_core::{Process, wait};
/// use std::time::Duration;
///
/// fn quick() {}
/// fn slow() { std::thread::sleep(Duration::from_secs(30)) }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut a = Process::new(quick, ());
/// let mut b = Process::new(slow, ());
/// a.start()?;
/// b.start()?;
/// let ready = wait(&[&a, &b], Some(Duration::from_secs(20)))?;
/// assert_eq!(ready, vec![0]);
/// b.kill()?;
/// # a.join()?; let _ = b.join();
/// # Ok(()) }
/// ```
pub fn wait(objects: &[&dyn Waitable], timeout: Option<Duration>) -> io::Result<Vec<usize>> {
    let deadline =
        timeout.map(|t| sys::deadline_after(t).unwrap_or_else(|| std::time::Instant::now() + t));
    let mut index = Vec::new();
    let mut set = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if let Some(fd) = o.wait_fd() {
            index.push(i);
            set.push((fd, sys::Interest::Readable));
        }
    }
    if set.is_empty() {
        if let Some(d) = deadline {
            std::thread::sleep(d.saturating_duration_since(std::time::Instant::now()));
            return Ok(Vec::new());
        }
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "nothing to wait for, and no timeout",
        ));
    }
    loop {
        let now_ready: Vec<bool> = index.iter().map(|&i| objects[i].arm()).collect();
        // Something is ready already: only look at which others are, without sleeping.
        let until =
            if now_ready.iter().any(|r| *r) { Some(std::time::Instant::now()) } else { deadline };
        let polled = sys::poll(&set, until);
        let mut ready = Vec::new();
        for (k, &i) in index.iter().enumerate() {
            let fd_ready = polled.as_ref().is_ok_and(|p| p[k]);
            if objects[i].disarm(fd_ready) || now_ready[k] {
                ready.push(i);
            }
        }
        polled?;
        // Woken by a stale signal (another process took the message first): wait again.
        if !ready.is_empty() || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(ready);
        }
    }
}
