//! Seed 003 (多个生产者和多个消费者, 结束信号): three producers and two consumers share a queue. The
//! main process joins the producers and then puts one `None` per consumer: a consumer that takes a
//! `None` stops, so the other needs its own. (The seed creates `c2` but never starts it; here both
//! consumers run.) Each consumer returns how many items it ate. The seed's delays of 1-3 s are
//! 0-30 ms here.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1664-L1707

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::{Process, Queue};

fn consumer(q: Queue<Option<String>>) -> usize {
    let mut eaten = 0;
    while let Some(res) = q.get().unwrap() {
        std::thread::sleep(Duration::from_millis(common::random_below(30)));
        println!("{} 吃 {res}", std::process::id());
        eaten += 1;
    }
    println!("{} 收到结束信号", std::process::id());
    eaten
}

fn producer(name: String, q: Queue<Option<String>>) {
    for i in 0..2 {
        std::thread::sleep(Duration::from_millis(common::random_below(30)));
        let res = format!("{name}{i}");
        q.put(Some(res.clone())).unwrap();
        println!("{} 生产了 {res}", std::process::id());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    // 生产者们: 即厨师们
    let mut producers: Vec<_> = ["包子", "骨头", "泔水"]
        .into_iter()
        .map(|name| Process::new(producer, (name.to_string(), q.clone())))
        .collect();
    // 消费者们: 即吃货们
    let mut consumers: Vec<_> = (0..2).map(|_| Process::new(consumer, (q.clone(),))).collect();
    for p in &mut producers {
        p.start()?;
    }
    for c in &mut consumers {
        c.start()?;
    }
    for p in &mut producers {
        p.join()?; // every producer must be done before the end signals go in
    }
    for _ in &consumers {
        q.put(None)?; // one end signal per consumer
    }
    let mut total = 0;
    for c in &mut consumers {
        total += c.join()?;
    }
    println!("主: 2 consumers ate {total} items, {} left in q", q.len());
    Ok(())
}
