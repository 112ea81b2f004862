//! Seed 003 (JoinableQueue, 生产者消费者): three producers put ten items each and `join` the queue;
//! two daemon consumers take items and call `task_done`. When every producer's `join` returns, every
//! item has been eaten, so the main process can end and take the daemon consumers with it.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1739-L1789

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::{JoinableQueue, Process};

fn consumer(q: JoinableQueue<String>) {
    while let Ok(res) = q.get() {
        std::thread::sleep(Duration::from_millis(common::random_below(20)));
        println!("{} 吃 {res}", std::process::id());
        q.task_done().unwrap();
    }
}

fn producer(name: String, q: JoinableQueue<String>) {
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(common::random_below(20)));
        let res = format!("{name}{i}");
        q.put(res.clone()).unwrap();
        println!("{} 生产了 {res}", std::process::id());
    }
    println!("{name}生产结束");
    q.join(); // until every item put in the queue has been processed
    println!("{name}生产结束~~~~~");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = JoinableQueue::new()?;
    let mut producers: Vec<_> = ["包子", "骨头", "泔水"]
        .into_iter()
        .map(|name| Process::new(producer, (name.to_string(), q.clone())))
        .collect();
    let mut consumers: Vec<_> =
        (0..2).map(|_| Process::builder().daemon(true).target(consumer, (q.clone(),))).collect();
    for p in producers.iter_mut().chain(consumers.iter_mut()) {
        p.start()?;
    }
    for p in &mut producers {
        p.join()?;
    }
    println!("主 (unfinished tasks: {})", q.unfinished_tasks());
    Ok(())
}
