//! [`Value`], [`RawValue`] and [`AtomicValue`]: one value in shared memory.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use proc_core::{Shared, SharedRegion, ShmSafe};
use proc_sync::{Lock, LockGuard, OwnerDied, RLock, RLockGuard};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::plain::Plain;

/// The lock a [`Value`] or [`Array`](crate::Array) takes: a [`Lock`] (the default) or an [`RLock`]
/// given by the caller, possibly shared with other objects.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum DataLock {
    Plain(Lock),
    Recursive(RLock),
}

/// A held [`DataLock`].
pub(crate) enum DataGuard<'a> {
    Plain(#[allow(dead_code)] LockGuard<'a>),
    Recursive(#[allow(dead_code)] RLockGuard<'a>),
}

impl DataLock {
    /// Takes the lock. Panics if the calling thread already holds the (recursive) lock: a second
    /// guard would alias the data mutably, as a second `RefCell::borrow_mut` would.
    pub(crate) fn acquire(&self) -> Result<DataGuard<'_>, OwnerDied<DataGuard<'_>>> {
        match self {
            DataLock::Plain(l) => match l.acquire() {
                Ok(g) => Ok(DataGuard::Plain(g)),
                Err(d) => Err(d.map(DataGuard::Plain)),
            },
            DataLock::Recursive(l) => {
                assert!(
                    !l.is_owned(),
                    "the shared data is already locked by this thread (its RLock is held)"
                );
                match l.acquire() {
                    Ok(g) => Ok(DataGuard::Recursive(g)),
                    Err(d) => Err(d.map(DataGuard::Recursive)),
                }
            }
        }
    }
}

/// One value of a [`Plain`] type in shared memory, with a lock: Python's
/// `multiprocessing.Value(typecode, value)`.
///
/// Clones, and copies passed to children, are the same value. [`lock`](Value::lock) gives a guard
/// that dereferences to the value, so `*v.lock() += 1` is race-free across processes; [`get`] and
/// [`set`] lock around a single read or write (so `v.set(v.get() + 1)`, like Python's
/// `v.value += 1`, is *not* atomic).
///
/// [`get`]: Value::get
/// [`set`]: Value::set
///
/// ```
/// use proc_core::Process;
/// use proc_shm::Value;
///
/// fn add(v: Value<i32>, n: i32) {
///     for _ in 0..1000 {
///         *v.lock() += n;
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let v = Value::new(0i32)?;
/// let mut a = Process::new(add, (v.clone(), 1));
/// let mut b = Process::new(add, (v.clone(), 3));
/// a.start()?;
/// b.start()?;
/// a.join()?;
/// b.join()?;
/// assert_eq!(v.get(), 4000);
/// # Ok(()) }
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Value<T: Plain> {
    #[serde(deserialize_with = "deserialize_region::<_, T>")]
    region: SharedRegion,
    lock: DataLock,
    _t: PhantomData<T>,
}

fn deserialize_region<'de, D: Deserializer<'de>, T>(d: D) -> Result<SharedRegion, D::Error> {
    let region = SharedRegion::deserialize(d)?;
    if region.len() < std::mem::size_of::<T>() {
        return Err(D::Error::custom("shared region is too small for the value's type"));
    }
    Ok(region)
}

/// Holds a [`Value`]'s lock; dereferences to the value.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_shm::Value;
///
/// let balance = Value::new(100u64)?;
/// {
///     let mut b = balance.lock(); // Python: `with balance.get_lock():`
///     *b -= 30; // read and write under one lock: no other process gets in between
/// }
/// assert_eq!(balance.get(), 70);
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: Plain> {
    value: &'a Value<T>,
    _held: DataGuard<'a>,
}

/// A region holding one `T`, initialised to `init`.
pub(crate) fn region_with<T: Plain>(init: T) -> io::Result<SharedRegion> {
    let region = SharedRegion::new(std::mem::size_of::<T>().max(1))?;
    // SAFETY: the region is fresh, page-aligned, at least size_of::<T>() long, and no one else has
    // it yet.
    unsafe { region.as_ptr().cast::<T>().write(init) };
    Ok(region)
}

impl<T: Plain> Value<T> {
    /// A value in shared memory with a lock of its own.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    ///
    /// let v = Value::new(3.5f64)?; // Python: `Value('d', 3.5)`
    /// assert_eq!(v.get(), 3.5);
    /// # Ok(()) }
    /// ```
    pub fn new(value: T) -> io::Result<Value<T>> {
        Self::with_lock(value, Lock::new()?)
    }

    /// A value guarded by `lock` (Python's `lock=` argument), which may also guard other things.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?;
    /// let hits = Value::with_lock(0u32, lock.clone())?; // Python: `Value('I', 0, lock=lock)`
    /// let misses = Value::with_lock(0u32, lock.clone())?; // one lock for both
    /// *hits.lock() += 1;
    /// assert!(misses.get_lock().unwrap().same_lock(&lock));
    /// # Ok(()) }
    /// ```
    pub fn with_lock(value: T, lock: Lock) -> io::Result<Value<T>> {
        Ok(Value { region: region_with(value)?, lock: DataLock::Plain(lock), _t: PhantomData })
    }

    /// A value guarded by a recursive lock (Python's default). Locking the value while the calling
    /// thread already holds `lock` panics: the data would be aliased.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    /// use proc_sync::RLock;
    ///
    /// let v = Value::with_rlock(0i64, RLock::new()?)?;
    /// *v.lock() += 2;
    /// assert_eq!(v.get(), 2);
    /// # Ok(()) }
    /// ```
    pub fn with_rlock(value: T, lock: RLock) -> io::Result<Value<T>> {
        Ok(Value { region: region_with(value)?, lock: DataLock::Recursive(lock), _t: PhantomData })
    }

    /// Locks the value. If a process died holding the lock, the lock is recovered and the value
    /// (possibly half-written, but always a valid `T`) is handed over; use
    /// [`lock_checked`](Self::lock_checked) to be told.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_shm::Value;
    ///
    /// fn deposit(account: Value<i64>) {
    ///     for _ in 0..100 {
    ///         *account.lock() += 1; // atomic across processes
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let account = Value::new(0i64)?;
    /// let mut ps: Vec<_> = (0..2).map(|_| Process::new(deposit, (account.clone(),))).collect();
    /// for p in &mut ps { p.start()?; }
    /// for p in &mut ps { p.join()?; }
    /// assert_eq!(account.get(), 200);
    /// # Ok(()) }
    /// ```
    pub fn lock(&self) -> ValueGuard<'_, T> {
        match self.lock.acquire() {
            Ok(g) => ValueGuard { value: self, _held: g },
            Err(died) => ValueGuard { value: self, _held: died.into_guard() },
        }
    }

    /// Locks the value, saying if the previous holder died while holding the lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    ///
    /// let v = Value::new([0u8; 4])?;
    /// let mut g = match v.lock_checked() {
    ///     Ok(g) => g,
    ///     Err(died) => died.into_guard(), // a holder died: the array may be half-written
    /// };
    /// g[0] = 1;
    /// # Ok(()) }
    /// ```
    pub fn lock_checked(&self) -> Result<ValueGuard<'_, T>, OwnerDied<ValueGuard<'_, T>>> {
        match self.lock.acquire() {
            Ok(g) => Ok(ValueGuard { value: self, _held: g }),
            Err(died) => Err(died.map(|g| ValueGuard { value: self, _held: g })),
        }
    }

    /// The value (one locked read).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    ///
    /// let v = Value::new(7u8)?;
    /// assert_eq!(v.get(), 7); // Python: `v.value`
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> T {
        *self.lock()
    }

    /// Replaces the value (one locked write).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    ///
    /// let v = Value::new(false)?;
    /// v.set(true); // Python: `v.value = True`
    /// assert!(v.get());
    /// # Ok(()) }
    /// ```
    pub fn set(&self, value: T) {
        *self.lock() = value;
    }

    /// The lock, when it is a [`Lock`] (Python's `get_lock()`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    ///
    /// let v = Value::new(0u16)?;
    /// let lock = v.get_lock().expect("a plain Lock by default");
    /// let _held = lock.acquire().unwrap(); // Python: `with v.get_lock():`
    /// assert!(lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn get_lock(&self) -> Option<&Lock> {
        match &self.lock {
            DataLock::Plain(l) => Some(l),
            DataLock::Recursive(_) => None,
        }
    }

    /// The lock, when it is an [`RLock`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    /// use proc_sync::RLock;
    ///
    /// let v = Value::with_rlock(0u8, RLock::new()?)?;
    /// assert!(v.get_rlock().is_some());
    /// assert!(v.get_lock().is_none());
    /// # Ok(()) }
    /// ```
    pub fn get_rlock(&self) -> Option<&RLock> {
        match &self.lock {
            DataLock::Recursive(l) => Some(l),
            DataLock::Plain(_) => None,
        }
    }

    /// The value's address in this process, for lock-free access by the caller's own means.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Value;
    ///
    /// let v = Value::new(5u32)?;
    /// let held = v.get_lock().unwrap().acquire().unwrap();
    /// // SAFETY: the value's lock is held, so no other process writes it now.
    /// let x = unsafe { v.as_ptr().read() };
    /// drop(held);
    /// assert_eq!(x, 5);
    /// # Ok(()) }
    /// ```
    pub fn as_ptr(&self) -> *mut T {
        self.region.as_ptr().cast()
    }
}

