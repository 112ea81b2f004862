//! Shared regions: anonymous shared memory that travels to other processes as a handle.
//!
//! A [`SharedRegion`] is a memfd mapped shared and writable. Sending it to a child (inside spawn
//! arguments, or through a pipe) sends the fd; the child maps the same pages. The kernel frees the
//! memory when the last process holding the fd or a mapping is gone, so nothing is left in
//! `/dev/shm` even when every process using it is SIGKILLed.
//!
//! [`Shared<T>`] places one value of a [`ShmSafe`] type in a region of its own; the sync primitives,
//! shared values and queues are built on it.
//!
//! # Layout rule
//! Anything placed in shared memory is `#[repr(C)]`, holds no pointers (each process maps the region
//! at a different address), and is valid for every bit pattern, since another process can write any
//! bytes there. [`ShmSafe`] is the promise of all three.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

use memmap2::MmapRaw;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::handle::{deserialize_fd, serialize_fd};
use crate::sys;

/// A block of anonymous shared memory, zero-filled when created, that can be sent to other
/// processes. Clones refer to the same memory.
///
/// ```
/// use proc_core::{Process, SharedRegion};
///
/// fn fill(region: SharedRegion) {
///     // SAFETY: the parent does not touch the region until this process has exited.
///     unsafe { std::ptr::write_bytes(region.as_ptr(), b'x', region.len()) };
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let region = SharedRegion::new(64)?;
/// let mut p = Process::new(fill, (region.clone(),));
/// p.start()?;
/// p.join()?;
/// // SAFETY: the writer has exited; nothing else writes the region.
/// let bytes = unsafe { std::slice::from_raw_parts(region.as_ptr(), region.len()) };
/// assert!(bytes.iter().all(|&b| b == b'x'));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SharedRegion {
    inner: Arc<RegionInner>,
}

pub(crate) struct RegionInner {
    map: MmapRaw,
    fd: OwnedFd,
    key: (u64, u64),
    sparse: bool,
}

type MappedTable = HashMap<(u64, u64), Weak<RegionInner>>;

/// Regions mapped in this process, by memfd identity: a region received again maps to the same
/// pages instead of a new mapping each time. A std mutex, so a fork can hold it (see `runtime`).
static MAPPED: LazyLock<Mutex<MappedTable>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn mapped() -> MutexGuard<'static, MappedTable> {
    MAPPED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held across a fork so the child's copy of the table is consistent.
pub(crate) fn lock_for_fork() -> MutexGuard<'static, MappedTable> {
    mapped()
}

