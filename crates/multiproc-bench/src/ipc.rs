//! queue_*, simplequeue_*, pipe_rtt, pipe_1k and pipe_1m, with a raw socket pair (and raw pipe)
//! as the baseline.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use multiproc::ipc::{Connection, Pipe, Queue, SimpleQueue};
use multiproc::{Barrier, Handle, Process};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

use crate::sync::{rtt_figure, time_round_trips};
use crate::{Better, Figure, Opts, Workload, measure, mono_ns};

/// What a queue workload carries.
trait Payload: Serialize + DeserializeOwned + 'static {
    fn make(size: usize) -> Self;
}

impl Payload for u64 {
    fn make(_: usize) -> Self {
        12345
    }
}

impl Payload for ByteBuf {
    fn make(size: usize) -> Self {
        ByteBuf::from(vec![b'x'; size])
    }
}

fn q_producer<T: Payload>(q: Queue<T>, start: Barrier, n: u64, size: usize) -> u64 {
    let item = T::make(size);
    start.wait().unwrap();
    let t = mono_ns();
    for _ in 0..n {
        q.put_ref(&item).unwrap();
    }
    t
}

fn q_consumer<T: Payload>(q: Queue<T>, start: Barrier, n: u64) -> u64 {
    start.wait().unwrap();
    for _ in 0..n {
        let _item: T = q.get().unwrap();
    }
    mono_ns()
}

fn sq_producer<T: Payload>(q: SimpleQueue<T>, start: Barrier, n: u64, size: usize) -> u64 {
    let item = T::make(size);
    start.wait().unwrap();
    let t = mono_ns();
    for _ in 0..n {
        q.put_ref(&item).unwrap();
    }
    t
}

fn sq_consumer<T: Payload>(q: SimpleQueue<T>, start: Barrier, n: u64) -> u64 {
    start.wait().unwrap();
    for _ in 0..n {
        let _item: T = q.get().unwrap();
    }
    mono_ns()
}

/// One run: producers and consumers meet at a barrier; the time from the first producer's start
/// to the last consumer's end. Returns items/s and MB/s.
fn queue_run<T: Payload>(
    simple: bool,
    n: u64,
    size: usize,
    producers: u64,
    consumers: u64,
) -> Result<(f64, f64), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let start = Barrier::new((producers + consumers) as u32).map_err(|x| e(&x))?;
    let (per_p, per_c) = (n / producers, n / consumers);
    let mut ps: Vec<Process<u64>> = Vec::new();
    let mut cs: Vec<Process<u64>> = Vec::new();
    if simple {
        let q = SimpleQueue::<T>::new().map_err(|x| e(&x))?;
        for _ in 0..producers {
            ps.push(Process::new(sq_producer::<T>, (q.clone(), start.clone(), per_p, size)));
        }
        for _ in 0..consumers {
            cs.push(Process::new(sq_consumer::<T>, (q.clone(), start.clone(), per_c)));
        }
    } else {
        let q = Queue::<T>::new().map_err(|x| e(&x))?;
        for _ in 0..producers {
            ps.push(Process::new(q_producer::<T>, (q.clone(), start.clone(), per_p, size)));
        }
        for _ in 0..consumers {
            cs.push(Process::new(q_consumer::<T>, (q.clone(), start.clone(), per_c)));
        }
    }
    for p in ps.iter_mut().chain(cs.iter_mut()) {
        p.start().map_err(|x| e(&x))?;
    }
    let mut first = u64::MAX;
    for p in &mut ps {
        first = first.min(p.join().map_err(|x| e(&x))?);
    }
    let mut last = 0;
    for c in &mut cs {
        last = last.max(c.join().map_err(|x| e(&x))?);
    }
    let secs = last.saturating_sub(first) as f64 / 1e9;
    Ok((n as f64 / secs, n as f64 * size as f64 / secs / 1e6))
}

fn queue_figure<T: Payload>(
    id: &'static str,
    opts: &Opts,
    full: u64,
    size: usize,
    simple: bool,
    producers: u64,
    consumers: u64,
) -> Result<Figure, String> {
    let n = opts.size(full, (full / 50).max(1000));
    let mut mbs = Vec::new();
    let mut count = 0;
    let samples = measure(opts, || {
        let (rate, mb) = queue_run::<T>(simple, n, size, producers, consumers)?;
        count += 1;
        if count > opts.warmup {
            mbs.push(mb);
        }
        Ok(rate)
    })?;
    let mut f = Figure::new(id, "multiproc", "items/s", Better::Higher, n, samples);
    if size > 8 {
        f.extra.insert("MB/s".into(), crate::Stats::of(&mbs));
    }
    Ok(f)
}

