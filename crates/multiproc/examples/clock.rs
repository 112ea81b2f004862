//! Seed 000, 示例1: a process that prints the time every `interval`.
//!
//! The Python twin loops forever and is joined forever; this one tells the parent about each tick
//! through a socket pair, and the parent stops it with `terminate()` after three ticks.
//! Seed: 000_251826d36db1e8b6.txt#L37-L52

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multiproc::{Handle, Process};

fn clock(interval_ms: u64, mut ticks: Handle<UnixStream>) {
    loop {
        println!("The time is {}", common::ctime());
        ticks.write_all(b".").unwrap();
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut ticks, theirs) = UnixStream::pair()?;
    let mut p = Process::new(clock, (200, Handle::new(theirs)));
    p.start()?;
    ticks.read_exact(&mut [0u8; 3])?;
    p.terminate()?;
    let _ = p.join();
    println!("stopped after 3 ticks: exitcode {:?}", p.exitcode());
    Ok(())
}
