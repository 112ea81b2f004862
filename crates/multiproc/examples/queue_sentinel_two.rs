//! Seed 000, 示例4-2 (哨兵的改进): two consumers share the queue, so the main process puts two
//! sentinels after the items, one for each: a consumer that takes a `None` stops, and the other
//! needs its own. Each consumer returns how many items it pulled; together they pulled all four.
//! Seed: 000_251826d36db1e8b6.txt#L203-L237

#[path = "common/mod.rs"]
mod common;

use multiproc::ipc::PutError;
use multiproc::{Process, Queue};

fn consumer(input_q: Queue<Option<i32>>) -> usize {
    println!("Into consumer: {}", common::ctime());
    let mut pulled = 0;
    while let Some(item) = input_q.get().unwrap() {
        println!("pull {item} out of q");
        pulled += 1;
    }
    println!("Out of consumer: {}", common::ctime());
    pulled
}

// "procuder" is the seed's spelling, kept so the output reads as the seed's does.
fn producer(sequence: &[i32], output_q: &Queue<Option<i32>>) -> Result<(), PutError<Option<i32>>> {
    for &item in sequence {
        println!("Into procuder: {}", common::ctime());
        output_q.put(Some(item))?;
        println!("Out of procuder: {}", common::ctime());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    let mut cons_p1 = Process::new(consumer, (q.clone(),));
    cons_p1.start()?;
    let mut cons_p2 = Process::new(consumer, (q.clone(),));
    cons_p2.start()?;

    producer(&[1, 2, 3, 4], &q)?;
    q.put(None)?; // sentinel 1
    q.put(None)?; // sentinel 2

    let (n1, n2) = (cons_p1.join()?, cons_p2.join()?);
    println!(
        "both consumers joined: {n1} + {n2} = {} items pulled, {} left in q",
        n1 + n2,
        q.len()
    );
    Ok(())
}
