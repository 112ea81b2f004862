//! Cross-crate acceptance tests, through the `multiproc` facade.

mod facade;
