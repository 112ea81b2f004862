//! pool_map_chunk1, pool_map_default, pool_apply_rtt, pool_startup and pool_cpu: the process pool
//! with two workers.

use std::hint::black_box;
use std::time::Instant;

use multiproc::Pool;

use crate::{Better, Figure, Opts, Stats, Workload, measure, rate};

/// The task of the throughput workloads.
pub fn square(x: u64) -> u64 {
    x * x
}

/// The CPU-bound task: the sum of `i * i` for `i < n`, computed one term at a time (`black_box`
/// keeps the compiler from replacing the loop by its closed form, so the work is what Python does).
#[inline(never)]
pub fn cpu_task(n: u64) -> u64 {
    (0..n).map(|i| black_box(i).wrapping_mul(black_box(i))).fold(0u64, u64::wrapping_add)
}

fn pool2() -> Result<Pool, String> {
    let pool = Pool::new(2).map_err(|e| e.to_string())?;
    pool.map(square, 0..100).map_err(|e| e.to_string())?; // workers up and warm
    Ok(pool)
}

fn map_chunk1(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(20_000, 2_000);
    let pool = pool2()?;
    let samples = measure(opts, || {
        let t = Instant::now();
        pool.map_chunked(square, 0..n, 1).map_err(|e| e.to_string())?;
        Ok(rate(n, t))
    })?;
    Ok(Figure::new("pool_map_chunk1", "multiproc", "tasks/s", Better::Higher, n, samples))
}

fn map_default(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(100_000, 10_000);
    let pool = pool2()?;
    let samples = measure(opts, || {
        let t = Instant::now();
        pool.map(square, 0..n).map_err(|e| e.to_string())?;
        Ok(rate(n, t))
    })?;
    Ok(Figure::new("pool_map_default", "multiproc", "tasks/s", Better::Higher, n, samples))
}

fn apply_rtt(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(2_000, 200);
    let pool = pool2()?;
    let mut bests = Vec::new();
    let samples = measure(opts, || {
        let mut best = f64::INFINITY;
        let t = Instant::now();
        for x in 0..n {
            let r = Instant::now();
            pool.apply_async(square, (x,))
                .map_err(|e| e.to_string())?
                .get()
                .map_err(|e| e.to_string())?;
            best = best.min(r.elapsed().as_secs_f64());
        }
        bests.push(best * 1e6);
        Ok(t.elapsed().as_secs_f64() / n as f64 * 1e6)
    })?;
    let mut fig = Figure::new("pool_apply_rtt", "multiproc", "µs", Better::Lower, n, samples);
    let timed = &bests[bests.len().saturating_sub(opts.reps.max(1))..];
    fig.extra.insert("best_rtt_us".into(), Stats::of(timed));
    Ok(fig)
}

fn startup(opts: &Opts) -> Result<Figure, String> {
    let samples = measure(opts, || {
        let t = Instant::now();
        let pool = Pool::new(2).map_err(|e| e.to_string())?;
        pool.apply(square, (3,)).map_err(|e| e.to_string())?;
        pool.close();
        pool.join().map_err(|e| e.to_string())?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    })?;
    Ok(Figure::new("pool_startup", "multiproc", "ms", Better::Lower, 1, samples))
}

/// Each sample times the tasks through the pool, then serially, then on two plain threads (what
/// this machine's two cores give at that moment: `threads_x`, beside the pool).
///
/// On this kind of virtual machine a CPU that has been idle runs the first milliseconds of work
/// markedly slower (a chunk of 1 ms takes 1.5 ms after 20 ms of idleness), and a sample here lasts
/// about 15 ms against Python's second. So that the pool's two CPUs start as warm as the one the
/// serial run uses, both workers first run a quarter of the tasks untimed, and the serial run comes
/// right after the pool's (the Python twin does the same). For the same reason it takes four times
/// the samples for a steady median.
fn cpu(opts: &Opts) -> Result<Figure, String> {
    let opts = &Opts { reps: opts.reps * 4, ..opts.clone() };
    let tasks = vec![opts.size(200_000, 20_000); 64];
    let (mut serial, mut parallel, mut threads) = (Vec::new(), Vec::new(), Vec::new());
    let samples = measure(opts, || {
        let pool = pool2()?;
        pool.map(cpu_task, tasks[..16].iter().copied()).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let got = pool.map(cpu_task, tasks.iter().copied()).map_err(|e| e.to_string())?;
        let p = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let want: Vec<u64> = tasks.iter().map(|&n| cpu_task(n)).collect();
        let s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let (left, right) = tasks.split_at(tasks.len() / 2);
        let on_threads: Vec<u64> = std::thread::scope(|scope| {
            let l = scope.spawn(|| left.iter().map(|&n| cpu_task(n)).collect::<Vec<_>>());
            let mut r: Vec<u64> = right.iter().map(|&n| cpu_task(n)).collect();
            let mut all = l.join().unwrap_or_default();
            all.append(&mut r);
            all
        });
        let th = t.elapsed().as_secs_f64();

        if got != want || on_threads != want {
            return Err("the pool or the threads computed something else".into());
        }
        serial.push(s * 1e3);
        parallel.push(p * 1e3);
        threads.push(s / th);
        Ok(s / p)
    })?;
    let mut fig =
        Figure::new("pool_cpu", "multiproc", "x", Better::Higher, tasks.len() as u64, samples);
    let k = opts.reps.max(1);
    fig.extra.insert("serial_ms".into(), Stats::of(&serial[serial.len() - k..]));
    fig.extra.insert("pool_ms".into(), Stats::of(&parallel[parallel.len() - k..]));
    fig.extra.insert("threads_x".into(), Stats::of(&threads[threads.len() - k..]));
    Ok(fig)
}

/// The pool workloads.
pub fn workloads() -> Vec<Workload> {
    vec![
        ("pool_map_chunk1", map_chunk1),
        ("pool_map_default", map_default),
        ("pool_apply_rtt", apply_rtt),
        ("pool_startup", startup),
        ("pool_cpu", cpu),
    ]
}
