//! Seed 001 §六 (队列, 应用): `Queue(3)` holds `'first'`, `2` and `{'count': 3}`, and they come out
//! first in, first out. A queue carries one type, so the three kinds of item are an enum. The
//! seed's commented-out variants are here too, with 0.1 s timeouts instead of 3 s: a blocking put
//! with a timeout on the full queue, and a get with a timeout on the empty one.
//! Seed: 001_e95deaa7eb15f169.txt#L180-L191

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use multiproc::Queue;
use multiproc::ipc::{GetError, PutError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
enum Item {
    Str(String),
    Int(i64),
    Dict(BTreeMap<String, i64>),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Str(s) => write!(f, "{s}"),
            Item::Int(n) => write!(f, "{n}"),
            Item::Dict(d) => {
                let pairs: Vec<String> = d.iter().map(|(k, v)| format!("'{k}': {v}")).collect();
                write!(f, "{{{}}}", pairs.join(", "))
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::bounded(3)?;
    q.put(Item::Str("first".into())).map_err(|e| e.without_item())?;
    q.put(Item::Int(2)).map_err(|e| e.without_item())?;
    q.put(Item::Dict(BTreeMap::from([("count".into(), 3)]))).map_err(|e| e.without_item())?;
    // q.put('fourth', block=True, timeout=3)
    match q.put_timeout(Item::Str("fourth".into()), Duration::from_millis(100)) {
        Err(PutError::Timeout(item)) => println!("queue still full after 0.1 s: {item} came back"),
        other => println!("unexpected: {other:?}"),
    }
    println!("{}", q.get()?);
    println!("{}", q.get()?);
    println!("{}", q.get()?);
    // q.get(block=True, timeout=3)
    match q.get_timeout(Duration::from_millis(100)) {
        Err(GetError::Timeout) => println!("queue still empty after 0.1 s"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
