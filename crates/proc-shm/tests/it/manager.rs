//! The manager: real server processes, real sockets, real signals.

use std::sync::mpsc;
use std::time::Duration;

use proc_core::{Process, current_process};
use proc_ipc::{Address, AuthError, Client, Connection, Pipe};
use proc_shm::manager::{
    DictProxy, KeyError, ListError, ListProxy, LockProxy, LookupError, Manager, NamespaceProxy,
    ObjectKind, Proxy, ProxyError, QueueProxy, ValueProxy,
};
use proc_sync::Event;

use crate::{WATCHDOG, join, run_all};

/// Aborts the whole test binary if the test that made it has not finished within the watchdog:
/// a call into a manager that hangs fails loudly instead of stalling the run.
pub(crate) struct Watchdog(Option<mpsc::Sender<()>>);

pub(crate) fn watchdog(name: &'static str) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(2 * WATCHDOG) {
            eprintln!("watchdog: {name} did not finish within {:?}", 2 * WATCHDOG);
            std::process::abort();
        }
    });
    Watchdog(Some(tx))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

fn seed_writer(d: DictProxy<String, String>, l: ListProxy<i32>, n: i32) {
    d.insert(n.to_string(), "1".into()).unwrap();
    d.insert("2".into(), "2".into()).unwrap();
    l.push(n).unwrap();
}

#[test]
fn five_processes_write_one_dict_and_one_list() {
    let _w = watchdog("five_processes_write_one_dict_and_one_list");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, String>().unwrap();
    let l = m.list::<i32>().unwrap();
    l.extend(0..5).unwrap();
    run_all((0..5).map(|n| Process::new(seed_writer, (d.clone(), l.clone(), n))).collect());
    let mut keys = d.keys().unwrap();
    keys.sort();
    assert_eq!(keys, ["0", "1", "2", "3", "4"]);
    assert_eq!(d.get("2").unwrap().as_deref(), Some("2"));
    let items = l.to_vec().unwrap();
    assert_eq!(&items[..5], &[0, 1, 2, 3, 4]);
    let mut appended = items[5..].to_vec();
    appended.sort();
    assert_eq!(appended, [0, 1, 2, 3, 4]);
}

fn decrement_many(d: DictProxy<String, i64>, times: u32) {
    for _ in 0..times {
        d.update_with("count", |c: Option<i64>| c.expect("count was set") - 1).unwrap();
    }
}

#[test]
fn update_with_from_many_processes_loses_nothing() {
    let _w = watchdog("update_with_from_many_processes_loses_nothing");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, i64>().unwrap();
    d.insert("count".into(), 1000).unwrap();
    run_all((0..10).map(|_| Process::new(decrement_many, (d.clone(), 100))).collect());
    assert_eq!(d.get("count").unwrap(), Some(0));
}

fn decrement_locked(d: DictProxy<String, i64>, lock: LockProxy, times: u32) {
    for _ in 0..times {
        let held = lock.acquire().unwrap();
        let c = d.get("count").unwrap().unwrap();
        d.insert("count".into(), c - 1).unwrap();
        held.release().unwrap();
    }
}

#[test]
fn a_managed_lock_makes_read_modify_write_exact() {
    let _w = watchdog("a_managed_lock_makes_read_modify_write_exact");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, i64>().unwrap();
    let lock = m.lock().unwrap();
    d.insert("count".into(), 200).unwrap();
    run_all(
        (0..4).map(|_| Process::new(decrement_locked, (d.clone(), lock.clone(), 50))).collect(),
    );
    assert_eq!(d.get("count").unwrap(), Some(0));
}

#[test]
fn dict_operations_and_typed_errors() {
    let _w = watchdog("dict_operations_and_typed_errors");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, u32>().unwrap();
    assert!(d.is_empty().unwrap());
    d.update([("b".to_string(), 2), ("a".to_string(), 1)]).unwrap();
    d.insert("c".into(), 3).unwrap();
    d.insert("b".into(), 20).unwrap();
    assert_eq!(d.keys().unwrap(), ["b", "a", "c"]);
    assert_eq!(d.values().unwrap(), [20, 1, 3]);
    assert_eq!(d.items().unwrap(), [("b".into(), 20), ("a".into(), 1), ("c".into(), 3)]);
    assert!(d.contains_key("a").unwrap());
    assert_eq!(d.remove("a").unwrap(), 1);
    assert!(!d.contains_key("a").unwrap());
    assert!(matches!(d.remove("a"), Err(KeyError::Missing)));
    assert_eq!(d.get("zzz").unwrap(), None);
    assert_eq!(d.len().unwrap(), 2);
    d.clear().unwrap();
    assert_eq!(d.len().unwrap(), 0);

    // Another view of the same object with the wrong value type: a typed decode error.
    d.insert("x".into(), 300).unwrap();
    let wrong = DictProxy::<String, String>::from_object(d.object().clone());
    assert!(matches!(wrong.get("x"), Err(ProxyError::Decode(_))));
}

