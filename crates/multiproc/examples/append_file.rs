//! Seed 003 (多进程同时对一个文件进行写操作): ten processes append to one file; afterwards the file
//! holds all ten records. Processes share the file system even though they share no memory.
//! Seed: 003_c397d4ee5c18e9b7.txt#L527-L562

use std::io::{Seek, SeekFrom, Write};

use multiproc::Process;

fn func(path: String, y: String) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(&path).unwrap();
    let pos = f.seek(SeekFrom::End(0)).unwrap();
    println!("当前进程{}拿到的文件的光标位置>>{pos}", std::process::id());
    f.write_all(y.as_bytes()).unwrap();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("multiproc-append-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("can_do_girl_lists.txt").display().to_string();
    let mut p_list = Vec::new();
    for i in 0..10 {
        let mut p = Process::new(func, (path.clone(), format!("姑娘{i}")));
        p.start()?;
        p_list.push(p);
    }
    for p in &mut p_list {
        p.join()?;
    }
    let data = std::fs::read_to_string(&path)?;
    let all_num: Vec<&str> = data.split("姑娘").filter(|s| !s.is_empty()).collect();
    println!(">>>> {all_num:?} ..... {}", all_num.len());
    std::fs::remove_dir_all(&dir)?;
    println!("不要钱~~~~~! ");
    Ok(())
}
