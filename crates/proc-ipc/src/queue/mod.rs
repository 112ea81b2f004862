//! [`Queue`], [`JoinableQueue`] and [`SimpleQueue`]: multi-producer, multi-consumer queues between
//! processes and threads, with their data in shared memory.

mod ring;

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proc_core::{Handle, SharedRegion, Waitable};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{GetError, MessageError, PutError, TaskDoneError};
use ring::{Put, Ring, Take};

/// Address space a queue reserves for items waiting in it, unless set with
/// [`QueueBuilder::capacity`]: 32 GiB. Only what the items occupy is memory.
pub const DEFAULT_CAPACITY: usize = 32 << 30;

/// A queue between processes (Python's `multiprocessing.Queue`): any number of processes and
/// threads put items of type `T` and take them out, first in, first out.
///
/// ```
/// use proc_core::Process;
/// use proc_ipc::Queue;
///
/// fn produce(q: Queue<String>) {
///     for i in 0..3 {
///         q.put(format!("item {i}")).unwrap();
///     }
///     q.close();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let q = Queue::new()?;
/// let mut p = Process::new(produce, (q.clone(),));
/// p.start()?;
/// let got: Vec<String> = q.iter().collect(); // ends when the queue is closed and drained
/// assert_eq!(got, ["item 0", "item 1", "item 2"]);
/// p.join()?;
/// # Ok(()) }
/// ```
///
/// # How it differs from Python's, for the better
/// - **The data path is shared memory.** An item is encoded (postcard) straight into a ring of
///   blocks in memory every process maps, and decoded straight out of it; the kernel is only
///   asked to wake a sleeping consumer or producer. There is no feeder thread and no pipe.
/// - **Nothing is lost at exit, and joining never deadlocks.** `put` has stored the item in shared
///   memory when it returns, so a producer can exit (or be joined before anyone reads) right after
///   putting: an unbounded queue's `put` never blocks, however slow the consumers.
/// - **Closing is for everyone.** [`close`](Queue::close) ends the queue: puts fail with
///   [`PutError::Closed`], and consumers take what is left and then get [`GetError::Closed`] —
///   so [`iter`](Queue::iter) ends by itself, with no sentinel values.
/// - **`len` is exact**, and available on every platform.
/// - **Crashes do not corrupt it.** A producer killed in the middle of a put leaves no partial
///   item; a consumer killed in the middle of a get leaves the item in the queue for the next one.
///
/// # When a producer dies
/// A queue does not know its producers, so a producer that dies does not close it: consumers
/// blocked in [`get`](Queue::get) or [`iter`](Queue::iter) keep waiting for items that will not
/// come. Close the queue when the producers are done (after joining them), or wait with
/// [`get_timeout`](Queue::get_timeout) or [`wait`](proc_core::wait) on the queue together with
/// the producers' sentinels.
///
/// # What an item may hold
/// Any serde value. OS handles ([`Handle`], connections) do not travel through a queue: putting
/// one is [`MessageError::Encode`]; send them through a [`Pipe`](crate::Pipe).
pub struct Queue<T> {
    ring: Arc<Ring>,
    _t: PhantomData<fn(T) -> T>,
}

/// Options for a new [`Queue`] (or [`JoinableQueue`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::Queue;
///
/// let q: Queue<Vec<u8>> = Queue::<Vec<u8>>::builder().maxsize(100).capacity(64 << 20).build()?;
/// assert_eq!(q.maxsize(), Some(100));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct QueueBuilder {
    maxsize: usize,
    capacity: usize,
}

impl QueueBuilder {
    /// The most items the queue holds at once; puts wait (or fail) while it is full. 0 (the
    /// default) is unbounded.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{PutError, Queue};
    ///
    /// let q: Queue<i32> = Queue::<i32>::builder().maxsize(1).build()?; // Python: `Queue(maxsize=1)`
    /// q.put(1)?;
    /// assert!(matches!(q.try_put(2), Err(PutError::Full(2))));
    /// # Ok(()) }
    /// ```
    pub fn maxsize(mut self, maxsize: usize) -> Self {
        self.maxsize = maxsize;
        self
    }

