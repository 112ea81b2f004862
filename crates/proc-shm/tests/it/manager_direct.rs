//! Managed dicts in shared memory: the direct path and the socket path on one table, exact
//! updates from many processes, a holder killed under the lock, growth, and a manager that goes
//! away under its proxies.

use std::sync::OnceLock;

use proc_core::{Process, current_process};
use proc_ipc::Address;
use proc_shm::manager::{DictProxy, Manager, NamespaceProxy, Proxy, ProxyError};
use proc_sync::Event;

use crate::manager::watchdog;
use crate::{WATCHDOG, join, run_all};

/// Writes through the shared table and reports whether it did so directly.
fn write_directly(d: DictProxy<String, u64>, n: u64) -> bool {
    let direct = d.object().is_direct().unwrap();
    for i in 0..n {
        d.insert(format!("direct{i}"), i).unwrap();
    }
    d.update_with("count", |c: Option<u64>| c.unwrap_or(0) + 1).unwrap();
    direct
}

/// A process that knows only the address and the key: it goes through the manager.
fn write_through_the_manager(address: Address, key: Vec<u8>, n: u64) -> (bool, Option<u64>) {
    let m = Manager::connect(address, &key).unwrap();
    let d: DictProxy<String, u64> = m.lookup("shared").unwrap();
    let direct = d.object().is_direct().unwrap();
    for i in 0..n {
        d.insert(format!("socket{i}"), i).unwrap();
    }
    // Runs in the manager, on the same table the other child wrote in place.
    d.update_with("count", |c: Option<u64>| c.unwrap_or(0) + 1).unwrap();
    (direct, d.get("direct7").unwrap())
}

#[test]
fn the_direct_path_and_the_socket_path_see_one_dict() {
    let _w = watchdog("the_direct_path_and_the_socket_path_see_one_dict");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, u64>().unwrap();
    m.publish("shared", &d).unwrap();
    let mut direct = Process::new(write_directly, (d.clone(), 50));
    direct.start().unwrap();
    assert!(join(&mut direct).unwrap(), "a child of the family works in the table directly");
    let key = current_process().authkey().as_bytes().to_vec();
    let mut socket = Process::new(write_through_the_manager, (m.address().clone(), key, 50));
    socket.start().unwrap();
    let (socket_direct, seen) = join(&mut socket).unwrap();
    assert!(!socket_direct, "a connected client goes through the manager");
    assert_eq!(seen, Some(7), "the socket client reads what the direct writer wrote");
    assert_eq!(d.len().unwrap(), 101);
    assert_eq!(d.get("count").unwrap(), Some(2));
    for i in 0..50 {
        assert_eq!(d.get(&format!("direct{i}")).unwrap(), Some(i));
        assert_eq!(d.get(&format!("socket{i}")).unwrap(), Some(i));
    }
    // Insertion order holds across both paths.
    let keys = d.keys().unwrap();
    assert_eq!(keys[0], "direct0");
    assert_eq!(keys[50], "count");
    assert_eq!(keys[51], "socket0");
}

fn decrement(d: DictProxy<String, i64>) -> bool {
    d.update_with("count", |c: Option<i64>| c.expect("count was set") - 1).unwrap();
    d.object().is_direct().unwrap()
}

#[test]
fn a_hundred_processes_decrement_a_hundred_to_exactly_zero() {
    let _w = watchdog("a_hundred_processes_decrement_a_hundred_to_exactly_zero");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, i64>().unwrap();
    d.insert("count".into(), 100).unwrap();
    let direct = run_all((0..100).map(|_| Process::new(decrement, (d.clone(),))).collect());
    assert!(direct.iter().all(|&d| d));
    assert_eq!(d.get("count").unwrap(), Some(0));
}

/// Set in the child before the update that never ends, for the update function (which cannot
/// capture it) to signal.
static IN_UPDATE: OnceLock<Event> = OnceLock::new();

fn block_inside_update(d: DictProxy<String, u64>, in_update: Event) {
    IN_UPDATE.set(in_update).unwrap();
    d.update_with("held", |_: Option<u64>| {
        IN_UPDATE.get().unwrap().set();
        loop {
            std::thread::park();
        }
    })
    .unwrap();
}

