//! Seed 003 (管道, 结束信号 None): instead of closing every end, the main process sends ten
//! messages and then `None`, and the child stops reading when it gets the `None`. A message that
//! may be the end signal is an `Option`. The child returns how many messages it printed.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1897-L1911

use multiproc::{Connection, Pipe, Process};

fn func(mut conn: Connection<Option<String>>) -> usize {
    let mut n = 0;
    while let Some(msg) = conn.recv().unwrap() {
        println!("{msg}");
        n += 1;
    }
    n
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (conn1, mut conn2) = Pipe::new()?;
    let mut p = Process::new(func, (conn1,));
    p.start()?;
    for _ in 0..10 {
        conn2.send(&Some("约吧".into()))?;
    }
    conn2.send(&None)?;
    let n = p.join()?;
    println!("主: the child read {n} messages and stopped at None");
    Ok(())
}
