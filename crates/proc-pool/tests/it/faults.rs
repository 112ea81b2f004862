//! Workers that die: killed, aborted, exited, or stuck past the task timeout. Exactly the task a
//! worker held fails, typed; every other task completes once; the pool goes on.

use std::time::Duration;

use proc_core::{ExitStatus, Signal};
use proc_pool::{Pool, PoolError, TaskError};

use crate::support::{Board, ITEMS, bounded, install, mark, sigkill};

const ROUNDS: u64 = 5;
const N: u64 = 120;

fn pool_with(board: &Board) -> Pool {
    Pool::builder().processes(2).initializer(install, (board.clone(),)).build().unwrap()
}

fn assert_killed(e: &TaskError, pid: i32) {
    match e {
        TaskError::WorkerDied { pid: p, status } => {
            assert_eq!(p.as_raw(), pid);
            assert_eq!(*status, ExitStatus::Signaled(Signal::SIGKILL));
            assert!(e.to_string().contains("SIGKILL"), "{e}");
        }
        other => panic!("expected WorkerDied, got {other:?}"),
    }
}

/// Every item but `victim` ran exactly once; the victim ran once (and was killed).
fn assert_each_ran_once(board: &Board, round: u64) {
    for i in 0..N as usize {
        assert_eq!(
            board.runs_of(i),
            round + 1,
            "item {i} ran {} times after round {round}",
            board.runs_of(i)
        );
    }
}

#[test]
fn a_worker_killed_during_imap_fails_exactly_its_item() {
    bounded(|| {
        let board = Board::new();
        let pool = pool_with(&board);
        for round in 0..ROUNDS {
            let victim = (round * 37 + 11) % N;
            let it = pool.imap(mark, (0..N).map(move |x| (x, victim))).unwrap();
            // One thread takes the results (which drives the lazy input); this one kills the
            // victim's worker once the victim has started.
            let (got, pid) = std::thread::scope(|s| {
                let taker = s.spawn(|| it.collect::<Vec<_>>());
                let pid = board.wait_blocked();
                sigkill(pid);
                (taker.join().unwrap(), pid)
            });
            assert_eq!(got.len(), N as usize);
            for (i, r) in got.iter().enumerate() {
                if i as u64 == victim {
                    assert_killed(r.as_ref().unwrap_err(), pid);
                } else {
                    assert_eq!(r, &Ok(i as u64 * i as u64), "item {i}");
                }
            }
            assert_each_ran_once(&board, round);
            assert_eq!(pool.worker_pids().len(), 2, "the dead worker was replaced");
        }
    });
}

#[test]
fn a_worker_killed_during_map_fails_the_call_naming_the_item() {
    bounded(|| {
        let board = Board::new();
        for round in 0..ROUNDS {
            let pool = pool_with(&board);
            let victim = (round * 53 + 5) % N;
            // One item per task: the failure names the victim itself (with larger chunks it names
            // the first item of the victim's chunk, the unit a worker holds).
            let r = pool
                .map_async_with(
                    mark,
                    (0..N).map(move |x| (x, victim)),
                    Some(1),
                    proc_pool::Callbacks::new(),
                )
                .unwrap();
            let pid = board.wait_blocked();
            sigkill(pid);
            match r.get() {
                Err(PoolError::Item { index, error }) => {
                    assert_eq!(index as u64, victim);
                    assert_killed(&error, pid);
                }
                other => panic!("expected the victim's failure, got {other:?}"),
            }
            // The pool goes on with new work, and the rest of the failed map still runs: once the
            // pool has finished everything, every item ran exactly once.
            assert_eq!(
                pool.map(square, 0..10).unwrap(),
                (0..10).map(|x| x * x).collect::<Vec<_>>()
            );
            pool.close();
            pool.join().unwrap();
            assert_each_ran_once(&board, round);
        }
    });
}

#[test]
fn a_worker_killed_during_apply_async_fails_exactly_that_task() {
    bounded(|| {
        let board = Board::new();
        let pool = pool_with(&board);
        for round in 0..ROUNDS {
            let victim = round % 20;
            let rs: Vec<_> =
                (0..20).map(|x| pool.apply_async(mark, ((x, victim),)).unwrap()).collect();
            let pid = board.wait_blocked();
            sigkill(pid);
            for (x, r) in rs.into_iter().enumerate() {
                let x = x as u64;
                if x == victim {
                    assert_killed(&r.get().unwrap_err(), pid);
                } else {
                    assert_eq!(r.get(), Ok(x * x));
                }
            }
        }
        for i in 0..20 {
            assert_eq!(board.runs_of(i), ROUNDS);
        }
        let _ = ITEMS;
    });
}

fn abort(_: u8) -> u8 {
    std::process::abort();
}

