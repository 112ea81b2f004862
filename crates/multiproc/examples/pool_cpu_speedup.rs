//! Seed 004 §3 (进程与线程效率对比), with a pool: the CPU-bound job (add up `i + i² + i³` for `i`
//! below a million) done twice in a row (`normal`), then twice at once by a pool of two processes,
//! one `apply_async` each, both timed. The seed's `multicore` starts two processes and passes
//! results through a queue (that version is the `queue_results` example); a pool gives the results
//! back itself. The pool is started before the clock, as a pool is started once and reused. On two
//! free cores the pool takes about half the time; on a loaded machine it may not, so the speedup is
//! printed and never checked. The sums must agree.
//! Seed: 004_46a3ed6e1207d4fe.txt#L109-L113, 004_46a3ed6e1207d4fe.txt#L163-L168, 004_46a3ed6e1207d4fe.txt#L177-L188

use std::hint::black_box;
use std::time::Instant;

use multiproc::Pool;

fn job(_run: u32) -> u128 {
    // black_box keeps the optimiser from replacing the loop by a formula.
    (0..1_000_000u128).map(black_box).map(|i| i + i * i + i * i * i).sum()
}

fn normal() -> u128 {
    (0..2).map(job).sum()
}

fn multicore(pool: &Pool) -> Result<u128, multiproc::PoolError> {
    // Two calls rather than `pool.map(job, 0..2)`: a fresh pool's `map` of two items queues both
    // on the first worker, which runs them one after the other.
    let res1 = pool.apply_async(job, (0,))?;
    let res2 = pool.apply_async(job, (1,))?;
    Ok(res1.get()? + res2.get()?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::new(2)?;

    let st = Instant::now();
    println!("normal: {}", normal());
    let st1 = Instant::now();
    let normal_time = st1 - st;
    println!("normal time: {:.3}s", normal_time.as_secs_f64());
    println!("multicore: {}", multicore(&pool)?);
    let multicore_time = st1.elapsed();
    println!("multicore time: {:.3}s", multicore_time.as_secs_f64());
    println!("speedup: {:.2}x", normal_time.as_secs_f64() / multicore_time.as_secs_f64());

    pool.close();
    pool.join()?;
    Ok(())
}
