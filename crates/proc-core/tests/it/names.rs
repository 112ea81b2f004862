//! Names, identities, current_process, parent_process, cpu counts.

use proc_core::{Process, StartMethod, current_process, parent_process};

use crate::support::run;

fn whoami() -> (String, u32, bool, Option<(i32, String)>, Vec<u32>) {
    let me = current_process();
    let parent = parent_process().map(|p| (p.pid().as_raw(), p.name().to_string()));
    (me.name().to_string(), me.pid().as_raw() as u32, me.daemon(), parent, me.identity().to_vec())
}

fn grandchild_names() -> (String, String) {
    let mut p = Process::new(whoami, ());
    let planned = p.name().to_string();
    p.start().unwrap();
    let (name, ..) = p.join_timeout(crate::support::WATCHDOG).unwrap();
    (planned, name)
}

type WhoAmI = (String, u32, bool, Option<(i32, String)>, Vec<u32>);

fn fork() -> StartMethod {
    // SAFETY: the targets below use only multiproc's fork-aware state and the allocator (fork-safe
    // in glibc); they take no lock another test thread could hold.
    unsafe { StartMethod::fork() }
}

/// In a fork child: forks a grandchild and reports what it says, then who this child is.
fn forked_grandchild() -> (WhoAmI, String, u32, Vec<u32>) {
    let mut p = Process::builder().start_method(fork()).target(whoami, ());
    p.start().unwrap();
    let grandchild = p.join_timeout(crate::support::WATCHDOG).unwrap();
    let me = current_process();
    (grandchild, me.name().to_string(), me.pid().as_raw() as u32, me.identity().to_vec())
}

#[test]
fn the_main_process_is_main_process() {
    let me = current_process();
    assert_eq!(me.name(), "MainProcess");
    assert!(!me.daemon());
    assert!(me.identity().is_empty());
    assert_eq!(me.pid().as_raw() as u32, std::process::id());
    assert!(parent_process().is_none());
    assert_eq!(current_process().authkey(), me.authkey());
}

#[test]
fn children_are_named_process_n_and_know_their_parent() {
    let p = Process::new(whoami, ());
    let planned = p.name().to_string();
    assert!(planned.starts_with("Process-"), "{planned}");
    let n: u32 = planned["Process-".len()..].parse().expect("Process-N");
    let (name, pid, daemon, parent, identity) = run(p);
    assert_eq!(name, planned);
    assert_ne!(pid, std::process::id());
    assert!(!daemon);
    assert_eq!(parent, Some((std::process::id() as i32, "MainProcess".to_string())));
    assert_eq!(identity, vec![n]);
}

#[test]
fn grandchildren_are_named_process_n_m() {
    let p = Process::new(grandchild_names, ());
    let parent_name = p.name().to_string();
    let (planned, actual) = run(p);
    assert_eq!(planned, format!("{parent_name}:1"));
    assert_eq!(actual, planned);
}

#[test]
fn a_fork_child_of_a_fork_child_knows_its_own_parent() {
    let p = Process::builder().start_method(fork()).target(forked_grandchild, ());
    let child = p.name().to_string();
    let ((name, pid, _, parent, identity), child_name, child_pid, child_identity) = run(p);
    assert_eq!(child_name, child);
    assert_eq!(name, format!("{child}:1"));
    assert_ne!(pid, child_pid);
    assert_eq!(parent, Some((child_pid as i32, child.clone())));
    assert_eq!(identity, [child_identity, vec![1]].concat());
}

#[test]
fn a_given_name_is_used_and_daemon_flag_is_seen() {
    let p = Process::builder().name("worker-7").daemon(true).target(whoami, ());
    let (name, _, daemon, ..) = run(p);
    assert_eq!(name, "worker-7");
    assert!(daemon);
}

#[test]
fn the_authkey_is_inherited() {
    fn key() -> Vec<u8> {
        current_process().authkey().as_bytes().to_vec()
    }
    assert_eq!(run(Process::new(key, ())), current_process().authkey().as_bytes().to_vec());
}

#[test]
fn cpu_counts_are_positive() {
    assert!(proc_core::cpu_count() >= 1);
    assert!(proc_core::process_cpu_count() >= 1);
    assert!(proc_core::process_cpu_count() <= proc_core::cpu_count());
}

#[test]
fn parent_process_sees_the_parent_alive() {
    fn parent_alive() -> bool {
        parent_process().expect("a child has a parent").is_alive()
    }
    assert!(run(Process::new(parent_alive, ())));
}
