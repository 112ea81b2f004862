//! Shared state between processes: [`Value`] and [`Array`] with a lock, [`RawValue`] and
//! [`RawArray`] without, [`AtomicValue`] for lock-free counters, and named [`SharedMemory`].
//!
//! ```
//! use proc_core::Process;
//! use proc_shm::{Array, Value};
//!
//! fn fill(a: Array<f64>, total: Value<f64>) {
//!     let mut g = a.lock();
//!     for (i, x) in g.iter_mut().enumerate() {
//!         *x = i as f64 * 0.5;
//!     }
//!     *total.lock() = g.iter().sum();
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let a = Array::<f64>::new(4)?;
//! let total = Value::new(0.0)?;
//! let mut p = Process::new(fill, (a.clone(), total.clone()));
//! p.start()?;
//! p.join()?;
//! assert_eq!(a.to_vec(), vec![0.0, 0.5, 1.0, 1.5]);
//! assert_eq!(total.get(), 3.0);
//! # Ok(()) }
//! ```
//!
//! # Python's typecodes
//! Python's `Value('i', 0)` and `Array('d', …)` name the C type by a letter; here the Rust type says
//! it: `Value::<i32>::new(0)`, `Array::<f64>::from_slice(…)`. Any [`Plain`] type works, including
//! `#[repr(C)]` structs.
//!
//! # Where the memory lives
//! `Value`, `Array` and their raw forms live in anonymous shared memory (a memfd), passed to other
//! processes by fd: the kernel frees it when the last process using it exits, so nothing can leak,
//! even when every user is killed. Only [`SharedMemory`] has a name (in `/dev/shm`); its creator
//! unlinks it when done, and [`SharedMemory::cleanup`] removes what killed creators left.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod array;
#[cfg(feature = "manager")]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub mod manager;
mod plain;
mod shm;
mod sys;
mod value;

pub use array::{Array, ArrayGuard, IndexError, RawArray};
#[cfg(feature = "manager")]
pub use manager::{
    DictProxy, ListProxy, LockProxy, Manager, ManagerBuilder, NamespaceProxy, QueueProxy,
    ValueProxy,
};
pub use plain::Plain;
pub use shm::{SharedMemory, ShmError};
pub use value::{AtomicValue, RawValue, Value, ValueGuard};
