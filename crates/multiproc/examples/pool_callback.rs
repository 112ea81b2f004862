//! Seed 003 (回调函数): `apply_async(func1, (10,), callback=func2)`. `func1` runs in a worker and
//! prints that worker's pid; its result goes to `func2`, the callback, which runs in the main
//! process and prints the main process's pid, as the seed's recorded output shows. The seed's
//! commented-out loop over `range(10, 20)` runs too: with five workers running tasks, every callback
//! still runs in the main process (on the pool's one callback thread). At the end the main process
//! prints the pids its callbacks ran in, then its own.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2454-L2485

use std::collections::BTreeSet;
use std::sync::mpsc;

use multiproc::{Callbacks, Pool};

fn func1(n: u64) -> u64 {
    println!("func1>> {}", std::process::id());
    println!("func1");
    n * n
}

fn func2(nn: &u64) {
    println!("func2>> {}", std::process::id());
    println!("func2");
    println!("{nn}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let main_pid = std::process::id();
    println!("主进程: {main_pid}");
    let p = Pool::new(5)?;
    let (ran_in, pids) = mpsc::channel();

    // The callback gets func1's return value; arguments cannot be passed to it directly.
    let callback = |ran_in: mpsc::Sender<u32>| {
        Callbacks::new().on_success(move |nn: &u64| {
            func2(nn);
            let _ = ran_in.send(std::process::id());
        })
    };
    p.apply_async_with(func1, (10,), callback(ran_in.clone()))?;
    for i in 10..20 {
        p.apply_async_with(func1, (i,), callback(ran_in.clone()))?;
    }
    drop(ran_in);

    p.close();
    p.join()?; // every callback has run
    let pids: BTreeSet<u32> = pids.try_iter().collect();
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    println!("callbacks ran in: {}", pids.join(", "));
    println!("主进程: {main_pid}");
    Ok(())
}
