//! [`ListProxy`]: a list held by a manager (Python's `ListProxy`).

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{ObjectRef, decode, encode, proxy_type, unexpected, update_present};
use super::error::{ListError, ProxyError};
use super::wire::{Op, Response, Slot};

/// A list held by a [`Manager`](super::Manager), of any serde type `T` (Python's
/// `manager.list()`). Every method is one round trip to the manager, atomic there.
///
/// As with [`DictProxy`](super::DictProxy), what [`get`](ListProxy::get) returns is a copy; change
/// an element in place with [`update_with`](ListProxy::update_with).
///
/// ```
/// use proc_shm::manager::{ListError, Manager};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::start()?;
/// let l = manager.list::<i32>()?;
/// l.extend(0..5)?;
/// l.push(10)?;
/// assert_eq!(l.to_vec()?, [0, 1, 2, 3, 4, 10]);
/// assert!(matches!(l.get(6), Err(ListError::OutOfRange { index: 6, len: 6 })));
/// # Ok(()) }
/// ```
pub struct ListProxy<T> {
    object: ObjectRef,
    _types: PhantomData<fn(T) -> T>,
}

fn index_result(r: Response) -> Result<Response, ListError> {
    match r {
        Response::OutOfRange { index, len } => {
            Err(ListError::OutOfRange { index: index as usize, len: len as usize })
        }
        other => Ok(other),
    }
}

impl<T> ListProxy<T>
where
    T: Serialize + DeserializeOwned,
{
    /// Appends `item` (Python's `l.append(item)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<String>()?;
    /// l.push("a".into())?;
    /// assert_eq!(l.len()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn push(&self, item: T) -> Result<(), ProxyError> {
        match self.object.op(Op::Push(encode(&item)?))? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Removes and returns the last element, or `None` when the list is empty (Python's
    /// `l.pop()`, which raises `IndexError` there).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// l.push(1)?;
    /// assert_eq!(l.pop()?, Some(1));
    /// assert_eq!(l.pop()?, None);
    /// # Ok(()) }
    /// ```
    pub fn pop(&self) -> Result<Option<T>, ProxyError> {
        match self.object.op(Op::Pop)? {
            Response::Maybe(v) => v.map(|b| decode(&b)).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// A copy of the element at `index` (Python's `l[index]`); [`ListError::OutOfRange`] past the
    /// end.
    ///
    /// ```
    /// # use proc_shm::manager::{ListError, Manager};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// l.extend([5, 6])?;
    /// assert_eq!(l.get(1)?, 6);
    /// assert!(matches!(l.get(2), Err(ListError::OutOfRange { index: 2, len: 2 })));
    /// # Ok(()) }
    /// ```
    pub fn get(&self, index: usize) -> Result<T, ListError> {
        match index_result(self.object.op(Op::Index(index as u64))?)? {
            Response::Bytes(b) => Ok(decode(&b)?),
            other => Err(unexpected(other).into()),
        }
    }

    /// Replaces the element at `index` (Python's `l[index] = item`); [`ListError::OutOfRange`]
    /// past the end.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// l.extend([5, 6])?;
    /// l.set(0, 9)?;
    /// assert_eq!(l.to_vec()?, [9, 6]);
    /// assert!(l.set(5, 0).is_err());
    /// # Ok(()) }
    /// ```
    pub fn set(&self, index: usize, item: T) -> Result<(), ListError> {
        match index_result(self.object.op(Op::SetIndex(index as u64, encode(&item)?))?)? {
            Response::Done => Ok(()),
            other => Err(unexpected(other).into()),
        }
    }

    /// The number of elements (Python's `len(l)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// assert_eq!(l.len()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> Result<usize, ProxyError> {
        self.object.remote_len()
    }

    /// Whether the list is empty.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// assert!(l.is_empty()?);
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> Result<bool, ProxyError> {
        Ok(self.len()? == 0)
    }

    /// Appends every item, in one round trip and atomically (Python's `l.extend(items)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u32>()?;
    /// l.extend((0..3).map(|i| i * 10))?;
    /// assert_eq!(l.to_vec()?, [0, 10, 20]);
    /// # Ok(()) }
    /// ```
    pub fn extend(&self, items: impl IntoIterator<Item = T>) -> Result<(), ProxyError> {
        let items = items.into_iter().map(|i| encode(&i)).collect::<Result<Vec<_>, _>>()?;
        match self.object.op(Op::Extend(items))? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Every element: a snapshot (Python's `list(l)`).
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<char>()?;
    /// l.extend("abc".chars())?;
    /// assert_eq!(l.to_vec()?, ['a', 'b', 'c']);
    /// # Ok(()) }
    /// ```
    pub fn to_vec(&self) -> Result<Vec<T>, ProxyError> {
        match self.object.op(Op::Values)? {
            Response::Many(items) => items.iter().map(|b| decode(b)).collect(),
            other => Err(unexpected(other)),
        }
    }

    /// Removes every element.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u8>()?;
    /// l.push(1)?;
    /// l.clear()?;
    /// assert!(l.is_empty()?);
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) -> Result<(), ProxyError> {
        match self.object.op(Op::Clear)? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces the element at `index` with `f(element)` inside the manager process, atomically,
    /// and returns the new element. As [`DictProxy::update_with`](super::DictProxy::update_with):
    /// `f` captures nothing and is code of this program.
    ///
    /// ```
    /// # use proc_shm::manager::Manager;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = Manager::start()?;
    /// let l = manager.list::<u32>()?;
    /// l.extend([1, 2])?;
    /// assert_eq!(l.update_with(1, |x: u32| x * 10)?, 20);
    /// assert!(l.update_with(2, |x: u32| x).is_err());
    /// # Ok(()) }
    /// ```
    pub fn update_with<F>(&self, index: usize, f: F) -> Result<T, ListError>
    where
        T: 'static,
        F: Fn(T) -> T + Copy + Send + Sync + 'static,
    {
        let op = update_present(Slot::Index(index as u64), f)?;
        match index_result(self.object.op(op)?)? {
            Response::Bytes(b) => Ok(decode(&b)?),
            other => Err(unexpected(other).into()),
        }
    }
}

proxy_type!(ListProxy<T>, List);
