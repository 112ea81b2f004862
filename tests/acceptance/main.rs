//! Cross-crate acceptance tests, through the `multiproc` facade.

mod exit;
mod facade;
mod support;