impl<T: Plain> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value { region: self.region.clone(), lock: self.lock.clone(), _t: PhantomData }
    }
}

impl<T: Plain> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the region holds a valid T (written at creation, only ever overwritten with Ts), is
        // aligned, and the lock is held, so no other thread or process accesses it meanwhile.
        unsafe { &*self.value.as_ptr() }
    }
}

impl<T: Plain> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; the lock is not recursive for this guard (re-entry panics), so
        // this is the only reference.
        unsafe { &mut *self.value.as_ptr() }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value").field("type", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueGuard").field(&**self).finish()
    }
}

/// One value in shared memory without a lock: Python's `multiprocessing.RawValue`. Access is only
/// through `unsafe` methods, since nothing stops another process from writing at the same time;
/// use a [`Value`] (or an [`AtomicValue`]) unless you synchronise by other means.
///
/// ```
/// use proc_core::Process;
/// use proc_shm::RawValue;
///
/// fn write(v: RawValue<u64>) {
///     // SAFETY: the parent does not touch the value until it has joined this process.
///     unsafe { v.write(42) };
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let v = RawValue::new(0u64)?; // Python: `RawValue('Q', 0)`
/// let mut p = Process::new(write, (v.clone(),));
/// p.start()?;
/// p.join()?;
/// // SAFETY: the only other user has exited.
/// assert_eq!(unsafe { v.read() }, 42);
/// # Ok(()) }
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RawValue<T: Plain> {
    #[serde(deserialize_with = "deserialize_region::<_, T>")]
    region: SharedRegion,
    _t: PhantomData<T>,
}

