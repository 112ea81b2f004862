//! Listener and Client over Unix and TCP sockets, with and without an authkey.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use proc_core::Process;
use proc_ipc::{Address, AuthError, Client, Listener};

use crate::support::{WATCHDOG, join};

fn client(address: Address, key: Option<Vec<u8>>) -> String {
    match Client::connect::<String, String>(address, key.as_deref()) {
        Ok(mut c) => {
            c.send(&"ping".to_string()).unwrap();
            c.recv_timeout(WATCHDOG).unwrap()
        }
        Err(e) => format!("error: {e}"),
    }
}

fn serve_one(listener: &Listener) {
    let mut conn = listener.accept::<String, String>().unwrap();
    let got = conn.recv_timeout(WATCHDOG).unwrap();
    conn.send(&format!("{got} pong")).unwrap();
}

fn tcp() -> Address {
    Address::Tcp("127.0.0.1:0".parse().unwrap())
}

fn unix(name: &str) -> Address {
    let dir = std::env::temp_dir().join(format!("proc-ipc-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Address::Unix(dir.join("sock"))
}

#[test]
fn an_authenticated_client_in_another_process_is_served_over_tcp_and_unix() {
    for address in [tcp(), unix("auth")] {
        let listener = Listener::bind(address, Some(b"key")).unwrap();
        let at = listener.address().unwrap();
        let mut p = Process::new(client, (at, Some(b"key".to_vec())));
        p.start().unwrap();
        serve_one(&listener);
        assert_eq!(join(&mut p).unwrap(), "ping pong");
    }
}

#[test]
fn without_keys_there_is_no_handshake() {
    let listener = Listener::bind(unix("nokey"), None).unwrap();
    let path = match listener.address().unwrap() {
        Address::Unix(p) => p,
        other => panic!("{other:?}"),
    };
    let mut p = Process::new(client, (listener.address().unwrap(), None::<Vec<u8>>));
    p.start().unwrap();
    serve_one(&listener);
    assert_eq!(join(&mut p).unwrap(), "ping pong");
    drop(listener);
    assert!(!path.exists(), "the socket file is removed with the listener");
}

#[test]
fn a_wrong_key_is_a_typed_error_on_both_sides_and_the_listener_goes_on() {
    let listener = Listener::bind(tcp(), Some(b"right key")).unwrap();
    let at = listener.address().unwrap();
    let mut bad = Process::new(client, (at.clone(), Some(b"wrong key".to_vec())));
    bad.start().unwrap();
    assert!(matches!(listener.accept::<String, String>(), Err(AuthError::WrongKey)));
    assert_eq!(join(&mut bad).unwrap(), "error: authentication failed: the peer refused our key");
    let mut good = Process::new(client, (at, Some(b"right key".to_vec())));
    good.start().unwrap();
    serve_one(&listener);
    assert_eq!(join(&mut good).unwrap(), "ping pong");
}

#[test]
fn the_listener_survives_garbage_and_silence() {
    let mut listener = Listener::bind(tcp(), Some(b"key")).unwrap();
    listener.set_handshake_timeout(Duration::from_millis(200));
    let Address::Tcp(addr) = listener.address().unwrap() else { unreachable!() };

    // Garbage instead of an answer to the challenge.
    let mut junk = TcpStream::connect(addr).unwrap();
    junk.write_all(&[0xde; 4096]).unwrap();
    assert!(matches!(listener.accept::<String, String>(), Err(AuthError::Protocol(_))));
    drop(junk);

    // A frame announcing a huge answer: refused by size, nothing allocated.
    let mut huge = TcpStream::connect(addr).unwrap();
    let mut h = 0x3143_504du32.to_le_bytes().to_vec();
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&(1u64 << 40).to_le_bytes());
    huge.write_all(&h).unwrap();
    assert!(matches!(listener.accept::<String, String>(), Err(AuthError::Protocol(_))));
    drop(huge);

    // A client that connects and says nothing.
    let silent = TcpStream::connect(addr).unwrap();
    assert!(matches!(listener.accept::<String, String>(), Err(AuthError::Timeout)));
    drop(silent);

    // A client without a key, against a listener with one: its first message is no answer to the
    // challenge.
    let mut keyless = Process::new(client, (Address::Tcp(addr), None::<Vec<u8>>));
    keyless.start().unwrap();
    assert!(matches!(listener.accept::<String, String>(), Err(AuthError::WrongKey)));
    let _ = keyless.kill();
    let _ = join(&mut keyless);

    // Still serving.
    let mut good = Process::new(client, (Address::Tcp(addr), Some(b"key".to_vec())));
    good.start().unwrap();
    listener.set_handshake_timeout(WATCHDOG);
    serve_one(&listener);
    assert_eq!(join(&mut good).unwrap(), "ping pong");
}
