//! Second factors, re-authentication, password and recovery details, security activity;
//! the second step of signing in; forgotten password and username.

use crate::error::AppError;
use domain::security::{ActivityRow, FactorChoice, SecurityOverview, TotpSetup};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The cookie that carries a sign-in between its password and its second step.
pub const SECOND_STEP_COOKIE: &str = "__Host-mhc_second_step";
/// The cookie that carries a sign-in that must first set up a second factor.
pub const SETUP_COOKIE: &str = "__Host-mhc_setup";

/// Where a password reset stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetInfo {
    pub choice: FactorChoice,
    pub factor_done: bool,
}

#[cfg(feature = "ssr")]
fn method(s: &str) -> Result<domain::security::Method, AppError> {
    domain::security::Method::parse(s).ok_or_else(|| {
        AppError::BadRequest("Choose how to confirm: app, email, text or backup code.".into())
    })
}

#[cfg(feature = "ssr")]
fn ticket(c: &super::ssr::Call, name: &str) -> Result<String, AppError> {
    c.cookie(name).ok_or_else(|| {
        AppError::BadRequest("This sign-in has expired. Start again from the sign-in page.".into())
    })
}

/// Starts the session a finished sign-in opened, ending whatever session the browser had.
#[cfg(feature = "ssr")]
async fn open_session(
    c: &super::ssr::Call,
    signed: &backend::auth::signin::SignedIn,
) -> Result<(), AppError> {
    c.portal.end_replaced_session(&c.principal).await?;
    super::ssr::set_cookie(backend::auth::session::COOKIE, &signed.token, None);
    Ok(())
}

// ---- The second step of signing in ----

#[server(prefix = "/api", endpoint = "signin/choices")]
pub async fn second_step_choices() -> Result<FactorChoice, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let t = ticket(&c, SECOND_STEP_COOKIE)?;
        Ok(c.portal.sign_in_choices(&t).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "signin/send_code")]
pub async fn send_sign_in_code(method: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let t = ticket(&c, SECOND_STEP_COOKIE)?;
        let m = self::method(&method)?;
        c.portal.send_sign_in_code(&t, m, &c.meta).await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "signin/verify")]
pub async fn verify_second_step(method: String, code: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let t = ticket(&c, SECOND_STEP_COOKIE)?;
        let m = self::method(&method)?;
        let signed = c
            .portal
            .sign_in_second_factor(&t, m, &code, &c.meta)
            .await?;
        open_session(&c, &signed).await?;
        ssr::clear_cookie(SECOND_STEP_COOKIE);
        leptos_axum::redirect("/home");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "signin/setup_begin")]
pub async fn setup_begin() -> Result<TotpSetup, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let t = ticket(&c, SETUP_COOKIE)?;
        Ok(c.portal.enrol_totp_begin(&t).await?)
    })
    .await
}

/// Finishes the forced set-up: opens the session and returns the backup codes, shown once.
#[server(prefix = "/api", endpoint = "signin/setup_finish")]
pub async fn setup_finish(code: String) -> Result<Vec<String>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let t = ticket(&c, SETUP_COOKIE)?;
        let (signed, codes) = c.portal.enrol_totp_finish(&t, &code, &c.meta).await?;
        open_session(&c, &signed).await?;
        ssr::clear_cookie(SETUP_COOKIE);
        Ok(codes)
    })
    .await
}

// ---- Account and security ----

#[server(prefix = "/api", endpoint = "security/overview")]
pub async fn get_security_overview() -> Result<SecurityOverview, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal.security_overview(&c.principal).await?)
    })
    .await
}

/// Confirms the password again; the session gets a new cookie.
#[server(prefix = "/api", endpoint = "security/reauth")]
pub async fn reauthenticate(password: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let token = c
            .portal
            .reauthenticate(&c.principal, &password, &c.meta)
            .await?;
        ssr::set_cookie(backend::auth::session::COOKIE, &token, None);
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        if new_password != confirm_password {
            return Err(AppError::BadRequest(
                "The two new passwords are not the same. Type the new password twice.".into(),
            ));
        }
        let token = c
            .portal
            .change_password(&c.principal, &current_password, &new_password, &c.meta)
            .await?;
        ssr::set_cookie(backend::auth::session::COOKIE, &token, None);
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/totp_begin")]
pub async fn totp_begin() -> Result<TotpSetup, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let user = c.portal.recently_authenticated(&c.principal).await?;
        Ok(c.portal.totp_begin(&user).await?)
    })
    .await
}

