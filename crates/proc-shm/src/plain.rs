//! [`Plain`]: the types a [`Value`](crate::Value) or [`Array`](crate::Array) can hold.

/// Plain old data that can live in shared memory and be copied between processes byte for byte:
/// integers, floats, `bool`, arrays of them, and `#[repr(C)]` structs of them.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (or primitive), contain no pointers, references or other
/// process-local values (file descriptors, handles), and be valid both as all zero bytes (a new
/// [`Array`](crate::Array) is zero-filled) and as any value of the type that another process
/// writes through this crate's safe API.
///
/// ```
/// use proc_shm::{Plain, Value};
///
/// #[repr(C)]
/// #[derive(Clone, Copy, Debug, Default, PartialEq)]
/// struct Point { x: f64, y: f64 }
///
/// // SAFETY: repr(C), two f64s, no pointers.
/// unsafe impl Plain for Point {}
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let p = Value::new(Point { x: 1.0, y: 2.0 })?;
/// p.lock().x += 1.0;
/// assert_eq!(p.get(), Point { x: 2.0, y: 2.0 });
/// # Ok(()) }
/// ```
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive without pointers; the crate only writes values of this type.
        unsafe impl Plain for $t {}
    )* };
}
plain!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char);

// SAFETY: an array of plain values is plain, element by element.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}
