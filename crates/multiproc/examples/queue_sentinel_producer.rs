//! Seed 003 (结束信号 None, 由生产者发): the producer puts five buns and then the end signal `None`
//! itself; the consumer stops when it takes it. The main process prints `主` and returns without
//! joining, as the seed does: its children are joined at exit, as in Python, so both finish. The
//! seed's delays of 1-3 s are 0-30 ms here.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1580-L1608

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::{Process, Queue};

fn consumer(q: Queue<Option<String>>) {
    while let Some(res) = q.get().unwrap() {
        std::thread::sleep(Duration::from_millis(common::random_below(30)));
        println!("{} 吃 {res}", std::process::id());
    }
    println!("{} 收到结束信号", std::process::id());
}

fn producer(q: Queue<Option<String>>) {
    for i in 0..5 {
        std::thread::sleep(Duration::from_millis(common::random_below(30)));
        let res = format!("包子{i}");
        q.put(Some(res.clone())).unwrap();
        println!("{} 生产了 {res}", std::process::id());
    }
    q.put(None).unwrap(); // the end signal, at the end of the producer's own work
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    let mut p1 = Process::new(producer, (q.clone(),)); // 生产者们: 即厨师们
    let mut c1 = Process::new(consumer, (q.clone(),)); // 消费者们: 即吃货们
    p1.start()?;
    c1.start()?;
    println!("主");
    Ok(())
}
