//! Seed 003 (同步与异步两种执行方式, 异步): `Pool(3).apply_async(work, (i,))` ten times, then `close`,
//! `join`, and `get` on each result in the order submitted. `work` prints its worker's pid, sleeps
//! a random while (up to 0.2 s here, up to 1 s in the seed) and returns `n²`; at most three run at
//! once. As printed, the seed's `res_l.append(res)` sits outside the loop (it would keep only the
//! last result) and `p.close()` outside `if __name__ == '__main__'`; this follows what it means.
//! Its comment says the main process must `join` before `get`: it need not, `get` waits for its own
//! result, and `close` + `join` only wait for all of them at once.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2282-L2290, 003_c397d4ee5c18e9b7.txt#L2295-L2311

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::Pool;

fn work(n: u64) -> u64 {
    println!("{} run", std::process::id());
    std::thread::sleep(Duration::from_millis(common::random_below(200)));
    n * n
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let p = Pool::new(3)?;
    let mut res_l = Vec::new();
    for i in 0..10 {
        // Returns at once; the pool runs the call when a worker is free.
        let res = p.apply_async(work, (i,))?;
        res_l.push(res);
    }

    p.close(); // no more tasks; the submitted ones still run
    p.join()?; // wait for the workers to finish them and exit
    for res in res_l {
        println!("{}", res.get()?);
    }
    Ok(())
}
