//! The facade re-exports proc-core and its Python-famous names work from the root.

use multiproc::Process;

fn double(x: i32) -> i32 {
    x * 2
}

#[test]
fn process_through_the_facade() {
    let mut p = Process::new(double, (21,));
    p.start().unwrap();
    assert_eq!(p.join_timeout(std::time::Duration::from_secs(60)).unwrap(), 42);
    assert_eq!(multiproc::process::current_process().name(), "MainProcess");
}
