//! lock_contention, event_rtt and sem_rtt, with a raw futex ping-pong as the baseline.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use multiproc::process::Shared;
use multiproc::{Event, Lock, Process, Semaphore};

use crate::{Better, Figure, Opts, StartLine, Workload, measure, mono_ns, pin_to_cpu, rate, span};

const OPS: u64 = 100_000;

/// On CPU `cpu`, `n` × (acquire; read-increment-write a shared i64; release), after everyone meets
/// at `start`. Returns when it started and ended in [`mono_ns`].
fn contend(
    lock: Lock,
    value: Shared<AtomicI64>,
    start: StartLine,
    n: u64,
    cpu: usize,
) -> (u64, u64) {
    pin_to_cpu(cpu);
    start.wait();
    let t = mono_ns();
    for _ in 0..n {
        let _g = lock.acquire().unwrap();
        let v = value.load(Ordering::Relaxed);
        value.store(v + 1, Ordering::Relaxed);
    }
    (t, mono_ns())
}

fn lock_2proc(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(OPS, 10_000);
    let samples = measure(opts, || {
        let lock = Lock::new().map_err(|e| e.to_string())?;
        let value = Shared::new(AtomicI64::new(0)).map_err(|e| e.to_string())?;
        let start = StartLine::new(2)?;
        let ps = (0..2)
            .map(|k| Process::new(contend, (lock.clone(), value.clone(), start.clone(), n, k)))
            .collect();
        let together = span(ps)?;
        if value.load(Ordering::SeqCst) != 2 * n as i64 {
            return Err(format!("lost updates: {} of {}", value.load(Ordering::SeqCst), 2 * n));
        }
        Ok(2.0 * n as f64 / together)
    })?;
    Ok(Figure::new("lock_contention/2proc", "multiproc", "ops/s", Better::Higher, 2 * n, samples))
}

fn lock_1proc(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(OPS, 10_000);
    let lock = Lock::new().map_err(|e| e.to_string())?;
    let value = Shared::new(AtomicI64::new(0)).map_err(|e| e.to_string())?;
    let samples = measure(opts, || {
        let t = Instant::now();
        for _ in 0..n {
            let _g = lock.acquire().unwrap();
            let v = value.load(Ordering::Relaxed);
            value.store(v + 1, Ordering::Relaxed);
        }
        Ok(rate(n, t))
    })?;
    Ok(Figure::new("lock_contention/1proc", "multiproc", "ops/s", Better::Higher, n, samples))
}

fn event_echo(ping: Event, pong: Event, n: u64) {
    for _ in 0..n {
        ping.wait();
        ping.clear();
        pong.set();
    }
}

fn sem_echo(ping: Semaphore, pong: Semaphore, n: u64) {
    for _ in 0..n {
        ping.acquire().leak();
        pong.release().unwrap();
    }
}

/// Round trips in µs: mean per repetition as the sample, fastest single round trip as an extra.
pub(crate) fn rtt_figure(id: &str, implementation: &str, n: u64, runs: Vec<(f64, f64)>) -> Figure {
    let mut f =
        Figure::new(id, implementation, "µs", Better::Lower, n, runs.iter().map(|r| r.0).collect());
    let best: Vec<f64> = runs.iter().map(|r| r.1).collect();
    f.extra.insert("best_rtt_us".into(), crate::Stats::of(&best));
    f
}

pub(crate) fn time_round_trips(n: u64, mut one: impl FnMut()) -> (f64, f64) {
    let t = Instant::now();
    let mut best = Duration::MAX;
    for _ in 0..n {
        let r = Instant::now();
        one();
        best = best.min(r.elapsed());
    }
    (t.elapsed().as_secs_f64() * 1e6 / n as f64, best.as_secs_f64() * 1e6)
}

fn event_rtt(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(10_000, 1_000);
    let mut runs = Vec::new();
    for rep in 0..opts.warmup + opts.reps.max(1) {
        let (ping, pong) =
            (Event::new().map_err(|e| e.to_string())?, Event::new().map_err(|e| e.to_string())?);
        let mut p = Process::new(event_echo, (ping.clone(), pong.clone(), n));
        p.start().map_err(|e| e.to_string())?;
        let r = time_round_trips(n, || {
            ping.set();
            pong.wait();
            pong.clear();
        });
        p.join().map_err(|e| e.to_string())?;
        if rep >= opts.warmup {
            runs.push(r);
        }
    }
    Ok(rtt_figure("event_rtt", "multiproc", n, runs))
}

fn sem_rtt(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(10_000, 1_000);
    let mut runs = Vec::new();
    for rep in 0..opts.warmup + opts.reps.max(1) {
        let (ping, pong) = (
            Semaphore::new(0).map_err(|e| e.to_string())?,
            Semaphore::new(0).map_err(|e| e.to_string())?,
        );
        let mut p = Process::new(sem_echo, (ping.clone(), pong.clone(), n));
        p.start().map_err(|e| e.to_string())?;
        let r = time_round_trips(n, || {
            ping.release().unwrap();
            pong.acquire().leak();
        });
        p.join().map_err(|e| e.to_string())?;
        if rep >= opts.warmup {
            runs.push(r);
        }
    }
    Ok(rtt_figure("sem_rtt", "multiproc", n, runs))
}

/// The baseline: a bare futex ping-pong between two processes on one shared word (no spinning, no
/// bookkeeping), as a small C program would do it.
#[allow(clippy::disallowed_methods)] // the baseline is the bare syscall
mod raw {
    use super::*;

    fn futex(word: &AtomicU32, op: i32, val: u32) {
        // SAFETY: a futex call on a valid, aligned word in a shared mapping; no timeout.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                op,
                val,
                std::ptr::null::<libc::timespec>(),
                0,
                0,
            )
        };
    }

    /// Waits until `word == want`.
    fn wait_for(word: &AtomicU32, want: u32) {
        loop {
            let v = word.load(Ordering::Acquire);
            if v == want {
                return;
            }
            futex(word, libc::FUTEX_WAIT, v);
        }
    }

    fn set(word: &AtomicU32, v: u32) {
        word.store(v, Ordering::Release);
        futex(word, libc::FUTEX_WAKE, 1);
    }

    pub(super) fn echo(word: Shared<AtomicU32>, n: u64) {
        for _ in 0..n {
            wait_for(&word, 1);
            set(&word, 0);
        }
    }

    pub(super) fn rtt(id: &'static str, opts: &Opts) -> Result<Figure, String> {
        let n = opts.size(10_000, 1_000);
        let mut runs = Vec::new();
        for rep in 0..opts.warmup + opts.reps.max(1) {
            let word = Shared::new(AtomicU32::new(0)).map_err(|e| e.to_string())?;
            let mut p = Process::new(echo, (word.clone(), n));
            p.start().map_err(|e| e.to_string())?;
            let r = time_round_trips(n, || {
                set(&word, 1);
                wait_for(&word, 0);
            });
            p.join().map_err(|e| e.to_string())?;
            if rep >= opts.warmup {
                runs.push(r);
            }
        }
        Ok(rtt_figure(id, "raw", n, runs))
    }
}

pub(crate) fn workloads() -> Vec<Workload> {
    vec![
        ("lock_contention/2proc", lock_2proc),
        ("lock_contention/1proc", lock_1proc),
        ("event_rtt", event_rtt),
        ("event_rtt", |o| raw::rtt("event_rtt", o)),
        ("sem_rtt", sem_rtt),
        ("sem_rtt", |o| raw::rtt("sem_rtt", o)),
    ]
}
