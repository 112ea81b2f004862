//! Seed 003 (加锁保证数据安全): the same three buyers, with a `Lock` around reading and writing the
//! ticket count. Exactly one buys the last ticket; the others are told there is none.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1201-L1247

use std::path::{Path, PathBuf};
use std::time::Duration;

use multiproc::{Lock, Process};

fn search(db: &Path) {
    let dic: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(db).unwrap()).unwrap();
    println!("剩余票数{}", dic["count"]);
}

fn get(db: &Path) {
    let mut dic: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(db).unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(50)); // the seed's network delay while reading
    let count = dic["count"].as_i64().unwrap();
    if count > 0 {
        dic["count"] = (count - 1).into();
        std::thread::sleep(Duration::from_millis(50)); // and while writing
        std::fs::write(db, dic.to_string()).unwrap();
        println!("购票成功");
    } else {
        println!("sorry, 没票了亲! ");
    }
}

fn task(db: PathBuf, lock: Lock) {
    search(&db);
    // The ticket count changes here, so this is where the lock goes.
    let _held = lock.acquire().expect("no holder dies in this example");
    get(&db);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = std::env::temp_dir().join(format!("multiproc-db-locked-{}.json", std::process::id()));
    std::fs::write(&db, r#"{"count":1}"#)?;
    let lock = Lock::new()?;
    let mut ps = Vec::new();
    for _ in 0..3 {
        let mut p = Process::new(task, (db.clone(), lock.clone()));
        p.start()?;
        ps.push(p);
    }
    for p in &mut ps {
        p.join()?;
    }
    println!("tickets left in the file: {}", std::fs::read_to_string(&db)?);
    std::fs::remove_file(&db)?;
    Ok(())
}