impl SharedRegion {
    /// Creates a zero-filled region of `len` bytes.
    ///
    /// ```
    /// use proc_core::SharedRegion;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let region = SharedRegion::new(100)?;
    /// assert_eq!(region.len(), 100);
    /// // SAFETY: only this thread uses the region.
    /// assert_eq!(unsafe { *region.as_ptr().add(99) }, 0);
    /// assert!(SharedRegion::new(0).is_err());
    /// # Ok(()) }
    /// ```
    pub fn new(len: usize) -> io::Result<SharedRegion> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a shared region needs at least one byte",
            ));
        }
        let fd = sys::memfd(len)?;
        Self::map(fd, len, false)
    }

    /// Creates a *sparse* region of `len` bytes: address space only, with no memory behind it until
    /// a page is first written (or [`allocate`](Self::allocate)d), and memory that can be given back
    /// with [`release`](Self::release). For large regions used a part at a time, such as a queue's
    /// backlog; `len` may be far more than the machine's memory.
    ///
    /// Writing a page the system cannot provide memory for kills the writer with `SIGBUS`;
    /// [`allocate`](Self::allocate) a range first to get an error instead.
    ///
    /// ```
    /// use proc_core::SharedRegion;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// // A terabyte of address space; only the pages written cost memory.
    /// let region = SharedRegion::sparse(1 << 40)?;
    /// region.allocate(0, 4096)?;
    /// // SAFETY: the first page is allocated and only this thread uses the region.
    /// unsafe { region.as_ptr().write(7) };
    /// # Ok(()) }
    /// ```
    pub fn sparse(len: usize) -> io::Result<SharedRegion> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a shared region needs at least one byte",
            ));
        }
        let fd = sys::memfd(len)?;
        Self::map(fd, len, true)
    }

    /// Allocates memory for `len` bytes at `offset` (rounded out to whole pages), so writing there
    /// cannot fail. An error (`ENOMEM`, `ENOSPC`) means the system has no memory to give.
    ///
    /// ```
    /// use proc_core::SharedRegion;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let region = SharedRegion::sparse(1 << 30)?;
    /// region.allocate(0, 1 << 20)?; // the first megabyte is now backed by memory
    /// assert!(region.allocate(1 << 30, 1).is_err()); // outside the region
    /// # Ok(()) }
    /// ```
    pub fn allocate(&self, offset: usize, len: usize) -> io::Result<()> {
        self.check_range(offset, len)?;
        sys::allocate(&self.inner.fd, offset as u64, len as u64)
    }

    /// Gives the memory of the whole pages inside `len` bytes at `offset` back to the system, in
    /// every process that maps the region; they read as zero afterwards.
    ///
    /// ```
    /// use proc_core::SharedRegion;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let region = SharedRegion::sparse(2 * 4096)?;
    /// // SAFETY: only this thread uses the region, and the write is inside it.
    /// unsafe { region.as_ptr().write(42) };
    /// region.release(0, 4096)?;
    /// // SAFETY: as above.
    /// assert_eq!(unsafe { region.as_ptr().read() }, 0);
    /// # Ok(()) }
    /// ```
    pub fn release(&self, offset: usize, len: usize) -> io::Result<()> {
        self.check_range(offset, len)?;
        sys::release(&self.inner.fd, offset as u64, len as u64)
    }

    /// Maps the pages of `len` bytes at `offset` into this process now, in one system call,
    /// instead of one page fault per page on first touch; with `write`, also allocates their memory
    /// (an error, not a SIGBUS, if there is none). `offset` and `len` are rounded out to pages.
    ///
    /// ```
    /// use proc_core::SharedRegion;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let region = SharedRegion::sparse(1 << 20)?;
    /// // About to fill the first 64 KiB: map and allocate them in one go.
    /// region.prefault(0, 64 << 10, true)?;
    /// // SAFETY: the range is inside the region and allocated; only this thread uses it.
    /// unsafe { std::ptr::write_bytes(region.as_ptr(), 1, 64 << 10) };
    /// # Ok(()) }
    /// ```
    pub fn prefault(&self, offset: usize, len: usize, write: bool) -> io::Result<()> {
        self.check_range(offset, len)?;
        let page = 4096;
        let start = offset / page * page;
        let end = (offset + len).div_ceil(page) * page;
        let end = end.min(self.len().div_ceil(page) * page);
        // SAFETY: `start` is inside the mapping (offset <= len was checked).
        let addr = unsafe { self.as_ptr().add(start) };
        sys::prefault(addr, end - start, write)
    }

    fn check_range(&self, offset: usize, len: usize) -> io::Result<()> {
        if offset.checked_add(len).is_none_or(|end| end > self.len()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "range outside the region"));
        }
        Ok(())
    }

    fn map(fd: OwnedFd, len: usize, sparse: bool) -> io::Result<SharedRegion> {
        let key = sys::fd_identity(fd.as_fd())?;
        // Upgrade under the lock, but drop any Arc outside it: the last drop takes the lock again.
        let existing = mapped().get(&key).and_then(Weak::upgrade);
        if let Some(inner) = existing
            && inner.map.len() >= len
        {
            return Ok(SharedRegion { inner });
        }
        let map = if sparse { sys::map_sparse(&fd, len)? } else { sys::map_shared(&fd, len)? };
        let inner = Arc::new(RegionInner { map, fd, key, sparse });
        let mut mapped = mapped();
        mapped.retain(|_, w| w.strong_count() > 0);
        mapped.insert(key, Arc::downgrade(&inner));
        drop(mapped);
        Ok(SharedRegion { inner })
    }

    /// Length in bytes.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(proc_core::SharedRegion::new(10)?.len(), 10);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// Always `false`: a region has at least one byte.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert!(!proc_core::SharedRegion::new(1)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first byte of the mapping. Other processes map the same memory at other addresses, so
    /// never store this pointer in the region itself.
    ///
    /// ```
    /// use proc_core::SharedRegion;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let region = SharedRegion::new(4)?;
    /// // SAFETY: the mapping is page-aligned and 4 bytes long, and every bit pattern is a valid
    /// // `AtomicU32`, whatever another process writes.
    /// let counter = unsafe { &*region.as_ptr().cast::<AtomicU32>() };
    /// counter.fetch_add(1, Ordering::SeqCst);
    /// assert_eq!(counter.load(Ordering::SeqCst), 1);
    /// # Ok(()) }
    /// ```
    pub fn as_ptr(&self) -> *mut u8 {
        self.inner.map.as_mut_ptr()
    }

    /// Whether `self` and `other` are the same memory (also when received separately).
    ///
    /// ```
    /// use proc_core::{SharedRegion, codec};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let a = SharedRegion::new(8)?;
    /// let b = SharedRegion::new(8)?;
    /// assert!(a.same_region(&a.clone()));
    /// assert!(!a.same_region(&b));
    /// // A copy that went through the codec, as it does to another process, is still the same.
    /// let (bytes, fds) = codec::encode(&a)?.into_parts();
    /// let fds = fds.iter().map(|fd| fd.try_clone_to_owned()).collect::<Result<_, _>>()?;
    /// let received: SharedRegion = codec::decode(&bytes, fds)?;
    /// assert!(received.same_region(&a));
    /// # Ok(()) }
    /// ```
    pub fn same_region(&self, other: &SharedRegion) -> bool {
        self.inner.key == other.inner.key
    }
}

