//! Python's process rules, as typed errors.

use proc_core::{JoinError, Process, SignalError, StartError, StateError};

use crate::support::{join, run};

fn nothing() {}

#[test]
fn starting_twice_is_an_error() {
    let mut p = Process::new(nothing, ());
    p.start().unwrap();
    let err = p.start().unwrap_err();
    assert!(matches!(err, StartError::AlreadyStarted), "{err}");
    assert_eq!(err.to_string(), "cannot start a process twice");
    join(&mut p).unwrap();
}

#[test]
fn join_and_signals_before_start_are_errors() {
    let mut p = Process::new(nothing, ());
    assert!(matches!(p.join(), Err(JoinError::NotStarted)));
    assert!(matches!(p.terminate(), Err(SignalError::NotStarted)));
    assert!(matches!(p.kill(), Err(SignalError::NotStarted)));
    assert_eq!(p.sentinel().unwrap_err(), StateError::NotStarted);
}

#[test]
fn daemon_can_only_be_set_before_start() {
    let mut p = Process::new(nothing, ());
    p.set_daemon(true).unwrap();
    assert!(p.daemon());
    p.start().unwrap();
    assert_eq!(p.set_daemon(false).unwrap_err(), StateError::AlreadyStarted);
    assert_eq!(p.set_daemon(false).unwrap_err().to_string(), "process has already started");
    join(&mut p).unwrap();
}

fn try_to_start_a_child() -> String {
    let mut child = Process::new(nothing, ());
    match child.start() {
        Ok(()) => "started".into(),
        Err(e) => format!("{e:?}: {e}"),
    }
}

#[test]
fn a_daemon_may_not_start_children() {
    let p = Process::builder().daemon(true).target(try_to_start_a_child, ());
    let msg = run(p);
    assert_eq!(msg, "DaemonicParent: daemonic processes are not allowed to have children");
}

#[test]
fn a_non_daemon_child_may_start_children() {
    assert_eq!(run(Process::new(try_to_start_a_child, ())), "started");
}
