//! Processes killed in the middle of queue operations: no torn item, nothing stuck, the queue
//! goes on.

use proc_core::{Process, Signal};
use proc_ipc::{GetError, Queue};
use serde_bytes::ByteBuf;

use crate::support::{WATCHDOG, join};

/// An item that tells whether it arrived whole: every byte is its sequence number's low byte and
/// the length is its size.
fn item(seq: u64, len: usize) -> (u64, ByteBuf) {
    (seq, ByteBuf::from(vec![seq as u8; len]))
}

fn check(got: &(u64, ByteBuf), len: usize) {
    assert_eq!(got.1.len(), len, "item {} arrived with the wrong length", got.0);
    assert!(got.1.iter().all(|b| *b == got.0 as u8), "item {} arrived torn", got.0);
}

/// Puts 6 MiB items (each spans several blocks) forever.
fn put_large_forever(q: Queue<(u64, ByteBuf)>, len: usize) {
    for seq in 0.. {
        q.put(item(seq, len)).unwrap();
    }
}

#[test]
fn a_producer_killed_in_the_middle_of_large_puts_leaves_no_torn_item() {
    const LEN: usize = 6 << 20;
    let q = Queue::new().unwrap();
    for round in 0..5 {
        let mut p = Process::new(put_large_forever, (q.clone(), LEN));
        p.start().unwrap();
        // Wait until it is well into its work, then kill it wherever it is: most of a large put's
        // time is spent copying under the put lock.
        let first = q.get_timeout(WATCHDOG).unwrap();
        check(&first, LEN);
        p.signal(Signal::SIGKILL).unwrap();
        let _ = join(&mut p);
        // Whatever it completed is whole; whatever it was in the middle of is not there.
        while let Ok(got) = q.try_get() {
            check(&got, LEN);
        }
        // The queue goes on: a new producer (this process) takes over the dead one's lock.
        q.put(item(1000 + round, 100)).unwrap();
        let got = q.get_timeout(WATCHDOG).unwrap();
        assert_eq!(got.0, 1000 + round);
        check(&got, 100);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }
}

/// Takes items forever, reporting each through `seen`.
fn take_forever(q: Queue<(u64, ByteBuf)>, seen: Queue<u64>) {
    loop {
        let got = q.get().unwrap();
        seen.put(got.0).unwrap();
    }
}

#[test]
fn a_consumer_killed_in_the_middle_of_gets_leaves_the_queue_consistent() {
    const LEN: usize = 3 << 20;
    const N: u64 = 40;
    let q = Queue::new().unwrap();
    let seen = Queue::new().unwrap();
    for seq in 0..N {
        q.put(item(seq, LEN)).unwrap();
    }
    let mut c = Process::new(take_forever, (q.clone(), seen.clone()));
    c.start().unwrap();
    seen.get_timeout(WATCHDOG).unwrap();
    c.signal(Signal::SIGKILL).unwrap();
    let _ = join(&mut c);
    // The remaining items are whole, in order, and `len` agrees with what is really there.
    let left = q.len();
    let mut drained = Vec::new();
    while let Ok(got) = q.try_get() {
        check(&got, LEN);
        drained.push(got.0);
    }
    assert_eq!(drained.len(), left);
    assert!(drained.windows(2).all(|w| w[0] + 1 == w[1]));
    if let Some(last) = drained.last() {
        assert_eq!(*last, N - 1);
    }
    // Usable afterwards by a new consumer.
    q.put(item(99, 10)).unwrap();
    check(&q.get_timeout(WATCHDOG).unwrap(), 10);
    assert!(matches!(q.try_get(), Err(GetError::Empty)));
}

fn put_small_forever(q: Queue<u64>) {
    for i in 0.. {
        q.put(i).unwrap();
    }
}

#[test]
fn killing_producers_many_times_in_a_loop_never_wedges_the_queue() {
    let q = Queue::bounded(64).unwrap();
    for _ in 0..20 {
        let mut p = Process::new(put_small_forever, (q.clone(),));
        p.start().unwrap();
        let mut last = q.get_timeout(WATCHDOG).unwrap();
        for _ in 0..50 {
            let v = q.get_timeout(WATCHDOG).unwrap();
            assert_eq!(v, last + 1);
            last = v;
        }
        p.signal(Signal::SIGKILL).unwrap();
        let _ = join(&mut p);
        while q.try_get().is_ok() {}
    }
    q.put(7).unwrap();
    assert_eq!(q.get_timeout(WATCHDOG).unwrap(), 7);
}
