//! [`Array`] and [`RawArray`]: a fixed-length array in shared memory.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use proc_core::SharedRegion;
use proc_sync::{Lock, OwnerDied, RLock};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::plain::Plain;
use crate::value::{DataGuard, DataLock};

/// An index past the end of an [`Array`] (Python's `IndexError('invalid index')`).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_shm::{Array, IndexError};
///
/// let a = Array::<u8>::new(2)?;
/// assert_eq!(a.get(5), Err(IndexError { index: 5, len: 2 })); // Python's `IndexError`
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("index {index} is out of range for an array of length {len}")]
pub struct IndexError {
    /// The index asked for.
    pub index: usize,
    /// The array's length.
    pub len: usize,
}

/// A region of `len` elements and the length itself, travelling together.
struct Elements<T> {
    region: SharedRegion,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Plain> Elements<T> {
    fn zeroed(len: usize) -> io::Result<Elements<T>> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| io::Error::other("array too large"))?;
        // A fresh region is zero-filled, which every Plain type allows.
        Ok(Elements { region: SharedRegion::new(bytes.max(1))?, len, _t: PhantomData })
    }

    fn ptr(&self) -> *mut T {
        self.region.as_ptr().cast()
    }
}

impl<T> Clone for Elements<T> {
    fn clone(&self) -> Self {
        Elements { region: self.region.clone(), len: self.len, _t: PhantomData }
    }
}

impl<T> Serialize for Elements<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.region, self.len as u64).serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Elements<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (region, len): (SharedRegion, u64) = Deserialize::deserialize(d)?;
        let len = usize::try_from(len).map_err(D::Error::custom)?;
        let needed = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| D::Error::custom("array too large"))?;
        if region.len() < needed {
            return Err(D::Error::custom("shared region is too small for the array"));
        }
        Ok(Elements { region, len, _t: PhantomData })
    }
}

/// A fixed-length array of a [`Plain`] type in shared memory, with a lock: Python's
/// `multiprocessing.Array(typecode, size_or_initializer)`.
///
/// [`lock`](Array::lock) gives a guard that dereferences to the slice `[T]`: index it (out of range
/// panics with the index, as slices do), iterate it, `copy_from_slice` into it. [`get`](Array::get)
/// and [`set`](Array::set) lock around one element and return an [`IndexError`] when out of range.
///
/// ```
/// use proc_shm::Array;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let a = Array::from_slice(&[1i32, 2, 3, 4])?;
/// a.lock().iter_mut().for_each(|x| *x *= 10);
/// assert_eq!(a.to_vec(), vec![10, 20, 30, 40]);
/// assert_eq!(a.get(1)?, 20);
/// assert!(a.get(4).is_err());
/// assert_eq!(Array::<f64>::new(3)?.to_vec(), vec![0.0, 0.0, 0.0]);
/// # Ok(()) }
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Array<T: Plain> {
    elements: Elements<T>,
    lock: DataLock,
}

/// Holds an [`Array`]'s lock; dereferences to its elements.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_shm::Array;
///
/// let a = Array::from_slice(&[3u32, 1, 2])?;
/// {
///     let mut elems = a.lock(); // a `&mut [u32]` for as long as the guard lives
///     elems.sort();
///     elems[0] += 10;
/// }
/// assert_eq!(a.to_vec(), [11, 2, 3]);
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ArrayGuard<'a, T: Plain> {
    array: &'a Array<T>,
    _held: DataGuard<'a>,
}

impl<T: Plain> Array<T> {
    /// `len` zero-filled elements with a lock of their own (Python's `Array(t, n)`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::<i32>::new(4)?; // Python: `Array('i', 4)`
    /// assert_eq!(a.to_vec(), [0, 0, 0, 0]);
    /// # Ok(()) }
    /// ```
    pub fn new(len: usize) -> io::Result<Array<T>> {
        Ok(Array { elements: Elements::zeroed(len)?, lock: DataLock::Plain(Lock::new()?) })
    }

    /// A copy of `values` (Python's `Array(t, [..])`).
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_shm::Array;
    ///
    /// fn double_all(a: Array<f64>) {
    ///     a.lock().iter_mut().for_each(|x| *x *= 2.0);
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let a = Array::from_slice(&[1.0, 2.5])?; // Python: `Array('d', [1.0, 2.5])`
    /// let mut p = Process::new(double_all, (a.clone(),));
    /// p.start()?;
    /// p.join()?;
    /// assert_eq!(a.to_vec(), [2.0, 5.0]);
    /// # Ok(()) }
    /// ```
    pub fn from_slice(values: &[T]) -> io::Result<Array<T>> {
        let a = Self::new(values.len())?;
        a.lock().copy_from_slice(values);
        Ok(a)
    }