#[test]
fn list_operations_and_typed_errors() {
    let _w = watchdog("list_operations_and_typed_errors");
    let m = Manager::start().unwrap();
    let l = m.list::<String>().unwrap();
    assert_eq!(l.pop().unwrap(), None);
    l.push("a".into()).unwrap();
    l.extend(["b".to_string(), "c".to_string()]).unwrap();
    assert_eq!(l.len().unwrap(), 3);
    assert_eq!(l.get(1).unwrap(), "b");
    l.set(1, "B".into()).unwrap();
    assert_eq!(l.to_vec().unwrap(), ["a", "B", "c"]);
    assert!(matches!(l.get(3), Err(ListError::OutOfRange { index: 3, len: 3 })));
    assert!(matches!(l.set(9, "x".into()), Err(ListError::OutOfRange { index: 9, len: 3 })));
    assert!(matches!(
        l.update_with(3, |s: String| s),
        Err(ListError::OutOfRange { index: 3, len: 3 })
    ));
    assert_eq!(l.update_with(0, |s: String| s.to_uppercase()).unwrap(), "A");
    assert_eq!(l.pop().unwrap().as_deref(), Some("c"));
    l.clear().unwrap();
    assert!(l.is_empty().unwrap());
}

#[test]
fn a_panicking_update_is_reported_and_changes_nothing() {
    let _w = watchdog("a_panicking_update_is_reported_and_changes_nothing");
    let m = Manager::start().unwrap();
    let v = m.value(5i32).unwrap();
    let r = v.update_with(|x: i32| if x == 5 { panic!("five is not allowed") } else { x });
    match r {
        Err(ProxyError::Remote(msg)) => assert!(msg.contains("five is not allowed"), "{msg}"),
        other => panic!("expected a remote error, got {other:?}"),
    }
    assert_eq!(v.get().unwrap(), 5);
    assert_eq!(v.update_with(|x: i32| x + 1).unwrap(), 6);
}

#[test]
fn a_value_with_the_wrong_stored_type_fails_the_update_typed() {
    let _w = watchdog("a_value_with_the_wrong_stored_type_fails_the_update_typed");
    let m = Manager::start().unwrap();
    let v = m.value(7u8).unwrap();
    // 7 is no encoding of a bool: the update is refused in the manager, the value stays.
    let wrong = ValueProxy::<bool>::from_object(v.object().clone());
    assert!(matches!(wrong.update_with(|b: bool| !b), Err(ProxyError::Remote(_))));
    assert!(matches!(wrong.get(), Err(ProxyError::Decode(_))));
    assert_eq!(v.get().unwrap(), 7);
}

fn use_every_kind(
    ns: NamespaceProxy,
    v: ValueProxy<Vec<String>>,
    q: QueueProxy<u32>,
    lock: LockProxy,
) -> (u32, bool) {
    let _held = lock.acquire().unwrap();
    ns.set("child", format!("pid {}", std::process::id())).unwrap();
    v.update_with(|mut l: Vec<String>| {
        l.push("child".into());
        l
    })
    .unwrap();
    let n = q.get_timeout(WATCHDOG).unwrap().expect("the parent put an item");
    q.put(n * 2).unwrap();
    (n, ns.contains("parent").unwrap())
}

#[test]
fn every_proxy_kind_travels_to_a_child_and_reconnects_there() {
    let _w = watchdog("every_proxy_kind_travels_to_a_child_and_reconnects_there");
    let m = Manager::start().unwrap();
    let ns = m.namespace().unwrap();
    let v = m.value(vec!["parent".to_string()]).unwrap();
    let q = m.queue::<u32>().unwrap();
    let lock = m.lock().unwrap();
    ns.set("parent", true).unwrap();
    q.put(21).unwrap();
    let mut p = Process::new(use_every_kind, (ns.clone(), v.clone(), q.clone(), lock.clone()));
    p.start().unwrap();
    assert_eq!(join(&mut p).unwrap(), (21, true));
    assert!(ns.get::<String>("child").unwrap().unwrap().starts_with("pid "));
    assert_eq!(v.get().unwrap(), ["parent", "child"]);
    assert_eq!(q.get_timeout(WATCHDOG).unwrap(), Some(42));
    assert_eq!(ns.names().unwrap(), ["parent", "child"]);
    assert!(!lock.try_acquire().unwrap().expect("the child released it").previous_holder_died());
}

