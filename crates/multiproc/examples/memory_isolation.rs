//! Seed 001 §2 / seed 003 (进程之间的数据是隔离的): a global changed in the child is unchanged in the
//! parent. Each process has its own memory.
//! Seed: 001_e95deaa7eb15f169.txt#L60-L68, 003_c397d4ee5c18e9b7.txt#L644-L660

use std::sync::atomic::{AtomicI32, Ordering};

use multiproc::Process;

static N: AtomicI32 = AtomicI32::new(100);

fn work() {
    N.store(0, Ordering::SeqCst);
    println!("子进程内:  {}", N.load(Ordering::SeqCst));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut p = Process::new(work, ());
    p.start()?;
    p.join()?;
    println!("主进程内:  {}", N.load(Ordering::SeqCst));
    Ok(())
}
