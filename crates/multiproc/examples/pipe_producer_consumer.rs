//! Seed 003 (管道, 生产者消费者): the main process is the producer and sends the buns 0 to 9 through a
//! duplex `Pipe`; consumer `c1` prints each one until `recv` reports end of stream
//! (`RecvError::Disconnected`, Python's `EOFError`). As in the seed, both ends go to the consumer
//! and each side closes the end it does not use: end of stream comes only once every copy of
//! `produce` is closed, the consumer's and the producer's.
//!
//! An end moved into a child's arguments leaves the parent, so the parent keeps `consume` and
//! gives the child a [`try_clone`](multiproc::Connection::try_clone) of `produce`.
//! Seed: 003_c397d4ee5c18e9b7.txt#L1917-L1953

use multiproc::ipc::{RecvError, SendError};
use multiproc::{Connection, Pipe, Process};

fn consumer(p: (Connection<i32>, Connection<i32>), name: String) {
    let (mut produce, mut consume) = p;
    produce.close(); // without this, c1 would wait in recv for ever
    loop {
        match consume.recv() {
            Ok(baozi) => println!("{name} 收到包子:{baozi}"),
            Err(RecvError::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

fn producer(
    seq: impl Iterator<Item = i32>,
    p: (&mut Connection<i32>, &mut Connection<i32>),
) -> Result<(), SendError> {
    let (produce, consume) = p;
    consume.close();
    for i in seq {
        produce.send(&i)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut produce, mut consume) = Pipe::new()?;
    let mut c1 =
        Process::new(consumer, ((produce.try_clone()?, consume.try_clone()?), "c1".to_string()));
    c1.start()?;
    producer(0..10, (&mut produce, &mut consume))?;
    produce.close();
    c1.join()?;
    println!("主进程");
    Ok(())
}
