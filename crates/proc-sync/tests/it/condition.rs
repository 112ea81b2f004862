//! Condition: wait/notify across processes, over a Lock or an RLock; Python's errors.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proc_core::{Process, Shared};
use proc_sync::{Condition, ConditionError, Lock, RLock};

use crate::support::{WATCHDOG, join};

/// Announces itself (counted in `waiting`, under the lock), then waits until `go` is set.
fn waiter(cond: Condition, waiting: Shared<AtomicU32>, go: Shared<AtomicU32>) -> bool {
    let mut g = cond.acquire().unwrap();
    waiting.fetch_add(1, Ordering::SeqCst);
    g.notify_all();
    g.wait_for(|| go.load(Ordering::SeqCst) > 0, Some(WATCHDOG))
}

fn check_notify(cond: Condition) {
    let waiting = Shared::new(AtomicU32::new(0)).unwrap();
    let go = Shared::new(AtomicU32::new(0)).unwrap();
    let mut ps: Vec<_> =
        (0..3).map(|_| Process::new(waiter, (cond.clone(), waiting.clone(), go.clone()))).collect();
    for p in &mut ps {
        p.start().unwrap();
    }
    // Wait until all three are inside wait(): each counts itself and notifies under the lock, and
    // the lock is only free again once it sleeps.
    let mut g = cond.acquire().unwrap();
    assert!(g.wait_for(|| waiting.load(Ordering::SeqCst) == 3, Some(WATCHDOG)));
    go.store(1, Ordering::SeqCst);
    g.notify_all();
    drop(g);
    for p in &mut ps {
        assert!(join(p).unwrap());
    }
}

#[test]
fn notify_all_wakes_waiting_processes_over_an_rlock() {
    check_notify(Condition::new().unwrap());
}

#[test]
fn notify_all_wakes_waiting_processes_over_a_lock() {
    check_notify(Condition::with_lock(Lock::new().unwrap()).unwrap());
}

#[test]
fn notify_n_wakes_n() {
    let cond = Condition::new().unwrap();
    let woken = Shared::new(AtomicU32::new(0)).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (c, w) = (cond.clone(), woken.clone());
            std::thread::spawn(move || {
                let mut g = c.acquire().unwrap();
                if g.wait_timeout(Duration::from_millis(1500)) {
                    w.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Until all three sleep, notify finds fewer sleepers; keep the lock only briefly each time.
    loop {
        let mut g = cond.acquire().unwrap();
        if format!("{cond:?}").contains("waiters: 3") {
            g.notify(2);
            break;
        }
        drop(g);
        std::thread::yield_now();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 2, "notify(2) wakes exactly two of three");
}

#[test]
fn wait_timeout_returns_false_and_wait_for_returns_the_last_value() {
    let cond = Condition::new().unwrap();
    let mut g = cond.acquire().unwrap();
    assert!(!g.wait_timeout(Duration::from_millis(30)));
    assert!(!g.wait_for(|| false, Some(Duration::from_millis(30))));
    assert!(g.wait_for(|| true, Some(Duration::from_millis(30))));
}

#[test]
fn wait_and_notify_without_the_lock_are_errors() {
    let cond = Condition::new().unwrap();
    assert_eq!(cond.wait(), Err(ConditionError::WaitWithoutLock));
    assert_eq!(
        cond.wait().unwrap_err().to_string(),
        "must acquire() condition before using wait()"
    );
    assert_eq!(cond.notify(1), Err(ConditionError::NotifyWithoutLock));
    assert_eq!(cond.notify_all().unwrap_err().to_string(), "lock is not owned");
    // Holding the lock through the RLock the condition was made with is holding it.
    let rlock = RLock::new().unwrap();
    let cond = Condition::with_rlock(rlock.clone()).unwrap();
    let _g = rlock.acquire().unwrap();
    assert_eq!(cond.notify(1), Ok(()));
    assert_eq!(cond.wait_timeout(Duration::from_millis(10)), Ok(false));
}

#[test]
fn an_rlock_held_twice_is_fully_released_while_waiting() {
    let rlock = RLock::new().unwrap();
    let cond = Condition::with_rlock(rlock.clone()).unwrap();
    let _outer = rlock.acquire().unwrap();
    let mut g = cond.acquire().unwrap(); // second level
    let other = rlock.clone();
    let t = std::thread::spawn(move || other.acquire_timeout(WATCHDOG).is_ok());
    // While we wait, the other thread can take the lock (both levels were released): it does, and
    // then lets go, so our wait ends by its timeout with the lock ours again.
    assert!(!g.wait_timeout(Duration::from_millis(200)));
    assert!(t.join().unwrap());
    drop(g);
    assert!(rlock.is_owned(), "the outer level is still ours after the wait");
}

fn wait_forever(cond: Condition, ready: proc_sync::Event) -> bool {
    let mut g = cond.acquire().unwrap();
    ready.set();
    g.wait_timeout(WATCHDOG)
}

#[test]
fn a_killed_waiter_does_not_swallow_a_notify() {
    let cond = Condition::new().unwrap();
    let ready = proc_sync::Event::new().unwrap();
    let mut dead = Process::new(wait_forever, (cond.clone(), ready.clone()));
    dead.start().unwrap();
    assert!(ready.wait_timeout(WATCHDOG));
    ready.clear();
    let mut live = Process::new(wait_forever, (cond.clone(), ready.clone()));
    live.start().unwrap();
    assert!(ready.wait_timeout(WATCHDOG));
    // Both are registered waiters now (each set `ready` with the lock held, right before waiting).
    dead.kill().unwrap();
    let _ = join(&mut dead);
    let mut g = cond.acquire().unwrap();
    g.notify(1); // the oldest waiter is dead: the notification goes to the live one
    drop(g);
    assert!(join(&mut live).unwrap(), "the live waiter was notified");
}
