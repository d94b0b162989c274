//! Activating an account with a clinic code, in three steps.

use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "activation/start")]
pub async fn start_activation(
    first_name: String,
    last_name: String,
    date_of_birth: String,
    activation_code: String,
) -> Result<(), AppError> {
    use super::{Policy, ssr};
    use backend::auth::activation::SIGNUP_COOKIE;
    ssr::run(Policy::Public, |c| async move {
        let ticket = c
            .portal
            .start_activation(
                &first_name,
                &last_name,
                &date_of_birth,
                &activation_code,
                &c.meta,
            )
            .await?;
        ssr::set_cookie(SIGNUP_COOKIE, &ticket, Some(1800));
        leptos_axum::redirect("/activate/account");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "activation/account")]
pub async fn choose_account(
    username: String,
    email: String,
    password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use super::{Policy, ssr};
    use backend::auth::activation::SIGNUP_COOKIE;
    ssr::run(Policy::Public, |c| async move {
        let ticket = c.cookie(SIGNUP_COOKIE).unwrap_or_default();
        c.portal
            .choose_account(
                &ticket,
                &username,
                &email,
                &password,
                &confirm_password,
                &c.meta,
            )
            .await?;
        leptos_axum::redirect("/activate/confirm");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "activation/confirm")]
pub async fn confirm_email(code: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    use backend::auth::{activation::SIGNUP_COOKIE, session::COOKIE};
    ssr::run(Policy::Public, |c| async move {
        let ticket = c.cookie(SIGNUP_COOKIE).unwrap_or_default();
        let done = c.portal.confirm_email(&ticket, &code, &c.meta).await?;
        c.portal.end_replaced_session(&c.principal).await?;
        ssr::clear_cookie(SIGNUP_COOKIE);
        ssr::set_cookie(COOKIE, &done.token, None);
        leptos_axum::redirect("/home");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "activation/resend")]
pub async fn resend_code() -> Result<(), AppError> {
    use super::{Policy, ssr};
    use backend::auth::activation::SIGNUP_COOKIE;
    ssr::run(Policy::Public, |c| async move {
        let ticket = c.cookie(SIGNUP_COOKIE).unwrap_or_default();
        c.portal.resend_email_code(&ticket).await?;
        leptos_axum::redirect("/activate/confirm?resent=1");
        Ok(())
    })
    .await
}

/// Which step a sign-up is at: `None` no live sign-up, `Some(false)` choose details,
/// `Some(true)` confirm the email.
#[server(prefix = "/api", endpoint = "activation/step")]
pub async fn activation_step() -> Result<Option<bool>, AppError> {
    use super::{Policy, ssr};
    use backend::auth::activation::SIGNUP_COOKIE;
    ssr::run(Policy::Public, |c| async move {
        let Some(ticket) = c.cookie(SIGNUP_COOKIE) else {
            return Ok(None);
        };
        Ok(c.portal.activation_step(&ticket).await)
    })
    .await
}
