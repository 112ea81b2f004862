//! apply, map, starmap, results, errors, and the pool's life cycle.

use std::io::{Read, Seek, Write};
use std::time::Duration;

use proc_core::{Handle, StartError, StartMethod};
use proc_pool::{Pool, PoolError, TaskError, default_chunksize};
use proc_sync::Event;

use crate::support::{WATCHDOG, bounded};

fn square(x: u64) -> u64 {
    x * x
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn pid(_: u64) -> u32 {
    std::process::id()
}

fn wait_for(e: Event) -> bool {
    e.wait_timeout(WATCHDOG)
}

fn panics_on_7(x: u64) -> u64 {
    assert_ne!(x, 7, "seven is not allowed");
    x
}

#[test]
fn map_keeps_input_order_with_any_chunksize() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let want: Vec<u64> = (0..1000).map(|x| x * x).collect();
        assert_eq!(pool.map(square, 0..1000).unwrap(), want);
        for chunk in [1, 3, 1000, 5000] {
            assert_eq!(pool.map_chunked(square, 0..1000, chunk).unwrap(), want);
        }
        assert_eq!(pool.map(square, Vec::<u64>::new()).unwrap(), Vec::<u64>::new());
    });
}

#[test]
fn default_chunksize_is_pythons() {
    // divmod(len, 4 * processes), plus one if there is a remainder.
    assert_eq!(default_chunksize(100_000, 2), 12_500);
    assert_eq!(default_chunksize(10, 2), 2);
    assert_eq!(default_chunksize(9, 2), 2);
    assert_eq!(default_chunksize(1, 8), 1);
    assert_eq!(default_chunksize(0, 2), 0);
}

#[test]
fn apply_apply_async_and_starmap() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        assert_eq!(pool.apply(add, (2, 3)).unwrap(), 5);
        let rs: Vec<_> = (0..20).map(|i| pool.apply_async(square, (i,)).unwrap()).collect();
        let got: Vec<u64> = rs.into_iter().map(|r| r.get().unwrap()).collect();
        assert_eq!(got, (0..20).map(|x| x * x).collect::<Vec<_>>());
        assert_eq!(pool.starmap(add, vec![(1, 2), (3, 4), (5, 6)]).unwrap(), vec![3, 7, 11]);
        let r = pool.starmap_async(add, (0..4).map(|i| (i, i))).unwrap();
        assert_eq!(r.get().unwrap(), vec![0, 2, 4, 6]);
        let r = pool.map_async(square, [3, 4]).unwrap();
        assert_eq!(r.get().unwrap(), vec![9, 16]);
    });
}

#[test]
fn zero_processes_is_an_error() {
    assert!(matches!(Pool::new(0), Err(PoolError::NoProcesses)));
    assert!(matches!(Pool::builder().processes(0).build(), Err(PoolError::NoProcesses)));
}

#[test]
fn async_result_states_and_get_timeout() {
    bounded(|| {
        let pool = Pool::new(1).unwrap();
        let go = Event::new().unwrap();
        let mut r = pool.apply_async(wait_for, (go.clone(),)).unwrap();
        assert!(!r.ready());
        assert_eq!(r.successful(), Err(TaskError::NotReady));
        assert_eq!(r.get_timeout(Duration::ZERO), Err(TaskError::NotReady));
        assert!(!r.wait_timeout(Duration::ZERO));
        go.set();
        assert_eq!(r.get_timeout(WATCHDOG), Ok(true));
        assert!(r.ready());
        assert_eq!(r.successful(), Ok(true));
        assert_eq!(r.get_timeout(WATCHDOG), Err(TaskError::AlreadyTaken));
    });
}

#[test]
fn an_async_result_is_a_future() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let a = pool.apply_async(square, (5,)).unwrap();
        let b = pool.map_async(square, 0..4).unwrap();
        let (a, b) = futures_executor::block_on(async { (a.await, b.await) });
        assert_eq!(a.unwrap(), 25);
        assert_eq!(b.unwrap(), vec![0, 1, 4, 9]);
    });
}

