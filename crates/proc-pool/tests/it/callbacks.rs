//! Callbacks run in the parent, on one thread, in completion order.

use std::sync::mpsc;

use proc_pool::{Callbacks, Pool, PoolError, TaskError};
use proc_sync::Event;

use crate::support::{WATCHDOG, bounded};

fn square(x: u64) -> u64 {
    x * x
}

fn fails(x: u64) -> u64 {
    panic!("bad input {x}");
}

/// Waits for `go`, then returns `x` (lets the test choose the completion order).
fn after(x: u64, go: Event) -> u64 {
    assert!(go.wait_timeout(WATCHDOG));
    x
}

#[test]
fn callbacks_run_in_the_parent_on_one_thread() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let (tx, rx) = mpsc::channel();
        let mut results = Vec::new();
        for i in 0..10 {
            let tx = tx.clone();
            let cb = Callbacks::new().on_success(move |v: &u64| {
                let t = std::thread::current();
                tx.send((*v, std::process::id(), t.name().map(str::to_string), t.id())).unwrap();
            });
            results.push(pool.apply_async_with(square, (i,), cb).unwrap());
        }
        for r in results {
            r.get().unwrap();
        }
        drop(tx);
        let seen: Vec<_> = rx.iter().collect();
        assert_eq!(seen.len(), 10);
        let mut values: Vec<u64> = seen.iter().map(|s| s.0).collect();
        values.sort();
        assert_eq!(values, (0..10).map(|x| x * x).collect::<Vec<_>>());
        assert!(
            seen.iter().all(|s| s.1 == std::process::id()),
            "a callback ran outside the parent"
        );
        assert!(seen.iter().all(|s| s.3 == seen[0].3), "callbacks ran on more than one thread");
        assert_ne!(seen[0].3, std::thread::current().id());
    });
}

#[test]
fn callbacks_follow_completion_order_and_run_before_get_returns() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let (tx, rx) = mpsc::channel();
        let first = Event::new().unwrap();
        let second = Event::new().unwrap();
        let cb = |tx: mpsc::Sender<u64>| {
            Callbacks::new().on_success(move |v: &u64| tx.send(*v).unwrap())
        };
        let a = pool.apply_async_with(after, (1, first.clone()), cb(tx.clone())).unwrap();
        let b = pool.apply_async_with(after, (2, second.clone()), cb(tx.clone())).unwrap();
        second.set();
        assert_eq!(b.get().unwrap(), 2);
        // The callback of b ran before b's get returned.
        assert_eq!(rx.try_recv(), Ok(2));
        first.set();
        assert_eq!(a.get().unwrap(), 1);
        assert_eq!(rx.try_recv(), Ok(1));
    });
}

#[test]
fn error_callbacks_get_the_error() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        let r = pool
            .apply_async_with(
                fails,
                (3,),
                Callbacks::new()
                    .on_success(move |_: &u64| tx2.send("success".to_string()).unwrap())
                    .on_error(move |e: &TaskError| tx.send(e.to_string()).unwrap()),
            )
            .unwrap();
        assert!(r.get().is_err());
        let msg = rx.recv_timeout(WATCHDOG).unwrap();
        assert!(msg.contains("bad input 3"), "{msg}");
        assert!(rx.try_recv().is_err(), "only one callback runs");
    });
}

#[test]
fn map_async_callbacks_get_the_whole_list_or_the_first_failure() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let (tx, rx) = mpsc::channel();
        let r = pool
            .map_async_with(
                square,
                0..6,
                None,
                Callbacks::new().on_success(move |v: &Vec<u64>| tx.send(v.clone()).unwrap()),
            )
            .unwrap();
        assert_eq!(r.get().unwrap(), vec![0, 1, 4, 9, 16, 25]);
        assert_eq!(rx.recv_timeout(WATCHDOG).unwrap(), vec![0, 1, 4, 9, 16, 25]);

        let (tx, rx) = mpsc::channel();
        let r = pool
            .map_async_with(
                fails,
                0..4,
                Some(1),
                Callbacks::new().on_error(move |e: &PoolError| tx.send(e.to_string()).unwrap()),
            )
            .unwrap();
        assert!(matches!(r.get(), Err(PoolError::Item { .. })));
        assert!(rx.recv_timeout(WATCHDOG).unwrap().contains("bad input"));
    });
}

#[test]
fn a_panicking_callback_does_not_lose_the_result() {
    bounded(|| {
        let pool = Pool::new(1).unwrap();
        let r = pool
            .apply_async_with(
                square,
                (4,),
                Callbacks::new().on_success(|_: &u64| panic!("callback bug")),
            )
            .unwrap();
        assert_eq!(r.get().unwrap(), 16);
        assert_eq!(pool.apply(square, (5,)).unwrap(), 25, "the callback thread goes on");
        let (tx, rx) = mpsc::channel();
        let r = pool
            .apply_async_with(
                square,
                (6,),
                Callbacks::new().on_success(move |v: &u64| tx.send(*v).unwrap()),
            )
            .unwrap();
        assert_eq!(r.get().unwrap(), 36);
        assert_eq!(rx.try_recv(), Ok(36));
    });
}
