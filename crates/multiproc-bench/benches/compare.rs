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

fn procspawn_workloads() -> Vec<Workload> {
    vec![("spawn_seq/spawn", procspawn_seq), ("spawn_conc/spawn", procspawn_conc)]
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
