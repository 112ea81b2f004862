//! The benchmark harness and multiproc's workloads (see `BENCHMARKS.md` in the docs): each workload
//! is measured `warmup` times untimed and `reps` times timed, and reported as one JSON line with the
//! median, minimum and maximum, in the same shape as the Python twin script prints.

#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

pub mod ipc;
pub mod manager;
pub mod pool;
pub mod shm;
pub mod spawn;
pub mod sync;

/// Run options.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Timed repetitions.
    pub reps: usize,
    /// Untimed repetitions first.
    pub warmup: usize,
    /// Small sizes, for checking that the workloads run.
    pub quick: bool,
}

impl Opts {
    /// From the command line: `[--quick] [--reps N] [--warmup N] [FILTER…]`; returns the filters too.
    pub fn from_args(args: impl Iterator<Item = String>) -> (Opts, Vec<String>) {
        let mut o = Opts { reps: 5, warmup: 1, quick: false };
        let mut filters = Vec::new();
        let mut it = args.peekable();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => {
                    o.quick = true;
                    o.reps = 2;
                    o.warmup = 0;
                }
                "--reps" => o.reps = it.next().and_then(|v| v.parse().ok()).unwrap_or(o.reps),
                "--warmup" => o.warmup = it.next().and_then(|v| v.parse().ok()).unwrap_or(o.warmup),
                // cargo bench passes --bench to harness=false targets.
                "--bench" => {}
                f if !f.starts_with("--") => filters.push(f.to_string()),
                _ => {}
            }
        }
        (o, filters)
    }

    /// `full` normally, `quick` with `--quick`.
    pub fn size(&self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }
}

/// Whether a figure is better high (rates) or low (latencies).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Rates, speedups.
    Higher,
    /// Latencies, durations.
    Lower,
}

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stats {
    /// Statistics of `samples` (which must not be empty).
    pub fn of(samples: &[f64]) -> Stats {
        let mut v = samples.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        Stats { median, min: v[0], max: v[v.len() - 1] }
    }
}

/// One workload's result.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Workload id, as in BENCHMARKS.md (`spawn_seq/spawn`).
    pub id: String,
    /// `multiproc`, `procspawn`, or a baseline (`raw`).
    #[serde(rename = "impl")]
    pub implementation: String,
    /// Unit of the figure (`proc/s`, `µs`).
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// Median over the timed repetitions.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Every timed repetition.
    pub samples: Vec<f64>,
    /// Operations per repetition.
    pub n: u64,
    /// Secondary figures (MB/s, best round trip).
    pub extra: BTreeMap<String, Stats>,
}

/// CLOCK_MONOTONIC in nanoseconds: the same clock in every process (Python's
/// `time.perf_counter()` reads it too), so a start taken in one process and an end taken in
/// another can be subtracted.
pub(crate) fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the live local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The starting line of the two-process benchmarks: each process arrives, then spins until every
/// one has. Spinning, not sleeping as at a [`Barrier`](multiproc::Barrier): a process woken from a
/// sleep here can take a millisecond to run again, and the other runs its whole part alone
/// meanwhile, which measures no contention at all. (Python's runs are a hundred times longer, so
/// its twin keeps `mp.Barrier`.)
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StartLine {
    arrived: multiproc::process::Shared<std::sync::atomic::AtomicU32>,
    parties: u32,
}

impl StartLine {
    pub(crate) fn new(parties: u32) -> Result<StartLine, String> {
        let arrived = multiproc::process::Shared::new(std::sync::atomic::AtomicU32::new(0))
            .map_err(|e| e.to_string())?;
        Ok(StartLine { arrived, parties })
    }

    /// Arrives and waits for the others (panics if they have not come within a minute: one died).
    pub(crate) fn wait(&self) {
        use std::sync::atomic::Ordering;
        self.arrived.fetch_add(1, Ordering::AcqRel);
        let give_up = Instant::now() + std::time::Duration::from_secs(60);
        while self.arrived.load(Ordering::Acquire) < self.parties {
            assert!(Instant::now() < give_up, "the other processes never reached the start");
            std::hint::spin_loop();
        }
    }
}