    /// Address space for items waiting in the queue, in bytes (default [`DEFAULT_CAPACITY`]).
    /// Memory is only used for what the items occupy; a put that would go beyond this fails with
    /// [`MessageError::NoSpace`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{MessageError, PutError, Queue};
    ///
    /// let q: Queue<Vec<u8>> = Queue::<Vec<u8>>::builder().capacity(4 << 20).build()?; // 4 MiB of items
    /// let big = vec![0u8; 8 << 20];
    /// assert!(matches!(q.put(big), Err(PutError::Message(_, MessageError::NoSpace { .. }))));
    /// # Ok(()) }
    /// ```
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = bytes;
        self
    }

    /// Creates the queue.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q: Queue<String> = Queue::<String>::builder().build()?;
    /// assert!(q.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn build<T>(self) -> io::Result<Queue<T>> {
        let ring = Ring::create(self.maxsize as u64, self.capacity, type_hash::<T>())?;
        Ok(Queue { ring: Arc::new(ring), _t: PhantomData })
    }
}

impl<T> Queue<T> {
    /// An unbounded queue (Python's `Queue()`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::new()?;
    /// q.put("never waits".to_string())?;
    /// assert_eq!(q.get()?, "never waits");
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Queue<T>> {
        Self::builder().build()
    }

    /// A queue holding at most `maxsize` items (Python's `Queue(maxsize)`); 0 is unbounded.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::bounded(3)?; // Python: `Queue(3)`
    /// for i in 0..3 {
    ///     q.put(i)?;
    /// }
    /// assert!(q.is_full());
    /// # Ok(()) }
    /// ```
    pub fn bounded(maxsize: usize) -> io::Result<Queue<T>> {
        Self::builder().maxsize(maxsize).build()
    }

    /// Options for a new queue.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q: Queue<u64> = Queue::<u64>::builder().maxsize(10).build()?;
    /// assert_eq!(q.maxsize(), Some(10));
    /// # Ok(()) }
    /// ```
    pub fn builder() -> QueueBuilder {
        QueueBuilder { maxsize: 0, capacity: DEFAULT_CAPACITY }
    }

    /// Items in the queue now (put and not yet taken). Exact, unlike Python's `qsize`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::new()?;
    /// q.put('a')?;
    /// q.put('b')?;
    /// assert_eq!(q.len(), 2); // exact, unlike Python's `qsize()`
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.ring.len() as usize
    }

    /// Whether the queue holds no items now.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::new()?;
    /// assert!(q.is_empty());
    /// q.put(1)?;
    /// assert!(!q.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Whether a bounded queue is at its `maxsize` now (never true for an unbounded one).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::bounded(1)?;
    /// assert!(!q.is_full());
    /// q.put(1)?;
    /// assert!(q.is_full());
    /// # Ok(()) }
    /// ```
    pub fn is_full(&self) -> bool {
        self.ring.is_full()
    }

    /// The `maxsize` it was created with; `None` if unbounded.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// assert_eq!(Queue::<u8>::new()?.maxsize(), None);
    /// assert_eq!(Queue::<u8>::bounded(5)?.maxsize(), Some(5));
    /// # Ok(()) }
    /// ```
    pub fn maxsize(&self) -> Option<usize> {
        match self.ring.maxsize() {
            0 => None,
            n => Some(n as usize),
        }
    }

    /// Closes the queue, for every process: later puts fail with [`PutError::Closed`] (the item
    /// comes back), and gets return the items already in it, then [`GetError::Closed`]. Waiting
    /// producers and consumers wake up. Closing twice does nothing.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{GetError, PutError, Queue};
    ///
    /// let q = Queue::new()?;
    /// q.put(1)?;
    /// q.close();
    /// assert!(matches!(q.put(2), Err(PutError::Closed(2)))); // the item comes back
    /// assert_eq!(q.get()?, 1); // what was put before still comes out
    /// assert_eq!(q.get(), Err(GetError::Closed));
    /// # Ok(()) }
    /// ```
    pub fn close(&self) {
        self.ring.close();
    }

    /// Whether the queue was closed (by any process).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::<u8>::new()?;
    /// assert!(!q.is_closed());
    /// q.clone().close(); // closed for every clone, in every process
    /// assert!(q.is_closed());
    /// # Ok(()) }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }
}

