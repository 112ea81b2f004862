//! Seed 004 §5 (共享内存): `Value('i', 0)`, `Value('d', 3.14)` and `Array('i', [1, 2, 3, 4])`. The
//! typecode letter becomes the Rust type.
//! Seed: 004_46a3ed6e1207d4fe.txt#L264-L278

use multiproc::{Array, Process, Value};

fn double_all(a: Array<i32>, scale: Value<f64>) {
    for x in a.lock().iter_mut() {
        *x *= 2;
    }
    *scale.lock() *= 2.0;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let value1 = Value::new(0i32)?; // 'i': a signed int
    #[allow(clippy::approx_constant)] // the seed's value, not an approximation of pi
    let value2 = Value::new(3.14f64)?; // 'd': a double
    let array = Array::from_slice(&[1i32, 2, 3, 4])?; // one-dimensional, like Python's
    println!("value1 = {}, value2 = {}, array = {:?}", value1.get(), value2.get(), array.to_vec());

    let mut p = Process::new(double_all, (array.clone(), value2.clone()));
    p.start()?;
    p.join()?;
    println!("after the child: value2 = {}, array = {:?}", value2.get(), array.to_vec());
    Ok(())
}
