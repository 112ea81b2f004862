//! spawn, fork and forkserver all run the same targets with the same results.

use proc_core::{ExitStatus, JoinError, Process, Signal, StartMethod, current_process};

use crate::support::{join, run, sleeper};

fn work(x: u64, label: String) -> (u64, String, String) {
    (x * 2, label, current_process().name().to_string())
}

fn panics() {
    panic!("forked panic")
}

fn methods() -> Vec<StartMethod> {
    // SAFETY: the targets below use only their arguments, multiproc's fork-aware state and the
    // allocator (fork-safe in glibc); they take no lock another test thread could hold.
    vec![StartMethod::SPAWN, StartMethod::FORKSERVER, unsafe { StartMethod::fork() }]
}

#[test]
fn every_method_returns_values() {
    for m in methods() {
        let p = Process::builder()
            .start_method(m)
            .name(format!("via-{m}"))
            .target(work, (21, "x".to_string()));
        assert_eq!(p.start_method(), m);
        assert_eq!(run(p), (42, "x".to_string(), format!("via-{m}")), "{m}");
    }
}

#[test]
fn every_method_reports_panics_and_signals() {
    for m in methods() {
        let mut p = Process::builder().start_method(m).target(panics, ());
        p.start().unwrap();
        let err = join(&mut p).unwrap_err();
        assert!(err.is_panic() && err.to_string().contains("forked panic"), "{m}: {err}");
        assert_eq!(p.exitcode(), Some(1), "{m}");

        let mut p = Process::builder().start_method(m).target(sleeper, ());
        p.start().unwrap();
        p.kill().unwrap();
        match join(&mut p) {
            Err(JoinError::Died { status }) => {
                assert_eq!(status, ExitStatus::Signaled(Signal::SIGKILL), "{m}")
            }
            other => panic!("{m}: expected Died, got {other:?}"),
        }
        assert_eq!(p.exitcode(), Some(-9), "{m}");
    }
}

#[test]
fn fork_runs_capturing_closures() {
    let data: Vec<u32> = (1..=3).collect();
    let offset = 10;
    // SAFETY: the closure only reads its own captures.
    let p = unsafe {
        Process::builder().fork_closure(move || data.iter().map(|x| x + offset).sum::<u32>())
    };
    assert_eq!(run(p), 36);
}

#[test]
fn closures_need_fork() {
    // SAFETY: as above.
    let mut p = unsafe { Process::builder().fork_closure(|| 1u8) };
    // The builder set fork; asking for another method is refused at start.
    assert_eq!(p.start_method().name(), "fork");
    p.start().unwrap();
    assert_eq!(join(&mut p).unwrap(), 1);
}

#[test]
fn forkserver_children_are_not_our_os_children_but_report_the_logical_parent() {
    fn parents() -> (u32, i32) {
        (std::os::unix::process::parent_id(), proc_core::parent_process().unwrap().pid().as_raw())
    }
    let (os_parent, logical) =
        run(Process::builder().start_method(StartMethod::FORKSERVER).target(parents, ()));
    assert_eq!(logical as u32, std::process::id());
    assert_ne!(os_parent, std::process::id(), "a forkserver child's OS parent is the server");
}

#[test]
fn the_default_start_method_is_spawn() {
    assert_eq!(proc_core::get_start_method(), StartMethod::SPAWN);
    assert!(proc_core::set_start_method(StartMethod::FORKSERVER).is_err());
    assert_eq!(proc_core::get_all_start_methods(), &["spawn", "fork", "forkserver"]);
}
