//! Seed 001 §五.1 代码2 / seed 003 (加锁): the same five processes take a `Lock` around their two
//! prints, so each process's "running" line is directly followed by its "done" line: concurrent
//! became serial, and the output is no longer mixed.
//! Seed: 001_e95deaa7eb15f169.txt#L129-L140, 003_c397d4ee5c18e9b7.txt#L1033-L1089

use std::time::Duration;

use multiproc::{Lock, Process};

fn work(n: u32, lock: Lock) {
    // Python's lock.acquire() … lock.release(): the guard releases when it goes out of scope.
    let _held = lock.acquire().expect("no holder dies in this example");
    println!("{n}: {} is running", std::process::id());
    std::thread::sleep(Duration::from_millis(100));
    println!("{n}:{} is done", std::process::id());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lock = Lock::new()?;
    let mut ps = Vec::new();
    for i in 0..5 {
        let mut p = Process::new(work, (i, lock.clone()));
        p.start()?;
        ps.push(p);
    }
    for p in &mut ps {
        p.join()?;
    }
    Ok(())
}
