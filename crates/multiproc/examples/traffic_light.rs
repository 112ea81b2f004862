//! Seed 003 (红绿灯): ten cars wait at a traffic light run by its own process; a car drives on when
//! the light is green. The seed's light runs forever; here the program ends when every car has gone
//! (the light is a daemon, so it stops when main returns). The seed's police cars, commented out
//! there, wait at most 0.1 s and go anyway.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2101-L2154

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use multiproc::{Event, Process};

fn car(e: Event, n: u32) {
    loop {
        if !e.is_set() {
            println!("红灯亮, car{n}等着");
            e.wait();
            println!("车{n} 看见绿灯亮了");
            std::thread::sleep(Duration::from_millis(100 + common::random_below(200)));
        }
        if !e.is_set() {
            continue;
        }
        println!("车开远了,car {n}");
        break;
    }
}

fn police_car(e: Event, n: u32) {
    if !e.is_set() {
        println!("红灯亮, car{n}等着");
        e.wait_timeout(Duration::from_millis(100));
        if !e.is_set() {
            println!("红灯,警车先走, car {n}");
        } else {
            println!("绿灯，警车走, car {n}");
        }
    } else {
        println!("绿灯，警车走, car {n}");
    }
}

fn traffic_lights(e: Event, interval_ms: u64) {
    loop {
        std::thread::sleep(Duration::from_millis(interval_ms));
        if e.is_set() {
            println!("##### {}", e.is_set());
            e.clear();
        } else {
            e.set();
            println!("***** {}", e.is_set());
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let e = Event::new()?;
    let mut cars = Vec::new();
    for i in 0..10 {
        let mut p = Process::new(car, (e.clone(), i));
        std::thread::sleep(Duration::from_millis(common::random_below(50))); // cars do not all arrive at once
        p.start()?;
        cars.push(p);
    }
    for i in 10..13 {
        let mut p = Process::new(police_car, (e.clone(), i));
        p.start()?;
        cars.push(p);
    }
    let mut t = Process::builder().daemon(true).target(traffic_lights, (e.clone(), 300));
    t.start()?;
    println!("预备~~~~开始!!!");
    for p in &mut cars {
        p.join()?;
    }
    println!("all cars have gone");
    Ok(())
}
