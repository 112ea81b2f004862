//! Seed 003 (进程之间数据共享, Manager): a hundred processes each take `count` down by one in a dict
//! that a manager holds, each under a lock (`with lock: d['count'] -= 1`): the read and the write
//! are two round trips to the manager, and without the lock updates would be lost. It ends at 0.
//! `manager_count_update` does the same without a lock.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1996-L2016

use multiproc::{DictProxy, Lock, Manager, Process};

fn work(d: DictProxy<String, i32>, lock: Lock) {
    let _held = lock.acquire().expect("no holder dies in this example"); // 不加锁而操作共享的数据,肯定会出现数据错乱
    let count = d.get("count").unwrap().expect("count is set");
    d.insert("count".into(), count - 1).unwrap();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lock = Lock::new()?;
    let m = Manager::start()?;
    let dic = m.dict::<String, i32>()?;
    dic.insert("count".into(), 100)?;
    let mut p_l = Vec::new();
    for _ in 0..100 {
        let mut p = Process::new(work, (dic.clone(), lock.clone()));
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
