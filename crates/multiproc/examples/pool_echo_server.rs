//! Seed 003 (进程池版的socket并发聊天): a TCP server whose connections are served by a pool of four
//! processes: the main process accepts, and hands each connection to the pool with
//! `apply_async(talk, (conn,))`; `talk` prints its pid and echoes in upper case until the client
//! closes. Six clients connect at once, so two wait until a worker is free, and only four pids ever
//! serve. The seed's server loops forever on `accept` and its clients read from the keyboard; here
//! six client threads in the same program each send three messages and check the echoes, and the
//! server accepts exactly six connections, then closes the pool and joins it. The connection travels
//! to the worker as a `Handle<TcpStream>`.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2386-L2413, 003_c397d4ee5c18e9b7.txt#L2421-L2424, 003_c397d4ee5c18e9b7.txt#L2430-L2436

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use multiproc::{Handle, Pool};

const WORKERS: usize = 4;
const CLIENTS: usize = 6;
/// Bounds every blocking read, so that a lost peer ends the example instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Serves one client; returns the pid that served it.
fn talk(mut conn: Handle<TcpStream>) -> u32 {
    println!("进程pid: {}", std::process::id());
    let _ = conn.set_read_timeout(Some(PATIENCE));
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break, // the client closed (or went away)
            Ok(n) => {
                if conn.write_all(&buf[..n].to_ascii_uppercase()).is_err() {
                    break;
                }
            }
        }
    }
    std::process::id()
}

fn client(addr: SocketAddr, id: usize) -> io::Result<()> {
    let mut client = TcpStream::connect(addr)?;
    client.set_read_timeout(Some(PATIENCE))?;
    for word in ["hello", "pool", "bye"] {
        let msg = format!("{word} from client {id}");
        client.write_all(msg.as_bytes())?;
        let mut reply = vec![0u8; msg.len()];
        client.read_exact(&mut reply)?;
        if reply != msg.to_uppercase().as_bytes() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong echo"));
        }
        println!("client {id} got {:?}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TcpListener::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?;
    let p = Pool::new(WORKERS)?;

    let clients: Vec<_> =
        (0..CLIENTS).map(|id| std::thread::spawn(move || client(addr, id))).collect();

    let mut served = Vec::new();
    for _ in 0..CLIENTS {
        let (conn, _) = server.accept()?;
        served.push(p.apply_async(talk, (Handle::new(conn),))?);
        // apply(talk, …) would serve one client at a time.
    }
    for c in clients {
        c.join().expect("client thread")?;
    }
    p.close();
    let mut pids = BTreeSet::new();
    for mut res in served {
        pids.insert(res.get_timeout(PATIENCE)?);
    }
    p.join()?;
    println!("server: served {CLIENTS} clients with a pool of {WORKERS} processes");
    println!("distinct pids that served: at most {WORKERS}: {}", pids.len() <= WORKERS);
    Ok(())
}
