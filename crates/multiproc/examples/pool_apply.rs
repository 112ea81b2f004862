//! Seed 003 (同步与异步两种执行方式, 同步): `Pool(3).apply(work, (i,))` in a loop. `apply` is
//! synchronous: it hands one call to a worker and waits for its result, so the ten calls run one
//! after the other and the pool's three workers never work at the same time. Each call prints the
//! pid of the worker that runs it and returns `n²`; the loop prints each result as it arrives
//! (the seed only prints the list at the end), so the output shows the waiting. `work` sleeps 0.1 s
//! instead of the seed's 1 s.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2261-L2276

use std::time::Duration;

use multiproc::Pool;

fn work(n: u64) -> u64 {
    println!("{} run", std::process::id());
    std::thread::sleep(Duration::from_millis(100));
    n * n
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let p = Pool::new(3)?;
    let mut res_l = Vec::new();
    for i in 0..10 {
        // Waits here until work(i) has run.
        let res = p.apply(work, (i,))?;
        println!("work({i}) = {res}");
        res_l.push(res);
    }
    println!("{res_l:?}");
    Ok(())
}
