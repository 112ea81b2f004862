//! Seed 003 (一: 使用进程池 (异步调用, apply_async)): ten `apply_async(func, (msg,))` calls on a pool of
//! three; `func` prints `msg: hello i`, sleeps (0.1 s here, 1 s in the seed) and returns the message.
//! `=====>` is printed as soon as the ten are submitted, usually before any of them has printed.
//! After `close` and `join`, printing the list shows the result objects, not the values (Python
//! prints `ApplyResult` objects; here each says it is ready and successful), and `get` on each gives
//! the messages in the order submitted.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2319-L2344

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
        // Keeps three calls running; calling get here would wait and make the loop synchronous.
        let res = pool.apply_async(func, (msg,))?;
        res_l.push(res);
    }
    println!("=====>");

    pool.close();
    pool.join()?;

    println!("{res_l:?}");
    for i in res_l {
        println!("{}", i.get()?);
    }
    Ok(())
}
