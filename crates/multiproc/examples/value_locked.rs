//! Seed 004 §6.2 (通过锁机制解决争夺资源问题): the same two processes, each holding the lock for its
//! five increments. The total is always exactly 20.
//! Seed: 004_46a3ed6e1207d4fe.txt#L313-L334

use std::time::Duration;

use multiproc::{Lock, Process, Value};

fn job(v: Value<i32>, num: i32, l: Lock) {
    let _held = l.acquire().expect("no holder dies in this example"); // 锁住
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        v.set(v.get() + num);
        println!("{}", v.get());
    }
    // 释放: the guard releases the lock here
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let l = Lock::new()?;
    let v = Value::new(0i32)?;
    let mut p1 = Process::new(job, (v.clone(), 1, l.clone()));
    let mut p2 = Process::new(job, (v.clone(), 3, l.clone()));
    p1.start()?;
    p2.start()?;
    p1.join()?;
    p2.join()?;
    println!("final value with the lock: {}", v.get());
    // The Rust shape for one guarded update is the value's own lock: `*v.lock() += num`.
    *v.lock() += 1;
    println!("and one more through the value's own lock: {}", v.get());
    Ok(())
}
