//! Seed 003 (二: 使用进程池 (同步调用, apply)): the same ten messages with `apply`, which waits for
//! each call, so they run one at a time and print in order. `=====>` comes after all ten, and the
//! list already holds the values: `apply` returns the result itself, there is nothing to `get`.
//! The seed's comment on the `apply` line ("keeps the number of running processes at `processes`")
//! describes `apply_async`; with `apply`, one worker runs at a time.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2346-L2357, 003_c397d4ee5c18e9b7.txt#L2363-L2374

use std::time::Duration;

use multiproc::Pool;

fn func(msg: String) -> String {
    println!("msg: {msg}");
    std::thread::sleep(Duration::from_millis(100));
    msg
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().processes(3).build()?;

    let mut res_l = Vec::new();
    for i in 0..10 {
        let msg = format!("hello {i}");
        let res = pool.apply(func, (msg,))?;
        res_l.push(res);
    }
    println!("=====>");
    pool.close();
    pool.join()?;

    println!("{res_l:?}");
    for i in &res_l {
        println!("{i}");
    }
    Ok(())
}
