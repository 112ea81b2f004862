//! Cross-process synchronisation: `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`, `Condition`,
//! `Event` and `Barrier`, with Python's semantics, shared between processes as handles.
//!
//! Not built yet: this crate is a placeholder in the workspace so the dependency graph is in place.
//! Its design is in `docs/ARCHITECTURE.md`.