impl<T: Serialize> Queue<T> {
    /// Puts `item` in the queue, waiting while a bounded queue is full. An unbounded queue's put
    /// never waits for consumers: when it returns, the item is in shared memory, where it
    /// outlives this process.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_ipc::Queue;
    ///
    /// fn produce(q: Queue<(u32, String)>) {
    ///     q.put((1, "one".to_string())).unwrap();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = Queue::new()?;
    /// let mut p = Process::new(produce, (q.clone(),));
    /// p.start()?;
    /// p.join()?; // the item is in shared memory already: joining first is fine
    /// assert_eq!(q.get()?, (1, "one".to_string()));
    /// # Ok(()) }
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_until(item, None)
    }

    /// Puts a copy of `*item`, waiting while a bounded queue is full: for an item the caller keeps
    /// (a large buffer sent many times), with no clone. The error carries no item.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::new()?;
    /// let config = vec!["a".to_string(), "b".to_string()];
    /// q.put_ref(&config)?; // puts a copy; `config` stays here
    /// assert_eq!(q.get()?, config);
    /// # Ok(()) }
    /// ```
    pub fn put_ref(&self, item: &T) -> Result<(), PutError<()>> {
        let outcome = match encoded_len(item) {
            Ok(len) => self.ring.put(len, &mut |d| encode_into(item, d), None),
            Err(e) => Some(Put::Failed(e)),
        };
        match outcome {
            None => Err(PutError::Timeout(())),
            Some(Put::Done) => Ok(()),
            Some(Put::Full) => Err(PutError::Full(())),
            Some(Put::Closed) => Err(PutError::Closed(())),
            Some(Put::Failed(e)) => Err(PutError::Message((), e)),
        }
    }

    /// Puts `item` if there is room now; [`PutError::Full`] if not (Python's `put_nowait`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{PutError, Queue};
    ///
    /// let q = Queue::bounded(1)?;
    /// q.try_put("first")?; // Python: `put_nowait`
    /// match q.try_put("second") {
    ///     Err(PutError::Full(item)) => assert_eq!(item, "second"), // Python's `queue.Full`
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_with(item, |ring, len, encode| Some(ring.try_put(len, encode)))
    }

    /// Puts `item`, waiting at most `timeout` for room in a bounded queue.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{PutError, Queue};
    /// use std::time::Duration;
    ///
    /// let q = Queue::bounded(1)?;
    /// q.put_timeout(1, Duration::from_secs(5))?;
    /// let r = q.put_timeout(2, Duration::from_millis(10)); // Python: `put(2, timeout=0.01)`
    /// assert!(matches!(r, Err(PutError::Timeout(2))));
    /// # Ok(()) }
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_until(item, Some(deadline(timeout)))
    }

    fn put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        self.put_with(item, |ring, len, encode| ring.put(len, encode, deadline))
    }

    /// Encodes `item` and runs one put strategy; `None` from it is a timeout.
    fn put_with(
        &self,
        item: T,
        put: impl FnOnce(&Ring, usize, &mut dyn FnMut(&mut [u8]) -> Result<(), String>) -> Option<Put>,
    ) -> Result<(), PutError<T>> {
        let outcome = match encoded_len(&item) {
            Ok(len) => put(&self.ring, len, &mut |d| encode_into(&item, d)),
            Err(e) => Some(Put::Failed(e)),
        };
        match outcome {
            None => Err(PutError::Timeout(item)),
            Some(Put::Done) => Ok(()),
            Some(Put::Full) => Err(PutError::Full(item)),
            Some(Put::Closed) => Err(PutError::Closed(item)),
            Some(Put::Failed(e)) => Err(PutError::Message(item, e)),
        }
    }
}

