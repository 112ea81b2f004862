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
