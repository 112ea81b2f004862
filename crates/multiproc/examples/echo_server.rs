//! Seed 003 (练习, 服务端): a TCP server that hands each accepted connection to a new process, which
//! echoes in upper case until the client closes. The seed's server loops forever and needs clients
//! typed by hand; here a client driver in the same program connects three clients, checks every
//! echo, and the server stops after serving them.
//! Seed: 003_c397d4ee5c18e9b7.txt#L674-L700, 003_c397d4ee5c18e9b7.txt#L710-L721

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use multiproc::{Handle, Process};

const CLIENTS: usize = 3;

fn talk(mut conn: Handle<TcpStream>, client_addr: String) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = conn.read(&mut buf) {
        println!("客户端消息>> {:?} from {client_addr}", String::from_utf8_lossy(&buf[..n]));
        if n == 0 {
            break;
        }
        if conn.write_all(buf[..n].to_ascii_uppercase().as_slice()).is_err() {
            break;
        }
    }
}

fn client(addr: std::net::SocketAddr, id: usize) -> std::io::Result<()> {
    let mut c = TcpStream::connect(addr)?;
    for word in ["hello", "multiproc"] {
        let msg = format!("{word} from client {id}");
        c.write_all(msg.as_bytes())?;
        let mut reply = vec![0u8; msg.len()];
        c.read_exact(&mut reply)?;
        assert_eq!(reply, msg.to_uppercase().as_bytes());
        println!("client {id} got {:?}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TcpListener::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?;
    let driver = std::thread::spawn(move || {
        (0..CLIENTS).map(|id| client(addr, id)).collect::<Result<Vec<_>, _>>()
    });

    let mut talkers = Vec::new();
    for _ in 0..CLIENTS {
        let (conn, client_addr) = server.accept()?;
        let mut p = Process::new(talk, (Handle::new(conn), client_addr.to_string()));
        p.start()?;
        talkers.push(p);
    }
    driver.join().expect("client driver")?;
    for p in &mut talkers {
        p.join()?;
    }
    println!("server: served {CLIENTS} clients, one process each");
    Ok(())
}
