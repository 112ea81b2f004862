//! array_write: a child writes 1M f64 into a shared Array, in one bulk copy or element by element,
//! under one acquisition of the array's lock; timed inside the child.

use std::time::Instant;

use multiproc::process::Target;
use multiproc::{Array, Process};

use crate::{Better, Figure, Opts, Workload, measure};

const N: usize = 1_000_000;

fn bulk(a: Array<f64>) -> f64 {
    let data: Vec<f64> = (0..a.len()).map(|i| i as f64).collect();
    let t = Instant::now();
    a.lock().copy_from_slice(&data);
    t.elapsed().as_secs_f64() * 1e3
}

fn per_element(a: Array<f64>) -> f64 {
    let t = Instant::now();
    let mut g = a.lock();
    for i in 0..g.len() {
        g[i] = i as f64;
    }
    drop(g);
    t.elapsed().as_secs_f64() * 1e3
}

fn run<F: Target<(Array<f64>,), Output = f64>>(
    id: &str,
    f: F,
    opts: &Opts,
) -> Result<Figure, String> {
    let n = opts.size(N as u64, 100_000) as usize;
    let samples = measure(opts, || {
        let a = Array::<f64>::new(n).map_err(|e| e.to_string())?;
        let mut p = Process::new(f, (a.clone(),));
        p.start().map_err(|e| e.to_string())?;
        let ms = p.join().map_err(|e| e.to_string())?;
        if a.get(n - 1).map_err(|e| e.to_string())? != (n - 1) as f64 {
            return Err("the child's writes are not visible".into());
        }
        Ok(ms)
    })?;
    Ok(Figure::new(id, "multiproc", "ms", Better::Lower, n as u64, samples))
}

pub(crate) fn workloads() -> Vec<Workload> {
    vec![
        ("array_write/bulk", |o| run("array_write/bulk", bulk, o)),
        ("array_write/per_element", |o| run("array_write/per_element", per_element, o)),
    ]
}
