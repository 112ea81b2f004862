//! [`Event`]: a flag that processes wait for.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proc_core::{Shared, ShmSafe};
use serde::{Deserialize, Serialize};

use crate::raw;
use crate::sys;

const SPINS: u32 = 200;

#[repr(C)]
#[derive(Default)]
struct EventState {
    /// 0 or 1; also the futex word.
    flag: AtomicU32,
    sleepers: AtomicU32,
}

// SAFETY: repr(C), atomics only, valid for every bit pattern, mutated only atomically.
unsafe impl ShmSafe for EventState {}

/// A flag that can be set, cleared and waited for, across processes: Python's
/// `multiprocessing.Event`.
///
/// ```
/// use proc_core::Process;
/// use proc_sync::Event;
///
/// fn green_light(light: Event) {
///     light.set();
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let light = Event::new()?;
/// let mut p = Process::new(green_light, (light.clone(),));
/// p.start()?;
/// assert!(light.wait_timeout(std::time::Duration::from_secs(60)));
/// p.join()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Event {
    state: Shared<EventState>,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Event;
    ///
    /// let done = Event::new()?; // Python: `Event()`
    /// assert!(!done.is_set());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Event> {
        Ok(Event { state: Shared::new(EventState::default())? })
    }

    /// Sets the flag and wakes everyone waiting for it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Event;
    ///
    /// let done = Event::new()?;
    /// done.set();
    /// assert!(done.is_set());
    /// # Ok(()) }
    /// ```
    pub fn set(&self) {
        self.state.flag.store(1, Ordering::SeqCst);
        if self.state.sleepers.load(Ordering::SeqCst) > 0 {
            sys::wake(&self.state.flag, u32::MAX);
        }
    }

    /// Clears the flag.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Event;
    ///
    /// let done = Event::new()?;
    /// done.set();
    /// done.clear();
    /// assert!(!done.is_set());
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) {
        self.state.flag.store(0, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Event;
    ///
    /// let done = Event::new()?;
    /// assert!(!done.is_set());
    /// done.set();
    /// assert!(done.is_set());
    /// # Ok(()) }
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.flag.load(Ordering::Acquire) == 1
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        if self.is_set() {
            return true;
        }
        for _ in 0..SPINS {
            std::hint::spin_loop();
            if self.is_set() {
                return true;
            }
        }
        self.state.sleepers.fetch_add(1, Ordering::SeqCst);
        let set = raw::wait_until(&self.state.flag, deadline, || {
            if self.state.flag.load(Ordering::SeqCst) == 1 { None } else { Some(0) }
        });
        self.state.sleepers.fetch_sub(1, Ordering::SeqCst);
        set
    }

    /// Waits until the flag is set.
    ///
    /// ```
    /// use proc_core::Process;
    /// use proc_sync::Event;
    ///
    /// fn wait_for_go(go: Event) -> bool {
    ///     go.wait(); // Python: `go.wait()`
    ///     go.is_set()
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let go = Event::new()?;
    /// let mut p = Process::new(wait_for_go, (go.clone(),));
    /// p.start()?;
    /// go.set();
    /// assert!(p.join()?);
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) {
        while !self.wait_deadline(None) {}
    }

    /// Waits until the flag is set, at most `timeout`; returns the flag (Python's `wait(timeout)`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_sync::Event;
    /// use std::time::Duration;
    ///
    /// let done = Event::new()?;
    /// assert!(!done.wait_timeout(Duration::from_millis(10))); // Python's `wait(0.01)` is `False`
    /// done.set();
    /// assert!(done.wait_timeout(Duration::from_secs(5)));
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(Some(raw::deadline(timeout)))
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}
