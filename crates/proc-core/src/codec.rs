//! Encoding values that cross a process boundary: postcard bytes, plus a side table for the OS
//! handles (fds) found inside the value.
//!
//! A type that owns an fd ([`Handle`](crate::Handle), [`SharedRegion`](crate::SharedRegion), and
//! everything built on them: locks, queues, pipe ends) serializes the fd's *index* in the side table;
//! the fds themselves travel beside the bytes (inherited at spawn, or `SCM_RIGHTS` over a Unix
//! socket) and are put back in place when the value is decoded on the other side. This only works
//! inside [`encode`]/[`decode`]; serializing a handle with any other serializer is an error.

use std::cell::RefCell;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value turned into bytes, with the fds it refers to borrowed from it.
///
/// ```
/// use proc_core::codec;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let enc = codec::encode(&("job", 7u32))?;
/// assert!(enc.fds().is_empty()); // nothing in the value owns an fd
/// let back: (String, u32) = codec::decode(enc.bytes(), Vec::new())?;
/// assert_eq!(back, ("job".to_string(), 7));
/// # Ok(()) }
/// ```
pub struct Encoded<'a> {
    bytes: Vec<u8>,
    fds: Vec<BorrowedFd<'a>>,
}

impl<'a> Encoded<'a> {
    /// The encoded bytes.
    ///
    /// ```
    /// # fn main() -> Result<(), proc_core::codec::EncodeError> {
    /// let data = vec![1u8, 2, 3];
    /// let enc = proc_core::codec::encode(&data)?;
    /// assert_eq!(enc.bytes(), [3, 1, 2, 3]); // postcard: the length, then the items
    /// # Ok(()) }
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The fds that must travel beside the bytes, in side-table order.
    ///
    /// ```
    /// use proc_core::{Handle, codec};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let value = (Handle::new(a), Handle::new(b));
    /// let enc = codec::encode(&value)?;
    /// assert_eq!(enc.fds().len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn fds(&self) -> &[BorrowedFd<'a>] {
        &self.fds
    }

    /// Splits into bytes and fds.
    ///
    /// ```
    /// use proc_core::{Handle, codec};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let file = Handle::new(std::fs::File::open("/dev/null")?);
    /// let (bytes, fds) = codec::encode(&file)?.into_parts();
    /// // Duplicate the fds, as a transport would when they cross to another process.
    /// let owned = fds.iter().map(|fd| fd.try_clone_to_owned()).collect::<Result<_, _>>()?;
    /// let copy: Handle<std::fs::File> = codec::decode(&bytes, owned)?;
    /// assert!(copy.metadata()?.len() == 0);
    /// # Ok(()) }
    /// ```
    pub fn into_parts(self) -> (Vec<u8>, Vec<BorrowedFd<'a>>) {
        (self.bytes, self.fds)
    }
}

impl fmt::Debug for Encoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("bytes", &self.bytes.len())
            .field("fds", &self.fds.len())
            .finish()
    }
}

/// A value could not be encoded.
///
/// The format needs to know a sequence's length up front; a value that serializes a sequence of
/// unknown length is refused:
///
/// ```
/// use serde::{Serialize, Serializer};
///
/// struct Evens(Vec<u32>);
///
/// impl Serialize for Evens {
///     fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
///         s.collect_seq(self.0.iter().filter(|n| *n % 2 == 0))
///     }
/// }
///
/// let err = proc_core::codec::encode(&Evens(vec![1, 2, 3, 4])).unwrap_err();
/// println!("{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("could not encode value: {0}")]
pub struct EncodeError(#[from] postcard::Error);

/// Bytes could not be decoded into the expected type.
///
/// ```
/// use proc_core::codec::{self, DecodeError};
///
/// // Truncated bytes: a string that says it is 5 bytes long but has 2.
/// let err = codec::decode::<String>(&[5, b'h', b'i'], Vec::new()).unwrap_err();
/// assert!(matches!(err, DecodeError::Format(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a valid encoding of the type (corrupt, truncated, or another type).
    #[error("could not decode value: {0}")]
    Format(#[from] postcard::Error),
    /// The value refers to an fd that did not arrive with it.
    #[error("the value refers to handle {index} but only {available} arrived with it")]
    MissingHandle {
        /// Side-table index the value asked for.
        index: u32,
        /// How many fds arrived.
        available: usize,
    },
    /// Duplicating a received fd failed.
    #[error("could not take a received handle: {0}")]
    Io(#[from] std::io::Error),
}

thread_local! {
    /// Raw fds registered while [`encode`] runs on this thread.
    static SINK: RefCell<Option<Vec<RawFd>>> = const { RefCell::new(None) };
    /// Fds available while [`decode`] runs on this thread.
    static SOURCE: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
}

/// Encodes `value` with postcard, collecting the fds of any handles inside it.
///
/// ```
/// use proc_core::codec;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let samples = vec![1.5f64, 2.5];
/// let enc = codec::encode(&samples)?;
/// let back: Vec<f64> = codec::decode(enc.bytes(), Vec::new())?;
/// assert_eq!(back, [1.5, 2.5]);
/// # Ok(()) }
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Encoded<'_>, EncodeError> {
    let mut bytes = Vec::new();
    let fds = encode_into(value, &mut bytes)?;
    Ok(Encoded { bytes, fds })
}

/// Appends the encoding of `value` to `buf` and returns the fds it refers to.
///
/// ```
/// use proc_core::codec;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut buf = vec![0xAA]; // e.g. a frame header already written
/// let fds = codec::encode_into("hi", &mut buf)?;
/// assert!(fds.is_empty());
/// assert_eq!(buf, [0xAA, 2, b'h', b'i']);
/// let back: String = codec::decode(&buf[1..], Vec::new())?;
/// assert_eq!(back, "hi");
/// # Ok(()) }
/// ```
pub fn encode_into<'a, T: Serialize + ?Sized>(
    value: &'a T,
    buf: &mut Vec<u8>,
) -> Result<Vec<BorrowedFd<'a>>, EncodeError> {
    let outer = SINK.with(|s| s.borrow_mut().replace(Vec::new()));
    let result = postcard::to_io(value, &mut *buf).map(|_| ());
    let raw = SINK.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer)).unwrap_or_default();
    result?;
    // SAFETY: every fd in the sink was registered by a handle type inside `value` from an fd it owns,
    // and `value` stays borrowed for `'a`, so the fds stay open for `'a`.
    Ok(raw.into_iter().map(|fd| unsafe { crate::sys::borrow_raw(fd) }).collect())
}

