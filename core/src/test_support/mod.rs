//! Fixtures shared by kam-core's own tests and by the tests of the crates above it (the
//! server's schema and projection tests, its money property tests): one copy instead of one
//! per crate. Compiled for kam-core's tests and, elsewhere, only through the `test-support`
//! feature, which dependents enable in `[dev-dependencies]`; never part of a product build.

pub mod customers;
pub mod migrations;
pub mod units;
