//! Seed 003 (管道): the child sends `"Hello 妹妹"` on its end of a duplex `Pipe` and closes it; the
//! main process receives it on the other end. Then the seed's second snippet: both ends in one
//! process, `conn1.send('123456')` and `conn2.recv()`.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1833-L1842, 003_c397d4ee5c18e9b7.txt#L1848-L1850

use multiproc::{Connection, Pipe, Process};

fn f(mut conn: Connection<String>) {
    conn.send(&"Hello 妹妹".into()).unwrap(); // 子进程发送了消息
    conn.close();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut parent_conn, child_conn) = Pipe::new()?; // 双工通信方式, 两端都可以收发消息
    let mut p = Process::new(f, (child_conn,)); // 将管道的一段给予进程
    p.start()?;
    println!("{}", parent_conn.recv()?); // 主进程接受了消息
    p.join()?;

    let (mut conn1, mut conn2) = Pipe::new()?;
    conn1.send(&"123456".to_string())?;
    println!("{}", conn2.recv()?);
    Ok(())
}
