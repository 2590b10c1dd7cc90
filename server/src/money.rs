//! How the server reports money and quantities that broke their bounds (ADR 0017).
//!
//! Every number is checked where it enters (`kam_core::bounds`), so an arithmetic overflow in
//! the server can only come from stored data that holds a value outside its documented range:
//! corrupt data, an internal fault (500) logged with what was being computed, never a panic.

use kam_core::bounds::Overflow;

use crate::error::ServerError;

impl From<Overflow> for ServerError {
    fn from(error: Overflow) -> Self {
        ServerError::Corrupt(error.to_string())
    }
}
