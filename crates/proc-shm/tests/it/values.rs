//! Value, Array, RawValue, RawArray and AtomicValue across processes.

use std::sync::atomic::{AtomicI64, Ordering};

use proc_core::Process;
use proc_shm::{Array, AtomicValue, Plain, RawArray, RawValue, Value};
use proc_sync::{Lock, RLock};

use crate::run_all;

fn add(v: Value<i64>, n: i64, times: u32) {
    for _ in 0..times {
        *v.lock() += n;
    }
}

#[test]
fn locked_increments_from_several_processes_are_exact() {
    let v = Value::new(0i64).unwrap();
    run_all(vec![Process::new(add, (v.clone(), 1, 5000)), Process::new(add, (v.clone(), 3, 5000))]);
    assert_eq!(v.get(), 20_000);
}

#[test]
fn values_of_several_types() {
    let i = Value::new(0i32).unwrap();
    let d = Value::new(2.5f64).unwrap();
    let b = Value::new(false).unwrap();
    i.set(7);
    *d.lock() *= 2.0;
    b.set(true);
    assert_eq!((i.get(), d.get(), b.get()), (7, 5.0, true));
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Point {
    x: f64,
    y: i32,
    tag: [u8; 4],
}

// SAFETY: repr(C), plain numbers and bytes, no pointers; zero is valid.
unsafe impl Plain for Point {}

fn move_point(p: Value<Point>) {
    let mut g = p.lock();
    g.x += 1.5;
    g.y -= 1;
    g.tag = *b"done";
}

#[test]
fn a_repr_c_struct_is_shared() {
    let p = Value::new(Point { x: 1.0, y: 10, tag: *b"init" }).unwrap();
    run_all(vec![Process::new(move_point, (p.clone(),))]);
    assert_eq!(p.get(), Point { x: 2.5, y: 9, tag: *b"done" });
}

#[test]
fn values_can_share_one_lock() {
    let lock = Lock::new().unwrap();
    let a = Value::with_lock(1u8, lock.clone()).unwrap();
    let b = Value::with_lock(2u8, lock.clone()).unwrap();
    let g = a.lock();
    assert!(lock.locked(), "locking a takes the shared lock");
    assert!(b.get_lock().unwrap().try_acquire().is_err());
    drop(g);
    assert_eq!(b.get(), 2);
}

#[test]
#[should_panic(expected = "already locked by this thread")]
fn re_locking_a_value_over_a_held_rlock_panics_instead_of_aliasing() {
    let rlock = RLock::new().unwrap();
    let v = Value::with_rlock(0u32, rlock.clone()).unwrap();
    let _outer = rlock.acquire().unwrap();
    let _g = v.lock();
}

fn fill(a: Array<f64>) -> f64 {
    let mut g = a.lock();
    for (i, x) in g.iter_mut().enumerate() {
        *x = i as f64;
    }
    g.iter().sum()
}

#[test]
fn arrays_are_zero_filled_shared_and_indexed_like_slices() {
    let a = Array::<f64>::new(5).unwrap();
    assert_eq!(a.to_vec(), vec![0.0; 5]);
    assert_eq!(run_all(vec![Process::new(fill, (a.clone(),))]), vec![10.0]);
    assert_eq!(a.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(a.get(4), Ok(4.0));
    let err = a.get(5).unwrap_err();
    assert_eq!(err.to_string(), "index 5 is out of range for an array of length 5");
    assert!(a.set(9, 1.0).is_err());
    a.set(0, 9.0).unwrap();
    assert_eq!(a.get(0), Ok(9.0));
    let b = Array::from_slice(&[1i32, 2, 3, 4]).unwrap();
    assert_eq!(b.len(), 4);
    b.lock()[1..3].copy_from_slice(&[20, 30]);
    assert_eq!(b.to_vec(), vec![1, 20, 30, 4]);
    assert!(Array::<u8>::new(0).unwrap().is_empty());
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn out_of_range_indexing_through_the_guard_panics_like_a_slice() {
    let a = Array::<u16>::new(3).unwrap();
    let g = a.lock();
    let _ = g[3];
}

fn bump_raw(v: RawValue<u64>, a: RawArray<u8>, l: Lock) {
    let _g = l.acquire().unwrap();
    // SAFETY: every access to `v` and `a` in this test happens under `l`.
    unsafe {
        v.write(v.read() + 1);
        a.as_mut_slice()[0] += 1;
    }
}

#[test]
fn raw_values_and_arrays_are_shared_without_a_lock_of_their_own() {
    let v = RawValue::new(40u64).unwrap();
    let a = RawArray::from_slice(&[5u8, 6]).unwrap();
    let l = Lock::new().unwrap();
    run_all((0..2).map(|_| Process::new(bump_raw, (v.clone(), a.clone(), l.clone()))).collect());
    // SAFETY: the children have been joined; nothing else accesses them now.
    unsafe {
        assert_eq!(v.read(), 42);
        assert_eq!(a.as_slice(), &[7, 6]);
    }
}

fn count_up(c: AtomicValue<AtomicI64>) {
    for _ in 0..10_000 {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn atomic_values_need_no_lock() {
    let c = AtomicValue::new(AtomicI64::new(0)).unwrap();
    run_all((0..3).map(|_| Process::new(count_up, (c.clone(),))).collect());
    assert_eq!(c.load(Ordering::SeqCst), 30_000);
}

#[test]
fn a_forged_array_longer_than_its_memory_is_refused() {
    // An Array encodes as (region, len, lock variant, lock): forge one whose length claims 2^40
    // elements over an 8-byte region.
    let region = proc_core::SharedRegion::new(8).unwrap();
    let lock = Lock::new().unwrap();
    let forged = (region.clone(), 1u64 << 40, 0u32, lock.clone());
    let enc = proc_core::codec::encode(&forged).unwrap();
    let fds: Vec<_> = enc.fds().iter().map(|f| f.try_clone_to_owned().unwrap()).collect();
    let r = proc_core::codec::decode::<Array<u64>>(enc.bytes(), fds);
    assert!(r.is_err(), "a length beyond the region must not be accepted");
    // The same shape with an honest length decodes.
    let honest = (region, 1u64, 0u32, lock);
    let enc = proc_core::codec::encode(&honest).unwrap();
    let fds: Vec<_> = enc.fds().iter().map(|f| f.try_clone_to_owned().unwrap()).collect();
    let a = proc_core::codec::decode::<Array<u64>>(enc.bytes(), fds).unwrap();
    assert_eq!(a.len(), 1);
}
