//! The Rust side of `cargo xtask bench`: multiproc's workloads and procspawn's, as JSON lines.

use std::time::Instant;

use multiproc_bench::{Better, Figure, Opts, Workload, measure, rate};

fn procspawn_seq(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(200, 20);
    let samples = measure(opts, || {
        let t = Instant::now();
        for _ in 0..n {
            procspawn::spawn((), |()| ()).join().map_err(|e| e.to_string())?;
        }
        Ok(rate(n, t))
    })?;
    Ok(Figure::new("spawn_seq/spawn", "procspawn", "proc/s", Better::Higher, n, samples))
}

fn procspawn_conc(opts: &Opts) -> Result<Figure, String> {
    let batches = opts.size(12, 2);
    let samples = measure(opts, || {
        let t = Instant::now();
        for _ in 0..batches {
            let hs: Vec<_> = (0..16).map(|_| procspawn::spawn((), |()| ())).collect();
            for h in hs {
                h.join().map_err(|e| e.to_string())?;
            }
        }
        Ok(rate(batches * 16, t))
    })?;
    Ok(Figure::new(
        "spawn_conc/spawn",
        "procspawn",
        "proc/s",
        Better::Higher,
        batches * 16,
        samples,
    ))
}

fn procspawn_pool() -> Result<procspawn::Pool, String> {
    procspawn::Pool::new(2).map_err(|e| e.to_string())
}

/// `n` tasks through procspawn's pool (it has no map or chunking): at most 256 outstanding, as
/// each one holds descriptors until joined.
fn procspawn_map(id: &str, n: u64, opts: &Opts) -> Result<Figure, String> {
    let pool = procspawn_pool()?;
    let samples = measure(opts, || {
        let t = Instant::now();
        let mut out = std::collections::VecDeque::new();
        for x in 0..n {
            if out.len() == 256 {
                let h: procspawn::JoinHandle<u64> = out.pop_front().expect("full");
                h.join().map_err(|e| e.to_string())?;
            }
            out.push_back(pool.spawn(x, |x: u64| x * x));
        }
        for h in out {
            h.join().map_err(|e| e.to_string())?;
        }
        Ok(rate(n, t))
    })?;
    Ok(Figure::new(id, "procspawn", "tasks/s", Better::Higher, n, samples))
}

fn procspawn_map_chunk1(opts: &Opts) -> Result<Figure, String> {
    procspawn_map("pool_map_chunk1", opts.size(20_000, 2_000), opts)
}

fn procspawn_apply_rtt(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(2_000, 200);
    let pool = procspawn_pool()?;
    let samples = measure(opts, || {
        let t = Instant::now();
        for x in 0..n {
            pool.spawn(x, |x: u64| x * x).join().map_err(|e| e.to_string())?;
        }
        Ok(t.elapsed().as_secs_f64() / n as f64 * 1e6)
    })?;
    Ok(Figure::new("pool_apply_rtt", "procspawn", "µs", Better::Lower, n, samples))
}

fn procspawn_startup(opts: &Opts) -> Result<Figure, String> {
    let samples = measure(opts, || {
        let t = Instant::now();
        let pool = procspawn_pool()?;
        pool.spawn(3u64, |x: u64| x * x).join().map_err(|e| e.to_string())?;
        pool.shutdown();
        Ok(t.elapsed().as_secs_f64() * 1e3)
    })?;
    Ok(Figure::new("pool_startup", "procspawn", "ms", Better::Lower, 1, samples))
}

fn procspawn_workloads() -> Vec<Workload> {
    vec![
        ("spawn_seq/spawn", procspawn_seq),
        ("spawn_conc/spawn", procspawn_conc),
        ("pool_map_chunk1", procspawn_map_chunk1),
        ("pool_apply_rtt", procspawn_apply_rtt),
        ("pool_startup", procspawn_startup),
    ]
}

fn main() {
    // procspawn re-enters main in its children; multiproc's children never reach main.
    procspawn::init();
    let (opts, filters) = Opts::from_args(std::env::args().skip(1));
    let ours = multiproc_bench::workloads();
    let theirs = procspawn_workloads();
    for (id, f) in &ours {
        if !filters.is_empty() && !filters.iter().any(|p| id.starts_with(p.as_str())) {
            continue;
        }
        multiproc_bench::run(&[(id, *f)], &opts, &[], "multiproc");
        multiproc_bench::run(
            &theirs.iter().filter(|(t, _)| t == id).copied().collect::<Vec<_>>(),
            &opts,
            &[],
            "procspawn",
        );
    }
}
