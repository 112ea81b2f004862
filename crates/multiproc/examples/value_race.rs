//! Seed 004 §6.1 (不同进程争夺资源): two processes add 1 and 3 to a shared value five times each,
//! without a lock. `v.value += num` is a read and then a write; a `Barrier` between them (standing
//! in for the seed's `sleep`) makes both processes read before either writes, so every round loses
//! one of the two updates and the total is not 20.
//! Seed: 004_46a3ed6e1207d4fe.txt#L288-L306

use multiproc::{Barrier, Process, Value};

fn job(v: Value<i32>, num: i32, both_read: Barrier) {
    for _ in 0..5 {
        let seen = v.get(); // Python's `v.value` (a locked read) …
        both_read.wait().unwrap();
        v.set(seen + num); // … then `v.value = …` (a locked write): not one step
        println!("{}", v.get());
        both_read.wait().unwrap();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let v = Value::new(0i32)?;
    let both_read = Barrier::new(2)?;
    let mut p1 = Process::new(job, (v.clone(), 1, both_read.clone()));
    let mut p2 = Process::new(job, (v.clone(), 3, both_read.clone()));
    p1.start()?;
    p2.start()?;
    p1.join()?;
    p2.join()?;
    println!("final value without a lock: {} (20 if no update had been lost)", v.get());
    Ok(())
}
