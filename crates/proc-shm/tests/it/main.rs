//! proc-shm integration tests: real processes sharing real memory.

#[cfg(feature = "manager")]
mod manager;
#[cfg(feature = "manager")]
mod manager_direct;
mod shm;
mod values;

use std::time::Duration;

use proc_core::{JoinError, Process};
use serde::de::DeserializeOwned;

/// The longest any test waits for anything.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(60);

/// Joins with the watchdog; a timeout fails the test.
pub(crate) fn join<R: DeserializeOwned>(p: &mut Process<R>) -> Result<R, JoinError> {
    match p.join_timeout(WATCHDOG) {
        Err(JoinError::Timeout) => {
            let _ = p.kill();
            panic!("watchdog: {} did not end within {WATCHDOG:?}", p.name());
        }
        other => other,
    }
}

/// Starts all, joins all, expecting success.
pub(crate) fn run_all<R: DeserializeOwned>(mut ps: Vec<Process<R>>) -> Vec<R> {
    for p in &mut ps {
        p.start().expect("start");
    }
    ps.iter_mut().map(|p| join(p).expect("join")).collect()
}
