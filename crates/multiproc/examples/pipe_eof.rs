//! Seed 003 (管道): the child sends a list and then a few messages; the parent closes its copy of
//! the child's end so that, once the child is done, `recv` reports end of stream
//! (`RecvError::Disconnected`, Python's `EOFError`) instead of waiting forever.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1860-L1878

use multiproc::ipc::RecvError;
use multiproc::{Connection, Pipe, Process};

fn f(mut conn: Connection<Vec<String>>) {
    conn.send(&vec!["hello".to_string(), "from".into(), "the child".into()]).unwrap();
    for i in 0..3 {
        conn.send(&vec![format!("message {i}")]).unwrap();
    }
    // The child's end closes when the function returns.
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut parent_conn, child_conn) = Pipe::new()?;
    let mut p = Process::new(f, (child_conn,)); // the parent's copy of child_conn moves in and is closed here
    p.start()?;
    loop {
        match parent_conn.recv() {
            Ok(msg) => println!("received {msg:?}"),
            Err(RecvError::Disconnected) => {
                println!("EOF: every copy of the other end is closed");
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    p.join()?;
    Ok(())
}
