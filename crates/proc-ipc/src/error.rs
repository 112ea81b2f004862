//! The errors of connections and queues. Every one is a value to match on; none is a panic, and
//! an item that could not be sent or put comes back inside the error.

use std::fmt;
use std::io;

pub use proc_core::codec::{DecodeError, EncodeError};

/// Why a message could not be sent on a [`Connection`](crate::Connection).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{Pipe, SendError};
///
/// let (mut a, b) = Pipe::new::<u8>()?;
/// drop(b);
/// assert!(matches!(a.send(&1), Err(SendError::Disconnected))); // Python's `BrokenPipeError`
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The other end is closed (Python's `BrokenPipeError`).
    #[error("the other end of the connection is closed")]
    Disconnected,
    /// This end was closed with [`close`](crate::Connection::close).
    #[error("the connection is closed")]
    Closed,
    /// This end is the read end of a one-way pipe.
    #[error("this end of the pipe is read-only")]
    ReadOnly,
    /// The message is larger than the connection's limit.
    #[error("message of {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the encoded message.
        len: u64,
        /// The connection's limit ([`Connection::set_max_message_len`](crate::Connection::set_max_message_len)).
        limit: u64,
    },
    /// The value could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The message holds OS handles, and this connection cannot carry them (a pipe or a TCP
    /// socket; handles travel over Unix sockets only), or holds more than one message may carry.
    #[error("{0}")]
    Handles(&'static str),
    /// Another OS error.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
}

/// Why no message was received from a [`Connection`](crate::Connection).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{Pipe, RecvError};
///
/// let (a, mut b) = Pipe::new::<u8>()?;
/// drop(a);
/// match b.recv() {
///     Err(RecvError::Disconnected) => println!("the other end is gone"), // Python's `EOFError`
///     other => panic!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// Every write end of the other side is closed and everything sent was read (Python's
    /// `EOFError`).
    #[error("the other end of the connection is closed and nothing is left to read")]
    Disconnected,
    /// This end was closed with [`close`](crate::Connection::close).
    #[error("the connection is closed")]
    Closed,
    /// This end is the write end of a one-way pipe.
    #[error("this end of the pipe is write-only")]
    WriteOnly,
    /// Nothing arrived in time (`recv_timeout`).
    #[error("no message arrived in time")]
    Timeout,
    /// The next message is larger than allowed. It stays where it is: receive it with a larger
    /// limit, or close the connection.
    #[error("the next message is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Size the message declares.
        len: u64,
        /// The limit that applied.
        limit: u64,
    },
    /// `recv_bytes_into` was given a buffer smaller than the next message, which stays where it is.
    #[error("the next message is {needed} bytes; the buffer holds {available}")]
    BufferTooSmall {
        /// Size of the message.
        needed: usize,
        /// Size of the buffer given.
        available: usize,
    },
    /// The other side stopped in the middle of a message (it died, or closed while sending).
    #[error("the connection ended in the middle of a message")]
    Truncated,
    /// The bytes on the connection are not a message: something other than a multiproc connection
    /// is writing to it. The connection cannot find the next message and stays failed.
    #[error("corrupt frame on the connection: {0}")]
    Corrupt(&'static str),
    /// The message arrived but is not a valid encoding of the expected type; it was consumed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Another OS error.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
}

/// Why an item was not put in a queue. The item comes back inside.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{PutError, Queue};
///
/// let q = Queue::bounded(1)?;
/// q.put("a".to_string())?;
/// match q.try_put("b".to_string()) {
///     Err(PutError::Full(item)) => assert_eq!(item, "b"), // the item comes back
///     other => panic!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum PutError<T> {
    /// The queue is bounded and full (`try_put`; Python's `queue.Full`).
    #[error("the queue is full")]
    Full(T),
    /// The queue stayed full until the timeout (`put_timeout`).
    #[error("the queue stayed full until the timeout")]
    Timeout(T),
    /// The queue is closed.
    #[error("the queue is closed")]
    Closed(T),
    /// The item could not be encoded, or is larger than a queue can hold.
    #[error("the item could not be put: {1}")]
    Message(T, MessageError),
}

