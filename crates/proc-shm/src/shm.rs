//! [`SharedMemory`]: a block of shared memory with a name, which other processes (even of other
//! programs) can attach to: Python's `multiprocessing.shared_memory.SharedMemory`.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use memmap2::MmapRaw;
use proc_core::{Pid, ProcessIdentity};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sys;

/// Marks a segment made by this crate; the header behind it names the creator.
const MAGIC: u64 = u64::from_le_bytes(*b"mpshm\x00\x01\x00");
/// Bytes before the data in a segment made by this crate.
const HEADER: usize = 64;
/// Header flag: the creator asked the segment to outlive it.
const KEEP: u64 = 1;

/// Why a named segment could not be created or attached.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use proc_shm::{SharedMemory, ShmError};
///
/// match SharedMemory::attach("no-such-segment-here") {
///     Err(ShmError::NotFound(name)) => println!("{name} does not exist"), // Python's FileNotFoundError
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(SharedMemory::create(0), Err(ShmError::ZeroSize)));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// A segment with that name exists (Python's `FileExistsError`).
    #[error("a shared memory segment named {0:?} already exists")]
    Exists(String),
    /// No segment has that name (Python's `FileNotFoundError`).
    #[error("no shared memory segment is named {0:?}")]
    NotFound(String),
    /// A size of zero was asked for (Python's `ValueError`).
    #[error("'size' must be a positive number different from zero")]
    ZeroSize,
    /// The name is empty, too long, or contains `/` or NUL.
    #[error("{0:?} is not a valid shared memory name")]
    InvalidName(String),
    /// The operating system refused.
    #[error("shared memory: {0}")]
    Io(#[from] io::Error),
}

/// A named block of shared memory.
///
/// The process that [`create`](SharedMemory::create)s a segment owns it: when its handle is dropped
/// the name is unlinked (unless [`keep`](SharedMemory::keep) was called), so segments do not pile up
/// in `/dev/shm` as they do in Python. Processes that [`attach`](SharedMemory::attach) never unlink
/// by dropping; they can [`unlink`](SharedMemory::unlink) explicitly. A creator that is killed
/// cannot unlink; [`SharedMemory::cleanup`] removes what dead creators left (every `create` runs it).
///
/// The bytes are shared with other processes, which may write them at any moment, so safe access
/// copies through atomics ([`read_at`](SharedMemory::read_at), [`write_at`](SharedMemory::write_at));
/// the slices of [`buf`](SharedMemory::buf) and [`buf_mut`](SharedMemory::buf_mut) are `unsafe`,
/// for callers who synchronise by other means (a [`Lock`](proc_sync::Lock)).
///
/// ```
/// use proc_shm::SharedMemory;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let owner = SharedMemory::create(16)?;
/// owner.write_at(0, b"hello")?;
/// let other = SharedMemory::attach(owner.name())?;
/// let mut got = [0u8; 5];
/// other.read_at(0, &mut got)?;
/// assert_eq!(&got, b"hello");
/// # Ok(()) }
/// ```
pub struct SharedMemory {
    name: String,
    map: MmapRaw,
    offset: usize,
    size: usize,
    creator: bool,
    unlinked: bool,
}

fn valid_name(name: &str) -> Result<(), ShmError> {
    if name.is_empty()
        || name.len() > sys::NAME_MAX - 1
        || name.contains(['/', '\0'])
        || name == "."
        || name == ".."
    {
        return Err(ShmError::InvalidName(name.to_owned()));
    }
    Ok(())
}

fn generated_name() -> String {
    let mut b = [0u8; 8];
    b.copy_from_slice(&proc_core::AuthKey::random().as_bytes()[..8]);
    format!("mp_{:016x}", u64::from_le_bytes(b))
}

fn classify(e: io::Error, name: &str) -> ShmError {
    match e.kind() {
        io::ErrorKind::AlreadyExists => ShmError::Exists(name.to_owned()),
        io::ErrorKind::NotFound => ShmError::NotFound(name.to_owned()),
        _ => ShmError::Io(e),
    }
}

