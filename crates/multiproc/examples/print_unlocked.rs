//! Seed 001 §五.1 代码1 / seed 003 (进程同步): five processes print to one terminal with no lock;
//! their lines interleave in whatever order the scheduler picks.
//! Seed: 001_e95deaa7eb15f169.txt#L119-L127, 003_c397d4ee5c18e9b7.txt#L980-L993

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::Process;

fn work(n: u32) {
    println!("{n}: {} is running", std::process::id());
    std::thread::sleep(Duration::from_millis(common::random_below(300)));
    println!("{n}: {} is done", std::process::id());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut ps = Vec::new();
    for i in 0..5 {
        let mut p = Process::new(work, (i,));
        p.start()?;
        ps.push(p);
    }
    // The seed never joins; the program would still wait for its children at exit. Joining says so.
    for p in &mut ps {
        p.join()?;
    }
    Ok(())
}
