//! Start, join, return values, exit codes, signals, liveness.

use std::time::Duration;

use proc_core::{ExitStatus, JoinError, Process, Signal, active_children};

use crate::support::{WATCHDOG, join, run, sleeper};

fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn echo(v: Vec<String>) -> Vec<String> {
    v.into_iter().rev().collect()
}

fn nothing() {}

fn panics(msg: String) -> u32 {
    panic!("{msg}")
}

fn exits(code: i32) -> u32 {
    std::process::exit(code)
}

fn exits_zero() {
    std::process::exit(0)
}

fn big(len: usize) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

fn own_pid() -> u32 {
    std::process::id()
}

#[test]
fn returns_the_targets_value() {
    assert_eq!(run(Process::new(add, (40, 2))), 42);
    assert_eq!(run(Process::new(echo, (vec!["a".into(), "b".into()],))), vec!["b", "a"]);
    run(Process::new(nothing, ()));
}

#[test]
fn runs_in_another_process() {
    let mut p = Process::new(own_pid, ());
    p.start().unwrap();
    let pid = p.pid().unwrap();
    assert_eq!(join(&mut p).unwrap(), pid.as_raw() as u32);
    assert_ne!(pid.as_raw() as u32, std::process::id());
}

#[test]
fn non_capturing_closures_are_targets() {
    assert_eq!(run(Process::new(|x: u8, y: u8| u16::from(x) * u16::from(y), (200, 3))), 600);
}

#[test]
fn a_large_return_value_arrives_whole() {
    // Bigger than any socket buffer: the child blocks writing until the parent reads during join.
    let v = run(Process::new(big, (8 << 20,)));
    assert_eq!(v.len(), 8 << 20);
    assert!(v.iter().enumerate().all(|(i, b)| *b == i as u8));
}

#[test]
fn a_panic_is_an_error_with_its_message_and_exit_code_1() {
    let mut p = Process::new(panics, ("boom in child".to_string(),));
    p.start().unwrap();
    let err = join(&mut p).unwrap_err();
    assert!(err.is_panic(), "{err}");
    assert!(err.to_string().contains("boom in child"), "{err}");
    assert_eq!(p.exitcode(), Some(1));
}

#[test]
fn an_early_exit_is_reported_with_its_code() {
    let mut p = Process::new(exits, (3,));
    p.start().unwrap();
    match join(&mut p) {
        Err(JoinError::Died { status }) => assert_eq!(status, ExitStatus::Exited(3)),
        other => panic!("expected Died, got {other:?}"),
    }
    assert_eq!(p.exitcode(), Some(3));
}

#[test]
fn exit_zero_without_a_value_is_fine_for_unit() {
    let mut p = Process::new(exits_zero, ());
    p.start().unwrap();
    join(&mut p).unwrap();
    assert_eq!(p.exitcode(), Some(0));
}

#[test]
fn terminate_gives_minus_15_and_kill_minus_9() {
    for (sig, code) in [(Signal::SIGTERM, -15), (Signal::SIGKILL, -9)] {
        let mut p = Process::new(sleeper, ());
        p.start().unwrap();
        assert!(p.is_alive());
        assert_eq!(p.exitcode(), None);
        if sig == Signal::SIGTERM {
            p.terminate().unwrap()
        } else {
            p.kill().unwrap()
        }
        let err = join(&mut p).unwrap_err();
        assert_eq!(err.exit_status(), Some(ExitStatus::Signaled(sig)), "{err}");
        assert!(err.to_string().contains(if code == -15 { "SIGTERM" } else { "SIGKILL" }), "{err}");
        assert_eq!(p.exitcode(), Some(code));
        assert!(!p.is_alive());
        // Signalling an ended process is a no-op, as in Python.
        p.terminate().unwrap();
    }
}

#[test]
fn join_timeout_leaves_the_child_running_and_joinable() {
    let mut p = Process::new(sleeper, ());
    p.start().unwrap();
    let err = p.join_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(p.is_alive());
    assert_eq!(p.exitcode(), None);
    p.kill().unwrap();
    assert_eq!(
        join(&mut p).unwrap_err().exit_status(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
}

#[test]
fn is_alive_is_false_before_start() {
    let p = Process::new(nothing, ());
    assert!(!p.is_alive());
    assert_eq!(p.pid(), None);
    assert_eq!(p.exitcode(), None);
}

#[test]
fn a_second_join_says_already_joined() {
    let mut p = Process::new(nothing, ());
    p.start().unwrap();
    join(&mut p).unwrap();
    assert!(matches!(p.join(), Err(JoinError::AlreadyJoined)));
}

#[test]
fn dropped_children_are_reaped_and_leave_no_zombies() {
    let mut pids = Vec::new();
    for _ in 0..1000 {
        let mut p = Process::new(nothing, ());
        p.start().unwrap();
        pids.push(p.pid().unwrap().as_raw());
        drop(p);
    }
    let deadline = std::time::Instant::now() + WATCHDOG;
    loop {
        let alive: Vec<i32> = active_children().iter().map(|c| c.pid().as_raw()).collect();
        if !pids.iter().any(|p| alive.contains(p)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "watchdog: children did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
    let zombies: Vec<i32> = pids.iter().copied().filter(|pid| is_zombie(*pid)).collect();
    assert!(zombies.is_empty(), "zombies left: {zombies:?}");
}

/// Whether `pid` is a zombie child of this process.
fn is_zombie(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let rest = stat.rsplit_once(')').map(|(_, r)| r.trim_start()).unwrap_or("");
    let mut f = rest.split_whitespace();
    let state = f.next();
    let ppid: Option<u32> = f.next().and_then(|s| s.parse().ok());
    state == Some("Z") && ppid == Some(std::process::id())
}

#[test]
fn the_sentinel_becomes_readable_when_the_child_ends() {
    let mut quick = Process::new(nothing, ());
    let mut slow = Process::new(sleeper, ());
    quick.start().unwrap();
    slow.start().unwrap();
    let ready = proc_core::wait(&[&slow, &quick], Some(WATCHDOG)).unwrap();
    assert_eq!(ready, vec![1]);
    slow.kill().unwrap();
    let ready = proc_core::wait(&[&slow], Some(WATCHDOG)).unwrap();
    assert_eq!(ready, vec![0]);
    join(&mut quick).unwrap();
    let _ = join(&mut slow);
}

#[test]
fn child_stdin_is_dev_null() {
    fn read_stdin() -> (usize, String) {
        let mut s = String::new();
        let n = std::io::stdin().read_line(&mut s).unwrap();
        (n, std::fs::read_link("/proc/self/fd/0").unwrap().display().to_string())
    }
    assert_eq!(run(Process::new(read_stdin, ())), (0, "/dev/null".to_string()));
}

#[test]
fn a_daemon_started_from_a_short_lived_thread_outlives_the_thread() {
    // Linux's parent-death signal follows the creating *thread*; the child must not die with it.
    let mut p = std::thread::spawn(|| {
        let mut p = Process::builder().daemon(true).target(sleeper, ());
        p.start().unwrap();
        p
    })
    .join()
    .unwrap();
    // If the thread's exit had killed the child, it would be dead well within this window.
    let err = p.join_timeout(Duration::from_millis(300)).unwrap_err();
    assert!(err.is_timeout(), "the daemon died with the thread that started it: {err}");
    p.kill().unwrap();
    let _ = join(&mut p);
}
