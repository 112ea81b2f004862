//! Queues: order, bounds, close-and-drain, nothing lost at exit, JoinableQueue, SimpleQueue.

use std::collections::BTreeSet;
use std::time::Duration;

use proc_core::{Handle, Process};
use proc_ipc::{
    GetError, JoinableQueue, MessageError, PutError, Queue, SimpleQueue, TaskDoneError,
};
use serde_bytes::ByteBuf;

use crate::support::{WATCHDOG, join, run_all};

fn produce(q: Queue<u64>, from: u64, n: u64) {
    for i in from..from + n {
        q.put(i).unwrap();
    }
}

#[test]
fn one_producer_is_first_in_first_out() {
    let q = Queue::new().unwrap();
    let mut p = Process::new(produce, (q.clone(), 0, 100_000));
    p.start().unwrap();
    for i in 0..100_000 {
        assert_eq!(q.get_timeout(WATCHDOG).unwrap(), i);
    }
    join(&mut p).unwrap();
    assert!(q.is_empty());
    assert_eq!(q.len(), 0);
}

#[test]
fn a_bounded_queue_says_full_and_empty_and_gives_the_item_back() {
    let q = Queue::bounded(3).unwrap();
    assert_eq!(q.maxsize(), Some(3));
    assert!(matches!(q.try_get(), Err(GetError::Empty)));
    for i in 0..3 {
        q.try_put(format!("item {i}")).unwrap();
    }
    assert!(q.is_full());
    assert_eq!(q.len(), 3);
    match q.try_put("one too many".to_string()) {
        Err(PutError::Full(item)) => assert_eq!(item, "one too many"),
        other => panic!("expected Full, got {other:?}"),
    }
    match q.put_timeout("late".to_string(), Duration::from_millis(20)) {
        Err(PutError::Timeout(item)) => assert_eq!(item, "late"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(q.get().unwrap(), "item 0");
    assert!(!q.is_full());
    q.try_put("item 3".to_string()).unwrap();
    let rest: Vec<String> = (0..3).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(rest, ["item 1", "item 2", "item 3"]);
    assert!(matches!(q.get_timeout(Duration::from_millis(20)), Err(GetError::Timeout)));
    assert!(q.is_empty());
}

fn fill_bounded(q: Queue<u64>, n: u64) {
    for i in 0..n {
        q.put(i).unwrap();
    }
}

#[test]
fn a_bounded_put_waits_for_a_consumer_in_another_process() {
    let q = Queue::bounded(2).unwrap();
    let mut p = Process::new(fill_bounded, (q.clone(), 1000));
    p.start().unwrap();
    for i in 0..1000 {
        assert_eq!(q.get_timeout(WATCHDOG).unwrap(), i);
        assert!(q.len() <= 2);
    }
    join(&mut p).unwrap();
}

fn consume_all(q: Queue<u64>) -> Vec<u64> {
    q.iter().collect()
}

#[test]
fn many_producers_and_consumers_get_every_item_exactly_once_and_iter_ends_at_close() {
    let q = Queue::new().unwrap();
    let producers: Vec<_> =
        (0..3).map(|k| Process::new(produce, (q.clone(), k * 10_000, 10_000))).collect();
    let mut consumers: Vec<_> = (0..2).map(|_| Process::new(consume_all, (q.clone(),))).collect();
    for c in &mut consumers {
        c.start().unwrap();
    }
    run_all(producers);
    q.close();
    let mut all = Vec::new();
    for c in &mut consumers {
        let got = join(c).unwrap();
        // Each consumer sees each producer's items in order.
        for k in 0..3 {
            let mine: Vec<u64> = got.iter().copied().filter(|v| v / 10_000 == k).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..30_000).collect::<Vec<_>>());
}

#[test]
fn closing_refuses_puts_and_lets_consumers_drain() {
    let q = Queue::new().unwrap();
    q.put(1u32).unwrap();
    q.put(2).unwrap();
    q.close();
    q.close();
    assert!(q.is_closed());
    match q.put(3) {
        Err(PutError::Closed(3)) => {}
        other => panic!("expected Closed(3), got {other:?}"),
    }
    assert_eq!(q.iter().collect::<Vec<_>>(), [1, 2]);
    assert!(matches!(q.get(), Err(GetError::Closed)));
    assert!(matches!(q.try_get(), Err(GetError::Closed)));
    assert!(matches!(q.get_timeout(WATCHDOG), Err(GetError::Closed)));
}

fn block_on_get(q: Queue<u32>) -> String {
    match q.get() {
        Err(e) => e.to_string(),
        Ok(v) => format!("got {v}"),
    }
}

#[test]
fn closing_wakes_a_consumer_blocked_in_another_process() {
    let q = Queue::new().unwrap();
    let mut p = Process::new(block_on_get, (q.clone(),));
    p.start().unwrap();
    q.close();
    assert_eq!(join(&mut p).unwrap(), "the queue is closed and drained");
}

fn put_10_mib(q: Queue<ByteBuf>) {
    for i in 0..10u8 {
        q.put(ByteBuf::from(vec![i; 1 << 20])).unwrap();
    }
}

#[test]
fn nothing_put_before_exit_is_lost_even_when_joined_before_anyone_reads() {
    // Python's feeder thread loses data or deadlocks the join here.
    let q = Queue::new().unwrap();
    let mut p = Process::new(put_10_mib, (q.clone(),));
    p.start().unwrap();
    join(&mut p).unwrap();
    assert_eq!(q.len(), 10);
    for i in 0..10u8 {
        let item = q.try_get().unwrap();
        assert_eq!(item.len(), 1 << 20);
        assert!(item.iter().all(|b| *b == i));
    }
}

fn put_without_consumer(q: Queue<u64>, n: u64) -> u64 {
    for i in 0..n {
        q.put(i).unwrap();
    }
    n
}

#[test]
fn an_unbounded_put_never_waits_for_a_consumer() {
    let q = Queue::new().unwrap();
    let mut p = Process::new(put_without_consumer, (q.clone(), 300_000));
    p.start().unwrap();
    assert_eq!(join(&mut p).unwrap(), 300_000);
    assert_eq!(q.len(), 300_000);
    assert_eq!(q.try_get().unwrap(), 0);
}

#[test]
fn items_larger_than_a_block_and_mixed_sizes_round_trip() {
    let q = Queue::new().unwrap();
    let sizes = [0usize, 1, 7, 8, 4096, (2 << 20) - 100, 2 << 20, 5 << 20, 3, 17 << 20, 9];
    let t = {
        let q = q.clone();
        std::thread::spawn(move || {
            for (k, n) in sizes.iter().enumerate() {
                q.put(ByteBuf::from(vec![k as u8; *n])).unwrap();
            }
        })
    };
    for (k, n) in sizes.iter().enumerate() {
        let item = q.get_timeout(WATCHDOG).unwrap();
        assert_eq!(item.len(), *n);
        assert!(item.iter().all(|b| *b == k as u8));
    }
    t.join().unwrap();
    assert!(q.is_empty());
}

#[test]
fn a_full_address_space_is_a_typed_error_that_returns_the_item() {
    let q = Queue::<ByteBuf>::builder().capacity(4 << 20).build().unwrap();
    let mut put = 0;
    let err = loop {
        match q.put(ByteBuf::from(vec![1; 1 << 20])) {
            Ok(()) => put += 1,
            Err(e) => break e,
        }
        assert!(put < 100, "the capacity was not enforced");
    };
    match err {
        PutError::Message(item, MessageError::NoSpace { capacity }) => {
            assert_eq!(item.len(), 1 << 20);
            assert_eq!(capacity, 4 << 20);
        }
        other => panic!("expected NoSpace, got {other:?}"),
    }
    // Taking items frees room again.
    for _ in 0..put {
        q.try_get().unwrap();
    }
    q.put(ByteBuf::from(vec![2; 1 << 20])).unwrap();
    assert_eq!(q.try_get().unwrap()[0], 2);
}

#[test]
fn an_item_holding_an_os_handle_is_refused_with_the_item_back() {
    let q: Queue<Handle<std::fs::File>> = Queue::new().unwrap();
    let f = Handle::new(std::fs::File::open("/dev/null").unwrap());
    match q.put(f) {
        Err(PutError::Message(_file, MessageError::Encode(why))) => {
            assert!(why.contains("handle"), "{why}")
        }
        other => panic!("expected an encode error, got {other:?}"),
    }
    assert!(q.is_empty());
}

#[test]
fn a_queue_received_as_another_item_type_is_refused() {
    let q: Queue<u32> = Queue::new().unwrap();
    let e = proc_core::codec::encode(&q).unwrap();
    let fds: Vec<_> = e.fds().iter().map(|fd| fd.try_clone_to_owned().unwrap()).collect();
    let err = proc_core::codec::decode::<Queue<String>>(e.bytes(), fds).unwrap_err();
    assert!(matches!(err, proc_ipc::DecodeError::Format(_)), "{err}");
    let fds: Vec<_> = e.fds().iter().map(|fd| fd.try_clone_to_owned().unwrap()).collect();
    let same: Queue<u32> = proc_core::codec::decode(e.bytes(), fds).unwrap();
    same.put(5).unwrap();
    assert_eq!(q.get().unwrap(), 5);
}

#[test]
fn queues_work_between_threads() {
    let q = Queue::bounded(8).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|k| {
            let q = q.clone();
            std::thread::spawn(move || {
                for i in 0..1000u64 {
                    q.put(k * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    let mut got: Vec<u64> = (0..4000).map(|_| q.get_timeout(WATCHDOG).unwrap()).collect();
    for t in threads {
        t.join().unwrap();
    }
    got.sort_unstable();
    assert_eq!(got, (0..4000).collect::<Vec<_>>());
}

fn worker(q: JoinableQueue<u64>, done: Queue<u64>) {
    while let Ok(n) = q.get() {
        done.put(n * n).unwrap();
        q.task_done().unwrap();
    }
}

#[test]
fn a_joinable_queue_joins_when_every_item_is_done() {
    let q = JoinableQueue::new().unwrap();
    let results = Queue::new().unwrap();
    let mut ws: Vec<_> = (0..2)
        .map(|_| Process::builder().daemon(true).target(worker, (q.clone(), results.clone())))
        .collect();
    for w in &mut ws {
        w.start().unwrap();
    }
    for n in 0..100 {
        q.put(n).unwrap();
    }
    assert!(q.join_timeout(WATCHDOG), "join did not return");
    assert_eq!(q.unfinished_tasks(), 0);
    let got: BTreeSet<u64> = (0..100).map(|_| results.try_get().unwrap()).collect();
    assert_eq!(got, (0..100).map(|n| n * n).collect());
    q.close();
    for w in &mut ws {
        join(w).unwrap();
    }
}

#[test]
fn task_done_once_too_often_is_a_typed_error_that_changes_nothing() {
    let q = JoinableQueue::new().unwrap();
    assert_eq!(q.task_done(), Err(TaskDoneError));
    q.put(1u8).unwrap();
    q.put(2).unwrap();
    assert_eq!(q.unfinished_tasks(), 2);
    assert!(!q.join_timeout(Duration::from_millis(10)));
    q.get().unwrap();
    q.task_done().unwrap();
    // One item taken, one done: another task_done has no item behind it.
    assert_eq!(q.task_done(), Err(TaskDoneError));
    assert_eq!(q.unfinished_tasks(), 1);
    q.get().unwrap();
    q.task_done().unwrap();
    assert!(q.join_timeout(WATCHDOG));
}

fn simple_echo(q: SimpleQueue<String>, back: SimpleQueue<String>) {
    let s = q.get().unwrap();
    back.put(s.to_uppercase()).unwrap();
}

#[test]
fn a_simple_queue_carries_items_between_processes() {
    let (q, back) = (SimpleQueue::new().unwrap(), SimpleQueue::new().unwrap());
    assert!(q.is_empty());
    let mut p = Process::new(simple_echo, (q.clone(), back.clone()));
    p.start().unwrap();
    q.put("hello".into()).unwrap();
    join(&mut p).unwrap();
    assert_eq!(back.get().unwrap(), "HELLO");
    back.close();
    assert!(matches!(back.get(), Err(GetError::Closed)));
}