/// Decodes a `T` from `bytes`, giving handles inside it the fds in `fds` (by side-table index).
/// Fds no handle asked for are closed.
///
/// ```
/// use proc_core::codec;
/// use std::collections::HashMap;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let scores = HashMap::from([("ann".to_string(), 3u32)]);
/// let enc = codec::encode(&scores)?;
/// let back: HashMap<String, u32> = codec::decode(enc.bytes(), Vec::new())?;
/// assert_eq!(back, scores);
/// # Ok(()) }
/// ```
pub fn decode<T: DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<T, DecodeError> {
    let outer = SOURCE.with(|s| s.borrow_mut().replace(fds));
    let result = postcard::from_bytes(bytes);
    let _unused = SOURCE.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer));
    let err = FAILED_TAKE.with(|f| f.borrow_mut().take());
    if let Some(e) = err {
        return Err(e);
    }
    Ok(result?)
}

thread_local! {
    /// The typed reason a handle could not be taken during the current decode, if any (serde only
    /// carries a message; this keeps the type).
    static FAILED_TAKE: RefCell<Option<DecodeError>> = const { RefCell::new(None) };
}

/// Sets up this thread's encode and decode state now. A fork child starting on this thread then
/// finds it ready: setting it up registers a thread-exit destructor with the C library, which in a
/// fork child would write (and so copy) pages it shares with its parent.
pub(crate) fn prepare_thread() {
    SINK.with(|_| ());
    SOURCE.with(|_| ());
    FAILED_TAKE.with(|_| ());
}

/// Registers `fd` in the side table of the encode running on this thread and returns its index.
/// The same fd registered twice gets the same index.
pub(crate) fn register_fd(fd: BorrowedFd<'_>) -> Result<u32, &'static str> {
    SINK.with(|s| {
        let mut s = s.borrow_mut();
        let table = s.as_mut().ok_or(
            "an OS handle can only be encoded by multiproc (spawn arguments, pipes, queues)",
        )?;
        let raw = fd.as_raw_fd();
        if let Some(i) = table.iter().position(|&f| f == raw) {
            return Ok(i as u32);
        }
        table.push(raw);
        Ok((table.len() - 1) as u32)
    })
}

/// Takes (a duplicate of) the fd at `index` from the decode running on this thread.
pub(crate) fn take_fd(index: u32) -> Result<OwnedFd, &'static str> {
    let r = SOURCE.with(|s| {
        let s = s.borrow();
        let Some(table) = s.as_ref() else {
            return Err(None);
        };
        match table.get(index as usize) {
            None => Err(Some(DecodeError::MissingHandle { index, available: table.len() })),
            Some(fd) => {
                crate::sys::dup(std::os::fd::AsFd::as_fd(fd)).map_err(|e| Some(DecodeError::Io(e)))
            }
        }
    });
    r.map_err(|e| match e {
        None => "an OS handle can only be decoded by multiproc (spawn arguments, pipes, queues)",
        Some(e) => {
            FAILED_TAKE.with(|f| *f.borrow_mut() = Some(e));
            "a handle could not be taken"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Plain {
        a: u32,
        b: String,
        c: Vec<i64>,
    }

    #[test]
    fn plain_values_round_trip_without_fds() {
        let v = Plain { a: 7, b: "x".into(), c: vec![-1, 2] };
        let e = encode(&v).unwrap();
        assert!(e.fds().is_empty());
        let back: Plain = decode(e.bytes(), Vec::new()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn corrupt_bytes_are_a_typed_error() {
        let err = decode::<Plain>(&[0xff, 0xff, 0xff], Vec::new()).unwrap_err();
        assert!(matches!(err, DecodeError::Format(_)), "{err}");
    }

    #[test]
    fn handles_refuse_other_serializers() {
        assert!(register_fd(std::os::fd::AsFd::as_fd(&std::io::stdin())).is_err());
    }
}
