//! Seed 003 (Queue 的方法): `Queue(3)` holds three items; `put_nowait` on a full queue and
//! `get_nowait` on an empty one. In Rust they are `try_put` (the item comes back inside
//! `PutError::Full`) and `try_get` (`GetError::Empty`).
//! Seed: 003_c397d4ee5c18e9b7.txt#L1340-L1405

use multiproc::Queue;
use multiproc::ipc::{GetError, PutError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::bounded(3)?;
    for n in [3, 2, 1] {
        q.put(n).map_err(|e| e.without_item())?;
    }
    println!("len = {}, full = {}, empty = {}", q.len(), q.is_full(), q.is_empty());
    match q.try_put(4) {
        Err(PutError::Full(item)) => println!("queue is full: {item} came back"),
        other => println!("unexpected: {other:?}"),
    }
    for _ in 0..3 {
        println!("got {}", q.get()?);
    }
    println!("len = {}, full = {}, empty = {}", q.len(), q.is_full(), q.is_empty());
    match q.try_get() {
        Err(GetError::Empty) => println!("queue is empty"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