/// Keeps the calling process on the `k`-th CPU it may run on (counting round). The two-process
/// benchmarks give each process its own CPU: runs last a millisecond, too short for the scheduler
/// to move a process off a shared CPU, and two processes taking turns on one CPU never contend.
pub(crate) fn pin_to_cpu(k: usize) {
    // SAFETY: a cpu_set_t is plain bits; all zeros is the empty set.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: sched_getaffinity writes at most `size` bytes into the live local set.
    let rc = unsafe { libc::sched_getaffinity(0, size, &mut allowed) };
    assert_eq!(rc, 0, "sched_getaffinity: {}", std::io::Error::last_os_error());
    let setsize = 8 * size;
    // SAFETY: CPU_ISSET reads one bit of the set, within its `setsize` bits.
    let cpus: Vec<usize> =
        (0..setsize).filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) }).collect();
    // SAFETY: as above.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of the set, a CPU number read from a set of the same size.
    unsafe { libc::CPU_SET(cpus[k % cpus.len()], &mut one) };
    // SAFETY: sched_setaffinity reads `size` bytes from the live local set.
    let rc = unsafe { libc::sched_setaffinity(0, size, &one) };
    assert_eq!(rc, 0, "sched_setaffinity: {}", std::io::Error::last_os_error());
}

/// Starts every process, joins them all, and returns how long they took together (in seconds):
/// from the first one's start to the last one's end, each reported in [`mono_ns`]. (The
/// longest of their own durations would count two processes that ran one after the other, never
/// meeting, as if they had run side by side.)
pub(crate) fn span(mut ps: Vec<multiproc::Process<(u64, u64)>>) -> Result<f64, String> {
    for p in &mut ps {
        p.start().map_err(|e| e.to_string())?;
    }
    let (mut first, mut last) = (u64::MAX, 0);
    for p in &mut ps {
        let (start, end) = p.join().map_err(|e| e.to_string())?;
        (first, last) = (first.min(start), last.max(end));
    }
    Ok(last.saturating_sub(first) as f64 * 1e-9)
}

/// Runs `sample` warm-up and timed times; each call returns one sample.
pub fn measure(
    opts: &Opts,
    mut sample: impl FnMut() -> Result<f64, String>,
) -> Result<Vec<f64>, String> {
    for _ in 0..opts.warmup {
        sample()?;
    }
    (0..opts.reps.max(1)).map(|_| sample()).collect()
}

impl Figure {
    /// A figure from samples.
    pub fn new(
        id: &str,
        implementation: &str,
        unit: &str,
        better: Better,
        n: u64,
        samples: Vec<f64>,
    ) -> Figure {
        let s = Stats::of(&samples);
        Figure {
            id: id.into(),
            implementation: implementation.into(),
            unit: unit.into(),
            better,
            median: s.median,
            min: s.min,
            max: s.max,
            samples,
            n,
            extra: BTreeMap::new(),
        }
    }

    /// Prints the figure as one JSON line on stdout.
    pub fn emit(&self) {
        println!("{}", serde_json::to_string(self).expect("figures serialize"));
    }
}

/// Prints a failed workload as a JSON line, so that one failure does not end the run.
pub fn emit_error(id: &str, implementation: &str, error: &str) {
    println!("{}", serde_json::json!({ "id": id, "impl": implementation, "error": error }));
}

/// A rate: `n` operations in the time since `start`.
pub fn rate(n: u64, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64()
}

/// A workload: its id and how to measure it.
pub type Workload = (&'static str, fn(&Opts) -> Result<Figure, String>);

/// Every multiproc workload.
pub fn workloads() -> Vec<Workload> {
    let mut v = Vec::new();
    v.extend(spawn::workloads());
    v.extend(sync::workloads());
    v.extend(shm::workloads());
    v.extend(ipc::workloads());
    v.extend(pool::workloads());
    v.extend(manager::workloads());
    v
}

/// Runs the workloads whose ids start with one of `filters` (all if none), printing each figure.
pub fn run(list: &[Workload], opts: &Opts, filters: &[String], implementation: &str) {
    for (id, f) in list {
        if !filters.is_empty() && !filters.iter().any(|p| id.starts_with(p.as_str())) {
            continue;
        }
        eprintln!("bench: {id} ({implementation})");
        match f(opts) {
            Ok(fig) => fig.emit(),
            Err(e) => emit_error(id, implementation, &e),
        }
    }
}