#[test]
fn queue_and_lock_waits_are_bounded() {
    let _w = watchdog("queue_and_lock_waits_are_bounded");
    let m = Manager::start().unwrap();
    let q = m.queue::<u8>().unwrap();
    assert_eq!(q.try_get().unwrap(), None);
    assert_eq!(q.get_timeout(Duration::from_millis(20)).unwrap(), None);
    let lock = m.lock().unwrap();
    let held = lock.acquire().unwrap();
    assert!(lock.try_acquire().unwrap().is_none());
    assert!(lock.acquire_timeout(Duration::from_millis(20)).unwrap().is_none());
    drop(held);
    assert!(lock.acquire_timeout(WATCHDOG).unwrap().is_some());
}

#[test]
fn lookup_by_name_checks_the_kind() {
    let _w = watchdog("lookup_by_name_checks_the_kind");
    let m = Manager::start().unwrap();
    let d = m.dict::<u8, u8>().unwrap();
    m.publish("d", &d).unwrap();
    d.insert(1, 2).unwrap();
    let found: DictProxy<u8, u8> = m.lookup("d").unwrap();
    assert_eq!(found.get(&1).unwrap(), Some(2));
    assert!(matches!(
        m.lookup::<ListProxy<u8>>("d"),
        Err(LookupError::WrongKind { expected: ObjectKind::List, found: ObjectKind::Dict, .. })
    ));
    assert!(matches!(m.lookup::<ListProxy<u8>>("nope"), Err(LookupError::NotFound(_))));
    let other = Manager::start().unwrap();
    assert!(matches!(other.publish("d", &d), Err(ProxyError::NoSuchObject)));
}

const KEY: &[u8] = b"the key the other program was given";

/// A process that knows only the address and the key, as a process of another program would.
fn other_program(address: Address, key: Vec<u8>) -> Vec<u32> {
    let m = Manager::connect(address, &key).unwrap();
    let jobs: QueueProxy<Option<u32>> = m.lookup("jobs").unwrap();
    let results: DictProxy<u32, u32> = m.lookup("results").unwrap();
    let mut seen = Vec::new();
    while let Some(n) = jobs.get_timeout(WATCHDOG).unwrap().expect("the owner sent the jobs") {
        results.insert(n, n * n).unwrap();
        seen.push(n);
    }
    seen
}

/// The same, with a key that is not the manager's: what it gets back.
fn wrong_key(address: Address) -> String {
    match Manager::connect(address.clone(), b"not the key") {
        Err(ProxyError::Auth(e)) => format!("refused: {e}"),
        other => format!("unexpected: {other:?}"),
    }
}

