//! Watchdog-bounded waits shared by the tests.

use std::time::Duration;

use proc_core::{JoinError, Process};
use serde::de::DeserializeOwned;

/// The longest any test waits for a child: far beyond what a loaded machine needs, short enough that
/// a hang fails the run instead of stalling it.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(60);

/// Joins with the watchdog; a timeout is a test failure, any other error is returned.
pub(crate) fn join<R: DeserializeOwned>(p: &mut Process<R>) -> Result<R, JoinError> {
    match p.join_timeout(WATCHDOG) {
        Err(JoinError::Timeout) => {
            let _ = p.kill();
            panic!("watchdog: process {} did not end within {WATCHDOG:?}", p.name());
        }
        other => other,
    }
}

/// Starts and joins, expecting success.
pub(crate) fn run<R: DeserializeOwned>(mut p: Process<R>) -> R {
    p.start().expect("start");
    join(&mut p).expect("join")
}

/// A target that blocks until killed (bounded by the watchdog so a broken test cannot leak it).
pub(crate) fn sleeper() {
    std::thread::sleep(WATCHDOG);
}