    /// `len` zero-filled elements guarded by `lock`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    /// use proc_sync::Lock;
    ///
    /// let lock = Lock::new()?;
    /// let xs = Array::<f32>::with_lock(3, lock.clone())?; // Python: `Array('f', 3, lock=lock)`
    /// let ys = Array::<f32>::with_lock(3, lock)?; // guarded by the same lock
    /// xs.set(0, 1.0)?;
    /// assert_eq!(ys.get(0)?, 0.0);
    /// # Ok(()) }
    /// ```
    pub fn with_lock(len: usize, lock: Lock) -> io::Result<Array<T>> {
        Ok(Array { elements: Elements::zeroed(len)?, lock: DataLock::Plain(lock) })
    }

    /// `len` zero-filled elements guarded by a recursive lock; locking the array while the calling
    /// thread already holds `lock` panics (the elements would be aliased).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    /// use proc_sync::RLock;
    ///
    /// let a = Array::<u8>::with_rlock(2, RLock::new()?)?;
    /// a.set(1, 9)?;
    /// assert_eq!(a.to_vec(), [0, 9]);
    /// # Ok(()) }
    /// ```
    pub fn with_rlock(len: usize, lock: RLock) -> io::Result<Array<T>> {
        Ok(Array { elements: Elements::zeroed(len)?, lock: DataLock::Recursive(lock) })
    }

    /// The number of elements.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// assert_eq!(Array::<u64>::new(10)?.len(), 10); // Python: `len(a)`
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.elements.len
    }

    /// Whether there are no elements.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// assert!(Array::<u8>::new(0)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.elements.len == 0
    }

    /// Locks the array (recovering the lock if its holder died, as [`Value::lock`](crate::Value::lock)).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::from_slice(&[1, 2, 3])?;
    /// let total: i32 = a.lock().iter().sum(); // Python: `with a.get_lock(): sum(a)`
    /// assert_eq!(total, 6);
    /// # Ok(()) }
    /// ```
    pub fn lock(&self) -> ArrayGuard<'_, T> {
        match self.lock.acquire() {
            Ok(g) => ArrayGuard { array: self, _held: g },
            Err(died) => ArrayGuard { array: self, _held: died.into_guard() },
        }
    }

    /// Locks the array, saying if the previous holder died while holding the lock.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::<u32>::new(3)?;
    /// let mut g = a.lock_checked().unwrap_or_else(|died| {
    ///     eprintln!("a writer died: the elements may be half-updated");
    ///     died.into_guard()
    /// });
    /// g.fill(7);
    /// # Ok(()) }
    /// ```
    pub fn lock_checked(&self) -> Result<ArrayGuard<'_, T>, OwnerDied<ArrayGuard<'_, T>>> {
        match self.lock.acquire() {
            Ok(g) => Ok(ArrayGuard { array: self, _held: g }),
            Err(died) => Err(died.map(|g| ArrayGuard { array: self, _held: g })),
        }
    }

    /// Element `index` (one locked read).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::from_slice(&[10u8, 20])?;
    /// assert_eq!(a.get(1)?, 20); // Python: `a[1]`
    /// assert!(a.get(2).is_err());
    /// # Ok(()) }
    /// ```
    pub fn get(&self, index: usize) -> Result<T, IndexError> {
        self.lock().get(index).copied().ok_or(IndexError { index, len: self.len() })
    }

    /// Sets element `index` (one locked write).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::<i64>::new(2)?;
    /// a.set(0, -1)?; // Python: `a[0] = -1`
    /// assert_eq!(a.to_vec(), [-1, 0]);
    /// # Ok(()) }
    /// ```
    pub fn set(&self, index: usize, value: T) -> Result<(), IndexError> {
        let len = self.len();
        let mut g = self.lock();
        let slot = g.get_mut(index).ok_or(IndexError { index, len })?;
        *slot = value;
        Ok(())
    }

    /// A copy of every element.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::from_slice(b"abc")?;
    /// assert_eq!(a.to_vec(), b"abc"); // Python: `a[:]`
    /// # Ok(()) }
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        self.lock().to_vec()
    }

    /// The lock, when it is a [`Lock`] (Python's `get_lock()`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::Array;
    ///
    /// let a = Array::<u8>::new(4)?;
    /// let lock = a.get_lock().expect("a plain Lock by default");
    /// assert!(!lock.locked());
    /// # Ok(()) }
    /// ```
    pub fn get_lock(&self) -> Option<&Lock> {
        match &self.lock {
            DataLock::Plain(l) => Some(l),
            DataLock::Recursive(_) => None,
        }
    }
}

impl<T: Plain> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array { elements: self.elements.clone(), lock: self.lock.clone() }
    }
}

impl<T: Plain> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the region holds `len` valid Ts (zero-filled or written as Ts), is aligned, and the
        // lock is held, so nobody else accesses it meanwhile.
        unsafe { std::slice::from_raw_parts(self.array.elements.ptr(), self.array.elements.len) }
    }
}