#[test]
fn a_panic_fails_only_its_task_and_the_worker_survives() {
    bounded(|| {
        let pool = Pool::new(1).unwrap();
        let before = pool.worker_pids();
        match pool.apply(panics_on_7, (7,)) {
            Err(PoolError::Task(TaskError::Panicked { message })) => {
                assert!(message.contains("seven is not allowed"), "{message}")
            }
            other => panic!("expected a panic error, got {other:?}"),
        }
        let r = pool.apply_async(panics_on_7, (7,)).unwrap();
        r.wait();
        assert_eq!(r.successful(), Ok(false));
        assert!(r.get().unwrap_err().is_panic());
        assert_eq!(pool.apply(panics_on_7, (8,)).unwrap(), 8);
        assert_eq!(pool.worker_pids(), before, "the worker was not replaced");
        // In a map the whole call fails, naming the item.
        match pool.map_chunked(panics_on_7, 0..20, 3) {
            Err(PoolError::Item { index: 7, error: TaskError::Panicked { .. } }) => {}
            other => panic!("expected item 7 to fail, got {other:?}"),
        }
        assert_eq!(pool.map(square, 0..3).unwrap(), vec![0, 1, 4]);
    });
}

#[test]
fn close_join_and_submitting_after_close() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let r = pool.apply_async(square, (6,)).unwrap();
        assert!(matches!(pool.join(), Err(PoolError::StillRunning)));
        pool.close();
        assert!(matches!(pool.apply_async(square, (1,)), Err(PoolError::Closed)));
        assert!(matches!(pool.map(square, 0..2), Err(PoolError::Closed)));
        assert!(matches!(pool.imap(square, 0..2), Err(PoolError::Closed)));
        pool.join().unwrap();
        assert_eq!(r.get().unwrap(), 36, "work submitted before close completes");
        assert!(pool.worker_pids().is_empty(), "the workers exited");
    });
}

#[test]
fn terminate_fails_unfinished_tasks_and_drop_never_hangs() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let never = Event::new().unwrap();
        let stuck: Vec<_> =
            (0..5).map(|_| pool.apply_async(wait_for, (never.clone(),)).unwrap()).collect();
        pool.terminate();
        for r in stuck {
            assert_eq!(r.get(), Err(TaskError::Terminated));
        }
        assert!(matches!(pool.apply_async(square, (1,)), Err(PoolError::Terminated)));
        pool.join().unwrap();

        // Dropped with tasks running and queued: returns, the workers are killed.
        let pool = Pool::new(2).unwrap();
        let pids = pool.worker_pids();
        let stuck: Vec<_> =
            (0..5).map(|_| pool.apply_async(wait_for, (never.clone(),)).unwrap()).collect();
        drop(pool);
        for r in stuck {
            assert_eq!(r.get(), Err(TaskError::Terminated));
        }
        for p in pids {
            // SAFETY: kill(2) with signal 0 only checks whether the pid exists.
            let alive = unsafe { libc::kill(p.as_raw(), 0) } == 0;
            assert!(!alive, "worker {p} outlived its pool");
        }
    });
}

fn read_init(_: ()) -> String {
    INIT.get().cloned().unwrap_or_default()
}

static INIT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn init(tag: String) {
    INIT.set(format!("{tag} in {}", std::process::id())).unwrap();
}

fn bad_init(_: u32) {
    panic!("cannot set up");
}

#[test]
fn initializer_runs_in_every_worker_including_replacements() {
    bounded(|| {
        let pool = Pool::builder()
            .processes(2)
            .initializer(init, ("ready".to_string(),))
            .maxtasksperchild(1)
            .build()
            .unwrap();
        let got = pool.map_chunked(read_init, vec![(); 10], 1).unwrap();
        // One task per worker: ten workers ran, each initialised.
        let mut seen: Vec<&String> = got.iter().collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 10, "{got:?}");
        assert!(got.iter().all(|s| s.starts_with("ready in ")), "{got:?}");
    });
}

#[test]
fn maxtasksperchild_retires_workers() {
    bounded(|| {
        let pool = Pool::builder().processes(2).maxtasksperchild(3).build().unwrap();
        let pids = pool.map_chunked(pid, 0..30, 1).unwrap();
        let mut counts = std::collections::HashMap::new();
        for p in &pids {
            *counts.entry(*p).or_insert(0) += 1;
        }
        assert!(counts.values().all(|&n| n <= 3), "{counts:?}");
        assert!(counts.len() >= 10, "{counts:?}");
    });
}

