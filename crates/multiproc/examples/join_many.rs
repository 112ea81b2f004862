//! Seed 002 (`p_list`): start three processes, then join them all; `结束` comes after every child.
//! Seed: 002_2f3e4e8f19c04ddd.txt#L34-L46

use multiproc::Process;

fn f(name: String) {
    println!("hello {name}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut p_list = Vec::new();
    for _ in 0..3 {
        let mut p = Process::new(f, ("AAA".to_string(),));
        p.start()?;
        p_list.push(p);
    }
    for p in &mut p_list {
        p.join()?;
    }
    println!("结束");
    Ok(())
}
