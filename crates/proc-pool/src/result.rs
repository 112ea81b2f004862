//! [`AsyncResult`]: a result that arrives later, and the callbacks run when it does.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;

/// Work for the pool's callback thread.
pub(crate) type CallbackJob = Box<dyn FnOnce() + Send>;

struct SlotState<T, E> {
    value: Option<Result<T, E>>,
    /// `Some(successful)` once the result is in.
    done: Option<bool>,
    taken: bool,
    wakers: Vec<Waker>,
}

/// Where a result lands; shared by the pool (which fills it) and the [`AsyncResult`].
pub(crate) struct Slot<T, E> {
    state: Mutex<SlotState<T, E>>,
    cond: Condvar,
}

impl<T, E> Slot<T, E> {
    pub(crate) fn new() -> Arc<Slot<T, E>> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                value: None,
                done: None,
                taken: false,
                wakers: Vec::new(),
            }),
            cond: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T, E>> {
        // A panic while holding this lock cannot leave the state half-written (every update is
        // one assignment), so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fill(&self, value: Result<T, E>) {
        let mut st = self.lock();
        st.done = Some(value.is_ok());
        st.value = Some(value);
        let wakers = std::mem::take(&mut st.wakers);
        drop(st);
        self.cond.notify_all();
        for w in wakers {
            w.wake();
        }
    }
}

/// What to run in the parent when a result arrives: Python's `callback` and `error_callback`.
///
/// Callbacks run on the pool's one callback thread, in the order results complete, never in a
/// worker. They run before the result is marked ready, so once `get` returns, the callback has run.
/// A callback should be quick: the next one waits for it.
///
/// ```
/// use proc_pool::{Callbacks, Pool};
/// use std::sync::mpsc;
///
/// fn square(x: u64) -> u64 { x * x }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::new(2)?;
/// let (tx, rx) = mpsc::channel();
/// let r = pool.apply_async_with(square, (7,), Callbacks::new().on_success(move |v: &u64| {
///     tx.send(*v).unwrap();
/// }))?;
/// assert_eq!(r.get()?, 49);
/// assert_eq!(rx.recv()?, 49);
/// # Ok(()) }
/// ```
pub struct Callbacks<T, E = TaskError> {
    on_success: Option<Callback<T>>,
    on_error: Option<Callback<E>>,
}

type Callback<T> = Box<dyn FnOnce(&T) + Send>;

impl<T, E> Callbacks<T, E> {
    /// No callbacks.
    ///
    /// ```
    /// use proc_pool::{Callbacks, Pool};
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// // The same as `apply_async`; add callbacks with `on_success` and `on_error`.
    /// let r = pool.apply_async_with(square, (5,), Callbacks::new())?;
    /// assert_eq!(r.get()?, 25);
    /// # Ok(()) }
    /// ```
    pub fn new() -> Callbacks<T, E> {
        Callbacks { on_success: None, on_error: None }
    }

    /// Python's `callback`: called with the value when the task succeeds.
    ///
    /// ```
    /// use proc_pool::{Callbacks, Pool};
    /// use std::sync::{Arc, Mutex};
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let total = Arc::new(Mutex::new(0));
    /// for x in 1..=3 {
    ///     let total = Arc::clone(&total);
    ///     let on_success = Callbacks::new().on_success(move |v: &u64| *total.lock().unwrap() += v);
    ///     pool.apply_async_with(square, (x,), on_success)?;
    /// }
    /// pool.close();
    /// pool.join()?; // waits for the callbacks too
    /// assert_eq!(*total.lock().unwrap(), 1 + 4 + 9);
    /// # Ok(()) }
    /// ```
    pub fn on_success(mut self, f: impl FnOnce(&T) + Send + 'static) -> Self {
        self.on_success = Some(Box::new(f));
        self
    }

