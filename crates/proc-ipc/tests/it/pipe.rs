//! Pipe and Connection: typed messages, EOF, direction, limits, corrupt frames, handles.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use proc_core::{Handle, Process};
use proc_ipc::{Connection, Pipe, RecvError, SendError};

use crate::support::{WATCHDOG, join};

fn send_list(mut conn: Connection<Vec<i64>>) {
    conn.send(&vec![1, -2, 3]).unwrap();
    conn.send(&vec![]).unwrap();
}

#[test]
fn a_duplex_pipe_carries_typed_values_between_processes() {
    let (mut a, b) = Pipe::new().unwrap();
    let mut p = Process::new(send_list, (b,));
    p.start().unwrap();
    assert_eq!(a.recv_timeout(WATCHDOG).unwrap(), vec![1, -2, 3]);
    assert_eq!(a.recv_timeout(WATCHDOG).unwrap(), Vec::<i64>::new());
    join(&mut p).unwrap();
    // The child's end is gone everywhere once the parent drops its copy too.
    assert!(matches!(a.recv_timeout(WATCHDOG), Err(RecvError::Disconnected)));
}

fn write_three(mut w: Connection<String>) {
    for i in 0..3 {
        w.send(&format!("message {i}")).unwrap();
    }
}

#[test]
fn end_of_stream_comes_after_everything_sent_once_every_write_end_is_closed() {
    let (mut r, w) = Pipe::one_way().unwrap();
    let mut p = Process::new(write_three, (w,));
    p.start().unwrap();
    // `w` moved into the arguments and was dropped here: only the child holds a write end.
    let got: Vec<String> = r.iter().map(Result::unwrap).collect();
    assert_eq!(got, ["message 0", "message 1", "message 2"]);
    assert!(matches!(r.recv(), Err(RecvError::Disconnected)));
    join(&mut p).unwrap();
}

#[test]
fn a_read_end_refuses_to_send_and_a_write_end_to_receive() {
    let (mut r, mut w) = Pipe::one_way::<u8>().unwrap();
    assert!(r.is_readable() && !r.is_writable());
    assert!(w.is_writable() && !w.is_readable());
    assert!(matches!(r.send(&1), Err(SendError::ReadOnly)));
    assert!(matches!(w.recv(), Err(RecvError::WriteOnly)));
    assert!(matches!(w.poll(Duration::ZERO), Err(RecvError::WriteOnly)));
}

#[test]
fn sending_to_a_closed_peer_is_a_typed_error() {
    let (a, mut b) = Pipe::new::<u32>().unwrap();
    drop(a);
    assert!(matches!(b.send(&7), Err(SendError::Disconnected)));
    let (r, mut w) = Pipe::one_way::<u32>().unwrap();
    drop(r);
    assert!(matches!(w.send(&7), Err(SendError::Disconnected)));
}

#[test]
fn a_closed_end_says_so() {
    let (mut a, _b) = Pipe::new::<u32>().unwrap();
    a.close();
    assert!(a.is_closed());
    assert!(matches!(a.send(&1), Err(SendError::Closed)));
    assert!(matches!(a.recv(), Err(RecvError::Closed)));
}

#[test]
fn poll_and_recv_timeout_wait_for_a_message() {
    let (mut a, mut b) = Pipe::new::<u32>().unwrap();
    assert!(!a.poll(Duration::ZERO).unwrap());
    assert!(matches!(a.recv_timeout(Duration::from_millis(20)), Err(RecvError::Timeout)));
    b.send(&5).unwrap();
    assert!(a.poll(WATCHDOG).unwrap());
    assert_eq!(a.recv_timeout(WATCHDOG).unwrap(), 5);
}