impl<T: Plain> RawValue<T> {
    /// A value in shared memory, without a lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawValue;
    ///
    /// let v = RawValue::new(1i32)?;
    /// // SAFETY: nothing else has a copy of `v` yet.
    /// assert_eq!(unsafe { v.read() }, 1);
    /// # Ok(()) }
    /// ```
    pub fn new(value: T) -> io::Result<RawValue<T>> {
        Ok(RawValue { region: region_with(value)?, _t: PhantomData })
    }

    /// The value's address in this process.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawValue;
    ///
    /// let v = RawValue::new(0i32)?;
    /// let p = v.as_ptr();
    /// // SAFETY: nothing else has a copy of `v`, so no other access runs at the same time.
    /// unsafe { *p = 9 };
    /// // SAFETY: as above.
    /// assert_eq!(unsafe { v.read() }, 9);
    /// # Ok(()) }
    /// ```
    pub fn as_ptr(&self) -> *mut T {
        self.region.as_ptr().cast()
    }

    /// Reads the value.
    ///
    /// # Safety
    /// No other thread or process may write the value during the read.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawValue;
    ///
    /// let v = RawValue::new(2.5f32)?;
    /// // SAFETY: no other thread or process has the value.
    /// let x = unsafe { v.read() };
    /// assert_eq!(x, 2.5);
    /// # Ok(()) }
    /// ```
    pub unsafe fn read(&self) -> T {
        // SAFETY: valid, aligned T; the caller excludes concurrent writers.
        unsafe { self.as_ptr().read() }
    }

