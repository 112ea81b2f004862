//! Messages between processes: `Pipe`/`Connection`, `Queue`, `SimpleQueue`, `JoinableQueue`, `wait`,
//! and `Listener`/`Client`.
//!
//! Not built yet: this crate is a placeholder in the workspace so the dependency graph is in place.
//! Its design is in `docs/ARCHITECTURE.md`.
