//! Seed 000, 示例4 (生产者消费者模型): the main process is the producer and puts 1, 2, 3, 4 in a
//! `JoinableQueue`; a daemon consumer pulls each item and calls `task_done`, and `q.join()` returns
//! once all four are done. As in the seed, the consumer's last line never runs: nobody closes the
//! queue, so it waits for more until the daemon is stopped when main returns.
//! Seed: 000_251826d36db1e8b6.txt#L114-L149

#[path = "common/mod.rs"]
mod common;

use multiproc::ipc::PutError;
use multiproc::{JoinableQueue, Process};

fn consumer(input_q: JoinableQueue<i32>) {
    println!("Into consumer: {}", common::ctime());
    while let Ok(item) = input_q.get() {
        println!("pull {item} out of q"); // the useful work goes here
        input_q.task_done().unwrap(); // tell q.join() this item is done
    }
    println!("Out of consumer: {}", common::ctime()); // never printed
}

// "procuder" is the seed's spelling, kept so the output reads as the seed's does.
fn producer(sequence: &[i32], output_q: &JoinableQueue<i32>) -> Result<(), PutError<i32>> {
    println!("Into procuder: {}", common::ctime());
    for &item in sequence {
        output_q.put(item)?;
        println!("put {item} into q");
    }
    println!("Out of procuder: {}", common::ctime());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = JoinableQueue::new()?;
    let mut cons_p = Process::builder().daemon(true).target(consumer, (q.clone(),));
    cons_p.start()?;
    producer(&[1, 2, 3, 4], &q)?;
    q.join(); // until every item put has been marked done
    println!("q.join() returned, unfinished tasks: {}", q.unfinished_tasks());
    Ok(())
}