/// Proves the new app's first code; returns backup codes when it is the first factor.
#[server(prefix = "/api", endpoint = "security/totp_confirm")]
pub async fn totp_confirm(code: String) -> Result<Vec<String>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let user = c.portal.recently_authenticated(&c.principal).await?;
        let codes = c.portal.totp_confirm(&user, &code, &c.meta).await?;
        // The backend already told the person; the other sessions end here, where the
        // caller's own session is known.
        c.portal.end_other_sessions(&c.principal, &c.meta).await?;
        Ok(codes)
    })
    .await
}

/// Turns on sign-in codes by email (`email`) or text message (`sms`).
#[server(prefix = "/api", endpoint = "security/code_factor")]
pub async fn enable_code_factor(method: String) -> Result<Vec<String>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let user = c.portal.recently_authenticated(&c.principal).await?;
        let m = self::method(&method)?;
        let codes = c.portal.enable_code_factor(&user, m, &c.meta).await?;
        // The backend already told the person; the other sessions end here, where the
        // caller's own session is known.
        c.portal.end_other_sessions(&c.principal, &c.meta).await?;
        Ok(codes)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/remove_factor")]
pub async fn remove_factor(id: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        if id.is_empty() || id.len() > 64 {
            return Err(AppError::NotFound);
        }
        let user = c.portal.recently_authenticated(&c.principal).await?;
        c.portal.remove_factor(&user, &id, &c.meta).await?;
        // The backend already told the person; the other sessions end here, where the
        // caller's own session is known.
        c.portal.end_other_sessions(&c.principal, &c.meta).await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/backup_codes")]
pub async fn new_backup_codes() -> Result<Vec<String>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let user = c.portal.recently_authenticated(&c.principal).await?;
        Ok(c.portal.regenerate_backup_codes(&user, &c.meta).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/email_start")]
pub async fn email_start(email: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal
            .start_email_change(&c.principal, &email, &c.meta)
            .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/email_confirm")]
pub async fn email_confirm(code: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal
            .confirm_email_change(&c.principal, &code, &c.meta)
            .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/phone_start")]
pub async fn phone_start(phone: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal
            .start_phone_change(&c.principal, &phone, &c.meta)
            .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/phone_confirm")]
pub async fn phone_confirm(code: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal.confirm_phone(&c.principal, &code, &c.meta).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/phone_remove")]
pub async fn phone_remove() -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal.remove_phone(&c.principal, &c.meta).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/activity")]
pub async fn security_activity() -> Result<Vec<ActivityRow>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        Ok(c.portal.security_activity(&c.principal).await?)
    })
    .await
}

/// "Report suspicious activity": suspends the caller's own account and signs out.
#[server(prefix = "/api", endpoint = "security/report")]
pub async fn report_suspicious(confirm: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        if confirm != "suspend" {
            return Err(AppError::BadRequest(
                "Tick the box to confirm that you want to suspend your account.".into(),
            ));
        }
        c.portal.report_suspicious(&c.principal, &c.meta).await?;
        ssr::clear_cookie(backend::auth::session::COOKIE);
        leptos_axum::redirect("/signin?suspended=1");
        Ok(())
    })
    .await
}

// ---- Forgotten password and username ----

#[server(prefix = "/api", endpoint = "recovery/forgot_password")]
pub async fn forgot_password(login: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        c.portal.request_password_reset(&login, &c.meta).await?;
        leptos_axum::redirect("/forgot-password?sent=1");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "recovery/forgot_username")]
pub async fn forgot_username(email: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        c.portal.request_username_reminder(&email, &c.meta).await?;
        leptos_axum::redirect("/forgot-username?sent=1");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "recovery/reset_state")]
pub async fn reset_state(token: String) -> Result<ResetInfo, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let s = c.portal.reset_state(&token).await?;
        Ok(ResetInfo {
            choice: s.choice,
            factor_done: s.factor_done,
        })
    })
    .await
}

