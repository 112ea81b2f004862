//! Seed 002 (进程间通讯, Queues): three processes each put `[n, 'hello']` in one queue, and the
//! main process takes the three out. Python's two-item list of mixed types is a tuple here.
//! Seed: 002_2f3e4e8f19c04ddd.txt#L93-L108

use multiproc::{Process, Queue};

fn f(q: Queue<(i32, String)>, n: i32) {
    q.put((n, "hello".into())).unwrap();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    let mut p_list = Vec::new();
    for i in 0..3 {
        let mut p = Process::new(f, (q.clone(), i));
        p.start()?;
        p_list.push(p);
    }
    let mut sum = 0;
    for _ in 0..3 {
        let (n, s) = q.get()?;
        println!("[{n}, '{s}']");
        sum += n;
    }
    for p in &mut p_list {
        p.join()?;
    }
    println!("主: got 3 items, n adds up to {sum}, {} left in q", q.len());
    Ok(())
}
