//! Seed 003 (信号量, KTV): a `Semaphore(4)` lets at most four of thirteen users into the KTV at once.
//! The twin also counts who is inside, in shared memory, and reports the most it ever saw.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2040-L2059

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use multiproc::process::Shared;
use multiproc::{Process, Semaphore};

fn go_ktv(sem: Semaphore, user: String, inside: Shared<AtomicU32>, most: Shared<AtomicU32>) {
    let _room = sem.acquire();
    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
    most.fetch_max(now, Ordering::SeqCst);
    println!("{user} 占到一间ktv小屋 ({now} inside)");
    std::thread::sleep(Duration::from_millis(common::random_below(300)));
    inside.fetch_sub(1, Ordering::SeqCst);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sem = Semaphore::new(4)?;
    let inside = Shared::new(AtomicU32::new(0))?;
    let most = Shared::new(AtomicU32::new(0))?;
    let mut p_l = Vec::new();
    for i in 0..13 {
        let mut p =
            Process::new(go_ktv, (sem.clone(), format!("user{i}"), inside.clone(), most.clone()));
        p.start()?;
        p_l.push(p);
    }
    for p in &mut p_l {
        p.join()?;
    }
    println!("=====》");
    println!("most inside at once: {}", most.load(Ordering::SeqCst));
    Ok(())
}