fn queue_8b(o: &Opts) -> Result<Figure, String> {
    queue_figure::<u64>("queue_8b", o, 100_000, 8, false, 1, 1)
}
fn queue_1k(o: &Opts) -> Result<Figure, String> {
    queue_figure::<ByteBuf>("queue_1k", o, 100_000, 1024, false, 1, 1)
}
fn queue_64k(o: &Opts) -> Result<Figure, String> {
    queue_figure::<ByteBuf>("queue_64k", o, 10_000, 65536, false, 1, 1)
}
fn queue_1m(o: &Opts) -> Result<Figure, String> {
    queue_figure::<ByteBuf>("queue_1m", o, 1_000, 1 << 20, false, 1, 1)
}
fn queue_2p2c_8b(o: &Opts) -> Result<Figure, String> {
    queue_figure::<u64>("queue_2p2c_8b", o, 100_000, 8, false, 2, 2)
}
fn queue_2p2c_1k(o: &Opts) -> Result<Figure, String> {
    queue_figure::<ByteBuf>("queue_2p2c_1k", o, 100_000, 1024, false, 2, 2)
}
fn simplequeue_8b(o: &Opts) -> Result<Figure, String> {
    queue_figure::<u64>("simplequeue_8b", o, 100_000, 8, true, 1, 1)
}
fn simplequeue_1k(o: &Opts) -> Result<Figure, String> {
    queue_figure::<ByteBuf>("simplequeue_1k", o, 100_000, 1024, true, 1, 1)
}

// ----- pipes -----

fn echo_typed(mut conn: Connection<u64>, n: u64) {
    for _ in 0..n {
        let v = conn.recv().unwrap();
        conn.send(&v).unwrap();
    }
}

fn echo_bytes(mut conn: Connection<()>, n: u64) {
    let mut buf = [0u8; 64];
    for _ in 0..n {
        let len = conn.recv_bytes_into(&mut buf).unwrap();
        conn.send_bytes(&buf[..len]).unwrap();
    }
}

fn echo_raw(mut sock: Handle<UnixStream>, n: u64) {
    let mut buf = [0u8; 8];
    for _ in 0..n {
        sock.read_exact(&mut buf).unwrap();
        sock.write_all(&buf).unwrap();
    }
}

fn pipe_rtt_typed(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(20_000, 2_000);
    let mut runs = Vec::new();
    for rep in 0..opts.warmup + opts.reps.max(1) {
        let (mut a, b) = Pipe::new::<u64>().map_err(|e| e.to_string())?;
        let mut p = Process::new(echo_typed, (b, n));
        p.start().map_err(|e| e.to_string())?;
        let r = time_round_trips(n, || {
            a.send(&12345).unwrap();
            a.recv().unwrap();
        });
        p.join().map_err(|e| e.to_string())?;
        if rep >= opts.warmup {
            runs.push(r);
        }
    }
    Ok(rtt_figure("pipe_rtt/typed", "multiproc", n, runs))
}

fn pipe_rtt_bytes(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(20_000, 2_000);
    let mut runs = Vec::new();
    for rep in 0..opts.warmup + opts.reps.max(1) {
        let (mut a, b) = Pipe::new::<()>().map_err(|e| e.to_string())?;
        let mut p = Process::new(echo_bytes, (b, n));
        p.start().map_err(|e| e.to_string())?;
        let mut buf = [0u8; 64];
        let r = time_round_trips(n, || {
            a.send_bytes(b"xxxxxxxx").unwrap();
            a.recv_bytes_into(&mut buf).unwrap();
        });
        p.join().map_err(|e| e.to_string())?;
        if rep >= opts.warmup {
            runs.push(r);
        }
    }
    Ok(rtt_figure("pipe_rtt/bytes8", "multiproc", n, runs))
}

/// The raw baseline for both pipe_rtt rows: 8 bytes back and forth on a bare socket pair.
fn pipe_rtt_raw(id: &'static str, opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(20_000, 2_000);
    let mut runs = Vec::new();
    for rep in 0..opts.warmup + opts.reps.max(1) {
        let (mut a, b) = UnixStream::pair().map_err(|e| e.to_string())?;
        let mut p = Process::new(echo_raw, (Handle::new(b), n));
        p.start().map_err(|e| e.to_string())?;
        let mut buf = [0u8; 8];
        let r = time_round_trips(n, || {
            a.write_all(b"xxxxxxxx").unwrap();
            a.read_exact(&mut buf).unwrap();
        });
        p.join().map_err(|e| e.to_string())?;
        if rep >= opts.warmup {
            runs.push(r);
        }
    }
    Ok(rtt_figure(id, "raw", n, runs))
}

fn stream_out(mut conn: Connection<()>, n: u64, size: usize) {
    let data = vec![b'x'; size];
    for _ in 0..n {
        conn.send_bytes(&data).unwrap();
    }
}

