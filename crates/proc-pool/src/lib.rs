//! A pool of worker processes: `apply`, `apply_async`, `map`, `imap`, `imap_unordered`, `starmap`,
//! callbacks, and workers that may die without hanging the pool.
//!
//! Not built yet: this crate is a placeholder in the workspace so the dependency graph is in place.
//! Its design is in `docs/ARCHITECTURE.md`.