impl<T: DeserializeOwned> Queue<T> {
    /// Takes the next item, waiting for one. [`GetError::Closed`] once the queue is closed and
    /// empty.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_ipc::Queue;
    ///
    /// fn consume(q: Queue<u64>) -> u64 {
    ///     let mut sum = 0;
    ///     while let Ok(x) = q.get() { // until the queue is closed and drained
    ///         sum += x;
    ///     }
    ///     sum
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = Queue::new()?;
    /// let mut p = Process::new(consume, (q.clone(),));
    /// p.start()?;
    /// for x in 1..=10 {
    ///     q.put(x)?;
    /// }
    /// q.close();
    /// assert_eq!(p.join()?, 55);
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.get_until(None)
    }

    /// Takes the next item if there is one now; [`GetError::Empty`] if not (Python's
    /// `get_nowait`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{GetError, Queue};
    ///
    /// let q = Queue::<u8>::new()?;
    /// assert_eq!(q.try_get(), Err(GetError::Empty)); // Python's `queue.Empty`
    /// q.put(7)?;
    /// assert_eq!(q.try_get(), Ok(7));
    /// # Ok(()) }
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        finish_take(self.ring.try_take(&mut decode::<T>))
    }

    /// Takes the next item, waiting at most `timeout`; [`GetError::Timeout`] if none came.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{GetError, Queue};
    /// use std::time::Duration;
    ///
    /// let q = Queue::<u8>::new()?;
    /// assert_eq!(q.get_timeout(Duration::from_millis(10)), Err(GetError::Timeout));
    /// q.put(1)?;
    /// assert_eq!(q.get_timeout(Duration::from_secs(5)), Ok(1));
    /// # Ok(()) }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_until(Some(deadline(timeout)))
    }

    fn get_until(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        match self.ring.take(&mut decode::<T>, deadline) {
            None => Err(GetError::Timeout),
            Some(t) => finish_take(t),
        }
    }

    /// The items of the queue, as they come, until it is closed and drained: the way for a
    /// consumer to run to the end without sentinel values.
    ///
    /// # Panics
    /// If an item cannot be decoded (a `Deserialize` that does not accept what its `Serialize`
    /// wrote). Use [`get`](Queue::get) to handle that as an error.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::new()?;
    /// for word in ["a", "b", "c"] {
    ///     q.put(word.to_string())?;
    /// }
    /// q.close(); // no sentinel values: the iterator ends when the queue is closed and drained
    /// assert_eq!(q.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    /// # Ok(()) }
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { queue: self }
    }
}

fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400))
}

/// The encoded size of `item`.
fn encoded_len<T: Serialize>(item: &T) -> Result<usize, MessageError> {
    postcard::experimental::serialized_size(item)
        .map_err(|e| MessageError::Encode(encode_message(e)))
}

/// Encodes `item` into `dst`, which is exactly [`encoded_len`] bytes.
fn encode_into<T: Serialize>(item: &T, dst: &mut [u8]) -> Result<(), String> {
    postcard::to_slice(item, dst).map(|_| ()).map_err(encode_message)
}

fn encode_message(e: postcard::Error) -> String {
    match e {
        postcard::Error::SerdeSerCustom => {
            "serde refused the value (an OS handle inside it? handles travel through pipes, not queues)".into()
        }
        e => e.to_string(),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MessageError> {
    postcard::from_bytes(bytes).map_err(|e| MessageError::Decode(e.to_string()))
}

fn finish_take<T>(t: Take<Result<T, MessageError>>) -> Result<T, GetError> {
    match t {
        Take::Item(r) => r.map_err(GetError::Message),
        Take::Empty => Err(GetError::Empty),
        Take::Closed => Err(GetError::Closed),
    }
}

/// FNV-1a of the type's name: a queue refuses to be received as a queue of another type.
fn type_hash<T>() -> u64 {
    std::any::type_name::<T>()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Iterator over a queue's items until it is closed and drained ([`Queue::iter`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::Queue;
///
/// let q = Queue::new()?;
/// q.put(1)?;
/// q.put(2)?;
/// q.close();
/// let mut items = q.iter();
/// assert_eq!(items.next(), Some(1));
/// assert_eq!(items.next(), Some(2));
/// assert_eq!(items.next(), None);
/// # Ok(()) }
/// ```
pub struct Iter<'a, T> {
    queue: &'a Queue<T>,
}

impl<T: DeserializeOwned> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self.queue.get() {
            Ok(item) => Some(item),
            Err(GetError::Closed) => None,
            Err(e) => panic!("queue item could not be taken: {e}"),
        }
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("queue", self.queue).finish()
    }
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        Queue { ring: self.ring.clone(), _t: PhantomData }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("maxsize", &self.maxsize())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Waitable for Queue<T> {
    /// The queue's event fd: [`wait`](proc_core::wait) reports the queue ready when it holds an
    /// item or is closed.
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.ring.event())
    }

    fn arm(&self) -> bool {
        self.ring.arm()
    }

    fn disarm(&self, _fd_ready: bool) -> bool {
        self.ring.disarm()
    }
}

impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.ring.region(), Handle::new(self.ring.event())).serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (region, event): (SharedRegion, Handle<OwnedFd>) =
            Deserialize::deserialize(deserializer)?;
        let ring =
            Ring::attach(region, event.into_inner(), type_hash::<T>(), std::any::type_name::<T>())
                .map_err(D::Error::custom)?;
        Ok(Queue { ring: Arc::new(ring), _t: PhantomData })
    }
}

