//! Lock and RLock: mutual exclusion across processes and threads, Python's release rules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proc_core::{Process, Shared};
use proc_sync::{Lock, RLock, ReleaseError, TryAcquireError};

use crate::support::{WATCHDOG, run_all};

/// Increments a shared counter non-atomically (load, then store) under the lock: lost updates would
/// show if the lock did not exclude.
fn add(lock: Lock, counter: Shared<AtomicU64>, n: u64) {
    for _ in 0..n {
        let _g = lock.acquire().unwrap();
        let v = counter.load(Ordering::Relaxed);
        std::hint::black_box(v);
        counter.store(v + 1, Ordering::Relaxed);
    }
}

#[test]
fn a_lock_excludes_across_processes_and_threads() {
    let lock = Lock::new().unwrap();
    let counter = Shared::new(AtomicU64::new(0)).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (l, c) = (lock.clone(), counter.clone());
            std::thread::spawn(move || add(l, c, 20_000))
        })
        .collect();
    run_all((0..3).map(|_| Process::new(add, (lock.clone(), counter.clone(), 20_000))).collect());
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), 100_000);
    assert!(!lock.locked());
}

#[test]
fn releasing_an_unlocked_lock_is_an_error() {
    let lock = Lock::new().unwrap();
    assert_eq!(lock.release(), Err(ReleaseError::TooManyReleases));
    assert_eq!(
        lock.release().unwrap_err().to_string(),
        "semaphore or lock released too many times"
    );
}

fn release_it(lock: Lock) -> bool {
    lock.release().is_ok()
}

#[test]
fn any_process_may_release_a_lock() {
    let lock = Lock::new().unwrap();
    lock.acquire().unwrap().leak();
    assert!(lock.locked());
    assert_eq!(run_all(vec![Process::new(release_it, (lock.clone(),))]), vec![true]);
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_ok());
}

#[test]
fn try_and_timed_acquire_of_a_held_lock() {
    let lock = Lock::new().unwrap();
    let _g = lock.acquire().unwrap();
    assert!(matches!(lock.try_acquire(), Err(TryAcquireError::WouldBlock)));
    let l2 = lock.clone();
    let r = std::thread::spawn(move || {
        l2.acquire_timeout(Duration::from_millis(50)).map(|_| ()).unwrap_err().is_timeout()
    })
    .join()
    .unwrap();
    assert!(r);
}

#[test]
fn rlock_is_recursive_for_its_owner_only() {
    let lock = RLock::new().unwrap();
    let a = lock.acquire().unwrap();
    let b = lock.acquire().unwrap();
    assert!(lock.is_owned());
    let other = lock.clone();
    let (blocked, release_err) =
        std::thread::spawn(move || (other.try_acquire().is_err(), other.release().unwrap_err()))
            .join()
            .unwrap();
    assert!(blocked, "another thread must not enter");
    assert_eq!(release_err, ReleaseError::NotOwner);
    assert_eq!(release_err.to_string(), "attempt to release recursive lock not owned by thread");
    drop(b);
    assert!(lock.locked(), "one level still held");
    drop(a);
    assert!(!lock.locked());
    assert_eq!(lock.release(), Err(ReleaseError::NotOwner));
}

fn rlock_in_child(lock: RLock) -> (bool, bool) {
    let g = lock.try_acquire();
    (g.is_err(), lock.release().is_err())
}

#[test]
fn an_rlock_held_here_is_not_owned_by_a_child() {
    let lock = RLock::new().unwrap();
    let _g = lock.acquire().unwrap();
    assert_eq!(run_all(vec![Process::new(rlock_in_child, (lock.clone(),))]), vec![(true, true)]);
}

#[test]
fn acquire_blocks_until_another_process_releases() {
    fn hold_then_release(lock: Lock, ready: proc_sync::Event, go: proc_sync::Event) {
        let g = lock.acquire().unwrap();
        ready.set();
        go.wait_timeout(WATCHDOG);
        drop(g);
    }
    let lock = Lock::new().unwrap();
    let ready = proc_sync::Event::new().unwrap();
    let go = proc_sync::Event::new().unwrap();
    let mut p = Process::new(hold_then_release, (lock.clone(), ready.clone(), go.clone()));
    p.start().unwrap();
    assert!(ready.wait_timeout(WATCHDOG));
    assert!(lock.try_acquire().is_err());
    go.set();
    let g = lock.acquire_timeout(WATCHDOG).unwrap();
    drop(g);
    crate::support::join(&mut p).unwrap();
}
