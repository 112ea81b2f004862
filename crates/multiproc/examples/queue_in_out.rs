//! Seed 003 (稍微复杂一些的例子, inputQ / outputQ): ten processes each put a line naming their pid
//! and the time into a `Queue(3)`, and ten more each take one line and print it under their own
//! pid. The queue holds three at a time, so the writers wait for the readers. The seed colours the
//! message green; the colour is left out here.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1449-L1492

#[path = "common/mod.rs"]
mod common;

use std::collections::HashSet;

use multiproc::{Process, Queue};

fn input_q(queue: Queue<String>) {
    let info = format!("{}(put):{}", std::process::id(), common::ctime());
    queue.put(info).unwrap();
}

fn output_q(queue: Queue<String>) -> String {
    let info = queue.get().unwrap();
    println!("{}(get):{info}", std::process::id());
    info
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue = Queue::bounded(3)?;
    let mut record1 = Vec::new(); // the input processes
    for _ in 0..10 {
        let mut process = Process::new(input_q, (queue.clone(),));
        process.start()?;
        record1.push(process);
    }
    let mut record2 = Vec::new(); // the output processes
    for _ in 0..10 {
        let mut process = Process::new(output_q, (queue.clone(),));
        process.start()?;
        record2.push(process);
    }
    for p in &mut record1 {
        p.join()?;
    }
    let mut taken = HashSet::new();
    for p in &mut record2 {
        taken.insert(p.join()?);
    }
    println!("主: {} different messages taken, {} left in the queue", taken.len(), queue.len());
    Ok(())
}
