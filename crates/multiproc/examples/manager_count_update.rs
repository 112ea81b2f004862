//! Seed 003 (进程之间数据共享, Manager), beyond Python: the same hundred processes taking `count`
//! down by one, with no lock. `update_with` sends the update itself to the manager, which runs it
//! on the stored value, one update at a time: `d['count'] -= 1` becomes one atomic round trip,
//! and nothing is lost. It ends at 0.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1996-L2016

use multiproc::{DictProxy, Manager, Process};

fn work(d: DictProxy<String, i32>) {
    // A closure that captures nothing: it travels to the manager as its offset in this binary.
    d.update_with("count", |count: Option<i32>| count.expect("count is set") - 1).unwrap();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let m = Manager::start()?;
    let dic = m.dict::<String, i32>()?;
    dic.insert("count".into(), 100)?;
    let mut p_l = Vec::new();
    for _ in 0..100 {
        let mut p = Process::new(work, (dic.clone(),));
        p.start()?;
        p_l.push(p);
    }
    for p in &mut p_l {
        p.join()?;
    }
    let items: Vec<String> = dic.items()?.iter().map(|(k, v)| format!("'{k}': {v}")).collect();
    println!("{{{}}}", items.join(", "));
    Ok(())
}
