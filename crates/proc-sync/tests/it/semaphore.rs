//! Semaphore and BoundedSemaphore.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proc_core::{Process, Shared};
use proc_sync::{BoundedSemaphore, ReleaseError, Semaphore};

use crate::support::run_all;

/// Seed 003's KTV: a room with four seats; records how many are inside at once.
fn ktv(rooms: Semaphore, inside: Shared<AtomicU32>, most: Shared<AtomicU32>) {
    let _seat = rooms.acquire();
    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
    most.fetch_max(now, Ordering::SeqCst);
    std::thread::yield_now();
    inside.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn never_more_than_the_count_inside() {
    let rooms = Semaphore::new(4).unwrap();
    let inside = Shared::new(AtomicU32::new(0)).unwrap();
    let most = Shared::new(AtomicU32::new(0)).unwrap();
    for _ in 0..3 {
        run_all(
            (0..13)
                .map(|_| Process::new(ktv, (rooms.clone(), inside.clone(), most.clone())))
                .collect(),
        );
    }
    let m = most.load(Ordering::SeqCst);
    assert!((1..=4).contains(&m), "at most 4 inside at once, saw {m}");
    assert_eq!(rooms.get_value(), 4);
}

#[test]
fn a_plain_semaphore_may_go_above_its_initial_value() {
    let s = Semaphore::new(1).unwrap();
    s.release().unwrap();
    assert_eq!(s.get_value(), 2);
    let a = s.try_acquire();
    let b = s.try_acquire();
    assert!(a.is_some() && b.is_some());
    assert!(s.try_acquire().is_none());
    assert!(s.acquire_timeout(Duration::from_millis(20)).is_none());
}

#[test]
fn a_bounded_semaphore_refuses_to_go_above() {
    let s = BoundedSemaphore::new(2).unwrap();
    assert_eq!(s.release(), Err(ReleaseError::TooManyReleases));
    let g = s.acquire();
    g.leak();
    s.release().unwrap();
    assert_eq!(s.release(), Err(ReleaseError::TooManyReleases));
    assert_eq!(s.get_value(), 2);
}

fn give(s: Semaphore, n: u32) {
    for _ in 0..n {
        s.release().unwrap();
    }
}

#[test]
fn units_released_by_another_process_wake_waiters() {
    let s = Semaphore::new(0).unwrap();
    let mut p = Process::new(give, (s.clone(), 3));
    p.start().unwrap();
    for _ in 0..3 {
        s.acquire_timeout(crate::support::WATCHDOG).expect("a unit arrives").leak();
    }
    crate::support::join(&mut p).unwrap();
    assert_eq!(s.get_value(), 0);
}
