//! Event.

use std::time::Duration;

use proc_core::Process;
use proc_sync::Event;

use crate::support::{WATCHDOG, run_all};

fn wait_then_report(e: Event) -> bool {
    e.wait_timeout(WATCHDOG)
}

#[test]
fn set_clear_is_set_and_wait_returns_the_flag() {
    let e = Event::new().unwrap();
    assert!(!e.is_set());
    assert!(!e.wait_timeout(Duration::from_millis(20)));
    e.set();
    assert!(e.is_set());
    assert!(e.wait_timeout(Duration::ZERO));
    e.wait();
    e.clear();
    assert!(!e.is_set());
}

#[test]
fn set_wakes_every_waiting_process() {
    let e = Event::new().unwrap();
    let mut ps: Vec<_> = (0..4).map(|_| Process::new(wait_then_report, (e.clone(),))).collect();
    for p in &mut ps {
        p.start().unwrap();
    }
    e.set();
    for p in &mut ps {
        assert!(crate::support::join(p).unwrap());
    }
    assert_eq!(run_all(vec![Process::new(wait_then_report, (e.clone(),))]), vec![true]);
}