impl<T: Plain> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as for `deref`; re-entry of a recursive lock panics, so this is the only reference.
        unsafe {
            std::slice::from_raw_parts_mut(self.array.elements.ptr(), self.array.elements.len)
        }
    }
}

impl<T: Plain> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array")
            .field("type", &std::any::type_name::<T>())
            .field("len", &self.len())
            .finish()
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A fixed-length array in shared memory without a lock: Python's `multiprocessing.RawArray`.
/// Access is through `unsafe` slices, since nothing stops another process from writing at the same
/// time.
///
/// ```
/// use proc_core::Process;
/// use proc_shm::RawArray;
///
/// fn fill(a: RawArray<u16>) {
///     // SAFETY: the parent does not touch the array until it has joined this process.
///     unsafe { a.as_mut_slice() }.fill(7);
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let a = RawArray::new(3)?; // Python: `RawArray('H', 3)`
/// let mut p = Process::new(fill, (a.clone(),));
/// p.start()?;
/// p.join()?;
/// // SAFETY: the only other user has exited.
/// assert_eq!(unsafe { a.as_slice() }, [7, 7, 7]);
/// # Ok(()) }
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RawArray<T: Plain> {
    elements: Elements<T>,
}

impl<T: Plain> RawArray<T> {
    /// `len` zero-filled elements.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// let a = RawArray::<f64>::new(2)?;
    /// // SAFETY: nothing else has a copy of `a`.
    /// assert_eq!(unsafe { a.as_slice() }, [0.0, 0.0]);
    /// # Ok(()) }
    /// ```
    pub fn new(len: usize) -> io::Result<RawArray<T>> {
        Ok(RawArray { elements: Elements::zeroed(len)? })
    }

    /// A copy of `values`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// let a = RawArray::from_slice(&[1u8, 2])?;
    /// // SAFETY: nothing else has a copy of `a`.
    /// assert_eq!(unsafe { a.as_slice() }, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn from_slice(values: &[T]) -> io::Result<RawArray<T>> {
        let a = Self::new(values.len())?;
        // SAFETY: the array is new; no one else can see it yet.
        unsafe { a.as_mut_slice() }.copy_from_slice(values);
        Ok(a)
    }

    /// The number of elements.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// assert_eq!(RawArray::<u8>::new(5)?.len(), 5);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.elements.len
    }

    /// Whether there are no elements.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// assert!(!RawArray::<u8>::new(1)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.elements.len == 0
    }

    /// The first element's address in this process.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// let a = RawArray::<u32>::new(2)?;
    /// // SAFETY: in bounds, and nothing else has a copy of `a`.
    /// unsafe { a.as_mut_ptr().add(1).write(5) };
    /// // SAFETY: as above.
    /// assert_eq!(unsafe { a.as_slice() }, [0, 5]);
    /// # Ok(()) }
    /// ```
    pub fn as_mut_ptr(&self) -> *mut T {
        self.elements.ptr()
    }

    /// The elements, for reading.
    ///
    /// # Safety
    /// No other thread or process may write the elements while the slice is alive.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// let a = RawArray::from_slice(&[4i32, 5])?;
    /// // SAFETY: no other thread or process has the array.
    /// let sum: i32 = unsafe { a.as_slice() }.iter().sum();
    /// assert_eq!(sum, 9);
    /// # Ok(()) }
    /// ```
    pub unsafe fn as_slice(&self) -> &[T] {
        // SAFETY: `len` valid, aligned Ts; the caller excludes concurrent writers.
        unsafe { std::slice::from_raw_parts(self.elements.ptr(), self.elements.len) }
    }

    /// The elements, for writing.
    ///
    /// # Safety
    /// No other thread or process may read or write the elements while the slice is alive, and no
    /// other slice of this array may be alive in this process.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::RawArray;
    ///
    /// let a = RawArray::<u8>::new(3)?;
    /// // SAFETY: no other thread or process has the array, and no other slice of it is alive.
    /// unsafe { a.as_mut_slice() }.copy_from_slice(b"xyz");
    /// // SAFETY: the mutable slice is gone.
    /// assert_eq!(unsafe { a.as_slice() }, b"xyz");
    /// # Ok(()) }
    /// ```
    #[allow(clippy::mut_from_ref)] // shared memory: the exclusion is the caller's promise
    pub unsafe fn as_mut_slice(&self) -> &mut [T] {
        // SAFETY: `len` valid, aligned Ts; the caller promises exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.elements.ptr(), self.elements.len) }
    }
}

impl<T: Plain> Clone for RawArray<T> {
    fn clone(&self) -> Self {
        RawArray { elements: self.elements.clone() }
    }
}

impl<T: Plain> fmt::Debug for RawArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawArray")
            .field("type", &std::any::type_name::<T>())
            .field("len", &self.len())
            .finish()
    }
}