    /// Writes the value.
    ///
    /// # Safety
    /// No other thread or process may read or write the value during the write.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawValue;
    ///
    /// let v = RawValue::new(0u8)?;
    /// // SAFETY: no other thread or process has the value.
    /// unsafe { v.write(3) };
    /// // SAFETY: as above.
    /// assert_eq!(unsafe { v.read() }, 3);
    /// # Ok(()) }
    /// ```
    pub unsafe fn write(&self, value: T) {
        // SAFETY: valid, aligned T; the caller excludes concurrent access.
        unsafe { self.as_ptr().write(value) }
    }
}

impl<T: Plain> Clone for RawValue<T> {
    fn clone(&self) -> Self {
        RawValue { region: self.region.clone(), _t: PhantomData }
    }
}

impl<T: Plain> fmt::Debug for RawValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawValue")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

/// An atomic in shared memory: lock-free `load`, `store`, `fetch_add` … across processes (for
/// `AtomicI64`, `AtomicU32`, `AtomicBool` and the other integer atomics).
///
/// ```
/// use proc_shm::AtomicValue;
/// use std::sync::atomic::{AtomicI64, Ordering};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hits = AtomicValue::new(AtomicI64::new(0))?;
/// hits.fetch_add(5, Ordering::Relaxed);
/// assert_eq!(hits.load(Ordering::Relaxed), 5);
/// # Ok(()) }
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct AtomicValue<A: ShmSafe> {
    inner: Shared<A>,
}

impl<A: ShmSafe> AtomicValue<A> {
    /// An atomic in shared memory, starting at `value`.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_shm::AtomicValue;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// fn count(hits: AtomicValue<AtomicU64>) {
    ///     hits.fetch_add(1, Ordering::Relaxed); // no lock: one atomic instruction
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hits = AtomicValue::new(AtomicU64::new(0))?;
    /// let mut ps: Vec<_> = (0..3).map(|_| Process::new(count, (hits.clone(),))).collect();
    /// for p in &mut ps { p.start()?; }
    /// for p in &mut ps { p.join()?; }
    /// assert_eq!(hits.load(Ordering::Relaxed), 3);
    /// # Ok(()) }
    /// ```
    pub fn new(value: A) -> io::Result<AtomicValue<A>> {
        Ok(AtomicValue { inner: Shared::new(value)? })
    }
}

impl<A: ShmSafe> Deref for AtomicValue<A> {
    type Target = A;
    fn deref(&self) -> &A {
        &self.inner
    }
}

impl<A: ShmSafe> Clone for AtomicValue<A> {
    fn clone(&self) -> Self {
        AtomicValue { inner: self.inner.clone() }
    }
}

impl<A: ShmSafe + fmt::Debug> fmt::Debug for AtomicValue<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AtomicValue").field(&*self.inner).finish()
    }
}
