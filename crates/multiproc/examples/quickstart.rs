//! A short tour of multiproc: `cargo run --release --example quickstart`.
//!
//! It grows with the library: each piece shows what it does in a few lines and prints the result.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use multiproc::{
    Callbacks, Connection, Handle, Lock, Pipe, Pool, Process, Queue, StartMethod, TaskError, Value,
    current_process,
};

/// Any `fn` can run in a child: arguments go in, the return value comes back from `join`.
fn square_sum(label: String, upto: u64) -> (String, u64, u32) {
    ((label), (1..=upto).map(|i| i * i).sum(), std::process::id())
}

/// A panic in a child is an error in the parent, with its message.
fn fails(x: i32) -> i32 {
    if x > 2 {
        panic!("x = {x} is too big");
    }
    x
}

/// Handles (files, sockets) travel inside the arguments and arrive usable.
fn greet(mut stream: Handle<UnixStream>) {
    writeln!(stream, "hello from {} (pid {})", current_process().name(), std::process::id())
        .unwrap();
}

/// A shared counter: `*counter.lock() += 1` is race-free across processes.
fn count(counter: Value<u64>, times: u64) {
    for _ in 0..times {
        *counter.lock() += 1;
    }
}

/// A lock shared by several processes: only one holds it at a time.
fn take_turns(lock: Lock, id: u32) -> u32 {
    let _held = lock.acquire().expect("no holder dies here");
    id
}

/// A consumer: takes words from a queue until it is closed and drained, answers on a pipe.
fn word_lengths(words: Queue<String>, mut out: Connection<(String, usize)>) {
    for w in words.iter() {
        let n = w.chars().count();
        out.send(&(w, n)).unwrap();
    }
}

/// A pool task; one input makes it panic, which fails that task only.
fn cube_or_panic(x: i64) -> i64 {
    assert!(x != 13, "13 is unlucky");
    x * x * x
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    println!("multiproc quickstart — main process pid {}", std::process::id());

    println!("\n1. processes that run Rust functions");
    let mut p = Process::new(square_sum, ("squares".to_string(), 1000));
    p.start()?;
    let (label, sum, pid) = p.join()?;
    println!("   {label} up to 1000 = {sum}, computed in pid {pid}; exitcode {:?}", p.exitcode());

    println!("\n2. a panic in the child is a typed error in the parent");
    let mut p = Process::new(fails, (3,));
    p.start()?;
    match p.join() {
        Ok(v) => println!("   unexpected value {v}"),
        Err(e) => println!("   join error: {e} (exitcode {:?})", p.exitcode()),
    }

    println!("\n3. three start methods, same result");
    // SAFETY: this program has a single thread when it forks.
    for m in [StartMethod::SPAWN, StartMethod::FORKSERVER, unsafe { StartMethod::fork() }] {
        let started = Instant::now();
        let mut p = Process::builder().start_method(m).target(square_sum, (m.to_string(), 10));
        p.start()?;
        let (label, sum, _) = p.join()?;
        println!(
            "   {label:<10} sum = {sum}  ({:.2} ms start to join)",
            started.elapsed().as_secs_f64() * 1e3
        );
    }

    println!("\n4. handles travel to children");
    let (ours, theirs) = UnixStream::pair()?;
    let mut p = Process::builder().name("greeter").target(greet, (Handle::new(theirs),));
    p.start()?;
    let mut line = String::new();
    BufReader::new(ours).read_line(&mut line)?;
    p.join()?;
    println!("   received: {}", line.trim_end());

    println!("\n5. terminate a child that would run forever");
    let mut p = Process::new(|| std::thread::sleep(Duration::from_secs(3600)), ());
    p.start()?;
    p.terminate()?;
    let _ = p.join();
    println!("   exitcode {:?} (killed by SIGTERM)", p.exitcode());

    println!("\n6. a lock and a shared value across processes");
    let lock = Lock::new()?;
    let mut turns: Vec<_> = (0..3).map(|i| Process::new(take_turns, (lock.clone(), i))).collect();
    turns.iter_mut().try_for_each(|p| p.start())?;
    let ids: Vec<u32> = turns.iter_mut().map(|p| p.join()).collect::<Result<_, _>>()?;
    println!("   processes {ids:?} each held the lock in turn");
    let counter = Value::new(0u64)?;
    let mut counters: Vec<_> =
        (0..4).map(|_| Process::new(count, (counter.clone(), 2500))).collect();
    counters.iter_mut().try_for_each(|p| p.start())?;
    counters.iter_mut().try_for_each(|p| p.join())?;
    println!("   4 processes x 2500 locked increments = {}", counter.get());

    println!("\n7. a queue in, a pipe out");
    let words = Queue::new()?;
    let (mut answers, child_end) = Pipe::new()?;
    let mut p = Process::new(word_lengths, (words.clone(), child_end));
    p.start()?;
    for w in ["queue", "pipe", "进程"] {
        words.put(w.to_string()).map_err(|e| e.without_item())?;
    }
    words.close(); // the consumer's loop ends once it has taken everything
    for _ in 0..3 {
        let (w, n) = answers.recv()?;
        println!("   {w:?} has {n} characters");
    }
    p.join()?;
    println!("   queue closed and drained: {} left", words.len());

    println!("\n8. a pool of worker processes");
    let pool = Pool::new(2)?;
    println!("   map: {:?}", pool.map(cube_or_panic, 1..=6)?);
    let (tx, rx) = std::sync::mpsc::channel();
    let r = pool.apply_async_with(
        cube_or_panic,
        (13,),
        Callbacks::new().on_error(move |e: &TaskError| tx.send(e.is_panic()).unwrap()),
    )?;
    match r.get() {
        Err(e) => println!("   apply_async(13): {e}"),
        Ok(v) => println!("   unexpected {v}"),
    }
    println!("   error callback ran in the parent: {}", rx.recv()?);
    let r = pool.imap_unordered(cube_or_panic, 10..=14)?;
    let ok = r.filter(Result::is_ok).count();
    println!(
        "   imap_unordered over 10..=14: {ok} of 5 succeeded; the workers are still {}",
        pool.worker_pids().len()
    );
    pool.close();
    pool.join()?;

    println!("\ndone in {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
    Ok(())
}
