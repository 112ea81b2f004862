//! manager_dict/rtt and manager_dict/2proc: the time of one update of a managed dict, and the
//! updates per second two processes make together (Python's twin uses `Manager().dict()` the same
//! way). Python's update is a round trip to the manager; ours works in the dict's shared table
//! directly (the manager listens on a Unix socket, so its proxies can map it), and is as visible
//! to other processes when it returns.

use multiproc::{DictProxy, Manager, Process};

use crate::sync::{rtt_figure, time_round_trips};
use crate::{Better, Figure, Opts, StartLine, Workload, measure, mono_ns, pin_to_cpu, span};

/// On CPU `cpu`, `n` × `d[key] = i`, after both writers meet at `start`; when it started and ended
/// in [`mono_ns`].
fn updates(
    d: DictProxy<String, u64>,
    key: String,
    n: u64,
    start: StartLine,
    cpu: usize,
) -> (u64, u64) {
    pin_to_cpu(cpu);
    // Connect (and map the dict) before the clock starts, as Python's proxy connects when it is
    // unpickled.
    d.insert(key.clone(), 0).unwrap();
    start.wait();
    let t = mono_ns();
    for i in 0..n {
        d.insert(key.clone(), i).unwrap();
    }
    (t, mono_ns())
}

fn dict_rtt(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(20_000, 1_000);
    let m = Manager::start().map_err(|e| e.to_string())?;
    let d = m.dict::<String, u64>().map_err(|e| e.to_string())?;
    let key = "k".to_string();
    let mut runs = Vec::new();
    for rep in 0..opts.warmup + opts.reps.max(1) {
        let mut i = 0;
        let r = time_round_trips(n, || {
            d.insert(key.clone(), i).unwrap();
            i += 1;
        });
        if d.get("k").map_err(|e| e.to_string())? != Some(n - 1) {
            return Err("the last update is not in the dict".into());
        }
        if rep >= opts.warmup {
            runs.push(r);
        }
    }
    Ok(rtt_figure("manager_dict/rtt", "multiproc", n, runs))
}

fn dict_2proc(opts: &Opts) -> Result<Figure, String> {
    let n = opts.size(20_000, 1_000);
    let m = Manager::start().map_err(|e| e.to_string())?;
    let d = m.dict::<String, u64>().map_err(|e| e.to_string())?;
    let samples = measure(opts, || {
        let start = StartLine::new(2)?;
        let ps = (0..2)
            .map(|k| Process::new(updates, (d.clone(), format!("key{k}"), n, start.clone(), k)))
            .collect();
        let together = span(ps)?;
        for k in 0..2 {
            if d.get(&format!("key{k}")).map_err(|e| e.to_string())? != Some(n - 1) {
                return Err(format!("key{k} does not hold the last update"));
            }
        }
        Ok(2.0 * n as f64 / together)
    })?;
    Ok(Figure::new("manager_dict/2proc", "multiproc", "updates/s", Better::Higher, 2 * n, samples))
}

pub(crate) fn workloads() -> Vec<Workload> {
    vec![("manager_dict/rtt", dict_rtt), ("manager_dict/2proc", dict_2proc)]
}