impl Drop for RegionInner {
    fn drop(&mut self) {
        let mut mapped = mapped();
        if mapped.get(&self.key).is_some_and(|w| w.strong_count() == 0) {
            mapped.remove(&self.key);
        }
    }
}

impl AsFd for SharedRegion {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }
}

impl fmt::Debug for SharedRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedRegion").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl Serialize for SharedRegion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        struct Fd<'a>(BorrowedFd<'a>);
        impl Serialize for Fd<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_fd(self.0, s)
            }
        }
        let mut t = serializer.serialize_tuple(3)?;
        t.serialize_element(&Fd(self.as_fd()))?;
        t.serialize_element(&(self.len() as u64))?;
        t.serialize_element(&self.inner.sparse)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for SharedRegion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fd(OwnedFd);
        impl<'de> Deserialize<'de> for Fd {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_fd(d).map(Fd)
            }
        }
        let (Fd(fd), len, sparse): (Fd, u64, bool) = Deserialize::deserialize(deserializer)?;
        let len = usize::try_from(len).map_err(D::Error::custom)?;
        // A region whose length claims more than the object holds would fault on access.
        let actual = sys::fd_len(&fd).map_err(D::Error::custom)?;
        if len == 0 || len as u64 > actual {
            return Err(D::Error::custom("shared region length does not match its memory"));
        }
        SharedRegion::map(fd, len, sparse).map_err(D::Error::custom)
    }
}

/// Types that may live in shared memory and be used from several processes at once.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (at every level), contain no pointers or references, be valid
/// for every bit pattern (another process may write anything), and do all their mutation through
/// atomics or under a cross-process lock.
///
/// ```
/// use proc_core::{Process, Shared, ShmSafe};
/// use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
///
/// #[repr(C)]
/// struct Stats {
///     requests: AtomicU64,
///     errors: AtomicU32,
/// }
///
/// // SAFETY: `repr(C)`, only atomics of plain integers: no pointers, every bit pattern valid, all
/// // mutation atomic.
/// unsafe impl ShmSafe for Stats {}
///
/// fn serve(stats: Shared<Stats>) {
///     stats.requests.fetch_add(10, Ordering::Relaxed);
///     stats.errors.fetch_add(1, Ordering::Relaxed);
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let stats = Shared::new(Stats { requests: AtomicU64::new(0), errors: AtomicU32::new(0) })?;
/// let mut p = Process::new(serve, (stats.clone(),));
/// p.start()?;
/// p.join()?;
/// assert_eq!(stats.requests.load(Ordering::Relaxed), 10);
/// assert_eq!(stats.errors.load(Ordering::Relaxed), 1);
/// # Ok(()) }
/// ```
pub unsafe trait ShmSafe: Sync + Send + Sized + 'static {}