fn stream_raw(mut sock: Handle<UnixStream>, n: u64, size: usize) {
    let data = vec![b'x'; size];
    for _ in 0..n {
        sock.write_all(&(size as u32).to_le_bytes()).unwrap();
        sock.write_all(&data).unwrap();
    }
}

/// `n` messages of `size` bytes, child → parent; returns msg/s and MB/s.
fn stream(id: &'static str, opts: &Opts, full: u64, size: usize) -> Result<Figure, String> {
    let n = opts.size(full, (full / 20).max(100));
    let one_way = id.ends_with("/pipe");
    let mut mbs = Vec::new();
    let mut count = 0;
    let samples = measure(opts, || {
        let (mut r, w) = if one_way { Pipe::one_way::<()>() } else { Pipe::new::<()>() }
            .map_err(|e| e.to_string())?;
        let mut p = Process::new(stream_out, (w, n, size));
        p.start().map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; size];
        let t = std::time::Instant::now();
        for _ in 0..n {
            r.recv_bytes_into(&mut buf).map_err(|e| e.to_string())?;
        }
        let secs = t.elapsed().as_secs_f64();
        p.join().map_err(|e| e.to_string())?;
        count += 1;
        if count > opts.warmup {
            mbs.push(n as f64 * size as f64 / secs / 1e6);
        }
        Ok(n as f64 / secs)
    })?;
    let mut f = Figure::new(id, "multiproc", "msg/s", Better::Higher, n, samples);
    f.extra.insert("MB/s".into(), crate::Stats::of(&mbs));
    Ok(f)
}

/// The raw baseline: length-prefixed messages on a bare socket pair.
fn stream_raw_figure(
    id: &'static str,
    opts: &Opts,
    full: u64,
    size: usize,
) -> Result<Figure, String> {
    let n = opts.size(full, (full / 20).max(100));
    let mut mbs = Vec::new();
    let mut count = 0;
    let samples = measure(opts, || {
        let (mut a, b) = UnixStream::pair().map_err(|e| e.to_string())?;
        let mut p = Process::new(stream_raw, (Handle::new(b), n, size));
        p.start().map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; size];
        let mut len = [0u8; 4];
        let t = std::time::Instant::now();
        for _ in 0..n {
            a.read_exact(&mut len).map_err(|e| e.to_string())?;
            a.read_exact(&mut buf).map_err(|e| e.to_string())?;
        }
        let secs = t.elapsed().as_secs_f64();
        p.join().map_err(|e| e.to_string())?;
        count += 1;
        if count > opts.warmup {
            mbs.push(n as f64 * size as f64 / secs / 1e6);
        }
        Ok(n as f64 / secs)
    })?;
    let mut f = Figure::new(id, "raw", "msg/s", Better::Higher, n, samples);
    f.extra.insert("MB/s".into(), crate::Stats::of(&mbs));
    Ok(f)
}

fn pipe_1k_socketpair(o: &Opts) -> Result<Figure, String> {
    stream("pipe_1k/socketpair", o, 200_000, 1024)
}
fn pipe_1k_pipe(o: &Opts) -> Result<Figure, String> {
    stream("pipe_1k/pipe", o, 200_000, 1024)
}
fn pipe_1m_socketpair(o: &Opts) -> Result<Figure, String> {
    stream("pipe_1m/socketpair", o, 2_000, 1 << 20)
}
fn pipe_1m_pipe(o: &Opts) -> Result<Figure, String> {
    stream("pipe_1m/pipe", o, 2_000, 1 << 20)
}

pub(crate) fn workloads() -> Vec<Workload> {
    vec![
        ("queue_8b", queue_8b),
        ("queue_1k", queue_1k),
        ("queue_64k", queue_64k),
        ("queue_1m", queue_1m),
        ("queue_2p2c_8b", queue_2p2c_8b),
        ("queue_2p2c_1k", queue_2p2c_1k),
        ("simplequeue_8b", simplequeue_8b),
        ("simplequeue_1k", simplequeue_1k),
        ("pipe_rtt/typed", pipe_rtt_typed),
        ("pipe_rtt/typed", |o| pipe_rtt_raw("pipe_rtt/typed", o)),
        ("pipe_rtt/bytes8", pipe_rtt_bytes),
        ("pipe_rtt/bytes8", |o| pipe_rtt_raw("pipe_rtt/bytes8", o)),
        ("pipe_1k/socketpair", pipe_1k_socketpair),
        ("pipe_1k/socketpair", |o| stream_raw_figure("pipe_1k/socketpair", o, 200_000, 1024)),
        ("pipe_1k/pipe", pipe_1k_pipe),
        ("pipe_1m/socketpair", pipe_1m_socketpair),
        ("pipe_1m/socketpair", |o| stream_raw_figure("pipe_1m/socketpair", o, 2_000, 1 << 20)),
        ("pipe_1m/pipe", pipe_1m_pipe),
    ]
}
