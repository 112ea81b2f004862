//! Shared state between processes: `Value<T>`, `Array<T>`, `RawValue`/`RawArray`, named
//! `SharedMemory`, and a `Manager` serving dicts, lists and namespaces.
//!
//! Not built yet: this crate is a placeholder in the workspace so the dependency graph is in place.
//! Its design is in `docs/ARCHITECTURE.md`.
