//! Seed 000, 示例4-1 (哨兵的使用): the main process puts 1, 2, 3, 4 and then the sentinel `None`; the
//! one consumer stops when it takes the sentinel, so its last line runs and main can join it. A
//! sentinel in Rust is a queue of `Option<T>`: `Some(item)` for work, `None` to stop.
//! Seed: 000_251826d36db1e8b6.txt#L160-L192

#[path = "common/mod.rs"]
mod common;

use multiproc::ipc::PutError;
use multiproc::{Process, Queue};

fn consumer(input_q: Queue<Option<i32>>) {
    println!("Into consumer: {}", common::ctime());
    while let Some(item) = input_q.get().unwrap() {
        println!("pull {item} out of q");
    }
    println!("Out of consumer: {}", common::ctime()); // runs: the sentinel ended the loop
}

// "procuder" is the seed's spelling, kept so the output reads as the seed's does.
fn producer(sequence: &[i32], output_q: &Queue<Option<i32>>) -> Result<(), PutError<Option<i32>>> {
    println!("Into procuder: {}", common::ctime());
    for &item in sequence {
        output_q.put(Some(item))?;
        println!("put {item} into q");
    }
    println!("Out of procuder: {}", common::ctime());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    let mut cons_p = Process::new(consumer, (q.clone(),));
    cons_p.start()?;
    producer(&[1, 2, 3, 4], &q)?;
    q.put(None)?; // the sentinel
    cons_p.join()?;
    println!("consumer joined, {} items left in q", q.len());
    Ok(())
}
