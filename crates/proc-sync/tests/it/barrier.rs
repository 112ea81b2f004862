//! Barrier: distinct indices, one action per round, and breaking by timeout, abort and reset.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proc_core::{Process, SharedFn};
use proc_sync::{Barrier, BrokenBarrier};

use crate::support::{WATCHDOG, join};

/// How many times the action ran in this process.
static ACTIONS: AtomicU32 = AtomicU32::new(0);

fn count_action() {
    ACTIONS.fetch_add(1, Ordering::SeqCst);
}

/// Goes through the barrier `rounds` times; returns its indices and how often the action ran here.
fn party(b: Barrier, rounds: u32) -> (Vec<u32>, u32) {
    let idx = (0..rounds).map(|_| b.wait_timeout(WATCHDOG).unwrap()).collect();
    (idx, ACTIONS.load(Ordering::SeqCst))
}

#[test]
fn parties_get_distinct_indices_and_the_action_runs_once_per_round() {
    let b = Barrier::with_action(4, SharedFn::new(|()| count_action())).unwrap();
    assert_eq!(b.parties(), 4);
    let mut ps: Vec<_> = (0..4).map(|_| Process::new(party, (b.clone(), 5))).collect();
    for p in &mut ps {
        p.start().unwrap();
    }
    let results: Vec<(Vec<u32>, u32)> = ps.iter_mut().map(|p| join(p).unwrap()).collect();
    for round in 0..5 {
        let mut idx: Vec<u32> = results.iter().map(|(i, _)| i[round]).collect();
        idx.sort();
        assert_eq!(idx, vec![0, 1, 2, 3], "round {round}");
    }
    assert_eq!(results.iter().map(|(_, a)| a).sum::<u32>(), 5, "one action per round");
    assert!(!b.is_broken());
}

fn wait_once(b: Barrier) -> Result<u32, BrokenBarrier> {
    b.wait_timeout(WATCHDOG)
}

#[test]
fn a_timeout_breaks_the_barrier_for_every_waiter() {
    let b = Barrier::new(3).unwrap();
    let mut p = Process::new(wait_once, (b.clone(),));
    p.start().unwrap();
    // Two of three arrive; this one gives up, which breaks the round for the other too.
    assert_eq!(b.wait_timeout(Duration::from_millis(100)), Err(BrokenBarrier));
    assert_eq!(join(&mut p).unwrap(), Err(BrokenBarrier));
    assert!(b.is_broken());
    assert_eq!(
        b.wait_timeout(Duration::from_millis(10)),
        Err(BrokenBarrier),
        "later waits fail too"
    );
    b.reset();
    assert!(!b.is_broken());
}

#[test]
fn abort_breaks_and_reset_restores() {
    let b = Barrier::new(2).unwrap();
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || b.wait_timeout(WATCHDOG))
    };
    while b.n_waiting() == 0 {
        std::thread::yield_now();
    }
    b.abort();
    assert_eq!(waiter.join().unwrap(), Err(BrokenBarrier));
    assert!(b.is_broken());
    b.reset();
    let other = {
        let b = b.clone();
        std::thread::spawn(move || b.wait_timeout(WATCHDOG))
    };
    let mine = b.wait_timeout(WATCHDOG).unwrap();
    let theirs = other.join().unwrap().unwrap();
    assert_eq!(mine + theirs, 1, "indices 0 and 1 after the reset");
}

#[test]
fn reset_fails_the_parties_waiting_now() {
    let b = Barrier::new(3).unwrap();
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || b.wait_timeout(WATCHDOG))
    };
    while b.n_waiting() == 0 {
        std::thread::yield_now();
    }
    b.reset();
    assert_eq!(waiter.join().unwrap(), Err(BrokenBarrier));
    assert!(!b.is_broken(), "reset leaves the barrier usable");
    assert_eq!(b.n_waiting(), 0);
}

#[test]
fn zero_parties_is_refused() {
    assert!(Barrier::new(0).is_err());
}
