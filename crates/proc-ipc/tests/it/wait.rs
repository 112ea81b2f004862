//! `wait` over connections, queues and process sentinels together.

use std::time::Duration;

use proc_core::Process;
use proc_ipc::{Connection, Pipe, Queue, wait};

use crate::support::{WATCHDOG, join};

fn put_one(q: Queue<u32>) {
    q.put(1).unwrap();
}

fn send_one(mut c: Connection<u32>) {
    c.send(&2).unwrap();
}

fn idle(q: Queue<u32>) {
    // Ends when the test closes the queue.
    let _ = q.get();
}

#[test]
fn wait_returns_the_ready_subset_of_queues_connections_and_processes() {
    let q = Queue::new().unwrap();
    let (mut a, b) = Pipe::new::<u32>().unwrap();
    let quiet_q: Queue<u32> = Queue::new().unwrap();
    let (quiet_conn, _keep) = Pipe::new::<u32>().unwrap();
    let mut idler = Process::new(idle, (quiet_q.clone(),));
    idler.start().unwrap();

    // Nothing ready: a timeout returns nothing.
    let none =
        wait(&[&q, &a, &idler, &quiet_q, &quiet_conn], Some(Duration::from_millis(20))).unwrap();
    assert!(none.is_empty(), "{none:?}");

    let mut p = Process::new(put_one, (q.clone(),));
    p.start().unwrap();
    let ready = wait(&[&quiet_q, &q, &quiet_conn], Some(WATCHDOG)).unwrap();
    assert_eq!(ready, vec![1]);
    assert_eq!(q.try_get().unwrap(), 1);
    join(&mut p).unwrap();

    let mut s = Process::new(send_one, (b,));
    s.start().unwrap();
    let ready = wait(&[&quiet_q, &a, &quiet_conn], Some(WATCHDOG)).unwrap();
    assert_eq!(ready, vec![1]);
    assert_eq!(a.recv().unwrap(), 2);
    join(&mut s).unwrap();

    // A queue that was taken empty is not reported again (its stale signal is cleared).
    let none = wait(&[&q, &quiet_conn], Some(Duration::from_millis(20))).unwrap();
    assert!(none.is_empty(), "{none:?}");

    // A process sentinel: ready when it ends. A closed queue is ready (a get returns at once).
    quiet_q.close();
    let ready = wait(&[&idler], Some(WATCHDOG)).unwrap();
    assert_eq!(ready, vec![0]);
    assert_eq!(wait(&[&quiet_q], Some(WATCHDOG)).unwrap(), vec![0]);
    join(&mut idler).unwrap();
}

#[test]
fn wait_wakes_for_a_put_made_while_it_sleeps() {
    let q = Queue::new().unwrap();
    let waiter = {
        let q = q.clone();
        std::thread::spawn(move || wait(&[&q], Some(WATCHDOG)).unwrap())
    };
    // Whether the put lands before or after the waiter sleeps, it must see it.
    q.put(5u8).unwrap();
    assert_eq!(waiter.join().unwrap(), vec![0]);
}
