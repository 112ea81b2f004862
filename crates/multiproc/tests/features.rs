//! One smoke test per facade feature, each through the facade with real processes.
//!
//! `cargo xtask test` builds this test with `--no-default-features` alone and with each feature
//! alone, so every feature is shown to build and work without the others. A feature of the facade
//! without a `#[cfg(feature = "…")]` test here fails that run.

use std::time::Duration;

use multiproc::Process;

/// Every wait in these tests is bounded by this, so a hang fails instead of stalling the run.
const WATCHDOG: Duration = Duration::from_secs(60);

fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[test]
fn processes_are_always_there() {
    let mut p = Process::new(add, (40, 2));
    p.start().unwrap();
    assert_eq!(p.join_timeout(WATCHDOG).unwrap(), 42);
    assert_eq!(p.exitcode(), Some(0));
}

#[cfg(feature = "sync")]
mod sync {
    use multiproc::{Event, Lock, Process};

    use super::WATCHDOG;

    fn signal_under_lock(lock: Lock, started: Event, go: Event) -> bool {
        started.set();
        if !go.wait_timeout(WATCHDOG) {
            return false;
        }
        let _held = lock.acquire().expect("nobody died holding the lock");
        true
    }

    #[test]
    fn events_and_locks_cross_processes() {
        let (lock, started, go) =
            (Lock::new().unwrap(), Event::new().unwrap(), Event::new().unwrap());
        let held = lock.acquire().unwrap();
        let mut p = Process::new(signal_under_lock, (lock.clone(), started.clone(), go.clone()));
        p.start().unwrap();
        assert!(started.wait_timeout(WATCHDOG), "the child never set the event");
        go.set();
        // The child cannot finish while the parent holds the lock.
        let early = p.join_timeout(std::time::Duration::from_millis(200));
        assert!(early.is_err_and(|e| e.is_timeout()), "the child got a held lock");
        drop(held);
        assert!(p.join_timeout(WATCHDOG).unwrap(), "the child timed out waiting for `go`");
    }
}

#[cfg(feature = "shm")]
mod shm {
    use multiproc::{Array, Process, Value};

    use super::WATCHDOG;

    fn bump(counter: Value<i32>, cells: Array<f64>) {
        for _ in 0..100 {
            *counter.lock() += 1;
        }
        cells.set(1, 2.5).unwrap();
    }

    #[test]
    fn values_and_arrays_are_shared() {
        let counter = Value::new(0i32).unwrap();
        let cells = Array::<f64>::new(3).unwrap();
        let mut children: Vec<_> = (0..2)
            .map(|_| {
                let mut p = Process::new(bump, (counter.clone(), cells.clone()));
                p.start().unwrap();
                p
            })
            .collect();
        for p in &mut children {
            p.join_timeout(WATCHDOG).unwrap();
        }
        assert_eq!(counter.get(), 200);
        assert_eq!(cells.to_vec(), [0.0, 2.5, 0.0]);
    }
}

#[cfg(feature = "ipc")]
mod ipc {
    use multiproc::{Connection, Pipe, Process, Queue};

    use super::WATCHDOG;

    fn echo_upper(mut conn: Connection<String>, out: Queue<usize>) {
        let msg = conn.recv_timeout(WATCHDOG).unwrap();
        conn.send(&msg.to_uppercase()).unwrap();
        out.put(msg.len()).unwrap();
    }

    #[test]
    fn pipes_and_queues_carry_values() {
        let (mut ours, theirs) = Pipe::new().unwrap();
        let q = Queue::new().unwrap();
        let mut p = Process::new(echo_upper, (theirs, q.clone()));
        p.start().unwrap();
        ours.send(&"hello".to_string()).unwrap();
        assert_eq!(ours.recv_timeout(WATCHDOG).unwrap(), "HELLO");
        assert_eq!(q.get_timeout(WATCHDOG).unwrap(), 5);
        p.join_timeout(WATCHDOG).unwrap();
    }
}

#[cfg(feature = "pool")]
mod pool {
    use multiproc::Pool;

    fn square(x: u64) -> u64 {
        x * x
    }

    #[test]
    fn a_pool_maps_in_input_order() {
        let pool = Pool::new(2).unwrap();
        assert_eq!(pool.map(square, 1..=5u64).unwrap(), [1, 4, 9, 16, 25]);
        assert_eq!(pool.apply_async(square, (12,)).unwrap().get().unwrap(), 144);
        pool.close();
        pool.join().unwrap();
    }
}

#[cfg(feature = "manager")]
mod manager {
    use multiproc::{DictProxy, Manager, Process};

    use super::WATCHDOG;

    fn count_down(d: DictProxy<String, i64>) {
        d.update_with("count", |c: Option<i64>| c.unwrap_or(0) - 1).unwrap();
    }

    #[test]
    fn a_manager_serves_a_dict_to_children() {
        let manager = Manager::start().unwrap();
        let d = manager.dict::<String, i64>().unwrap();
        d.insert("count".into(), 3).unwrap();
        let mut ps: Vec<_> = (0..3).map(|_| Process::new(count_down, (d.clone(),))).collect();
        for p in &mut ps {
            p.start().unwrap();
        }
        for p in &mut ps {
            p.join_timeout(WATCHDOG).unwrap();
        }
        assert_eq!(d.get("count").unwrap(), Some(0));
    }
}