fn exit3(_: u8) -> u8 {
    std::process::exit(3);
}

fn square(x: u64) -> u64 {
    x * x
}

#[test]
fn abort_and_exit_in_a_task_are_named() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        for _ in 0..3 {
            match pool.apply(abort, (0,)) {
                Err(PoolError::Task(TaskError::WorkerDied { status, .. })) => {
                    assert_eq!(status, ExitStatus::Signaled(Signal::SIGABRT))
                }
                other => panic!("expected SIGABRT, got {other:?}"),
            }
            match pool.apply(exit3, (0,)) {
                Err(PoolError::Task(TaskError::WorkerDied { status, .. })) => {
                    assert_eq!(status, ExitStatus::Exited(3))
                }
                other => panic!("expected exit code 3, got {other:?}"),
            }
            assert_eq!(
                pool.map(square, 0..50).unwrap(),
                (0..50).map(|x| x * x).collect::<Vec<_>>()
            );
        }
    });
}

#[test]
fn a_task_over_its_timeout_is_killed_and_the_pool_goes_on() {
    bounded(|| {
        let board = Board::new();
        let pool = Pool::builder()
            .processes(2)
            .initializer(install, (board.clone(),))
            .task_timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        for round in 0..3u64 {
            let victim = 7;
            let got: Vec<_> = pool.imap(mark, (0..30).map(move |x| (x, victim))).unwrap().collect();
            for (i, r) in got.iter().enumerate() {
                if i == victim as usize {
                    assert_eq!(r, &Err(TaskError::TimedOut { limit: Duration::from_millis(500) }));
                } else {
                    assert_eq!(r, &Ok(i as u64 * i as u64));
                }
            }
            board.started.clear();
            for i in 0..30 {
                assert_eq!(board.runs_of(i), round + 1);
            }
        }
    });
}

#[test]
fn a_lone_task_over_its_timeout_on_an_idle_pool_is_killed() {
    bounded(|| {
        let board = Board::new();
        let limit = Duration::from_millis(300);
        let pool = Pool::builder()
            .processes(1)
            .initializer(install, (board.clone(),))
            .task_timeout(limit)
            .build()
            .unwrap();
        for round in 0..3u64 {
            // The pool is idle (its reader asleep with no deadline) when the stuck task goes out,
            // and nothing else comes back to wake it: only the timeout can end this task.
            assert_eq!(pool.apply(mark, ((1, 99),)).unwrap(), 1);
            let stuck = pool.apply_async(mark, ((2, 2),)).unwrap();
            assert_eq!(stuck.get(), Err(TaskError::TimedOut { limit }));
            assert_eq!(board.runs_of(2), round + 1);
            board.started.clear();
        }
        // The replacement worker takes the next task.
        assert_eq!(pool.apply(mark, ((3, 99),)).unwrap(), 9);
    });
}

#[test]
fn killing_every_worker_repeatedly_never_hangs_the_pool() {
    bounded(|| {
        let board = Board::new();
        let pool = pool_with(&board);
        for _ in 0..10 {
            for pid in pool.worker_pids() {
                let _ = pid; // killed below, idle
                sigkill(pid.as_raw());
            }
            assert_eq!(
                pool.map(square, 0..100).unwrap(),
                (0..100).map(|x| x * x).collect::<Vec<_>>()
            );
        }
    });
}

/// Starts a pool, reports its workers' pids, and waits to be killed.
fn pool_owner(pids: proc_ipc::Connection<Vec<i32>>) {
    let mut pids = pids;
    let pool = Pool::new(2).unwrap();
    assert_eq!(pool.map(square, 0..10).unwrap().len(), 10);
    pids.send(&pool.worker_pids().iter().map(|p| p.as_raw()).collect()).unwrap();
    loop {
        std::thread::park();
    }
}

#[test]
fn no_worker_outlives_a_pool_owner_that_is_sigkilled() {
    bounded(|| {
        let (mut ours, theirs) = proc_ipc::Pipe::new::<Vec<i32>>().unwrap();
        let mut owner = proc_core::Process::new(pool_owner, (theirs,));
        owner.start().unwrap();
        let workers = ours.recv_timeout(crate::support::WATCHDOG).unwrap();
        assert_eq!(workers.len(), 2);
        // Watch the workers before the owner dies, so a reused pid cannot fool the check.
        let watches: Vec<_> = workers.iter().map(|&p| crate::support::pidfd(p)).collect();
        owner.kill().unwrap();
        let _ = owner.join_timeout(crate::support::WATCHDOG);
        for (fd, pid) in watches.iter().zip(&workers) {
            assert!(crate::support::wait_exit(fd), "worker {pid} outlived its pool's owner");
        }
    });
}
