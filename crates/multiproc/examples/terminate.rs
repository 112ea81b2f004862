//! Seed 001 §4: `terminate()` and `is_alive()`. Right after `terminate()` the child may still be
//! alive (the signal takes a moment), as the seed warns; after `join` it is not, and its exit code
//! says SIGTERM (-15).
//! Seed: 001_e95deaa7eb15f169.txt#L83-L95

use std::time::Duration;

use multiproc::Process;

fn task(name: String) {
    println!("{name} is running");
    std::thread::sleep(Duration::from_secs(3));
    println!("{name} is done");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut p = Process::new(task, ("Alex".to_string(),));
    p.start()?;
    println!("{}", p.pid().expect("started"));
    p.terminate()?;
    println!("is_alive right after terminate: {}", p.is_alive());
    println!("开始");
    let _ = p.join();
    println!("is_alive after join: {}", p.is_alive());
    println!("exitcode: {:?}", p.exitcode());
    Ok(())
}
