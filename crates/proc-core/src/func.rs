//! [`SharedFn`]: a function that every process of the program can call, such as a barrier's action
//! or an update run inside a manager process.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::target;

/// A `fn` item or non-capturing closure taking `A` and returning `R`, that can be sent to other
/// processes of the same program and called there.
///
/// Code cannot travel between processes, but every process started from this binary has the same
/// code at the same offsets: a `SharedFn` travels as the function's offset in the binary, with a
/// check value tied to the process family's authentication key and to the signature, so a corrupt
/// or forged value is refused instead of called.
///
/// ```
/// use proc_core::SharedFn;
///
/// let double = SharedFn::new(|x: u32| x * 2);
/// assert_eq!(double.call(21), 42);
/// ```
///
/// A closure that captures does not compile:
///
/// ```compile_fail,E0080
/// let n = 3u32;
/// let add = proc_core::SharedFn::new(move |x: u32| x + n);
/// ```
pub struct SharedFn<A, R> {
    f: fn(A) -> R,
    _sig: PhantomData<fn(A) -> R>,
}

impl<A: 'static, R: 'static> SharedFn<A, R> {
    /// Wraps a zero-sized function (a `fn` item or a closure that captures nothing).
    ///
    /// ```
    /// use proc_core::{Process, SharedFn};
    ///
    /// // The child gets the function to apply as an argument.
    /// fn apply(f: SharedFn<u32, u32>, x: u32) -> u32 {
    ///     f.call(x)
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut p = Process::new(apply, (SharedFn::new(|x: u32| x * x), 7));
    /// p.start()?;
    /// assert_eq!(p.join()?, 49);
    /// # Ok(()) }
    /// ```
    pub fn new<F>(f: F) -> SharedFn<A, R>
    where
        F: Fn(A) -> R + Copy + Send + Sync + 'static,
    {
        const { assert!(std::mem::size_of::<F>() == 0, "a shared function must not capture anything") };
        let _ = f;
        SharedFn { f: call_zst::<F, A, R>, _sig: PhantomData }
    }

    /// Calls the function.
    ///
    /// ```
    /// use proc_core::SharedFn;
    ///
    /// fn shout(s: String) -> String {
    ///     s.to_uppercase()
    /// }
    ///
    /// let f = SharedFn::new(shout);
    /// assert_eq!(f.call("hey".to_string()), "HEY");
    /// ```
    pub fn call(&self, args: A) -> R {
        (self.f)(args)
    }

    fn check(offset: isize) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        crate::runtime::authkey().as_bytes().hash(&mut h);
        offset.hash(&mut h);
        crate::entry::layout().hash(&mut h);
        std::any::type_name::<fn(A) -> R>().hash(&mut h);
        h.finish()
    }
}

fn call_zst<F: Fn(A) -> R + Copy + 'static, A, R>(args: A) -> R {
    target::conjure::<F>()(args)
}

impl<A, R> Clone for SharedFn<A, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, R> Copy for SharedFn<A, R> {}

impl<A, R> fmt::Debug for SharedFn<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedFn").field("signature", &std::any::type_name::<fn(A) -> R>()).finish()
    }
}

impl<A: 'static, R: 'static> Serialize for SharedFn<A, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let offset = target::fn_offset(self.f as *const ());
        (offset, Self::check(offset)).serialize(serializer)
    }
}

impl<'de, A: 'static, R: 'static> Deserialize<'de> for SharedFn<A, R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (offset, check): (isize, u64) = Deserialize::deserialize(deserializer)?;
        if check != Self::check(offset) {
            return Err(D::Error::custom(
                "a shared function from another program, another process family, or with another signature",
            ));
        }
        // SAFETY: the check value proves the offset was made by `serialize` in a process of this
        // family (same authkey) running this binary (same layout) for this very signature, and
        // `serialize` only takes offsets of `call_zst` instances of type `fn(A) -> R`.
        let f = unsafe { std::mem::transmute::<*const (), fn(A) -> R>(target::fn_at(offset)) };
        Ok(SharedFn { f, _sig: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_codec() {
        let f = SharedFn::new(|(a, b): (u8, u8)| u16::from(a) + u16::from(b));
        let enc = crate::codec::encode(&f).unwrap();
        let g: SharedFn<(u8, u8), u16> = crate::codec::decode(enc.bytes(), Vec::new()).unwrap();
        assert_eq!(g.call((200, 100)), 300);
    }

    #[test]
    fn a_forged_offset_is_refused() {
        let bytes = postcard::to_stdvec(&(12345isize, 99u64)).unwrap();
        let r = crate::codec::decode::<SharedFn<u8, u8>>(&bytes, Vec::new());
        assert!(r.is_err());
    }

    #[test]
    fn another_signature_is_refused() {
        let f = SharedFn::new(|x: u8| x);
        let enc = crate::codec::encode(&f).unwrap();
        assert!(crate::codec::decode::<SharedFn<u16, u16>>(enc.bytes(), Vec::new()).is_err());
    }
}