#[test]
fn a_failing_initializer_breaks_the_pool_instead_of_hanging() {
    bounded(|| {
        let pool = Pool::builder().processes(2).initializer(bad_init, (1,)).build().unwrap();
        let r = pool.apply_async(square, (2,));
        match r {
            Ok(r) => match r.get() {
                Err(TaskError::InitializerFailed { message }) => {
                    assert!(message.contains("cannot set up"))
                }
                other => panic!("expected the initializer's failure, got {other:?}"),
            },
            Err(PoolError::Broken { message }) => assert!(message.contains("cannot set up")),
            Err(e) => panic!("unexpected {e:?}"),
        }
        // Once the failure is known, submitting is refused.
        let mut refused = false;
        for _ in 0..1000 {
            match pool.apply_async(square, (2,)) {
                Err(PoolError::Broken { .. }) => {
                    refused = true;
                    break;
                }
                Ok(r) => assert!(matches!(r.get(), Err(TaskError::InitializerFailed { .. }))),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert!(refused);
    });
}

fn start_a_process(_: u8) -> String {
    let mut p = proc_core::Process::new(square, (3,));
    match p.start() {
        Ok(()) => p.join().map(|v| v.to_string()).unwrap_or_else(|e| e.to_string()),
        Err(e) => format!("error: {e}"),
    }
}

fn start_a_pool(_: u8) -> String {
    match Pool::new(1) {
        Ok(_) => "started".into(),
        Err(PoolError::Start(StartError::DaemonicParent)) => "daemonic".into(),
        Err(e) => format!("other: {e}"),
    }
}

#[test]
fn workers_may_not_start_processes_unless_allowed() {
    bounded(|| {
        let pool = Pool::new(1).unwrap();
        assert_eq!(
            pool.apply(start_a_process, (0,)).unwrap(),
            "error: daemonic processes are not allowed to have children"
        );
        assert_eq!(pool.apply(start_a_pool, (0,)).unwrap(), "daemonic");
        let pool = Pool::builder().processes(1).allow_children(true).build().unwrap();
        assert_eq!(pool.apply(start_a_process, (0,)).unwrap(), "9");
    });
}

fn write_to(mut f: Handle<std::fs::File>, text: String) -> usize {
    f.write_all(text.as_bytes()).unwrap();
    text.len()
}

#[test]
fn handles_travel_in_task_arguments() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let dir = std::env::temp_dir().join(format!("proc-pool-handle-{}", std::process::id()));
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dir)
            .unwrap();
        std::fs::remove_file(&dir).unwrap();
        let n = pool
            .apply(write_to, (Handle::new(file.try_clone().unwrap()), "from a worker".to_string()))
            .unwrap();
        assert_eq!(n, 13);
        let mut s = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut s).unwrap();
        assert_eq!(s, "from a worker");
    });
}

#[test]
fn every_start_method_runs_tasks() {
    // The fork method is left out: forking a process whose other threads (the test harness's, the
    // pool's) may hold locks is the hazard its documentation describes.
    for method in [StartMethod::SPAWN, StartMethod::FORKSERVER] {
        bounded(move || {
            let pool = Pool::builder().processes(2).start_method(method).build().unwrap();
            assert_eq!(
                pool.map(square, 0..100).unwrap(),
                (0..100).map(|x| x * x).collect::<Vec<_>>()
            );
        });
    }
}

fn make_file(text: String) -> Handle<std::fs::File> {
    let path = std::env::temp_dir().join(format!("proc-pool-result-{}-{text}", std::process::id()));
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.rewind().unwrap();
    Handle::new(f)
}

#[test]
fn handles_travel_in_results_in_order_with_other_replies() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        // Replies with handles take the worker's connection, the rest the shared queue; both
        // arrive, in any mix.
        for _ in 0..3 {
            let files = pool.map_chunked(make_file, (0..20).map(|i| format!("f{i}")), 3).unwrap();
            for (i, f) in files.into_iter().enumerate() {
                let mut s = String::new();
                f.into_inner().read_to_string(&mut s).unwrap();
                assert_eq!(s, format!("f{i}"));
            }
            assert_eq!(
                pool.map(square, 0..50).unwrap(),
                (0..50).map(|x| x * x).collect::<Vec<_>>()
            );
        }
    });
}

/// Waits at a barrier with every other task of its map: only possible if each runs on its own
/// worker at the same time.
fn meet(b: proc_sync::Barrier) -> bool {
    b.wait_timeout(WATCHDOG).is_ok()
}

#[test]
fn the_first_tasks_of_a_fresh_pool_spread_over_all_workers() {
    bounded(|| {
        for n in [2u32, 4] {
            let pool = Pool::new(n as usize).unwrap();
            let b = proc_sync::Barrier::new(n).unwrap();
            let met = pool.map_chunked(meet, vec![b; n as usize], 1).unwrap();
            assert!(met.iter().all(|&m| m), "{n} tasks did not run on {n} workers at once");
        }
    });
}
