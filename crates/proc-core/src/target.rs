//! What a child runs: [`Target`] (a `fn` item or non-capturing closure and its arguments), [`Run`]
//! (a value that runs itself, standing in for a `Process` subclass), and the type-erased job the
//! start methods carry.
//!
//! Rust cannot ship code to another process, but a child started from the same binary has the same
//! code at the same offsets. A job therefore names its entry point by the offset of a monomorphised
//! trampoline from an anchor function in this crate; the child adds the offset to its own anchor.
//! The binary's identity travels with the job and is checked before the jump (see `entry`).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{self, DecodeError, EncodeError};

/// A function a child process can run with arguments of type `Args` (a tuple).
///
/// Implemented for `fn` items and non-capturing closures of up to eight arguments: `Args` is the
/// tuple of their argument types, so `fn work(a: u32, s: String)` is a `Target<(u32, String)>`
/// and is started with `Process::new(work, (1, "x".to_string()))`.
///
/// A target must be zero-sized: the child re-creates it from its type alone, so a closure that
/// captures anything is rejected at compile time (use the `fork` start method for those).
///
/// ```
/// use proc_core::{Process, Target};
///
/// fn add(a: i32, b: i32) -> i32 {
///     a + b
/// }
///
/// // Generic code takes any target with its argument tuple, as `Process::new` does.
/// fn start_all<A: Clone, T: Target<A>>(t: T, args: A) -> Vec<T::Output> {
///     (0..3).map(|_| t.call(args.clone())).collect()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(start_all(add, (2, 3)), [5, 5, 5]);
/// assert_eq!(start_all(|| "no arguments", ()), ["no arguments"; 3]);
///
/// let mut p = Process::new(add, (40, 2));
/// p.start()?;
/// assert_eq!(p.join()?, 42);
/// # Ok(()) }
/// ```
pub trait Target<Args>: Copy + Send + Sync + 'static {
    /// What the target returns; sent back to the parent and returned by `join`.
    type Output;

    /// Calls the target.
    ///
    /// ```
    /// use proc_core::Target;
    ///
    /// fn greet(name: &'static str, times: usize) -> String {
    ///     format!("hi {name} ").repeat(times)
    /// }
    ///
    /// assert_eq!(greet.call(("ann", 2)), "hi ann hi ann ");
    /// ```
    fn call(self, args: Args) -> Self::Output;
}

macro_rules! impl_target {
    ($($a:ident),*) => {
        impl<Func, Ret, $($a,)*> Target<($($a,)*)> for Func
        where
            Func: Fn($($a),*) -> Ret + Copy + Send + Sync + 'static,
        {
            type Output = Ret;
            #[allow(non_snake_case)]
            fn call(self, args: ($($a,)*)) -> Ret {
                let ($($a,)*) = args;
                self($($a),*)
            }
        }
    };
}

impl_target!();
impl_target!(A1);
impl_target!(A1, A2);
impl_target!(A1, A2, A3);
impl_target!(A1, A2, A3, A4);
impl_target!(A1, A2, A3, A4, A5);
impl_target!(A1, A2, A3, A4, A5, A6);
impl_target!(A1, A2, A3, A4, A5, A6, A7);
impl_target!(A1, A2, A3, A4, A5, A6, A7, A8);

/// A value that runs itself in a child process: Rust's stand-in for subclassing Python's `Process`
/// and overriding `run()`. The value's fields are its state (serialized to the child).
///
/// ```
/// use proc_core::{Process, Run};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Countdown { from: u32 }
///
/// impl Run for Countdown {
///     type Output = Vec<u32>;
///     fn run(self) -> Vec<u32> { (0..self.from).rev().collect() }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = Process::from_run(Countdown { from: 3 });
/// p.start()?;
/// assert_eq!(p.join()?, vec![2, 1, 0]);
/// # Ok(()) }
/// ```
pub trait Run: Serialize + DeserializeOwned + Send + 'static {
    /// What `run` returns.
    type Output: Serialize + DeserializeOwned;

    /// The child's work.
    ///
    /// ```
    /// use proc_core::{Process, Run};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Sum(Vec<u64>);
    ///
    /// impl Run for Sum {
    ///     type Output = u64;
    ///     fn run(self) -> u64 {
    ///         self.0.iter().sum()
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(Sum(vec![1, 2]).run(), 3); // here
    /// let mut p = Process::from_run(Sum(vec![1, 2, 3])); // in a child
    /// p.start()?;
    /// assert_eq!(p.join()?, 6);
    /// # Ok(()) }
    /// ```
    fn run(self) -> Self::Output;
}

/// How a child sends its return value: bytes and the fds they refer to.
pub(crate) type Reply<'a> = dyn FnMut(&[u8], &[BorrowedFd<'_>]) -> io::Result<()> + 'a;

/// Why a job could not run to completion (other than a panic, which is caught separately).
#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    #[error("the arguments could not be decoded in the child: {0}")]
    Args(DecodeError),
    #[error("the return value could not be encoded: {0}")]
    Result(EncodeError),
    #[error("the return value could not be sent to the parent: {0}")]
    Reply(io::Error),
}

