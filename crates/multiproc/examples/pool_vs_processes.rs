//! Seed 003 (八 进程池和multiprocess.Pool, the timing comparison): `func` prints its argument, once
//! for each of `range(100)`, first through a pool of five processes (`poll.map(func, range(100))`,
//! the seed's commented-out line), then with 100 processes started and joined one each. Both runs
//! are timed and printed as `t1>>` and `t2>>`; the times vary from run to run and machine to
//! machine (the seed got 0.51 s against 12.09 s), the hundred numbers of each run do not. The pool's
//! time includes starting its five workers.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2203-L2227, 003_c397d4ee5c18e9b7.txt#L2233-L2245

use std::time::Instant;

use multiproc::{Pool, Process};

fn func(n: u32) {
    println!("{n}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The pool.
    let s1 = Instant::now();
    let poll = Pool::new(5)?;
    poll.map(func, 0..100)?;
    let t1 = s1.elapsed();
    poll.close();
    poll.join()?;
    println!("pool: 100 tasks on 5 processes");

    // 2. A process per task.
    let s2 = Instant::now();
    let mut p_list = Vec::new();
    for i in 0..100 {
        let mut p = Process::new(func, (i,));
        p.start()?;
        p_list.push(p);
    }
    for pp in &mut p_list {
        pp.join()?;
    }
    let t2 = s2.elapsed();
    println!("processes: 100 tasks on 100 processes");

    println!("t1>> {:.6}", t1.as_secs_f64());
    println!("t2>> {:.6}", t2.as_secs_f64());
    Ok(())
}
