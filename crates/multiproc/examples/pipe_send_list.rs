//! Seed 002 (Pipes): the child sends `[42, None, 'hello']` on its end of a duplex `Pipe` and closes
//! it; the parent receives it on the other end. Python's list of mixed types is a tuple here, and
//! its `None` an `Option`.
//! Seed: 002_2f3e4e8f19c04ddd.txt#L114-L123

use multiproc::{Connection, Pipe, Process};

type Msg = (i32, Option<i32>, String);

fn f(mut conn: Connection<Msg>) {
    conn.send(&(42, None, "hello".into())).unwrap();
    conn.close();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut parent_conn, child_conn) = Pipe::new()?;
    let mut p = Process::new(f, (child_conn,));
    p.start()?;
    println!("{:?}", parent_conn.recv()?);
    p.join()?;
    Ok(())
}