#[server(prefix = "/api", endpoint = "recovery/reset_send_code")]
pub async fn reset_send_code(token: String, method: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let m = self::method(&method)?;
        Ok(c.portal.reset_send_code(&token, m, &c.meta).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "recovery/reset_factor")]
pub async fn reset_factor(token: String, method: String, code: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let m = self::method(&method)?;
        Ok(c.portal
            .reset_verify_factor(&token, m, &code, &c.meta)
            .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "recovery/reset")]
pub async fn reset_password(
    token: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        if new_password != confirm_password {
            return Err(AppError::BadRequest(
                "The two new passwords are not the same. Type the new password twice.".into(),
            ));
        }
        c.portal
            .reset_password(&token, &new_password, &c.meta)
            .await?;
        Ok(())
    })
    .await
}

// ---- Passkeys ----

/// Starts adding a passkey: creation options for the browser, as JSON.
#[server(prefix = "/api", endpoint = "security/passkey_begin")]
pub async fn passkey_begin() -> Result<String, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        let user = c.portal.recently_authenticated(&c.principal).await?;
        Ok(c.portal.passkey_register_begin(&user).await?)
    })
    .await
}

/// Finishes adding a passkey named `name`; backup codes when it is the first factor.
#[server(prefix = "/api", endpoint = "security/passkey_finish")]
pub async fn passkey_finish(name: String, response: String) -> Result<Vec<String>, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        if response.len() > 64 * 1024 {
            return Err(AppError::BadRequest(
                "The passkey answer is too large.".into(),
            ));
        }
        let user = c.portal.recently_authenticated(&c.principal).await?;
        let codes = c
            .portal
            .passkey_register_finish(&user, &name, &response, &c.meta)
            .await?;
        // The backend already told the person; the other sessions end here, where the
        // caller's own session is known.
        c.portal.end_other_sessions(&c.principal, &c.meta).await?;
        Ok(codes)
    })
    .await
}

#[server(prefix = "/api", endpoint = "security/passkey_rename")]
pub async fn passkey_rename(id: String, name: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SignedIn, |c| async move {
        if id.is_empty() || id.len() > 64 {
            return Err(AppError::NotFound);
        }
        let user = c.portal.recently_authenticated(&c.principal).await?;
        Ok(c.portal.rename_passkey(&user, &id, &name, &c.meta).await?)
    })
    .await
}

/// The second step with a passkey: request options for the browser.
#[server(prefix = "/api", endpoint = "signin/passkey_begin")]
pub async fn second_step_passkey_begin() -> Result<String, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let t = ticket(&c, SECOND_STEP_COOKIE)?;
        Ok(c.portal.sign_in_passkey_begin(&t).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "signin/passkey_finish")]
pub async fn second_step_passkey_finish(response: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        if response.len() > 64 * 1024 {
            return Err(AppError::BadRequest(
                "The passkey answer is too large.".into(),
            ));
        }
        let t = ticket(&c, SECOND_STEP_COOKIE)?;
        let signed = c
            .portal
            .sign_in_passkey_finish(&t, &response, &c.meta)
            .await?;
        open_session(&c, &signed).await?;
        ssr::clear_cookie(SECOND_STEP_COOKIE);
        Ok(())
    })
    .await
}

/// The cookie that carries a passwordless passkey sign-in between its two calls.
pub const PASSKEY_COOKIE: &str = "__Host-mhc_passkey";

/// "Sign in with a passkey": request options for a discoverable credential.
#[server(prefix = "/api", endpoint = "signin/passkey_login_begin")]
pub async fn passkey_login_begin() -> Result<String, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        let (token, options) = c.portal.passkey_login_begin(&c.meta).await?;
        ssr::set_cookie(PASSKEY_COOKIE, &token, Some(300));
        Ok(options)
    })
    .await
}

#[server(prefix = "/api", endpoint = "signin/passkey_login_finish")]
pub async fn passkey_login_finish(response: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        if response.len() > 64 * 1024 {
            return Err(AppError::BadRequest(
                "The passkey answer is too large.".into(),
            ));
        }
        let t = ticket(&c, PASSKEY_COOKIE)?;
        let signed = c
            .portal
            .passkey_login_finish(&t, &response, &c.meta)
            .await?;
        open_session(&c, &signed).await?;
        ssr::clear_cookie(PASSKEY_COOKIE);
        Ok(())
    })
    .await
}
