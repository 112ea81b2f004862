//! Seed 003 (管道, 关闭不用的一端): the parent hands the child both ends, `parent_conn` and
//! `child_conn`; the child reads `child_conn` until end of stream (Python's `EOFError`), which
//! comes only once every copy of `parent_conn` is closed: the parent's, and the child's own (the
//! seed's commented-out `parent_conn.close()`; without it the child would wait for ever).
//!
//! A `Connection` moved into a child's arguments leaves the parent, so the parent passes a
//! [`try_clone`](multiproc::Connection::try_clone) of `parent_conn` and keeps sending on its own.
//! The child first shows the wait, bounded at 0.3 s, then closes its copy and gets end of stream.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1860-L1878

use std::time::Duration;

use multiproc::ipc::RecvError;
use multiproc::{Connection, Pipe, Process};

fn f(mut parent_conn: Connection<String>, mut child_conn: Connection<String>) {
    println!("{}", child_conn.recv().unwrap());
    // The parent has closed its copy of parent_conn by now, but the child's copy is open.
    match child_conn.recv_timeout(Duration::from_millis(300)) {
        Err(RecvError::Timeout) => println!("子进程还开着 parent_conn: 0.3 s 没有 EOFError"),
        other => println!("unexpected: {other:?}"),
    }
    parent_conn.close(); // the line the seed leaves commented out
    match child_conn.recv() {
        Err(RecvError::Disconnected) => println!("EOFError: parent_conn 在所有进程中都关闭了"),
        other => println!("unexpected: {other:?}"),
    }
    child_conn.close();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut parent_conn, child_conn) = Pipe::new()?;
    // child_conn moves into the child: the parent's copy is closed at start (the seed's
    // child_conn.close() in the parent).
    let mut p = Process::new(f, (parent_conn.try_clone()?, child_conn));
    p.start()?;
    parent_conn.send(&"hello".into())?;
    parent_conn.close();
    p.join()?;
    Ok(())
}
