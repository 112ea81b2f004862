//! The pre-`main` entry hook: an ELF `.init_array` constructor that runs in every process started
//! from this binary, before `main`. In a child it runs the job and exits, so `main` never runs there.

use std::ffi::{c_char, c_int};

extern "C" fn constructor(_argc: c_int, _argv: *const *const c_char, _envp: *const *const c_char) {
    crate::entry::on_load();
}

/// The constructor's slot in `.init_array`. glibc calls it with `(argc, argv, envp)`.
#[used]
// SAFETY: `.init_array` holds pointers to functions of exactly this C signature, called once by the
// dynamic loader (or the static start-up code) before `main`.
#[unsafe(link_section = ".init_array")]
static ENTRY_HOOK: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = constructor;

/// Refers to the hook from the spawn path, so any binary that can start a child also links the hook
/// (an archive member nobody refers to may be left out by the linker).
pub(crate) fn keep() {
    std::hint::black_box(&ENTRY_HOOK);
}
