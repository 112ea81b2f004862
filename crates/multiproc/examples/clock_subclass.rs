//! Seed 000, 示例2: the clock as a subclass of `Process` overriding `run()`: in Rust, a struct that
//! implements `Run`. Its fields are the state the child gets (`interval`, and where to report ticks).
//! Seed: 000_251826d36db1e8b6.txt#L55-L80

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multiproc::{Handle, Process, Run};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct ClockProcess {
    interval_ms: u64,
    ticks: Handle<UnixStream>,
}

impl Run for ClockProcess {
    type Output = ();

    fn run(mut self) {
        loop {
            println!("The time is {}", common::ctime());
            self.ticks.write_all(b".").unwrap();
            std::thread::sleep(Duration::from_millis(self.interval_ms));
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut ticks, theirs) = UnixStream::pair()?;
    let mut p = Process::from_run(ClockProcess { interval_ms: 300, ticks: Handle::new(theirs) });
    p.start()?;
    ticks.read_exact(&mut [0u8; 3])?;
    p.terminate()?;
    let _ = p.join();
    println!("stopped after 3 ticks: exitcode {:?}", p.exitcode());
    Ok(())
}
