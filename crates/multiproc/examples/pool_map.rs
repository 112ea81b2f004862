//! Seed 003 (八 进程池和multiprocess.Pool): `Pool(5).map(func, [(1, 2), 'alex'])` runs `func` on each
//! item in one of five worker processes, and `func` prints what it got. The seed calls `map`
//! asynchronous and says it "comes with close and join"; neither is true. `map` blocks until every
//! item is done and returns the results in input order, and it leaves the pool open: the seed's
//! commented-out `poll.map(func2, …)` runs afterwards on the same workers (over `range(3)` here, not
//! `range(100)`). Only `close` and `join` end the pool.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2203-L2227

use std::fmt;

use multiproc::Pool;
use serde::{Deserialize, Serialize};

/// The seed's list mixes a tuple and a string; Rust says so with an enum.
#[derive(Serialize, Deserialize)]
enum Item {
    Pair(i32, i32),
    Name(String),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Pair(a, b) => write!(f, "({a}, {b})"),
            Item::Name(s) => write!(f, "{s}"),
        }
    }
}

fn func(n: Item) {
    println!("{n}");
}

fn func2(n: i64) {
    for _ in 0..3 {
        println!("{}", n - 1);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let poll = Pool::new(5)?;
    let results = poll.map(func, [Item::Pair(1, 2), Item::Name("alex".into())])?;
    // Both items were printed before `map` returned: it waited for them.
    println!("map returned {} results: {results:?}", results.len());

    // The pool is still open after `map`.
    poll.map(func2, 0..3)?;
    println!("the second map ran on the same pool");

    poll.close();
    poll.join()?;
    println!("pool closed and joined");
    Ok(())
}
