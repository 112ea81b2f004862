//! Seed 004 §2-3 (输出结果存放至 Queue, 进程与线程效率对比): `job` adds up `i + i² + i³` for `i`
//! below a million and puts the sum in a queue; two processes run it, and the main process joins
//! them and adds the two results. Then the seed's comparison: the same work done twice in a row
//! (`normal`), by two threads putting into the same kind of queue (`multithread`), and by two
//! processes (`multicore`). The sum needs 128 bits. The times vary from run to run; the sums do
//! not. (Rust threads run in parallel, with no GIL, so `multithread` is not the slow one here.)
//! Seed: 004_46a3ed6e1207d4fe.txt#L71-L75, 004_46a3ed6e1207d4fe.txt#L82-L92, 004_46a3ed6e1207d4fe.txt#L121-L131, 004_46a3ed6e1207d4fe.txt#L146-L156, 004_46a3ed6e1207d4fe.txt#L163-L168, 004_46a3ed6e1207d4fe.txt#L177-L188

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use multiproc::{Process, Queue};

fn work() -> u128 {
    // black_box keeps the optimiser from replacing the loop by a formula.
    (0..1_000_000u128).map(black_box).map(|i| i + i * i + i * i * i).sum()
}

fn job(q: Queue<u128>) {
    q.put(work()).unwrap();
}

fn multicore() -> Result<u128, Box<dyn Error>> {
    let q = Queue::new()?;
    let mut p1 = Process::new(job, (q.clone(),));
    let mut p2 = Process::new(job, (q.clone(),));
    p1.start()?;
    p2.start()?;
    p1.join()?;
    p2.join()?;
    Ok(q.get()? + q.get()?)
}

fn multithread() -> Result<u128, Box<dyn Error>> {
    let q = Queue::new()?;
    let t1 = std::thread::spawn({
        let q = q.clone();
        move || job(q)
    });
    let t2 = std::thread::spawn({
        let q = q.clone();
        move || job(q)
    });
    t1.join().expect("thread 1");
    t2.join().expect("thread 2");
    Ok(q.get()? + q.get()?)
}

fn normal() -> u128 {
    (0..2).map(|_| work()).sum()
}

fn main() -> Result<(), Box<dyn Error>> {
    // §2: two processes, results through a queue.
    println!("{}", multicore()?);

    // §3: the three ways compared.
    let st = Instant::now();
    println!("normal: {}", normal());
    let st1 = Instant::now();
    println!("normal time: {:?}", st1 - st);
    println!("multithread: {}", multithread()?);
    let st2 = Instant::now();
    println!("multithread time: {:?}", st2 - st1);
    println!("multicore: {}", multicore()?);
    println!("multicore time: {:?}", st2.elapsed());
    Ok(())
}
