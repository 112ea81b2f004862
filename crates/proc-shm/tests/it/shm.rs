//! Named shared memory: create, attach, errors, ownership, and cleanup after a killed creator.

use proc_core::Process;
use proc_shm::{SharedMemory, ShmError};
use proc_sync::Event;

use crate::{WATCHDOG, join, run_all};

fn in_dev_shm(name: &str) -> bool {
    std::path::Path::new("/dev/shm").join(name).exists()
}

#[test]
fn create_attach_read_write() {
    let owner = SharedMemory::create(100).unwrap();
    assert_eq!(owner.size(), 100);
    assert!(owner.name().starts_with("mp_"));
    owner.write_at(10, b"multiproc").unwrap();
    let other = SharedMemory::attach(owner.name()).unwrap();
    assert_eq!(other.size(), 100);
    let mut got = [0u8; 9];
    other.read_at(10, &mut got).unwrap();
    assert_eq!(&got, b"multiproc");
    assert!(other.write_at(95, b"too long").is_err(), "writes past the end are refused");
    // SAFETY: nothing else writes this segment during the test.
    assert_eq!(&unsafe { other.buf() }[10..19], b"multiproc");
}

#[test]
fn python_errors_are_typed() {
    let a =
        SharedMemory::create_named(&format!("mp_test_exists_{}", std::process::id()), 8).unwrap();
    assert!(matches!(SharedMemory::create_named(a.name(), 8), Err(ShmError::Exists(_))));
    assert!(matches!(
        SharedMemory::attach("mp_no_such_segment_anywhere"),
        Err(ShmError::NotFound(_))
    ));
    let zero = SharedMemory::create(0).unwrap_err();
    assert!(matches!(zero, ShmError::ZeroSize));
    assert_eq!(zero.to_string(), "'size' must be a positive number different from zero");
    assert!(matches!(SharedMemory::create_named("a/b", 8), Err(ShmError::InvalidName(_))));
    assert!(matches!(SharedMemory::create_named("", 8), Err(ShmError::InvalidName(_))));
}

#[test]
fn attaching_never_unlinks_and_the_creator_does() {
    let owner = SharedMemory::create(8).unwrap();
    let name = owner.name().to_string();
    drop(SharedMemory::attach(&name).unwrap());
    assert!(in_dev_shm(&name), "an attached handle going away leaves the segment");
    drop(owner);
    assert!(!in_dev_shm(&name), "the creator's handle unlinks");
}

#[test]
fn unlink_works_once() {
    let mut owner = SharedMemory::create(8).unwrap();
    let mut other = SharedMemory::attach(owner.name()).unwrap();
    other.unlink().unwrap();
    assert!(!in_dev_shm(owner.name()));
    assert!(matches!(owner.unlink(), Err(ShmError::NotFound(_))));
    // Both mappings still work after the unlink.
    owner.write_at(0, b"x").unwrap();
    let mut b = [0u8];
    other.read_at(0, &mut b).unwrap();
    assert_eq!(&b, b"x");
}

fn write_through(shm: SharedMemory, text: String) {
    shm.write_at(0, text.as_bytes()).unwrap();
}

#[test]
fn a_segment_travels_by_name_to_a_child() {
    let owner = SharedMemory::create(32).unwrap();
    run_all(vec![Process::new(
        write_through,
        (SharedMemory::attach(owner.name()).unwrap(), "from the child".into()),
    )]);
    let mut got = [0u8; 14];
    owner.read_at(0, &mut got).unwrap();
    assert_eq!(&got, b"from the child");
    assert!(in_dev_shm(owner.name()), "the child's handle did not unlink it");
}

fn create_and_park(ready: Event, name: String, keep: bool) {
    let mut shm = SharedMemory::create_named(&name, 64).unwrap();
    if keep {
        shm.keep();
    }
    ready.set();
    std::thread::sleep(WATCHDOG);
}

/// Unlinks a name when the test ends, passed or failed, so a failing test leaves nothing behind.
struct Unlinks(String);

impl Drop for Unlinks {
    fn drop(&mut self) {
        if let Ok(mut s) = SharedMemory::attach(&self.0) {
            let _ = s.unlink();
        }
    }
}

#[test]
fn segments_of_a_killed_creator_are_cleaned_up_unless_kept() {
    let doomed = format!("mp_test_killed_{}", std::process::id());
    let kept = format!("mp_test_kept_{}", std::process::id());
    let _cleanup = (Unlinks(doomed.clone()), Unlinks(kept.clone()));
    for (name, keep) in [(&doomed, false), (&kept, true)] {
        let ready = Event::new().unwrap();
        let mut p = Process::new(create_and_park, (ready.clone(), name.clone(), keep));
        p.start().unwrap();
        assert!(ready.wait_timeout(WATCHDOG));
        p.kill().unwrap();
        let _ = join(&mut p);
        assert!(in_dev_shm(name), "a SIGKILLed creator cannot unlink");
    }
    // (Every create runs the pass too, so a test running alongside may have removed it first.)
    let removed = SharedMemory::cleanup().unwrap();
    assert!(!in_dev_shm(&doomed), "the killed creator's segment is gone ({removed:?})");
    assert!(in_dev_shm(&kept), "a kept segment outlives its creator");
    let mut k = SharedMemory::attach(&kept).unwrap();
    k.unlink().unwrap();
    assert!(!in_dev_shm(&kept));
}