#[test]
fn bytes_travel_raw_and_a_small_buffer_keeps_the_message() {
    let (mut a, mut b) = Pipe::new::<()>().unwrap();
    b.send_bytes(b"hello world").unwrap();
    let mut small = [0u8; 4];
    match a.recv_bytes_into(&mut small) {
        Err(RecvError::BufferTooSmall { needed: 11, available: 4 }) => {}
        other => panic!("expected BufferTooSmall, got {other:?}"),
    }
    // Still there, whole.
    match a.recv_bytes_max(5) {
        Err(RecvError::TooLarge { len: 11, limit: 5 }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut big = [0u8; 64];
    let n = a.recv_bytes_into(&mut big).unwrap();
    assert_eq!(&big[..n], b"hello world");
    b.send_bytes(b"").unwrap();
    assert_eq!(a.recv_bytes().unwrap(), b"");
}

#[test]
fn sending_over_the_limit_is_refused_before_anything_is_written() {
    let (mut a, mut b) = Pipe::new::<Vec<u8>>().unwrap();
    b.set_max_message_len(1024);
    assert!(matches!(
        b.send_bytes(&[0; 2048]),
        Err(SendError::TooLarge { len: 2048, limit: 1024 })
    ));
    assert!(matches!(b.send(&vec![0u8; 2048]), Err(SendError::TooLarge { .. })));
    b.send(&vec![9u8; 10]).unwrap();
    assert_eq!(a.recv().unwrap(), vec![9u8; 10]);
}

fn send_big(mut w: Connection<()>, len: usize) {
    w.set_max_message_len(len as u64);
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    w.send_bytes(&data).unwrap();
}

#[test]
fn a_256_mib_message_crosses_when_the_limit_allows_it() {
    let len = 256 << 20;
    let (mut r, w) = Pipe::new::<()>().unwrap();
    let mut p = Process::new(send_big, (w, len));
    p.start().unwrap();
    assert!(r.poll(WATCHDOG).unwrap());
    // Over the default limit of the reader: refused, and left in place.
    r.set_max_message_len(1 << 20);
    assert!(matches!(r.recv_bytes(), Err(RecvError::TooLarge { .. })));
    r.set_max_message_len(len as u64);
    let got = r.recv_bytes().unwrap();
    assert_eq!(got.len(), len);
    assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    join(&mut p).unwrap();
}

/// The raw header of a frame, for forging one.
fn header(fds: u32, len: u64) -> Vec<u8> {
    let mut h = 0x3143_504du32.to_le_bytes().to_vec();
    h.extend_from_slice(&fds.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h
}

#[test]
fn a_forged_huge_length_is_refused_without_allocating() {
    let (mut conn, mut peer) = tcp_like_pair();
    peer.write_all(&header(0, 1 << 47)).unwrap();
    match conn.recv() {
        Err(RecvError::TooLarge { len, .. }) => assert_eq!(len, 1 << 47),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Raising the limit to the maximum makes the reader try, growing only as bytes arrive: the
    // peer sends ten bytes and hangs up, and the reader reports a truncated message.
    conn.set_max_message_len(u64::MAX);
    peer.write_all(&[0u8; 10]).unwrap();
    drop(peer);
    assert!(matches!(conn.recv(), Err(RecvError::Truncated)));
}

#[test]
fn garbage_is_a_corrupt_frame_and_the_connection_stays_failed() {
    let (mut conn, mut peer) = tcp_like_pair();
    peer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(matches!(conn.recv(), Err(RecvError::Corrupt(_))));
    assert!(matches!(conn.recv(), Err(RecvError::Corrupt(_))));
}

#[test]
fn a_message_of_another_type_is_a_decode_error_and_is_consumed() {
    let (mut conn, mut peer) = tcp_like_pair();
    let mut frame = header(0, 1);
    frame.push(0xff); // a varint that never ends
    peer.write_all(&frame).unwrap();
    let mut good = header(0, 1);
    good.push(42);
    peer.write_all(&good).unwrap();
    assert!(matches!(conn.recv(), Err(RecvError::Decode(_))));
    assert_eq!(conn.recv().unwrap(), 42);
}

#[test]
fn a_peer_dying_in_the_middle_of_a_message_is_reported_as_truncated() {
    let (mut conn, mut peer) = tcp_like_pair();
    peer.write_all(&header(0, 100)).unwrap();
    peer.write_all(&[1; 10]).unwrap();
    drop(peer);
    assert!(matches!(conn.recv(), Err(RecvError::Truncated)));
}

/// A connection over TCP loopback whose peer is a raw `TcpStream` the test writes bytes to.
fn tcp_like_pair() -> (Connection<u64>, TcpStream) {
    let listener =
        proc_ipc::Listener::bind(proc_ipc::Address::Tcp("127.0.0.1:0".parse().unwrap()), None)
            .unwrap();
    let addr = match listener.address().unwrap() {
        proc_ipc::Address::Tcp(a) => a,
        other => panic!("{other:?}"),
    };
    let peer = TcpStream::connect(addr).unwrap();
    let conn = listener.accept().unwrap();
    (conn, peer)
}

fn use_handles(
    mut conn: Connection<String>,
    stream: Handle<TcpStream>,
    other: Connection<String>,
    file: Handle<std::fs::File>,
) {
    let mut stream = stream.into_inner();
    stream.write_all(b"from the child over TCP").unwrap();
    let mut other = other;
    other.send(&"from the child over a received connection".to_string()).unwrap();
    let mut file = file.into_inner();
    file.write_all(b"from the child into a file").unwrap();
    conn.send(&"done".to_string()).unwrap();
}

type Handles = (Handle<TcpStream>, Connection<String>, Handle<std::fs::File>);

fn receive_handles(mut conn: Connection<String, Handles>, done: Connection<String>) {
    let (stream, other, file) = conn.recv().unwrap();
    use_handles(done, stream, other, file);
}

#[test]
fn handles_sent_through_a_connection_arrive_usable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    let (mut inner_a, inner_b) = Pipe::new::<String>().unwrap();
    let dir = std::env::temp_dir().join(format!("proc-ipc-handles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.txt");
    let file = std::fs::File::create(&path).unwrap();

    let (mut to_child, from_parent) = Pipe::duplex::<Handles, String>().unwrap();
    let (mut done_r, done_w) = Pipe::new::<String>().unwrap();
    let mut p = Process::new(receive_handles, (from_parent, done_w));
    p.start().unwrap();
    to_child.send(&(Handle::new(client), inner_b, Handle::new(file))).unwrap();
    assert_eq!(done_r.recv_timeout(WATCHDOG).unwrap(), "done");
    join(&mut p).unwrap();

    let mut text = String::new();
    server_side.set_read_timeout(Some(WATCHDOG)).unwrap();
    server_side.read_to_string(&mut text).unwrap();
    assert_eq!(text, "from the child over TCP");
    assert_eq!(
        inner_a.recv_timeout(WATCHDOG).unwrap(),
        "from the child over a received connection"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "from the child into a file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_one_way_pipe_cannot_carry_handles() {
    let (_r, mut w) = Pipe::one_way::<Handle<std::fs::File>>().unwrap();
    let f = std::fs::File::open("/dev/null").unwrap();
    assert!(matches!(w.send(&Handle::new(f)), Err(SendError::Handles(_))));
}

#[test]
fn connections_work_between_threads() {
    let (mut a, mut b) = Pipe::new::<u64>().unwrap();
    let t = std::thread::spawn(move || {
        for i in 0..1000 {
            b.send(&i).unwrap();
        }
    });
    let sum: u64 = (0..1000).map(|_| a.recv_timeout(WATCHDOG).unwrap()).sum();
    assert_eq!(sum, 999 * 1000 / 2);
    t.join().unwrap();
}

#[test]
fn a_large_message_is_read_straight_into_the_callers_buffer() {
    let len = 3 << 20;
    let (mut r, w) = Pipe::one_way::<()>().unwrap();
    let mut p = Process::new(send_big, (w, len));
    p.start().unwrap();
    let mut small = vec![0u8; len - 1];
    assert!(matches!(
        r.recv_bytes_into(&mut small),
        Err(RecvError::BufferTooSmall { needed, .. }) if needed == len
    ));
    let mut buf = vec![0u8; len + 10];
    assert_eq!(r.recv_bytes_into(&mut buf).unwrap(), len);
    assert!(buf[..len].iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    assert!(matches!(r.recv_bytes(), Err(RecvError::Disconnected)));
    join(&mut p).unwrap();
}