#[test]
fn a_process_killed_holding_the_dict_lock_leaves_it_usable() {
    let _w = watchdog("a_process_killed_holding_the_dict_lock_leaves_it_usable");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, u64>().unwrap();
    d.update((0..20).map(|i| (format!("k{i}"), i))).unwrap();
    d.insert("held".into(), 1).unwrap();
    let in_update = Event::new().unwrap();
    let mut p = Process::new(block_inside_update, (d.clone(), in_update.clone()));
    p.start().unwrap();
    assert!(in_update.wait_timeout(WATCHDOG), "the child did not reach its update");
    p.kill().unwrap();
    assert!(join(&mut p).is_err(), "the child was killed");
    // The next user learns that the holder died, recovers, and finds the dict as it was.
    assert_eq!(d.get("held").unwrap(), Some(1));
    assert_eq!(d.len().unwrap(), 21);
    let items = d.items().unwrap();
    assert_eq!(items.len(), 21);
    assert_eq!(items[0], ("k0".to_string(), 0));
    assert_eq!(items[20], ("held".to_string(), 1));
    d.insert("after".into(), 2).unwrap();
    assert_eq!(d.update_with("held", |v: Option<u64>| v.unwrap() + 1).unwrap(), 2);
    assert_eq!(d.len().unwrap(), 22);
}

/// Writes `n` keys of its own, then overwrites them `rounds` times with larger values, removing
/// every tenth on the way and putting it back at the end.
fn churn(d: DictProxy<String, Vec<u8>>, tag: char, n: usize, rounds: usize) {
    for round in 0..=rounds {
        for i in 0..n {
            d.insert(format!("{tag}{i}"), vec![round as u8; 20 + 10 * round]).unwrap();
            if i % 10 == 0 {
                d.remove(&format!("{tag}{i}")).unwrap();
            }
        }
    }
    for i in (0..n).step_by(10) {
        d.insert(format!("{tag}{i}"), vec![rounds as u8; 20 + 10 * rounds]).unwrap();
    }
}

#[test]
fn growth_from_two_processes_keeps_every_key() {
    let _w = watchdog("growth_from_two_processes_keeps_every_key");
    // A small table: the two writers outgrow it, and fill a half with garbage, many times over.
    let m = Manager::builder().max_dict_bytes(4 << 20).start().unwrap();
    let d = m.dict::<String, Vec<u8>>().unwrap();
    let (n, rounds) = (3000, 6);
    run_all(vec![
        Process::new(churn, (d.clone(), 'a', n, rounds)),
        Process::new(churn, (d.clone(), 'b', n, rounds)),
    ]);
    assert_eq!(d.len().unwrap(), 2 * n);
    let want = vec![rounds as u8; 20 + 10 * rounds];
    for tag in ['a', 'b'] {
        for i in 0..n {
            assert_eq!(d.get(&format!("{tag}{i}")).unwrap().as_ref(), Some(&want), "{tag}{i}");
        }
    }
}

#[test]
fn a_dict_that_outgrows_its_limit_refuses_the_write_typed() {
    let _w = watchdog("a_dict_that_outgrows_its_limit_refuses_the_write_typed");
    let m = Manager::builder().max_dict_bytes(64 << 10).start().unwrap();
    let d = m.dict::<u32, Vec<u8>>().unwrap();
    let mut stored = 0;
    let err = loop {
        match d.insert(stored, vec![7; 1000]) {
            Ok(()) => stored += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ProxyError::Full(_)), "{err:?}");
    assert!(stored > 10, "{stored}");
    assert_eq!(d.len().unwrap(), stored as usize);
    d.clear().unwrap();
    d.insert(0, vec![1]).unwrap();
    assert_eq!(d.items().unwrap(), [(0, vec![1])]);
}

/// Uses the dict (so it works in shared memory), says so, waits for the test to stop the
/// manager, then tries again.
fn use_after_the_manager(
    d: DictProxy<String, u64>,
    ns: NamespaceProxy,
    attached: Event,
    stopped: Event,
) -> String {
    d.insert("x".into(), 1).unwrap();
    assert!(d.object().is_direct().unwrap());
    ns.set("y", 2u8).unwrap();
    attached.set();
    assert!(stopped.wait_timeout(WATCHDOG), "the test did not stop the manager");
    match (d.insert("x".into(), 2), d.get("x"), ns.get::<u8>("y")) {
        (
            Err(ProxyError::ManagerGone(_)),
            Err(ProxyError::ManagerGone(_)),
            Err(ProxyError::ManagerGone(_)),
        ) => "manager gone".into(),
        other => format!("unexpected: {other:?}"),
    }
}

