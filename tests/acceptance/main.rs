//! Cross-crate acceptance tests, through the `multiproc` facade.

// Test support starts the scenario binary and watches processes directly.
#![allow(clippy::disallowed_methods)]

mod exit;
mod facade;
mod support;
