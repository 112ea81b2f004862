//! Support code for the cross-crate acceptance tests (see `acceptance/`).