#[test]
fn other_programs_connect_over_tcp_with_the_key() {
    let _w = watchdog("other_programs_connect_over_tcp_with_the_key");
    let m = Manager::builder()
        .address(Address::Tcp("127.0.0.1:0".parse().unwrap()))
        .authkey(KEY.to_vec())
        .start()
        .unwrap();
    let jobs = m.queue::<Option<u32>>().unwrap();
    let results = m.dict::<u32, u32>().unwrap();
    m.publish("jobs", &jobs).unwrap();
    m.publish("results", &results).unwrap();
    for n in 1..=5 {
        jobs.put(Some(n)).unwrap();
    }
    jobs.put(None).unwrap();
    let mut p = Process::new(other_program, (m.address().clone(), KEY.to_vec()));
    p.start().unwrap();
    assert_eq!(join(&mut p).unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(results.items().unwrap(), [(1, 1), (2, 4), (3, 9), (4, 16), (5, 25)]);

    let mut refused = Process::new(wrong_key, (m.address().clone(),));
    refused.start().unwrap();
    assert!(join(&mut refused).unwrap().starts_with("refused: "));

    // A plain Client with the wrong key, or with none, is refused too; the manager goes on.
    let raw = Client::connect::<(), ()>(m.address().clone(), Some(b"wrong key".as_slice()));
    assert!(matches!(raw, Err(AuthError::Rejected)), "{raw:?}");
    let with_key = Client::connect::<(), ()>(m.address().clone(), Some(KEY));
    assert!(with_key.is_ok());
    assert_eq!(results.len().unwrap(), 5);
}

#[test]
fn the_family_key_is_not_enough_for_a_manager_with_its_own_key() {
    let _w = watchdog("the_family_key_is_not_enough_for_a_manager_with_its_own_key");
    let m = Manager::builder().authkey(KEY.to_vec()).start().unwrap();
    let family = current_process().authkey().as_bytes().to_vec();
    assert!(matches!(Manager::connect(m.address().clone(), &family), Err(ProxyError::Auth(_))));
    assert!(Manager::connect(m.address().clone(), KEY).is_ok());
}

fn wait_then_get(q: QueueProxy<u8>, ready: Event) -> String {
    ready.set();
    match q.get() {
        Err(ProxyError::ManagerGone(_)) => "manager gone".into(),
        other => format!("unexpected: {other:?}"),
    }
}

#[test]
fn a_killed_manager_fails_every_proxy_typed() {
    let _w = watchdog("a_killed_manager_fails_every_proxy_typed");
    let m = Manager::start().unwrap();
    let q = m.queue::<u8>().unwrap();
    let d = m.dict::<u8, u8>().unwrap();
    let ready = Event::new().unwrap();
    let mut p = Process::new(wait_then_get, (q.clone(), ready.clone()));
    p.start().unwrap();
    assert!(ready.wait_timeout(WATCHDOG), "the child did not start waiting");
    let server = m.server().unwrap();
    server.kill().unwrap();
    assert!(server.wait_timeout(WATCHDOG).unwrap().is_some(), "the server did not die");
    assert_eq!(join(&mut p).unwrap(), "manager gone");
    assert!(matches!(d.len(), Err(ProxyError::ManagerGone(_))));
    assert!(matches!(q.put(1), Err(ProxyError::ManagerGone(_))));
    assert!(matches!(
        Manager::connect(m.address().clone(), current_process().authkey().as_bytes()),
        Err(ProxyError::ManagerGone(_))
    ));
}

#[test]
fn a_shut_down_manager_fails_its_proxies_and_removes_its_socket() {
    let _w = watchdog("a_shut_down_manager_fails_its_proxies_and_removes_its_socket");
    let m = Manager::start().unwrap();
    let l = m.list::<u8>().unwrap();
    l.push(1).unwrap();
    let Address::Unix(path) = m.address().clone() else { panic!("default is a Unix socket") };
    assert!(path.exists());
    m.shutdown();
    assert!(matches!(l.len(), Err(ProxyError::ManagerGone(_))));
    assert!(!path.exists());
    assert!(!path.parent().unwrap().exists());
}

/// Starts a manager, hands a queue of it to the test, and waits to be killed.
fn owner_of_a_manager(mut to_test: Connection<QueueProxy<u8>>) {
    let m = Manager::start().unwrap();
    let q = m.queue::<u8>().unwrap();
    to_test.send(&q).unwrap();
    // Blocks until the test kills this process (or, if the test failed, closes its end).
    let _ = to_test.recv();
    drop(m);
}

#[test]
fn the_manager_dies_with_its_killed_owner() {
    let _w = watchdog("the_manager_dies_with_its_killed_owner");
    let (mut mine, theirs) = Pipe::new::<QueueProxy<u8>>().unwrap();
    let mut owner = Process::new(owner_of_a_manager, (theirs,));
    owner.start().unwrap();
    let q = mine.recv_timeout(WATCHDOG).expect("the owner sent its queue");
    q.put(7).unwrap();
    assert_eq!(q.get().unwrap(), 7);
    owner.kill().unwrap();
    assert!(join(&mut owner).is_err(), "the owner was killed");
    // The manager is a daemon child of the owner: killed with it. A call pending in it ends.
    match q.get_timeout(WATCHDOG) {
        Err(ProxyError::ManagerGone(_)) => {}
        other => panic!("expected the manager gone, got {other:?}"),
    }
    // Nothing cleaned up after the killed owner: remove its socket directory.
    if let Address::Unix(path) = q.object().address() {
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

/// Holds the managed lock and writes large values until it is killed.
fn hold_and_write(lock: LockProxy, d: DictProxy<u32, Vec<u8>>, started: Event) {
    let _held = lock.acquire().unwrap();
    let big = vec![7u8; 4 << 20];
    for i in 0u32.. {
        d.insert(i % 4, big.clone()).unwrap();
        started.set();
    }
}

#[test]
fn a_client_killed_mid_request_leaves_the_manager_serving() {
    let _w = watchdog("a_client_killed_mid_request_leaves_the_manager_serving");
    let m = Manager::start().unwrap();
    let lock = m.lock().unwrap();
    let d = m.dict::<u32, Vec<u8>>().unwrap();
    let started = Event::new().unwrap();
    let mut p = Process::new(hold_and_write, (lock.clone(), d.clone(), started.clone()));
    p.start().unwrap();
    assert!(started.wait_timeout(WATCHDOG), "the writer did not start");
    p.kill().unwrap();
    assert!(join(&mut p).is_err(), "the writer was killed");
    // The lock is freed when the killed holder's connection ends, and the next holder is told.
    let held = lock.acquire_timeout(WATCHDOG).unwrap().expect("the dead holder's lock was freed");
    assert!(held.previous_holder_died());
    drop(held);
    // Every value stored is whole; the manager serves on.
    let len = d.len().unwrap();
    assert!((1..=4).contains(&len), "{len}");
    for v in d.values().unwrap() {
        assert_eq!(v.len(), 4 << 20);
    }
    d.insert(99, vec![1]).unwrap();
    assert_eq!(d.get(&99).unwrap(), Some(vec![1]));
}