/// A [`Queue`] whose consumers mark each item done, so that a producer can wait until every item
/// put has been processed (Python's `JoinableQueue`). Everything a `Queue` does, it does too.
///
/// ```
/// use proc_core::Process;
/// use proc_ipc::JoinableQueue;
///
/// fn worker(q: JoinableQueue<u32>) {
///     while let Ok(n) = q.get() {
///         let _ = n * n; // the work
///         q.task_done().unwrap();
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let q = JoinableQueue::new()?;
/// let mut p = Process::builder().daemon(true).target(worker, (q.clone(),));
/// p.start()?;
/// for n in 0..10 {
///     q.put(n).unwrap();
/// }
/// q.join(); // every item has been processed
/// # Ok(()) }
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
}

impl<T> JoinableQueue<T> {
    /// An unbounded joinable queue.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::JoinableQueue;
    ///
    /// let q = JoinableQueue::new()?;
    /// q.put("job")?;
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<JoinableQueue<T>> {
        Ok(JoinableQueue { queue: Queue::new()? })
    }

    /// A joinable queue holding at most `maxsize` items; 0 is unbounded.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::JoinableQueue;
    ///
    /// let q = JoinableQueue::bounded(2)?;
    /// q.put(1)?;
    /// q.put(2)?;
    /// assert!(q.is_full()); // every `Queue` method, through `Deref`
    /// # Ok(()) }
    /// ```
    pub fn bounded(maxsize: usize) -> io::Result<JoinableQueue<T>> {
        Ok(JoinableQueue { queue: Queue::bounded(maxsize)? })
    }

    /// A joinable queue from options.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{JoinableQueue, Queue};
    ///
    /// let q = JoinableQueue::<u32>::with_options(Queue::<u32>::builder().maxsize(8))?;
    /// assert_eq!(q.maxsize(), Some(8));
    /// # Ok(()) }
    /// ```
    pub fn with_options(options: QueueBuilder) -> io::Result<JoinableQueue<T>> {
        Ok(JoinableQueue { queue: options.build()? })
    }

    /// Marks one item taken from the queue as processed. Calling it more times than items were
    /// taken is [`TaskDoneError`] (Python's `ValueError`), and changes nothing.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{JoinableQueue, TaskDoneError};
    ///
    /// let q = JoinableQueue::new()?;
    /// q.put("job".to_string())?;
    /// let _job = q.get()?;
    /// q.task_done()?; // after processing the item
    /// assert_eq!(q.task_done(), Err(TaskDoneError)); // one too many
    /// # Ok(()) }
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        if self.queue.ring.task_done() { Ok(()) } else { Err(TaskDoneError) }
    }

    /// Waits until every item put in the queue has been marked done.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_ipc::JoinableQueue;
    ///
    /// fn worker(q: JoinableQueue<u32>) {
    ///     while let Ok(_job) = q.get() {
    ///         q.task_done().unwrap();
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = JoinableQueue::new()?;
    /// let mut p = Process::new(worker, (q.clone(),));
    /// p.start()?;
    /// for job in 0..5 {
    ///     q.put(job)?;
    /// }
    /// q.join(); // Python: `q.join()`: every job was taken and marked done
    /// q.close(); // the worker's `get` ends
    /// p.join()?;
    /// # Ok(()) }
    /// ```
    pub fn join(&self) {
        self.queue.ring.join(None);
    }

    /// Waits at most `timeout` until every item has been marked done; returns whether they all
    /// were.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::JoinableQueue;
    /// use std::time::Duration;
    ///
    /// let q = JoinableQueue::new()?;
    /// q.put(1)?;
    /// assert!(!q.join_timeout(Duration::from_millis(10))); // nobody processed it
    /// q.get()?;
    /// q.task_done()?;
    /// assert!(q.join_timeout(Duration::from_secs(5)));
    /// # Ok(()) }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.queue.ring.join(Some(deadline(timeout)))
    }

    /// Items put and not yet marked done.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::JoinableQueue;
    ///
    /// let q = JoinableQueue::new()?;
    /// q.put('x')?;
    /// q.get()?; // taken, but not done yet
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// q.task_done()?;
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// # Ok(()) }
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        self.queue.ring.unfinished() as usize
    }

    /// The plain queue underneath (the same queue; its consumers can still call `task_done` only
    /// through a `JoinableQueue`).
    ///
    /// ```
    /// use proc_ipc::{JoinableQueue, Queue};
    ///
    /// fn total(q: &Queue<u32>) -> usize {
    ///     q.len()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = JoinableQueue::new()?;
    /// q.put(1)?;
    /// assert_eq!(total(q.as_queue()), 1);
    /// # Ok(()) }
    /// ```
    pub fn as_queue(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> Deref for JoinableQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue { queue: self.queue.clone() }
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueue")
            .field("queue", &self.queue)
            .field("unfinished_tasks", &self.unfinished_tasks())
            .finish()
    }
}

