//! Seed 004 §4 (进程池): a pool of two processes squares `range(10)` with `map`, which returns the
//! results in input order, then `apply_async(job, (2,))` runs one call and eleven `apply_async`
//! calls are collected with `get`. The seed says `apply_async` "can only pass one value": `args` is
//! the tuple of the function's arguments, as many as it takes; `(2,)` is a tuple of one. What
//! `apply_async` does run is one call, in one worker.
//! Seed: 004_46a3ed6e1207d4fe.txt#L223-L224, 004_46a3ed6e1207d4fe.txt#L233-L249, 004_46a3ed6e1207d4fe.txt#L256-L257

use multiproc::Pool;

fn job(x: u64) -> u64 {
    x * x
}

fn multicore() -> Result<(), Box<dyn std::error::Error>> {
    // Pool() would start cpu_count workers; processes(2) asks for two.
    let pool = Pool::builder().processes(2).build()?;
    let res = pool.map(job, 0..10)?;
    println!("{res:?}");

    let res = pool.apply_async(job, (2,))?;
    let multi_res = (0..10).map(|i| pool.apply_async(job, (i,))).collect::<Result<Vec<_>, _>>()?;
    println!("{}", res.get()?); // one result
    let all = multi_res.into_iter().map(|res| res.get()).collect::<Result<Vec<_>, _>>()?;
    println!("{all:?}"); // many results
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    multicore()
}
