//! Seed 001 §七.3 / seed 003 (生产者消费者模型): one producer makes ten buns, one consumer eats them,
//! through a `Queue`. In the seeds the consumer loops on `q.get()` forever, so the program never
//! ends (the problem the sentinel examples then solve). Here the consumer waits at most 1 s for the
//! next bun, says that the seed's consumer would be stuck there for good, and stops. The seed's
//! delays of 1-3 s are 0-30 ms here.
//! Seed: 001_e95deaa7eb15f169.txt#L202-L221, 003_c397d4ee5c18e9b7.txt#L1524-L1551

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::ipc::GetError;
use multiproc::{Process, Queue};

fn consumer(q: Queue<String>) {
    loop {
        match q.get_timeout(Duration::from_secs(1)) {
            Ok(res) => {
                std::thread::sleep(Duration::from_millis(common::random_below(30)));
                println!("{} 吃 {res}", std::process::id());
            }
            Err(GetError::Timeout) => {
                println!("消费者: 1 s 没有包子了, 种子里的 q.get() 会永远卡在这里");
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn producer(q: Queue<String>) {
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(common::random_below(30)));
        let res = format!("包子{i}");
        q.put(res.clone()).unwrap();
        println!("{} 生产了 {res}", std::process::id());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    let mut p1 = Process::new(producer, (q.clone(),)); // 生产者们: 即厨师们
    let mut c1 = Process::new(consumer, (q.clone(),)); // 消费者们: 即吃货们
    p1.start()?;
    c1.start()?;
    println!("主");
    p1.join()?;
    c1.join()?;
    println!("主: producer and consumer joined");
    Ok(())
}
