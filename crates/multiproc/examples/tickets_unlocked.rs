//! Seed 003 (模拟抢票): three buyers read the ticket count from a JSON file, then write it back, with
//! no lock. The seed makes the race likely with sleeps; this twin makes it certain with a `Barrier`
//! (everyone has read before anyone writes), so every buyer "gets" the last ticket: wrong.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1153-L1193

use std::path::{Path, PathBuf};

use multiproc::{Barrier, Process};

fn search(db: &Path) {
    let dic: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(db).unwrap()).unwrap();
    println!("剩余票数{}", dic["count"]);
}

fn get(db: &Path, everyone_has_read: &Barrier) {
    let mut dic: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(db).unwrap()).unwrap();
    everyone_has_read.wait().unwrap();
    let count = dic["count"].as_i64().unwrap();
    if count > 0 {
        dic["count"] = (count - 1).into();
        std::fs::write(db, dic.to_string()).unwrap();
        println!("购票成功");
    } else {
        println!("sorry, 没票了亲! ");
    }
}

fn task(db: PathBuf, barrier: Barrier) {
    search(&db);
    get(&db, &barrier);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = std::env::temp_dir().join(format!("multiproc-db-{}.json", std::process::id()));
    std::fs::write(&db, r#"{"count":1}"#)?;
    let barrier = Barrier::new(3)?;
    let mut ps = Vec::new();
    for _ in 0..3 {
        let mut p = Process::new(task, (db.clone(), barrier.clone()));
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