impl SharedMemory {
    /// Creates a segment of `size` bytes with a generated name (`mp_…`, see [`name`](Self::name)).
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_shm::SharedMemory;
    ///
    /// fn shout(name: String) {
    ///     let shm = SharedMemory::attach(&name).unwrap();
    ///     shm.write_at(0, b"HELLO").unwrap();
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let shm = SharedMemory::create(64)?; // Python: `SharedMemory(create=True, size=64)`
    /// let mut p = Process::new(shout, (shm.name().to_string(),));
    /// p.start()?;
    /// p.join()?;
    /// let mut got = [0; 5];
    /// shm.read_at(0, &mut got)?;
    /// assert_eq!(&got, b"HELLO");
    /// # Ok(()) }
    /// ```
    pub fn create(size: usize) -> Result<SharedMemory, ShmError> {
        loop {
            match Self::create_named(&generated_name(), size) {
                Err(ShmError::Exists(_)) => continue,
                other => return other,
            }
        }
    }

    /// Creates a segment named `name` of `size` bytes; [`ShmError::Exists`] if the name is taken.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::{SharedMemory, ShmError};
    ///
    /// let name = format!("create-named-example-{}", std::process::id());
    /// let shm = SharedMemory::create_named(&name, 4096)?; // Python: `SharedMemory(name, create=True, size=4096)`
    /// assert_eq!(shm.name(), name);
    /// assert!(matches!(SharedMemory::create_named(&name, 1), Err(ShmError::Exists(_))));
    /// # Ok(()) }
    /// ```
    pub fn create_named(name: &str, size: usize) -> Result<SharedMemory, ShmError> {
        valid_name(name)?;
        if size == 0 {
            return Err(ShmError::ZeroSize);
        }
        // Do not let segments of dead creators accumulate.
        let _ = Self::cleanup();
        let fd = sys::create(name, (HEADER + size) as u64).map_err(|e| classify(e, name))?;
        let map = match memmap2::MmapOptions::new().len(HEADER + size).map_raw(&fd) {
            Ok(m) => m,
            Err(e) => {
                let _ = sys::unlink(name);
                return Err(e.into());
            }
        };
        let shm = SharedMemory {
            name: name.to_owned(),
            map,
            offset: HEADER,
            size,
            creator: true,
            unlinked: false,
        };
        let me = ProcessIdentity::current();
        let h = shm.header();
        h[1].store(me.pid().as_raw() as u64, Ordering::Relaxed);
        h[2].store(me.start_ticks(), Ordering::Relaxed);
        h[3].store(size as u64, Ordering::Relaxed);
        h[0].store(MAGIC, Ordering::Release);
        Ok(shm)
    }