impl<T> Waitable for JoinableQueue<T> {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        self.queue.wait_fd()
    }
    fn arm(&self) -> bool {
        self.queue.arm()
    }
    fn disarm(&self, fd_ready: bool) -> bool {
        self.queue.disarm(fd_ready)
    }
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(JoinableQueue { queue: Queue::deserialize(deserializer)? })
    }
}

/// The smallest queue (Python's `SimpleQueue`): unbounded, with `put`, `get`, `is_empty` and
/// `close` only. Same shared-memory data path as [`Queue`].
///
/// ```
/// use proc_core::Process;
/// use proc_ipc::SimpleQueue;
///
/// fn greet(q: SimpleQueue<String>) {
///     q.put("hello from the child".to_string()).unwrap();
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let q = SimpleQueue::new()?;
/// let mut p = Process::new(greet, (q.clone(),));
/// p.start()?;
/// assert_eq!(q.get()?, "hello from the child");
/// p.join()?;
/// # Ok(()) }
/// ```
pub struct SimpleQueue<T> {
    queue: Queue<T>,
}

impl<T> SimpleQueue<T> {
    /// A new, empty queue.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::SimpleQueue;
    ///
    /// let q = SimpleQueue::<u8>::new()?; // Python: `SimpleQueue()`
    /// assert!(q.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<SimpleQueue<T>> {
        Ok(SimpleQueue { queue: Queue::new()? })
    }

    /// Whether the queue holds no items now.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::SimpleQueue;
    ///
    /// let q = SimpleQueue::new()?;
    /// assert!(q.is_empty());
    /// q.put(1)?;
    /// assert!(!q.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Closes the queue for everyone (see [`Queue::close`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::{GetError, SimpleQueue};
    ///
    /// let q = SimpleQueue::<u8>::new()?;
    /// q.close();
    /// assert_eq!(q.get(), Err(GetError::Closed)); // nothing to wait for
    /// # Ok(()) }
    /// ```
    pub fn close(&self) {
        self.queue.close();
    }
}

impl<T: Serialize> SimpleQueue<T> {
    /// Puts `item` in the queue; never waits.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::SimpleQueue;
    ///
    /// let q = SimpleQueue::new()?;
    /// q.put([1.5, 2.5])?;
    /// assert_eq!(q.get()?, [1.5, 2.5]);
    /// # Ok(()) }
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.queue.put(item)
    }

    /// Puts a copy of `*item` (see [`Queue::put_ref`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::SimpleQueue;
    ///
    /// let q = SimpleQueue::new()?;
    /// let text = String::from("kept here");
    /// q.put_ref(&text)?;
    /// assert_eq!(q.get()?, text);
    /// # Ok(()) }
    /// ```
    pub fn put_ref(&self, item: &T) -> Result<(), PutError<()>> {
        self.queue.put_ref(item)
    }
}

impl<T: DeserializeOwned> SimpleQueue<T> {
    /// Takes the next item, waiting for one; [`GetError::Closed`] once closed and drained.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::SimpleQueue;
    ///
    /// let q = SimpleQueue::new()?;
    /// q.put(42)?;
    /// assert_eq!(q.get()?, 42);
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.queue.get()
    }
}

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        SimpleQueue { queue: self.queue.clone() }
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleQueue").field("queue", &self.queue).finish()
    }
}

impl<T> Waitable for SimpleQueue<T> {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        self.queue.wait_fd()
    }
    fn arm(&self) -> bool {
        self.queue.arm()
    }
    fn disarm(&self, fd_ready: bool) -> bool {
        self.queue.disarm(fd_ready)
    }
}

impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(SimpleQueue { queue: Queue::deserialize(deserializer)? })
    }
}
