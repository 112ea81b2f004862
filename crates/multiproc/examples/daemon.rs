//! Seed 001 §四 (守护进程): a daemon child ends when the parent's main returns, so `Alex is done` is
//! never printed. (The seed says a daemon "dies with its parent" in general; in Python that is only
//! true at a *normal* exit. multiproc also kills daemon children when the parent itself is killed.)
//! Seed: 001_e95deaa7eb15f169.txt#L103-L112

use std::time::Duration;

use multiproc::Process;

fn task(name: String) {
    println!("{name} is running");
    std::thread::sleep(Duration::from_secs(3));
    println!("{name} is done");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut p = Process::builder().daemon(true).target(task, ("Alex".to_string(),));
    p.start()?;
    println!("主函数");
    // main returns here: the daemon child is terminated and reaped before the program exits.
    Ok(())
}
