//! Handles inside arguments arrive usable; nothing else leaks into a child; shared regions are shared.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};

use proc_core::{Handle, Process, Shared, StartMethod};
use serde::{Deserialize, Serialize};

use crate::support::run;

fn open_fds() -> Vec<String> {
    proc_core::os::unix::open_fds()
        .unwrap()
        .into_iter()
        .map(|fd| {
            let target =
                std::fs::read_link(format!("/proc/self/fd/{fd}")).map(|p| p.display().to_string());
            format!("{fd}:{}", target.unwrap_or_default())
        })
        .collect()
}

fn fds_with(_f: Handle<std::fs::File>) -> Vec<String> {
    open_fds()
}

#[test]
fn a_child_holds_only_stdio_its_socket_and_what_it_was_given() {
    // Plenty of fds open here (and not close-on-exec): none of them may reach the child.
    let leaky = std::fs::File::open("/proc/self/status").unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&leaky);
    nix_clear_cloexec(raw);
    let file = std::fs::File::open("/dev/zero").unwrap();
    for m in [StartMethod::SPAWN, StartMethod::FORKSERVER] {
        let fds = run(Process::builder()
            .start_method(m)
            .target(fds_with, (Handle::new(file.try_clone().unwrap()),)));
        // 0-2: stdio; 3: the bootstrap socket; then the parent's pidfd and the /dev/zero we sent.
        let names: Vec<&str> = fds.iter().map(|s| s.split_once(':').unwrap().1).collect();
        assert_eq!(fds.len(), 6, "{m}: {fds:?}");
        assert!(names[0] == "/dev/null", "{m}: stdin {fds:?}");
        assert!(names[3].starts_with("socket:"), "{m}: {fds:?}");
        assert_eq!(names.iter().filter(|n| **n == "anon_inode:[pidfd]").count(), 1, "{m}: {fds:?}");
        assert_eq!(names.iter().filter(|n| **n == "/dev/zero").count(), 1, "{m}: {fds:?}");
        assert!(!names.iter().any(|n| n.ends_with("/status")), "{m}: leaked {fds:?}");
    }
    drop(leaky);
}

fn nix_clear_cloexec(fd: i32) {
    // Make an fd inheritable, the way careless code (or a C library) would.
    // SAFETY: fcntl(F_SETFD) on an fd this test owns only changes its flags.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }, 0);
}

fn serve_once(listener: Handle<TcpListener>) -> String {
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 5];
    conn.read_exact(&mut buf).unwrap();
    conn.write_all(b"pong").unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn a_tcp_listener_works_in_the_child() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut p = Process::new(serve_once, (Handle::new(listener),));
    p.start().unwrap();
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"ping!").unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "pong");
    assert_eq!(crate::support::join(&mut p).unwrap(), "ping!");
}

#[derive(Serialize, Deserialize)]
struct Nested {
    label: String,
    streams: Vec<Handle<UnixStream>>,
}

fn talk(n: Nested) -> usize {
    for (i, mut s) in n.streams.into_iter().enumerate() {
        writeln!(s, "{} {i}", n.label).unwrap();
    }
    n.label.len()
}

#[test]
fn handles_nested_in_structs_arrive_in_place() {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..3 {
        let (a, b) = UnixStream::pair().unwrap();
        ours.push(a);
        theirs.push(Handle::new(b));
    }
    assert_eq!(run(Process::new(talk, (Nested { label: "hi".into(), streams: theirs },))), 2);
    for (i, mut s) in ours.into_iter().enumerate() {
        let mut line = String::new();
        s.read_to_string(&mut line).unwrap();
        assert_eq!(line, format!("hi {i}\n"));
    }
}

fn add_to(counter: Shared<AtomicU64>, n: u64) {
    for _ in 0..n {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_shared_region_is_shared_with_children_and_not_in_dev_shm() {
    let before = dev_shm();
    let counter = Shared::new(AtomicU64::new(0)).unwrap();
    let mut ps: Vec<_> = (0..3).map(|_| Process::new(add_to, (counter.clone(), 1000))).collect();
    for p in &mut ps {
        p.start().unwrap();
    }
    for p in &mut ps {
        crate::support::join(p).unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), 3000);
    assert_eq!(dev_shm(), before, "anonymous regions never appear in /dev/shm");
}

fn dev_shm() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
