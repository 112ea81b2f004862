//! spawn_seq and spawn_conc: starting and joining processes that run an empty function, per start
//! method.

use std::time::Instant;

use multiproc::{Process, StartMethod};

use crate::{Better, Figure, Opts, Workload, measure, rate};

fn empty() {}

fn methods() -> [(&'static str, StartMethod); 3] {
    // SAFETY: the benchmark is single-threaded while it forks, and the child runs an empty function.
    [
        ("spawn", StartMethod::SPAWN),
        ("fork", unsafe { StartMethod::fork() }),
        ("forkserver", StartMethod::FORKSERVER),
    ]
}

fn method(name: &str) -> StartMethod {
    methods().into_iter().find(|(n, _)| *n == name).map(|(_, m)| m).expect("known method")
}

fn one(m: StartMethod) -> Result<Process<()>, String> {
    let mut p = Process::builder().start_method(m).target(empty, ());
    p.start().map_err(|e| e.to_string())?;
    Ok(p)
}

/// `n` processes started and joined one after another.
fn seq(id: &str, m: StartMethod, opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(200, 20);
    let samples = measure(opts, || {
        let t = Instant::now();
        for _ in 0..n {
            one(m)?.join().map_err(|e| e.to_string())?;
        }
        Ok(rate(n, t))
    })?;
    Ok(Figure::new(id, "multiproc", "proc/s", Better::Higher, n, samples))
}

/// Batches of 16 started at once, then all joined.
fn conc(id: &str, m: StartMethod, opts: &Opts) -> Result<Figure, String> {
    let batches = opts.size(12, 2);
    let samples = measure(opts, || {
        let t = Instant::now();
        for _ in 0..batches {
            let mut ps = (0..16).map(|_| one(m)).collect::<Result<Vec<_>, _>>()?;
            for p in &mut ps {
                p.join().map_err(|e| e.to_string())?;
            }
        }
        Ok(rate(batches * 16, t))
    })?;
    Ok(Figure::new(id, "multiproc", "proc/s", Better::Higher, batches * 16, samples))
}

pub(crate) fn workloads() -> Vec<Workload> {
    vec![
        ("spawn_seq/spawn", |o| seq("spawn_seq/spawn", method("spawn"), o)),
        ("spawn_seq/fork", |o| seq("spawn_seq/fork", method("fork"), o)),
        ("spawn_seq/forkserver", |o| seq("spawn_seq/forkserver", method("forkserver"), o)),
        ("spawn_conc/spawn", |o| conc("spawn_conc/spawn", method("spawn"), o)),
        ("spawn_conc/fork", |o| conc("spawn_conc/fork", method("fork"), o)),
        ("spawn_conc/forkserver", |o| conc("spawn_conc/forkserver", method("forkserver"), o)),
    ]
}