    /// Python's `error_callback`: called with the error when the task fails.
    ///
    /// ```
    /// use proc_pool::{Callbacks, Pool, TaskError};
    /// use std::sync::mpsc;
    ///
    /// fn check(x: i64) -> i64 {
    ///     assert!(x >= 0, "negative input");
    ///     x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = Callbacks::new()
    ///     .on_success(|_: &i64| unreachable!())
    ///     .on_error(move |e: &TaskError| tx.send(e.to_string()).unwrap());
    /// let r = pool.apply_async_with(check, (-1,), callbacks)?;
    /// assert!(r.get().is_err());
    /// assert!(rx.recv()?.contains("negative input"));
    /// # Ok(()) }
    /// ```
    pub fn on_error(mut self, f: impl FnOnce(&E) + Send + 'static) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }

    fn is_empty(&self) -> bool {
        self.on_success.is_none() && self.on_error.is_none()
    }
}

impl<T, E> Default for Callbacks<T, E> {
    fn default() -> Self {
        Callbacks::new()
    }
}

impl<T, E> fmt::Debug for Callbacks<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("on_success", &self.on_success.is_some())
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

/// Fills a slot, running the callbacks first on the callback thread if there are any.
pub(crate) struct Delivery<T, E> {
    slot: Arc<Slot<T, E>>,
    callbacks: Callbacks<T, E>,
    callback_thread: Option<Sender<CallbackJob>>,
}

impl<T: Send + 'static, E: Send + 'static> Delivery<T, E> {
    pub(crate) fn new(
        slot: Arc<Slot<T, E>>,
        callbacks: Callbacks<T, E>,
        callback_thread: &Sender<CallbackJob>,
    ) -> Delivery<T, E> {
        let callback_thread = (!callbacks.is_empty()).then(|| callback_thread.clone());
        Delivery { slot, callbacks, callback_thread }
    }

    pub(crate) fn deliver(self, value: Result<T, E>) {
        let Delivery { slot, callbacks, callback_thread } = self;
        let Some(tx) = callback_thread else {
            slot.fill(value);
            return;
        };
        let job: CallbackJob = Box::new(move || {
            let Callbacks { on_success, on_error } = callbacks;
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &value {
                Ok(v) => on_success.map(|f| f(v)),
                Err(e) => on_error.map(|f| f(e)),
            }));
            if ran.is_err() {
                eprintln!("multiproc pool: a result callback panicked; the result is kept");
            }
            slot.fill(value);
        });
        if let Err(unsent) = tx.send(job) {
            // The callback thread is gone (the pool was dropped from inside a callback): run here.
            (unsent.0)();
        }
    }
}

/// A result that arrives later: what [`Pool::apply_async`](crate::Pool::apply_async) and
/// [`Pool::map_async`](crate::Pool::map_async) return (Python's `AsyncResult`).
///
/// Wait for it with [`get`](AsyncResult::get), [`get_timeout`](AsyncResult::get_timeout),
/// [`wait`](AsyncResult::wait) or [`wait_timeout`](AsyncResult::wait_timeout), check it with
/// [`ready`](AsyncResult::ready) and [`successful`](AsyncResult::successful), or `.await` it: an
/// `AsyncResult` is a [`Future`] that works under any executor (the pool's own thread wakes it).
///
/// ```
/// use proc_pool::Pool;
///
/// fn square(x: u64) -> u64 { x * x }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::new(2)?;
/// let r = pool.apply_async(square, (12,))?;
/// r.wait();
/// assert!(r.ready());
/// assert_eq!(r.successful()?, true);
/// assert_eq!(r.get()?, 144);
/// # Ok(()) }
/// ```
pub struct AsyncResult<T, E = TaskError> {
    slot: Arc<Slot<T, E>>,
}

impl<T, E> AsyncResult<T, E> {
    pub(crate) fn new(slot: Arc<Slot<T, E>>) -> AsyncResult<T, E> {
        AsyncResult { slot }
    }

    /// Whether the result is in.
    ///
    /// ```
    /// use proc_core::Handle;
    /// use proc_pool::Pool;
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// fn wait_for_go(mut go: Handle<UnixStream>) -> u8 {
    ///     let mut byte = [0];
    ///     go.read_exact(&mut byte).unwrap();
    ///     byte[0]
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let (mut go, theirs) = UnixStream::pair()?;
    /// let r = pool.apply_async(wait_for_go, (Handle::new(theirs),))?;
    /// assert!(!r.ready()); // the task waits for us
    /// go.write_all(&[7])?;
    /// r.wait();
    /// assert!(r.ready());
    /// # Ok(()) }
    /// ```
    pub fn ready(&self) -> bool {
        self.slot.lock().done.is_some()
    }

