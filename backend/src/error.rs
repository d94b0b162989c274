//! The backend's error type: what went wrong, kept apart from how the web layer words it.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// Input that breaks a rule; the message tells the person what to fix.
    #[error("{0}")]
    Invalid(String),
    /// Wrong username/email or password (never says which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures: the account (or the name tried) is locked until staff unlock it.
    #[error("locked")]
    Locked,
    /// Too many attempts in a short time.
    #[error("throttled for {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// No valid session.
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but this is not for this kind of user.
    #[error("forbidden")]
    Forbidden,
    /// Signed in, but this access is not granted (a caregiver's scope, an ended grant); the
    /// message says why.
    #[error("{0}")]
    Refused(String),
    /// Missing, or not this person's (the two are never told apart).
    #[error("not found")]
    NotFound,
    /// A change to sign-in details needs the password again (SECURITY 17).
    #[error("re-authentication needed")]
    ReauthRequired,
    /// The server is at capacity for expensive work (password hashing).
    #[error("busy")]
    Busy,
    /// The change collides with another (a slot just booked, a request already open).
    #[error("{0}")]
    Conflict(String),
    /// Anything else: logged, never shown.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Unexpected(format!("database: {e}"))
    }
}

impl From<domain::DomainError> for Error {
    fn from(e: domain::DomainError) -> Self {
        Error::Invalid(e.0)
    }
}
