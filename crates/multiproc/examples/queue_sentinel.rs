//! Seed 003 (生产者消费者, None 结束信号): a producer puts ten buns; once it is joined, the main
//! process puts one `None` per consumer, and each consumer stops when it takes a `None`. Two
//! consumers need two sentinels, one each.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1618-L1652

use multiproc::{Process, Queue};

fn consumer(q: Queue<Option<String>>) {
    while let Some(res) = q.get().unwrap() {
        println!("{} 吃 {res}", std::process::id());
    }
    println!("{} 收到结束信号", std::process::id());
}

fn producer(q: Queue<Option<String>>) {
    for i in 0..10 {
        let res = format!("包子{i}");
        q.put(Some(res.clone())).unwrap();
        println!("{} 生产了 {res}", std::process::id());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for consumers in [1, 2] {
        println!("== {consumers} consumer(s), {consumers} sentinel(s)");
        let q = Queue::new()?;
        let mut p = Process::new(producer, (q.clone(),));
        let mut cs: Vec<_> = (0..consumers).map(|_| Process::new(consumer, (q.clone(),))).collect();
        p.start()?;
        for c in &mut cs {
            c.start()?;
        }
        p.join()?;
        for _ in 0..consumers {
            q.put(None).map_err(|e| e.without_item())?; // one sentinel per consumer
        }
        for c in &mut cs {
            c.join()?;
        }
    }
    println!("主");
    Ok(())
}
