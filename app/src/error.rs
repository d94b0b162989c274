//! The error every server function returns: a status class and a message a person can act on.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The one sign-in failure message, for real and unknown accounts alike.
pub const BAD_CREDENTIALS: &str =
    "The username, email or password is not right. Check them and try again.";
pub const LOCKED: &str = "Too many failed attempts: sign-in is locked for this account. Contact your clinic to unlock it.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
pub enum AppError {
    /// 400: the input breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 401: not signed in, or the credentials were wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: signed in, but not allowed.
    #[error("You do not have access to this page.")]
    Forbidden,
    /// 403: not granted, with the reason (a caregiver's scope, an ended grant).
    #[error("{0}")]
    Refused(String),
    /// 403: the change needs the password confirmed again (within the last 5 minutes).
    #[error("For your security, confirm your password first, then make this change.")]
    ReauthRequired,
    /// 404: missing or not yours.
    #[error("We could not find that. It may have been removed, or the link is wrong.")]
    NotFound,
    /// 409: the change collides with another (a slot just booked, a request already open).
    #[error("{0}")]
    Conflict(String),
    /// 423: locked after too many failures.
    #[error("{0}")]
    Locked(String),
    /// 429: too many attempts.
    #[error("{0}")]
    TooManyRequests(String),
    /// 503: at capacity.
    #[error("The portal is busy right now. Wait a moment and try again.")]
    Busy,
    /// 500: our fault; details are in the server log only.
    #[error("Something went wrong on our side. Try again in a few minutes.")]
    Internal,
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden | AppError::Refused(_) | AppError::ReauthRequired => 403,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::Locked(_) => 423,
            AppError::TooManyRequests(_) => 429,
            AppError::Busy => 503,
            AppError::Internal => 500,
        }
    }
    pub fn sign_in_needed() -> Self {
        AppError::Unauthorized("Your session has ended. Sign in to continue.".into())
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => AppError::BadRequest(
                "Some fields were missing or not in the expected form. Reload the page and try again.".into(),
            ),
            ServerFnErrorErr::Request(_) => AppError::BadRequest(
                "The portal could not be reached. Check your connection and try again.".into(),
            ),
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<backend::Error> for AppError {
    fn from(e: backend::Error) -> Self {
        use backend::Error as E;
        match e {
            E::Invalid(m) => AppError::BadRequest(m),
            E::InvalidCredentials => AppError::Unauthorized(BAD_CREDENTIALS.into()),
            E::Locked => AppError::Locked(LOCKED.into()),
            E::Throttled { retry_after_secs } => AppError::TooManyRequests(format!(
                "Too many attempts. Wait {retry_after_secs} seconds and try again."
            )),
            E::Unauthenticated => AppError::sign_in_needed(),
            E::Forbidden => AppError::Forbidden,
            E::Refused(m) => AppError::Refused(m),
            E::ReauthRequired => AppError::ReauthRequired,
            E::NotFound => AppError::NotFound,
            E::Conflict(m) => AppError::Conflict(m),
            E::Busy => AppError::Busy,
            E::Unexpected(detail) => {
                tracing::error!(%detail, "unexpected error in a server function");
                AppError::Internal
            }
        }
    }
}
