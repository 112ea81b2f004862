//! Seed 003 (多个生产者和消费者), without sentinels: three producers and two consumers; when the
//! producers have been joined, the main process closes the queue, and each consumer's
//! `for item in q.iter()` ends once the queue is drained. Python needs one `None` per consumer
//! for this; here the count of consumers does not matter.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1664-L1707

use multiproc::{Process, Queue};

fn consumer(q: Queue<String>) -> usize {
    let mut eaten = 0;
    for res in q.iter() {
        println!("{} 吃 {res}", std::process::id());
        eaten += 1;
    }
    eaten
}

fn producer(name: String, q: Queue<String>) {
    for i in 0..10 {
        q.put(format!("{name}{i}")).unwrap();
    }
    println!("{name} 生产结束");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    let mut producers: Vec<_> = ["包子", "骨头", "泔水"]
        .into_iter()
        .map(|name| Process::new(producer, (name.to_string(), q.clone())))
        .collect();
    let mut consumers: Vec<_> = (0..2).map(|_| Process::new(consumer, (q.clone(),))).collect();
    for c in &mut consumers {
        c.start()?;
    }
    for p in &mut producers {
        p.start()?;
    }
    for p in &mut producers {
        p.join()?;
    }
    q.close(); // no more puts; consumers finish what is left and stop
    let mut total = 0;
    for c in &mut consumers {
        total += c.join()?;
    }
    println!("主: 2 consumers ate {total} items, {} left", q.len());
    Ok(())
}
