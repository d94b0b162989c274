//! Shared typed models of the portal: validated values, DTOs and enums. No I/O; builds for wasm too.

pub mod account;
pub mod care;
pub mod page;
pub mod person;
pub mod proxy;
pub mod records;
pub mod security;
pub mod session;

use thiserror::Error;

/// A value someone typed did not pass its rules; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct DomainError(pub String);

impl DomainError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Trims, collapses inner whitespace runs to one space and NFC-normalises.
pub fn tidy(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .collect()
}
