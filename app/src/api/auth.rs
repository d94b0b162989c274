//! Signing in and out, and who is signed in.

use crate::error::AppError;
use domain::session::Me;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "auth/sign_in")]
pub async fn sign_in(login: String, password: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    use backend::auth::{activation::SIGNUP_COOKIE, session::COOKIE, signin::Blocked};
    ssr::run(Policy::Public, |c| async move {
        match c.portal.sign_in(&login, &password, &c.meta).await? {
            Ok(signed_in) => {
                // A new session id at every sign-in: whatever session the browser had is ended.
                c.portal.end_replaced_session(&c.principal).await?;
                ssr::set_cookie(COOKIE, &signed_in.token, None);
                leptos_axum::redirect("/home");
                Ok(())
            }
            Err(Blocked::EmailUnconfirmed { signup_token }) => {
                ssr::set_cookie(SIGNUP_COOKIE, &signup_token, Some(1800));
                leptos_axum::redirect("/activate/confirm");
                Ok(())
            }
            Err(Blocked::SecondFactor { ticket, .. }) => {
                ssr::set_cookie(super::security::SECOND_STEP_COOKIE, &ticket, Some(600));
                leptos_axum::redirect("/signin/verify");
                Ok(())
            }
            Err(Blocked::MustEnrol { ticket }) => {
                ssr::set_cookie(super::security::SETUP_COOKIE, &ticket, Some(600));
                leptos_axum::redirect("/signin/setup");
                Ok(())
            }
        }
    })
    .await
}

#[server(prefix = "/api", endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use super::{Policy, ssr};
    use backend::auth::session::COOKIE;
    ssr::run(Policy::Public, |c| async move {
        c.portal.sign_out(&c.principal, &c.meta).await?;
        ssr::clear_cookie(COOKIE);
        // Tells the browser to drop cached pages, cookies and storage of this origin.
        ssr::header(
            axum::http::HeaderName::from_static("clear-site-data"),
            "\"cache\", \"cookies\", \"storage\"",
        );
        leptos_axum::redirect("/signin?signed_out=1");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        if c.principal.is_anonymous() {
            return Ok(None);
        }
        Ok(Some(c.portal.me(&c.principal).await?))
    })
    .await
}
