//! Unix implementation of the OS layer (Linux-specific calls are marked as such in each file).

mod entry_hook;
mod fd;
mod memory;
mod process;

pub(crate) use fd::*;
pub(crate) use memory::*;
pub(crate) use process::*;