impl<T> PutError<T> {
    /// The item that was not put.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_ipc::Queue;
    ///
    /// let q = Queue::bounded(1)?;
    /// q.put(vec![1])?;
    /// let back: Vec<i32> = q.try_put(vec![2]).unwrap_err().into_inner();
    /// assert_eq!(back, [2]);
    /// # Ok(()) }
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(t) | PutError::Timeout(t) | PutError::Closed(t) => t,
            PutError::Message(t, _) => t,
        }
    }

    /// The same error, without the item (to log it or pass it on with `?`).
    ///
    /// ```
    /// use proc_ipc::{PutError, Queue};
    ///
    /// fn put_one(q: &Queue<String>, s: String) -> Result<(), PutError<()>> {
    ///     q.try_put(s).map_err(|e| e.without_item())
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = Queue::bounded(1)?;
    /// put_one(&q, "a".into())?;
    /// assert!(matches!(put_one(&q, "b".into()), Err(PutError::Full(()))));
    /// # Ok(()) }
    /// ```
    pub fn without_item(&self) -> PutError<()> {
        match self {
            PutError::Full(_) => PutError::Full(()),
            PutError::Timeout(_) => PutError::Timeout(()),
            PutError::Closed(_) => PutError::Closed(()),
            PutError::Message(_, e) => PutError::Message((), e.clone()),
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::Timeout(_) => f.write_str("Timeout(..)"),
            PutError::Closed(_) => f.write_str("Closed(..)"),
            PutError::Message(_, e) => f.debug_tuple("Message").field(&"..").field(e).finish(),
        }
    }
}

/// Why a message could not go into (or come out of) a queue.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_core::Handle;
/// use proc_ipc::{MessageError, PutError, Queue};
///
/// let q = Queue::new()?;
/// let file = Handle::new(std::fs::File::open("/dev/null")?);
/// match q.put(file) {
///     Err(PutError::Message(_, MessageError::Encode(why))) => println!("{why}"), // use a Pipe
///     other => panic!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The value could not be encoded (serde refused it, or it holds an OS handle: handles travel
    /// in spawn arguments and through pipes, not through queues).
    #[error("could not encode the item: {0}")]
    Encode(String),
    /// The value could not be decoded as the queue's type.
    #[error("could not decode the item: {0}")]
    Decode(String),
    /// The queue's address space (set when it was created) is used up by items nobody took.
    #[error("the queue holds {capacity} bytes of items nobody has taken; it has no room for more")]
    NoSpace {
        /// The queue's capacity in bytes.
        capacity: u64,
    },
    /// The system had no memory for the queue's next block.
    #[error("no memory for the queue: {0}")]
    NoMemory(String),
}

/// Why no item was taken from a queue.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{GetError, Queue};
/// use std::time::Duration;
///
/// let q = Queue::<u8>::new()?;
/// assert_eq!(q.try_get(), Err(GetError::Empty)); // Python's `queue.Empty`
/// assert_eq!(q.get_timeout(Duration::from_millis(10)), Err(GetError::Timeout));
/// q.close();
/// assert_eq!(q.get(), Err(GetError::Closed));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GetError {
    /// The queue is empty (`try_get`; Python's `queue.Empty`).
    #[error("the queue is empty")]
    Empty,
    /// The queue stayed empty until the timeout (`get_timeout`).
    #[error("the queue stayed empty until the timeout")]
    Timeout,
    /// The queue is closed and every item put before it closed has been taken.
    #[error("the queue is closed and drained")]
    Closed,
    /// An item was taken but could not be decoded.
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// `task_done` was called more times than items were put (Python's `ValueError`).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_ipc::{JoinableQueue, TaskDoneError};
///
/// let q = JoinableQueue::<u8>::new()?;
/// assert_eq!(q.task_done(), Err(TaskDoneError)); // Python's `ValueError`
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("task_done() called more times than there were items put")]
pub struct TaskDoneError;

/// Why a queue or connection received from another process could not be used.
///
/// ```
/// use proc_ipc::HandleError;
///
/// let e = HandleError::WrongType { expected: "u32".into(), found: "alloc::string::String" };
/// assert_eq!(e.to_string(), "the queue carries `u32` items, not `alloc::string::String`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The shared memory is not a queue of this version.
    #[error("the shared memory is not a multiproc queue")]
    NotAQueue,
    /// The queue was created for another item type.
    #[error("the queue carries `{expected}` items, not `{found}`")]
    WrongType {
        /// What the queue was created for (as far as is known: a hash otherwise).
        expected: String,
        /// The type it was received as.
        found: &'static str,
    },
}
