//! Seed 003 (事件): `is_set`, `set`, `clear`, `wait`. In the seed, `wait()` on an unset event blocks
//! forever (its `set()` is commented out); the twin shows that with a bounded wait first.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2080-L2095

use std::time::Duration;

use multiproc::Event;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let e = Event::new()?;
    println!("{}", e.is_set());
    println!("look here! ");
    println!("wait(0.1) on an unset event returns {}", e.wait_timeout(Duration::from_millis(100)));
    e.set();
    println!("{}", e.is_set());
    e.clear();
    println!("{}", e.is_set());
    e.set();
    e.wait();
    println!("give me! ! ");
    Ok(())
}
