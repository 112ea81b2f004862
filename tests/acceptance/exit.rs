//! What happens to children when the parent's main returns, exits, panics or is killed; the child
//! entry in a plain binary; a child whose entry hook did not run.

use std::time::Duration;

use crate::support::{WATCHDOG, Watched, pids, read_until, scenario, scenario_running};

fn mains(stdout: &str) -> usize {
    stdout.lines().filter(|l| l.starts_with("main started in ")).count()
}

#[test]
fn a_plain_binary_starts_children_without_boilerplate() {
    let run = scenario("plain");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("child computed 145"), "{}", run.stdout);
    assert_eq!(mains(&run.stdout), 1, "main ran only in the parent: {}", run.stdout);
}

#[test]
fn non_daemon_children_are_joined_when_main_returns() {
    let run = scenario("return");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("main returns"));
    assert!(
        run.stdout.contains("child: parent still alive after main ended: true"),
        "{}",
        run.stdout
    );
}

#[test]
fn non_daemon_children_are_joined_on_process_exit() {
    let run = scenario("exit");
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stdout.contains("child: parent still alive after main ended: true"),
        "{}",
        run.stdout
    );
}

#[test]
fn non_daemon_children_are_joined_after_a_panic_in_main() {
    let run = scenario("panic");
    assert_eq!(run.code, Some(101), "{}", run.stderr);
    assert!(run.stderr.contains("main panics"), "{}", run.stderr);
    assert!(
        run.stdout.contains("child: parent still alive after main ended: true"),
        "{}",
        run.stdout
    );
}

#[test]
fn daemon_children_are_terminated_at_exit() {
    let run = scenario("daemon");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let daemons = pids(&run.stdout.lines().map(String::from).collect::<Vec<_>>(), "daemon");
    assert_eq!(daemons.len(), 1);
    // The parent terminated and reaped it before exiting: it is gone now.
    assert!(Watched::new(daemons[0]).ended_within(Duration::ZERO));
}

#[test]
fn daemon_children_die_when_the_parent_is_killed_and_others_live_on() {
    let (mut parent, mut out) = scenario_running("sigkill");
    let lines = read_until(&mut out, "ready");
    let daemon = Watched::new(pids(&lines, "daemon")[0]);
    let normal = Watched::new(pids(&lines, "normal")[0]);
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert!(daemon.ended_within(WATCHDOG), "the daemon child outlived its killed parent");
    // Python's rule for non-daemon children: they are orphaned, not killed.
    assert!(!normal.ended_within(Duration::ZERO), "the non-daemon child should live on");
    normal.kill();
    assert!(normal.ended_within(WATCHDOG));
}

#[test]
fn child_stdout_is_flushed_before_it_exits() {
    let run = scenario("flush");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("child wrote without a newline\nparent joined"), "{}", run.stdout);
}

#[test]
fn what_the_parent_printed_before_a_fork_is_written_once() {
    let run = scenario("fork-flush");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.matches("parent wrote").count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "parent wrote without a newline; child wrote without a newline\nparent joined"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_child_whose_entry_hook_did_not_run_fails_loudly_in_the_parent() {
    let run = scenario("hook-missing");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("join error: EntryHookNotRun; exit code Some(87)"),
        "stdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains("entry hook did not run"), "{}", run.stderr);
    // main ran in the child (that is the failure being simulated) but the child started nothing.
    assert_eq!(mains(&run.stdout), 2, "{}", run.stdout);
}

#[test]
fn init_is_the_fallback_when_the_hook_does_not_run() {
    let run = scenario("init-fallback");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("joined: 10"), "{}", run.stdout);
    assert_eq!(mains(&run.stdout), 1, "{}", run.stdout);
}
