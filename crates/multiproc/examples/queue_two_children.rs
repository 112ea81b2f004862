//! Seed 003 (队列, 按照编号看注释): the main process puts `'小鬼'` in a queue; child `f` puts
//! `'姑娘，多少钱~'`, child `f2` takes one item and prints it, and the main process takes the other.
//! The queue is created in main and handed to both children as an argument (the seed's notes 8 and
//! 9: a queue made inside a child would be a different queue). The seed sleeps 1 s so that `f2`
//! gets its item first; here main joins `f2` before its own `get`, so that order is certain:
//! `f2` takes `'小鬼'`, which was in the queue first, and main takes the child's message.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1413-L1437

use multiproc::{Process, Queue};

fn f(q: Queue<String>) {
    q.put("姑娘，多少钱~".into()).unwrap();
}

fn f2(q: Queue<String>) {
    println!("》》》》》》》》");
    println!("{}", q.get().unwrap());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new()?;
    q.put("小鬼".to_string()).map_err(|e| e.without_item())?;
    let mut p = Process::new(f, (q.clone(),));
    let mut p2 = Process::new(f2, (q.clone(),));
    p.start()?;
    p2.start()?;
    p2.join()?; // instead of the seed's time.sleep(1)
    println!("{}", q.get()?); // waits for f's put if it has not happened yet
    p.join()?;
    Ok(())
}
