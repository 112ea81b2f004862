//! Seed 003 (如果在主进程中等待进程池中所有任务都执行完毕后，再统一处理结果，则无需回调函数): a pool of
//! `cpu_count` workers (Python's `Pool()`) gets ten `apply_async(work, (i,))` calls; after `close` and
//! `join` the main process collects every result with `get` and handles them together, so no
//! callback is needed. `work` sleeps 0.1 s (1 s in the seed) and returns `n²`.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2626-L2646

use std::time::Duration;

use multiproc::Pool;

fn work(n: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(100));
    n * n
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let p = Pool::builder().build()?;

    let mut res_l = Vec::new();
    for i in 0..10 {
        let res = p.apply_async(work, (i,))?;
        res_l.push(res);
    }

    p.close();
    p.join()?; // every task has finished

    let mut nums = Vec::new();
    for res in res_l {
        nums.push(res.get()?);
    }
    println!("{nums:?}");
    Ok(())
}
