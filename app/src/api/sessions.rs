//! The person's signed-in sessions and devices: list, end one, sign out everywhere else.

use crate::error::AppError;
use domain::session::SessionInfo;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "sessions/list")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal.list_sessions(&c.principal).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "sessions/end")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        if id.is_empty() || id.len() > 64 {
            return Err(AppError::NotFound);
        }
        if c.principal.session_id() == Some(id.as_str()) {
            return Err(AppError::BadRequest(
                "To end this session, use “Sign out”.".into(),
            ));
        }
        c.portal.end_own_session(&c.principal, &id, &c.meta).await?;
        leptos_axum::redirect("/account");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "sessions/end_others")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let n = c.portal.end_other_sessions(&c.principal, &c.meta).await?;
        leptos_axum::redirect("/account?ended=1");
        Ok(n)
    })
    .await
}
