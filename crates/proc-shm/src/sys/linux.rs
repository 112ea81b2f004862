//! Linux: POSIX shared memory objects under `/dev/shm`.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn path(name: &str) -> String {
    format!("/{name}")
}

/// Creates object `name` of `len` bytes; fails with `AlreadyExists` if it exists.
pub(crate) fn create(name: &str, len: u64) -> io::Result<OwnedFd> {
    let fd = nix::sys::mman::shm_open(
        path(name).as_str(),
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_CLOEXEC,
        Mode::S_IRUSR | Mode::S_IWUSR,
    )
    .map_err(errno)?;
    let file = File::from(fd);
    if let Err(e) = file.set_len(len) {
        let _ = unlink(name);
        return Err(e);
    }
    Ok(file.into())
}

/// Opens existing object `name` for reading and writing; `NotFound` if there is none.
pub(crate) fn open(name: &str) -> io::Result<OwnedFd> {
    nix::sys::mman::shm_open(path(name).as_str(), OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(errno)
}

/// Removes the name; mappings stay valid until unmapped.
pub(crate) fn unlink(name: &str) -> io::Result<()> {
    nix::sys::mman::shm_unlink(path(name).as_str()).map_err(errno)
}

/// Size of the object behind `fd`.
pub(crate) fn size(fd: &OwnedFd) -> io::Result<u64> {
    Ok(File::from(fd.try_clone()?).metadata()?.len())
}

/// Every shared memory object's name.
pub(crate) fn list() -> io::Result<Vec<String>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/dev/shm")? {
        let e = e?;
        if e.file_type()?.is_file()
            && let Some(n) = e.file_name().to_str()
        {
            v.push(n.to_owned());
        }
    }
    Ok(v)
}

/// The most bytes a name may have.
pub(crate) const NAME_MAX: usize = 255;

/// Initialises a process-shared robust mutex in `storage` and locks it for the calling thread, for
/// good: when the thread ends (returns, exits, or is killed by any signal), the kernel marks the
/// mutex's word "owner died". Returns the thread id the word then holds.
#[cfg(feature = "manager")]
pub(crate) fn hold_robust_mutex(storage: &[std::sync::atomic::AtomicU32; 16]) -> io::Result<u32> {
    const _: () = assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= 64);
    let m = storage.as_ptr().cast_mut().cast::<libc::pthread_mutex_t>();
    let check = |r: i32| if r == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(r)) };
    // SAFETY: `storage` is 64 bytes of shared memory aligned to 64 (its owner is `align(64)`), big
    // enough for a pthread_mutex_t (asserted above), and not yet used as a mutex by anyone: the
    // caller is the manager's thread setting it up before any other process can see it. The
    // attribute object lives on this stack frame across init and is destroyed after.
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        check(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
        let attr = attr.as_mut_ptr();
        let set = check(libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED))
            .and_then(|()| {
                check(libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST))
            })
            .and_then(|()| check(libc::pthread_mutex_init(m, attr)));
        libc::pthread_mutexattr_destroy(attr);
        set?;
        check(libc::pthread_mutex_lock(m))?;
        Ok(libc::gettid() as u32)
    }
}

/// Whether the robust mutex in `storage` is still held by thread `tid`: one atomic load of the
/// mutex's futex word, which the kernel rewrites (thread id cleared, `FUTEX_OWNER_DIED` set) when
/// the holder dies. The word is the first field of glibc's `pthread_mutex_t`.
#[cfg(all(feature = "manager", target_env = "gnu"))]
pub(crate) fn robust_mutex_held_by(storage: &[std::sync::atomic::AtomicU32; 16], tid: u32) -> bool {
    let word = storage[0].load(std::sync::atomic::Ordering::Acquire);
    tid != 0 && word & libc::FUTEX_TID_MASK == tid && word & libc::FUTEX_OWNER_DIED == 0
}

#[cfg(all(feature = "manager", not(target_env = "gnu")))]
compile_error!(
    "the manager's liveness check reads glibc's robust mutex word; other C libraries place it elsewhere"
);
