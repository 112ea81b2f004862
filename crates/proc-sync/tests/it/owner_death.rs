//! A holder SIGKILLed (or exiting) while holding a Lock or RLock: nobody hangs, the next acquirer is
//! told, and the lock is usable afterwards.

use std::time::Duration;

use proc_core::{ExitStatus, JoinError, Process, Signal};
use proc_sync::{AcquireTimeoutError, Event, Lock, RLock};

use crate::support::{WATCHDOG, join};

fn hold_lock_forever(lock: Lock, held: Event) {
    lock.acquire().unwrap().leak();
    held.set();
    std::thread::sleep(WATCHDOG);
}

fn hold_rlock_forever(lock: RLock, held: Event) {
    let _a = lock.acquire().unwrap();
    let _b = lock.acquire().unwrap();
    held.set();
    std::thread::sleep(WATCHDOG);
}

fn exit_holding(lock: Lock) {
    lock.acquire().unwrap().leak();
    std::process::exit(0);
}

fn killed(p: &mut Process<()>) {
    p.kill().unwrap();
    match join(p) {
        Err(JoinError::Died { status }) => {
            assert_eq!(status, ExitStatus::Signaled(Signal::SIGKILL))
        }
        other => panic!("expected a SIGKILLed holder, got {other:?}"),
    }
}

#[test]
fn a_killed_lock_holder_is_reported_to_the_next_acquirer() {
    let lock = Lock::new().unwrap();
    let held = Event::new().unwrap();
    let mut holder = Process::new(hold_lock_forever, (lock.clone(), held.clone()));
    holder.start().unwrap();
    assert!(held.wait_timeout(WATCHDOG));
    // Killed, not yet reaped (a zombie still has its pid): it must count as dead.
    holder.kill().unwrap();
    let died = lock.acquire_timeout(WATCHDOG).map(drop).unwrap_err();
    let AcquireTimeoutError::OwnerDied(died) = died else {
        panic!("expected OwnerDied, got {died}")
    };
    assert_eq!(died.to_string(), "the previous holder died while holding the lock");
    drop(died.into_guard());
    // Recovered: usable as normal.
    assert!(!lock.locked());
    drop(lock.try_acquire().unwrap());
    let _ = join(&mut holder);
}

fn wait_for_lock(lock: Lock) -> String {
    match lock.acquire_timeout(WATCHDOG) {
        Ok(_) => "clean",
        Err(AcquireTimeoutError::OwnerDied(_)) => "owner died",
        Err(AcquireTimeoutError::Timeout) => "timeout",
    }
    .to_string()
}

#[test]
fn a_waiter_already_blocked_takes_over_when_the_holder_is_killed() {
    let lock = Lock::new().unwrap();
    let held = Event::new().unwrap();
    let mut holder = Process::new(hold_lock_forever, (lock.clone(), held.clone()));
    holder.start().unwrap();
    assert!(held.wait_timeout(WATCHDOG));
    let mut waiters: Vec<_> =
        (0..2).map(|_| Process::new(wait_for_lock, (lock.clone(),))).collect();
    for w in &mut waiters {
        w.start().unwrap();
    }
    killed(&mut holder);
    let mut outcomes: Vec<String> = waiters.iter_mut().map(|w| join(w).unwrap()).collect();
    outcomes.sort();
    // One waiter inherits the dead holder's lock; the other gets it cleanly after that.
    assert_eq!(outcomes, vec!["clean", "owner died"]);
}

#[test]
fn a_killed_rlock_holder_is_reported_too() {
    let lock = RLock::new().unwrap();
    let held = Event::new().unwrap();
    let mut holder = Process::new(hold_rlock_forever, (lock.clone(), held.clone()));
    holder.start().unwrap();
    assert!(held.wait_timeout(WATCHDOG));
    killed(&mut holder);
    let g = match lock.acquire_timeout(WATCHDOG) {
        Err(AcquireTimeoutError::OwnerDied(d)) => d.into_guard(),
        other => panic!("expected OwnerDied, got {:?}", other.map(|_| ())),
    };
    // We hold one level, not the dead holder's two.
    assert!(lock.is_owned());
    drop(g);
    assert!(!lock.locked());
}

#[test]
fn a_holder_that_exits_without_releasing_counts_as_dead() {
    let lock = Lock::new().unwrap();
    let mut p = Process::new(exit_holding, (lock.clone(),));
    p.start().unwrap();
    join(&mut p).unwrap();
    assert!(lock.locked());
    let r = lock.acquire_timeout(WATCHDOG).map(drop);
    assert!(matches!(r, Err(AcquireTimeoutError::OwnerDied(_))), "{r:?}");
}

#[test]
fn a_slow_holder_is_not_mistaken_for_a_dead_one() {
    let lock = Lock::new().unwrap();
    let held = Event::new().unwrap();
    let mut holder = Process::new(hold_lock_forever, (lock.clone(), held.clone()));
    holder.start().unwrap();
    assert!(held.wait_timeout(WATCHDOG));
    // Many owner checks happen during this wait; the holder is alive, so they must all say so.
    let r = lock.acquire_timeout(Duration::from_millis(200)).map(drop);
    assert!(matches!(r, Err(AcquireTimeoutError::Timeout)), "{r:?}");
    killed(&mut holder);
}
