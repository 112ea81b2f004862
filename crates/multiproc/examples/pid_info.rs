//! Seed 000, 示例3: `info()` prints the process id and the parent's, in the main process and in a
//! child (Python's `__name__` becomes the module path).
//! Seed: 000_251826d36db1e8b6.txt#L83-L105

use multiproc::Process;

fn info(title: &str) {
    println!("{title}");
    println!("module name: {}", module_path!());
    println!("parent process: {}", std::os::unix::process::parent_id());
    println!("process id: {}", std::process::id());
}

fn func(name: String) {
    info("function func");
    println!("hello {name}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    info("main line");
    let mut p = Process::new(func, ("bob".to_string(),));
    p.start()?;
    p.join()?;
    Ok(())
}
