//! Programs whose `main` returns, exits, panics or is killed with children still running: the exit
//! behaviour tests in `acceptance/exit.rs` run them (`SCENARIO=<mode> scenario`) and watch what
//! happens to the children.

use std::io::Write;
use std::time::Duration;

use multiproc::{Process, StartMethod, parent_process};

/// Long enough that only a kill ends it first; bounded so that a broken run cannot leak a process.
const FOREVER: Duration = Duration::from_secs(60);

/// Waits (bounded) for the parent to end and reports whether it was still alive: a parent that joins
/// its children at exit stays alive, so this reports `true`.
fn outlive_probe() {
    let parent = parent_process().expect("a child has a parent");
    let ended = parent.join_timeout(Duration::from_secs(1));
    println!("child: parent still alive after main ended: {}", !ended);
}

fn sleeper() {
    std::thread::sleep(FOREVER);
}

fn partial_line() {
    print!("child wrote without a newline");
}

fn compute(x: u64) -> u64 {
    x * x + 1
}

fn start<R: serde::de::DeserializeOwned>(mut p: Process<R>) -> Process<R> {
    p.start().expect("start");
    println!("pid {} {}", if p.daemon() { "daemon" } else { "normal" }, p.pid().unwrap());
    p
}

fn main() {
    // The scenario comes from the environment, which children inherit (their argv is not the
    // parent's), so a child that wrongly runs main takes the same path as its parent.
    let mode = std::env::var("SCENARIO").unwrap_or_default();
    if mode == "init-fallback" {
        multiproc::init();
    }
    // Every run of main prints this, so a child that wrongly ran main would show up twice.
    println!("main started in {}", std::process::id());
    match mode.as_str() {
        "plain" => {
            let mut p = Process::new(compute, (12,));
            p.start().unwrap();
            println!("child computed {}", p.join().unwrap());
        }
        "return" => {
            let _child = start(Process::new(outlive_probe, ()));
            println!("main returns");
        }
        "exit" => {
            let _child = start(Process::new(outlive_probe, ()));
            println!("main calls exit");
            std::process::exit(3);
        }
        "panic" => {
            let _child = start(Process::new(outlive_probe, ()));
            panic!("main panics");
        }
        "daemon" => {
            let _child = start(Process::builder().daemon(true).target(sleeper, ()));
            println!("main returns");
        }
        "sigkill" => {
            let _d = start(Process::builder().daemon(true).target(sleeper, ()));
            let _n = start(Process::new(sleeper, ()));
            println!("ready");
            std::io::stdout().flush().unwrap();
            std::thread::sleep(FOREVER);
        }
        "flush" => {
            let mut p = Process::new(partial_line, ());
            p.start().unwrap();
            p.join().unwrap();
            println!();
            println!("parent joined");
        }
        "fork-flush" => {
            print!("parent wrote without a newline; ");
            // SAFETY: this program has one thread here, and the child only prints.
            let fork = unsafe { StartMethod::fork() };
            let mut p = Process::builder().start_method(fork).target(partial_line, ());
            p.start().unwrap();
            p.join().unwrap();
            println!();
            println!("parent joined");
        }
        "hook-missing" => {
            let mut p = Process::builder().entry_hook_ignored_for_testing().target(compute, (2,));
            p.start().unwrap();
            match p.join() {
                Ok(v) => println!("joined: {v}"),
                Err(e) => println!("join error: {e:?}; exit code {:?}", p.exitcode()),
            }
        }
        "init-fallback" => {
            // The fallback for platforms without pre-main hooks: init() first thing in main runs the
            // job in a child whose hook did not.
            let mut p = Process::builder().entry_hook_ignored_for_testing().target(compute, (3,));
            p.start().unwrap();
            println!("joined: {}", p.join().unwrap());
        }
        other => panic!("unknown scenario {other:?}"),
    }
}