    /// Attaches to the segment named `name`; [`ShmError::NotFound`] if there is none. Works for
    /// segments made by other programs too (their whole size is the data).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let owner = SharedMemory::create(8)?;
    /// let other = SharedMemory::attach(owner.name())?; // Python: `SharedMemory(name)`
    /// other.write_at(0, &[1, 2])?;
    /// let mut got = [0; 2];
    /// owner.read_at(0, &mut got)?;
    /// assert_eq!(got, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn attach(name: &str) -> Result<SharedMemory, ShmError> {
        valid_name(name)?;
        let fd = sys::open(name).map_err(|e| classify(e, name))?;
        let total = usize::try_from(sys::size(&fd)?).map_err(io::Error::other)?;
        if total == 0 {
            return Err(ShmError::ZeroSize);
        }
        let map = memmap2::MmapOptions::new().len(total).map_raw(&fd)?;
        let mut shm = SharedMemory {
            name: name.to_owned(),
            map,
            offset: 0,
            size: total,
            creator: false,
            unlinked: false,
        };
        if total >= HEADER && shm.header()[0].load(Ordering::Acquire) == MAGIC {
            let size = shm.header()[3].load(Ordering::Relaxed) as usize;
            shm.offset = HEADER;
            shm.size = size.min(total - HEADER);
        }
        Ok(shm)
    }

    fn header(&self) -> &[AtomicU64; 8] {
        // SAFETY: only called when the mapping has at least HEADER (64) bytes; it is page-aligned,
        // and the header is only ever accessed as atomics.
        unsafe { &*self.map.as_mut_ptr().cast::<[AtomicU64; 8]>() }
    }

    /// The segment's name.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(1)?;
    /// println!("attach to {} from another program", shm.name());
    /// assert!(shm.name().starts_with("mp_"));
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Usable bytes.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(100)?;
    /// assert!(shm.size() >= 100);
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// The first usable byte, in this process's mapping.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(4)?;
    /// // SAFETY: in bounds, and no other process has the segment yet.
    /// unsafe { shm.as_ptr().write(7) };
    /// let mut got = [0];
    /// shm.read_at(0, &mut got)?;
    /// assert_eq!(got, [7]);
    /// # Ok(()) }
    /// ```
    pub fn as_ptr(&self) -> *mut u8 {
        // SAFETY: `offset` is within the mapping (0 or HEADER, and the mapping is larger).
        unsafe { self.map.as_mut_ptr().add(self.offset) }
    }

    fn bytes(&self) -> &[AtomicU8] {
        // SAFETY: `size` bytes from `as_ptr` are mapped; viewing them as AtomicU8 makes every access
        // atomic, which is sound whatever other processes do.
        unsafe { std::slice::from_raw_parts(self.as_ptr().cast::<AtomicU8>(), self.size) }
    }

    fn range(&self, offset: usize, len: usize) -> Result<std::ops::Range<usize>, ShmError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(offset..end),
            _ => Err(ShmError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bytes {offset}..{} are outside the segment's {} bytes",
                    offset.saturating_add(len),
                    self.size
                ),
            ))),
        }
    }

    /// Copies bytes out, starting at `offset`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(16)?;
    /// shm.write_at(8, b"tail")?;
    /// let mut got = [0u8; 4];
    /// shm.read_at(8, &mut got)?; // Python: `bytes(shm.buf[8:12])`
    /// assert_eq!(&got, b"tail");
    /// assert!(shm.read_at(shm.size(), &mut got).is_err()); // past the end
    /// # Ok(()) }
    /// ```
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), ShmError> {
        let r = self.range(offset, dst.len())?;
        for (d, s) in dst.iter_mut().zip(&self.bytes()[r]) {
            *d = s.load(Ordering::Relaxed);
        }
        std::sync::atomic::fence(Ordering::Acquire);
        Ok(())
    }

    /// Copies bytes in, starting at `offset`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(4)?;
    /// shm.write_at(0, &42u32.to_le_bytes())?; // Python: `shm.buf[:4] = …`
    /// let mut got = [0; 4];
    /// shm.read_at(0, &mut got)?;
    /// assert_eq!(u32::from_le_bytes(got), 42);
    /// # Ok(()) }
    /// ```
    pub fn write_at(&self, offset: usize, src: &[u8]) -> Result<(), ShmError> {
        let r = self.range(offset, src.len())?;
        std::sync::atomic::fence(Ordering::Release);
        for (d, s) in self.bytes()[r].iter().zip(src) {
            d.store(*s, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The bytes, as a slice (Python's `buf`).
    ///
    /// # Safety
    /// No other thread or process may write the segment while the slice is alive.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(3)?;
    /// shm.write_at(0, b"abc")?;
    /// // SAFETY: no other thread or process has the segment.
    /// let bytes = unsafe { shm.buf() };
    /// assert_eq!(&bytes[..3], b"abc");
    /// # Ok(()) }
    /// ```
    pub unsafe fn buf(&self) -> &[u8] {
        // SAFETY: `size` mapped bytes; the caller excludes concurrent writers.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.size) }
    }

    /// The bytes, as a mutable slice.
    ///
    /// # Safety
    /// No other thread or process may access the segment while the slice is alive, and no other
    /// slice of it may be alive in this process.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let shm = SharedMemory::create(3)?;
    /// // SAFETY: no other thread or process has the segment, and no other slice of it is alive.
    /// let bytes = unsafe { shm.buf_mut() };
    /// bytes[..3].copy_from_slice(b"xyz");
    /// let mut got = [0; 3];
    /// shm.read_at(0, &mut got)?;
    /// assert_eq!(&got, b"xyz");
    /// # Ok(()) }
    /// ```
    #[allow(clippy::mut_from_ref)] // shared memory: the exclusion is the caller's promise
    pub unsafe fn buf_mut(&self) -> &mut [u8] {
        // SAFETY: `size` mapped bytes; the caller promises exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.as_ptr(), self.size) }
    }

    /// Keeps the segment after this creator's handle is dropped or the creator dies, for other
    /// programs to attach to later; remove it with [`unlink`](Self::unlink).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let mut shm = SharedMemory::create(8)?;
    /// shm.keep();
    /// let name = shm.name().to_string();
    /// drop(shm);
    /// let mut again = SharedMemory::attach(&name)?; // still there
    /// again.unlink()?; // remove it when done
    /// # Ok(()) }
    /// ```
    pub fn keep(&mut self) {
        self.creator = false;
        if self.offset == HEADER {
            self.header()[4].fetch_or(KEEP, Ordering::Relaxed);
        }
    }

    /// Removes the name (Python's `unlink()`): no new process can attach; those attached keep their
    /// mapping. A second call is [`ShmError::NotFound`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let mut shm = SharedMemory::create(8)?;
    /// shm.unlink()?; // Python: `shm.unlink()`
    /// assert!(SharedMemory::attach(shm.name()).is_err());
    /// assert!(shm.unlink().is_err()); // already gone
    /// # Ok(()) }
    /// ```
    pub fn unlink(&mut self) -> Result<(), ShmError> {
        sys::unlink(&self.name).map_err(|e| classify(e, &self.name))?;
        self.unlinked = true;
        Ok(())
    }

    /// Unmaps the segment in this process (Python's `close()`); the creator's handle also unlinks it,
    /// unless kept.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// let owner = SharedMemory::create(8)?;
    /// let other = SharedMemory::attach(owner.name())?;
    /// other.close(); // Python: `other.close()`: unmapped here, the segment stays
    /// assert!(SharedMemory::attach(owner.name()).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn close(self) {}

    /// Removes segments made by this crate whose creator has died without unlinking them (killed,
    /// say), unless the creator asked to [`keep`](Self::keep) them. Returns the names removed.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_shm::SharedMemory;
    ///
    /// for name in SharedMemory::cleanup()? {
    ///     println!("removed {name}, left by a creator that died");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn cleanup() -> io::Result<Vec<String>> {
        let mut removed = Vec::new();
        for name in sys::list()? {
            // Only the header is read: the segment itself may be large, and is often not ours.
            let Ok(fd) = sys::open(&name) else { continue };
            if sys::size(&fd).map_or(true, |n| n < HEADER as u64) {
                continue;
            }
            let Ok(map) = memmap2::MmapOptions::new().len(HEADER).map_raw(&fd) else { continue };
            // SAFETY: HEADER mapped, page-aligned bytes, only accessed as atomics.
            let h = unsafe { &*map.as_mut_ptr().cast::<[AtomicU64; 8]>() };
            if h[0].load(Ordering::Acquire) != MAGIC {
                continue; // not ours
            }
            if h[4].load(Ordering::Relaxed) & KEEP != 0 {
                continue;
            }
            let creator = ProcessIdentity::from_parts(
                Pid::from_raw(h[1].load(Ordering::Relaxed) as i32),
                h[2].load(Ordering::Relaxed),
            );
            if !creator.is_alive() && sys::unlink(&name).is_ok() {
                removed.push(name);
            }
        }
        Ok(removed)
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        if self.creator && !self.unlinked {
            let _ = sys::unlink(&self.name);
        }
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("creator", &self.creator)
            .finish()
    }
}

/// A segment travels by name, as in Python; the receiver attaches (and never unlinks by dropping).
impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.name.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        SharedMemory::attach(&name).map_err(serde::de::Error::custom)
    }
}