fn stop_under_a_child(kill: bool) {
    let m = Manager::start().unwrap();
    let d = m.dict::<String, u64>().unwrap();
    let ns = m.namespace().unwrap();
    let (attached, stopped) = (Event::new().unwrap(), Event::new().unwrap());
    let mut p =
        Process::new(use_after_the_manager, (d.clone(), ns, attached.clone(), stopped.clone()));
    p.start().unwrap();
    assert!(attached.wait_timeout(WATCHDOG), "the child did not use the dict");
    let server = m.server().unwrap();
    if kill {
        server.kill().unwrap();
        assert!(server.wait_timeout(WATCHDOG).unwrap().is_some(), "the server did not die");
    } else {
        m.shutdown();
        assert!(!server.is_alive());
    }
    stopped.set();
    assert_eq!(join(&mut p).unwrap(), "manager gone");
    assert!(matches!(d.len(), Err(ProxyError::ManagerGone(_))));
}

#[test]
fn a_killed_manager_fails_direct_proxies_typed() {
    let _w = watchdog("a_killed_manager_fails_direct_proxies_typed");
    stop_under_a_child(true);
}

#[test]
fn a_shut_down_manager_fails_direct_proxies_typed() {
    let _w = watchdog("a_shut_down_manager_fails_direct_proxies_typed");
    stop_under_a_child(false);
}

/// Writes, overwrites and removes keys in a small dict for ever; every value is its key's byte
/// repeated, so a reader can tell a torn or misplaced record.
fn churn_until_killed(d: DictProxy<u16, Vec<u8>>, started: Event) {
    for i in 0u32.. {
        let k = (i * 7919 % 500) as u16;
        if i % 7 == 0 {
            let _ = d.remove(&k);
        } else {
            d.insert(k, vec![k as u8; (i % 300) as usize]).unwrap();
        }
        if i == 1000 {
            started.set();
        }
    }
}

#[test]
fn writers_killed_at_any_point_leave_a_consistent_dict() {
    let _w = watchdog("writers_killed_at_any_point_leave_a_consistent_dict");
    // Small, so the writer compacts and rebuilds the table often: kills land in those too.
    let m = Manager::builder().max_dict_bytes(256 << 10).start().unwrap();
    let d = m.dict::<u16, Vec<u8>>().unwrap();
    for round in 0..6 {
        let started = Event::new().unwrap();
        let mut p = Process::new(churn_until_killed, (d.clone(), started.clone()));
        p.start().unwrap();
        assert!(started.wait_timeout(WATCHDOG), "round {round}: the writer did not start");
        // Contend for the lock a little, so the kill finds the writer anywhere in its cycle.
        for _ in 0..round * 50 {
            d.len().unwrap();
        }
        p.kill().unwrap();
        assert!(join(&mut p).is_err(), "round {round}: the writer was killed");
        let items = d.items().unwrap();
        assert_eq!(d.len().unwrap(), items.len(), "round {round}");
        let mut keys: Vec<u16> = items.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), items.len(), "round {round}: a key twice");
        for (k, v) in &items {
            assert!(v.iter().all(|&b| b == *k as u8), "round {round}: key {k} holds {v:?}");
        }
        d.insert(1000 + round, vec![(1000 + round) as u8; 3]).unwrap();
    }
    for round in 0..6u16 {
        assert_eq!(d.get(&(1000 + round)).unwrap(), Some(vec![(1000 + round) as u8; 3]));
    }
}

#[test]
fn a_panicking_direct_update_releases_the_lock_and_changes_nothing() {
    let _w = watchdog("a_panicking_direct_update_releases_the_lock_and_changes_nothing");
    let m = Manager::start().unwrap();
    let d = m.dict::<String, i32>().unwrap();
    assert!(d.object().is_direct().unwrap());
    d.insert("x".into(), 5).unwrap();
    let r = d.update_with("x", |x: Option<i32>| if x == Some(5) { panic!("no fives") } else { 0 });
    match r {
        Err(ProxyError::Remote(msg)) => assert!(msg.contains("no fives"), "{msg}"),
        other => panic!("expected the panic reported, got {other:?}"),
    }
    assert_eq!(d.get("x").unwrap(), Some(5));
    assert_eq!(d.update_with("x", |x: Option<i32>| x.unwrap() + 1).unwrap(), 6);
}
