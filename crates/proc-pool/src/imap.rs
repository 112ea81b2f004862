//! [`Imap`]: the lazy iterators of `imap` and `imap_unordered`.

use std::any::TypeId;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex};

use proc_core::SharedFn;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{PoolError, TaskError};
use crate::pool::{Pool, Sink, decode_results, lock_ignoring_poison};

/// Whether results come in input order or completion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImapOrder {
    Ordered,
    Unordered,
}

struct Arrived<R> {
    /// Ordered: chunk index → its results.
    by_index: BTreeMap<u64, Vec<Result<R, TaskError>>>,
    /// Unordered: chunks in the order they completed.
    by_completion: VecDeque<Vec<Result<R, TaskError>>>,
}

struct Shared<R> {
    arrived: Mutex<Arrived<R>>,
    cond: Condvar,
}

/// The iterator of [`Pool::imap`] and [`Pool::imap_unordered`]: one `Result` per input item.
///
/// It reads the input only as results are taken, keeping a bounded number of tasks in flight, so
/// an endless input works and memory stays flat. A failed item (a panic, a worker that died) is an
/// `Err` in its place; the iteration goes on. `size_hint` is exact when the input's is, and `len`
/// is there when the input is an [`ExactSizeIterator`], so a progress bar can show how far it got.
///
/// ```
/// use proc_pool::Pool;
///
/// fn square(x: u32) -> u32 { x * x }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::new(2)?;
/// let mut it = pool.imap(square, 0..)?; // endless input
/// let first: Vec<u32> = it.by_ref().take(4).map(Result::unwrap).collect();
/// assert_eq!(first, vec![0, 1, 4, 9]);
///
/// let squares = pool.imap(square, 0..10u32)?;
/// assert_eq!(squares.len(), 10);
/// let mut any_order: Vec<u32> = pool.imap_unordered(square, 0..10)?.map(Result::unwrap).collect();
/// any_order.sort();
/// assert_eq!(any_order, squares.map(Result::unwrap).collect::<Vec<_>>());
/// # Ok(()) }
/// ```
pub struct Imap<'p, I: Iterator, R> {
    pool: &'p Pool,
    f: SharedFn<I::Item, R>,
    /// The function's type, for the pool's cost estimates.
    function: TypeId,
    input: Option<I>,
    chunksize: usize,
    order: ImapOrder,
    shared: Arc<Shared<R>>,
    next_chunk: u64,
    next_to_yield: u64,
    current: VecDeque<Result<R, TaskError>>,
    chunks_out: usize,
    /// Items submitted and not yielded yet.
    items_out: usize,
    window: usize,
    failed: Option<TaskError>,
}

impl<'p, I, R> Imap<'p, I, R>
where
    I: Iterator,
    I::Item: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(
        pool: &'p Pool,
        f: SharedFn<I::Item, R>,
        function: TypeId,
        input: I,
        chunksize: usize,
        order: ImapOrder,
    ) -> Self {
        Imap {
            pool,
            f,
            function,
            input: Some(input),
            chunksize,
            order,
            shared: Arc::new(Shared {
                arrived: Mutex::new(Arrived {
                    by_index: BTreeMap::new(),
                    by_completion: VecDeque::new(),
                }),
                cond: Condvar::new(),
            }),
            next_chunk: 0,
            next_to_yield: 0,
            current: VecDeque::new(),
            chunks_out: 0,
            items_out: 0,
            window: (pool.processes() * 8).max(16),
            failed: None,
        }
    }

    /// Submits chunks until the look-ahead window is full or the input ends.
    fn top_up(&mut self) {
        while self.chunks_out < self.window {
            let Some(input) = self.input.as_mut() else { return };
            let chunk: Vec<I::Item> = input.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                self.input = None;
                return;
            }
            let index = self.next_chunk;
            let len = chunk.len();
            let shared = self.shared.clone();
            let order = self.order;
            let sink: Sink = Box::new(move |outcome| {
                let results = match outcome.and_then(decode_results::<R>) {
                    Ok(v) => v,
                    Err(e) => (0..len).map(|_| Err(e.clone())).collect(),
                };
                let mut arrived = lock_ignoring_poison(&shared.arrived);
                match order {
                    ImapOrder::Ordered => {
                        arrived.by_index.insert(index, results);
                    }
                    ImapOrder::Unordered => arrived.by_completion.push_back(results),
                }
                drop(arrived);
                shared.cond.notify_all();
            });
            match self.pool.submit_chunk(self.f, &chunk, self.function, sink) {
                Ok(()) => {
                    self.next_chunk += 1;
                    self.chunks_out += 1;
                    self.items_out += len;
                }
                Err(e) => {
                    self.failed = Some(match e {
                        PoolError::Terminated => TaskError::Terminated,
                        PoolError::Broken { message } => TaskError::InitializerFailed { message },
                        other => TaskError::Message(other.to_string()),
                    });
                    self.input = None;
                    return;
                }
            }
        }
    }
}

impl<I, R> Iterator for Imap<'_, I, R>
where
    I: Iterator,
    I::Item: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(v) = self.current.pop_front() {
                self.items_out -= 1;
                return Some(v);
            }
            self.top_up();
            if self.chunks_out == 0 {
                // The input is done (or could not be submitted) and everything was yielded.
                return self.failed.take().map(Err);
            }
            let mut arrived = lock_ignoring_poison(&self.shared.arrived);
            loop {
                let next = match self.order {
                    ImapOrder::Ordered => arrived.by_index.remove(&self.next_to_yield),
                    ImapOrder::Unordered => arrived.by_completion.pop_front(),
                };
                if let Some(chunk) = next {
                    self.next_to_yield += 1;
                    self.chunks_out -= 1;
                    self.current.extend(chunk);
                    break;
                }
                // Every submitted chunk completes: with its results, its error, or the pool's
                // termination; so this wait ends.
                arrived = self.shared.cond.wait(arrived).unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.input.as_ref().map_or((0, Some(0)), Iterator::size_hint);
        let out = self.items_out + usize::from(self.failed.is_some());
        (lo.saturating_add(out), hi.and_then(|h| h.checked_add(out)))
    }
}

impl<I, R> ExactSizeIterator for Imap<'_, I, R>
where
    I: ExactSizeIterator,
    I::Item: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I: Iterator, R> fmt::Debug for Imap<'_, I, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("order", &self.order)
            .field("chunksize", &self.chunksize)
            .field("in_flight_items", &self.items_out)
            .field("input_done", &self.input.is_none())
            .finish()
    }
}