    /// Whether the task succeeded; [`TaskError::NotReady`] before the result is in (Python raises
    /// `ValueError` there).
    ///
    /// ```
    /// use proc_core::Handle;
    /// use proc_pool::Pool;
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use proc_pool::TaskError;
    ///
    /// fn wait_for_go(mut go: Handle<UnixStream>) -> u8 {
    ///     let mut byte = [0];
    ///     go.read_exact(&mut byte).unwrap();
    ///     byte[0]
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let (mut go, theirs) = UnixStream::pair()?;
    /// let r = pool.apply_async(wait_for_go, (Handle::new(theirs),))?;
    /// assert_eq!(r.successful(), Err(TaskError::NotReady));
    /// go.write_all(&[7])?;
    /// r.wait();
    /// assert_eq!(r.successful(), Ok(true));
    /// # Ok(()) }
    /// ```
    pub fn successful(&self) -> Result<bool, TaskError> {
        self.slot.lock().done.ok_or(TaskError::NotReady)
    }

    /// Blocks until the result is in.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let results: Vec<_> = (0..4).map(|x| pool.apply_async(square, (x,))).collect::<Result<_, _>>()?;
    /// for r in &results {
    ///     r.wait();
    /// }
    /// assert!(results.iter().all(|r| r.ready()));
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) {
        let mut st = self.slot.lock();
        while st.done.is_none() {
            st = self.slot.cond.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks until the result is in or `timeout` passes; returns whether it is in.
    ///
    /// ```
    /// use proc_core::Handle;
    /// use proc_pool::Pool;
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    ///
    /// fn wait_for_go(mut go: Handle<UnixStream>) -> u8 {
    ///     let mut byte = [0];
    ///     go.read_exact(&mut byte).unwrap();
    ///     byte[0]
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let (mut go, theirs) = UnixStream::pair()?;
    /// let r = pool.apply_async(wait_for_go, (Handle::new(theirs),))?;
    /// assert!(!r.wait_timeout(Duration::from_millis(10))); // still waiting for us
    /// go.write_all(&[7])?;
    /// assert!(r.wait_timeout(Duration::from_secs(20)));
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.slot.lock();
        while st.done.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .slot
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

impl<T, E: From<TaskError>> AsyncResult<T, E> {
    /// Waits for the result and returns it: the task's value, or why there is none.
    ///
    /// ```
    /// use proc_pool::Pool;
    ///
    /// fn word_count(text: String) -> usize {
    ///     text.split_whitespace().count()
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(2)?;
    /// let a = pool.apply_async(word_count, ("one two three".to_string(),))?;
    /// let b = pool.apply_async(word_count, ("four five".to_string(),))?;
    /// assert_eq!(a.get()? + b.get()?, 5);
    /// # Ok(()) }
    /// ```
    pub fn get(self) -> Result<T, E> {
        self.wait();
        self.take()
    }

    /// Waits at most `timeout`. Returns the value (or the task's error) once it is in; before
    /// that, [`TaskError::NotReady`] and the task goes on, so you can wait again. After the value
    /// was taken, [`TaskError::AlreadyTaken`].
    ///
    /// ```
    /// use proc_core::Handle;
    /// use proc_pool::Pool;
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use proc_pool::TaskError;
    /// use std::time::Duration;
    ///
    /// fn wait_for_go(mut go: Handle<UnixStream>) -> u8 {
    ///     let mut byte = [0];
    ///     go.read_exact(&mut byte).unwrap();
    ///     byte[0]
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(1)?;
    /// let (mut go, theirs) = UnixStream::pair()?;
    /// let mut r = pool.apply_async(wait_for_go, (Handle::new(theirs),))?;
    /// assert_eq!(r.get_timeout(Duration::from_millis(10)), Err(TaskError::NotReady));
    /// go.write_all(&[7])?;
    /// assert_eq!(r.get_timeout(Duration::from_secs(20)), Ok(7));
    /// assert_eq!(r.get_timeout(Duration::from_secs(20)), Err(TaskError::AlreadyTaken));
    /// # Ok(()) }
    /// ```
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<T, E> {
        if !self.wait_timeout(timeout) {
            return Err(TaskError::NotReady.into());
        }
        self.take()
    }

    fn take(&self) -> Result<T, E> {
        let mut st = self.slot.lock();
        match st.value.take() {
            Some(v) => {
                st.taken = true;
                v
            }
            None if st.taken => Err(TaskError::AlreadyTaken.into()),
            None => Err(TaskError::NotReady.into()),
        }
    }
}

impl<T, E: From<TaskError>> Future for AsyncResult<T, E> {
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.slot.lock();
        if st.done.is_some() {
            drop(st);
            return Poll::Ready(self.take());
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.slot.lock();
        f.debug_struct("AsyncResult")
            .field("ready", &st.done.is_some())
            .field("successful", &st.done)
            .finish()
    }
}