/// A trampoline: decodes the job's payload, runs it, and replies with the encoded result.
pub(crate) type Entry = fn(&[u8], Vec<OwnedFd>, &mut Reply<'_>) -> Result<(), JobError>;

/// The fixed point entry offsets are measured from.
#[inline(never)]
pub(crate) fn anchor() -> usize {
    std::hint::black_box(0x5eed)
}

/// Offset of `entry` from [`anchor`] in this binary.
pub(crate) fn entry_offset(entry: Entry) -> isize {
    fn_offset(entry as *const ())
}

/// Offset of any function's address from [`anchor`].
pub(crate) fn fn_offset(f: *const ()) -> isize {
    (f as usize).wrapping_sub(anchor as fn() -> usize as usize) as isize
}

/// The address at `offset` from [`anchor`] in this process.
pub(crate) fn fn_at(offset: isize) -> *const () {
    (anchor as fn() -> usize as usize).wrapping_add(offset as usize) as *const ()
}

/// The entry at `offset` from [`anchor`].
///
/// # Safety
/// `offset` must have come from [`entry_offset`] in a process running the same binary.
pub(crate) unsafe fn entry_at(offset: isize) -> Entry {
    let addr = (anchor as fn() -> usize as usize).wrapping_add(offset as usize);
    // SAFETY: the caller guarantees `addr` is the address of an `Entry` function in this binary
    // (same binary ⇒ same code at the same offset from the anchor).
    unsafe { std::mem::transmute::<usize, Entry>(addr) }
}

fn reply_with<R: Serialize>(value: &R, reply: &mut Reply<'_>) -> Result<(), JobError> {
    let enc = codec::encode(value).map_err(JobError::Result)?;
    reply(enc.bytes(), enc.fds()).map_err(JobError::Reply)
}

fn target_entry<F, A>(
    payload: &[u8],
    fds: Vec<OwnedFd>,
    reply: &mut Reply<'_>,
) -> Result<(), JobError>
where
    F: Target<A>,
    A: DeserializeOwned,
    F::Output: Serialize,
{
    let args: A = codec::decode(payload, fds).map_err(JobError::Args)?;
    let out = conjure::<F>().call(args);
    reply_with(&out, reply)
}

fn run_entry<T: Run>(
    payload: &[u8],
    fds: Vec<OwnedFd>,
    reply: &mut Reply<'_>,
) -> Result<(), JobError> {
    let obj: T = codec::decode(payload, fds).map_err(JobError::Args)?;
    let out = obj.run();
    reply_with(&out, reply)
}

/// Makes a value of the zero-sized, `Copy` target type `F`.
pub(crate) fn conjure<F: Copy + 'static>() -> F {
    const { assert!(std::mem::size_of::<F>() == 0) };
    // SAFETY: F is zero-sized (asserted at compile time), so it has no bytes to initialise; it is
    // inhabited because the parent held a value of it, and it is Copy, so making another one
    // duplicates nothing that owns a resource. Fn items and non-capturing closures are exactly such
    // types.
    // Reading a zero-sized value touches no memory, so a dangling, well-aligned pointer is valid.
    unsafe { std::ptr::NonNull::<F>::dangling().read() }
}

/// A job as a `Process` holds it until `start`: it can be sent to a fresh process (spawn,
/// forkserver) or run directly in a fork of this one.
pub(crate) trait Job: Send + 'static {
    /// The trampoline and its payload, for a fresh process; `None` for jobs only a fork can run.
    fn spawn_form(&self) -> Option<(Entry, Result<codec::Encoded<'_>, EncodeError>)>;
    /// Runs the job in a forked child.
    fn run_here(self: Box<Self>, reply: &mut Reply<'_>) -> Result<(), JobError>;
}

/// `F(args)` for a zero-sized target.
pub(crate) struct TargetJob<F, A> {
    pub(crate) target: F,
    pub(crate) args: A,
}

impl<F, A> Job for TargetJob<F, A>
where
    F: Target<A>,
    A: Serialize + DeserializeOwned + Send + 'static,
    F::Output: Serialize,
{
    fn spawn_form(&self) -> Option<(Entry, Result<codec::Encoded<'_>, EncodeError>)> {
        Some((target_entry::<F, A>, codec::encode(&self.args)))
    }
    fn run_here(self: Box<Self>, reply: &mut Reply<'_>) -> Result<(), JobError> {
        let out = self.target.call(self.args);
        reply_with(&out, reply)
    }
}

/// A [`Run`] value.
pub(crate) struct RunJob<T>(pub(crate) T);

impl<T: Run> Job for RunJob<T> {
    fn spawn_form(&self) -> Option<(Entry, Result<codec::Encoded<'_>, EncodeError>)> {
        Some((run_entry::<T>, codec::encode(&self.0)))
    }
    fn run_here(self: Box<Self>, reply: &mut Reply<'_>) -> Result<(), JobError> {
        let out = self.0.run();
        reply_with(&out, reply)
    }
}

/// A closure that may capture anything: runnable only by fork.
pub(crate) struct ClosureJob<C>(pub(crate) C);

impl<C, R> Job for ClosureJob<C>
where
    C: FnOnce() -> R + Send + 'static,
    R: Serialize,
{
    fn spawn_form(&self) -> Option<(Entry, Result<codec::Encoded<'_>, EncodeError>)> {
        None
    }
    fn run_here(self: Box<Self>, reply: &mut Reply<'_>) -> Result<(), JobError> {
        let out = (self.0)();
        reply_with(&out, reply)
    }
}