macro_rules! shm_safe_atomics {
    ($($t:ty),*) => { $(
        // SAFETY: atomics of plain integers are repr(C)-compatible, pointer-free, valid for every bit
        // pattern, and all their mutation is atomic.
        unsafe impl ShmSafe for $t {}
    )* };
}
shm_safe_atomics!(
    std::sync::atomic::AtomicU8,
    std::sync::atomic::AtomicU16,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicI8,
    std::sync::atomic::AtomicI16,
    std::sync::atomic::AtomicI32,
    std::sync::atomic::AtomicI64,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicIsize,
    std::sync::atomic::AtomicBool
);

// SAFETY: an array of ShmSafe values is ShmSafe: same layout rule element by element.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}

/// One value of type `T` in a shared region of its own. Clones, and copies received by other
/// processes, refer to the same value.
///
/// ```
/// use proc_core::{Process, Shared};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// fn count(hits: Shared<AtomicU64>, n: u64) {
///     for _ in 0..n {
///         hits.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hits = Shared::new(AtomicU64::new(0))?;
/// let mut workers: Vec<_> = (0..2).map(|_| Process::new(count, (hits.clone(), 1000))).collect();
/// for w in &mut workers {
///     w.start()?;
/// }
/// for w in &mut workers {
///     w.join()?;
/// }
/// assert_eq!(hits.load(Ordering::SeqCst), 2000);
/// # Ok(()) }
/// ```
pub struct Shared<T: ShmSafe> {
    region: SharedRegion,
    _t: PhantomData<T>,
}

impl<T: ShmSafe> Shared<T> {
    /// Places `value` in a new shared region.
    ///
    /// ```
    /// use proc_core::Shared;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let stop = Shared::new(AtomicBool::new(false))?;
    /// stop.store(true, Ordering::SeqCst);
    /// assert!(stop.clone().load(Ordering::SeqCst));
    /// # Ok(()) }
    /// ```
    pub fn new(value: T) -> io::Result<Shared<T>> {
        let region = SharedRegion::new(std::mem::size_of::<T>().max(1))?;
        // SAFETY: the region is fresh, page-aligned (so aligned for T), at least size_of::<T>() long,
        // and no other process or thread has it yet.
        unsafe { region.as_ptr().cast::<T>().write(value) };
        Ok(Shared { region, _t: PhantomData })
    }

    /// The region the value lives in.
    ///
    /// ```
    /// use proc_core::Shared;
    /// use std::sync::atomic::AtomicU32;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let a = Shared::new(AtomicU32::new(0))?;
    /// let b = a.clone();
    /// assert!(a.region().same_region(b.region()));
    /// assert!(a.region().len() >= 4);
    /// # Ok(()) }
    /// ```
    pub fn region(&self) -> &SharedRegion {
        &self.region
    }
}

impl<T: ShmSafe> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the region is page-aligned and at least size_of::<T>() long (checked when it was
        // created or received); T is valid for every bit pattern and Sync, so a shared reference is
        // sound whatever other processes write.
        unsafe { &*self.region.as_ptr().cast::<T>() }
    }
}

impl<T: ShmSafe> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared { region: self.region.clone(), _t: PhantomData }
    }
}

impl<T: ShmSafe> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("type", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}

impl<T: ShmSafe> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.region.serialize(serializer)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let region = SharedRegion::deserialize(deserializer)?;
        if region.len() < std::mem::size_of::<T>() {
            return Err(D::Error::custom("shared region is too small for its type"));
        }
        Ok(Shared { region, _t: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn clones_share_memory() {
        let a = Shared::new(AtomicU64::new(5)).unwrap();
        let b = a.clone();
        b.fetch_add(2, Ordering::SeqCst);
        assert_eq!(a.load(Ordering::SeqCst), 7);
    }

    #[test]
    fn zero_length_is_refused() {
        assert_eq!(SharedRegion::new(0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_received_region_maps_the_same_pages() {
        let a = Shared::new(AtomicU64::new(1)).unwrap();
        let enc = crate::codec::encode(&a).unwrap();
        let fds = enc.fds().iter().map(|f| f.try_clone_to_owned().unwrap()).collect();
        let b: Shared<AtomicU64> = crate::codec::decode(enc.bytes(), fds).unwrap();
        assert!(a.region().same_region(b.region()));
        b.store(9, Ordering::SeqCst);
        assert_eq!(a.load(Ordering::SeqCst), 9);
    }
}
