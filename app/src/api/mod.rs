//! Server functions, one file per portal area. Each declares its access policy here and
//! enforces it through [`ssr::run`]; a test checks the two agree for every registered function.

pub mod activation;
pub mod activity;
pub mod appointments;
pub mod auth;
pub mod messages;
pub mod record;
pub mod results;
pub mod security;
pub mod sessions;
pub mod staff;

/// Who may call a server function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Anyone, signed in or not (sign-in, activation).
    Public,
    /// Any signed-in person.
    SignedIn,
    /// A signed-in patient, on their own record.
    Patient,
    /// Signed-in staff in one of these roles (the backend checks the same again).
    Staff(&'static [Role]),
}

use domain::session::Role;
pub use domain::session::staff_roles::{
    ANY_STAFF, CLINICIAN, FRONT_DESK, INBOX, REFILL_QUEUE, SCHEDULE,
};

/// Every server function's endpoint and policy. A function missing here fails the tests.
pub const POLICIES: &[(&str, Policy)] = &[
    ("/api/auth/sign_in", Policy::Public),
    ("/api/auth/sign_out", Policy::Public),
    ("/api/auth/me", Policy::Public),
    ("/api/activation/start", Policy::Public),
    ("/api/activation/account", Policy::Public),
    ("/api/activation/confirm", Policy::Public),
    ("/api/activation/resend", Policy::Public),
    ("/api/activation/step", Policy::Public),
    ("/api/results/list", Policy::Patient),
    ("/api/results/get", Policy::Patient),
    ("/api/record/medications", Policy::Patient),
    ("/api/record/allergies", Policy::Patient),
    ("/api/record/problems", Policy::Patient),
    ("/api/record/immunizations", Policy::Patient),
    ("/api/record/vitals", Policy::Patient),
    ("/api/record/visits", Policy::Patient),
    ("/api/record/highlights", Policy::Patient),
    ("/api/record/transmit", Policy::Patient),
    ("/api/record/release_preference", Policy::Patient),
    ("/api/record/release_preferences", Policy::Patient),
    ("/api/activity/log", Policy::SignedIn),
    ("/api/sessions/list", Policy::SignedIn),
    ("/api/sessions/end", Policy::SignedIn),
    ("/api/sessions/end_others", Policy::SignedIn),
    ("/api/signin/choices", Policy::Public),
    ("/api/signin/send_code", Policy::Public),
    ("/api/signin/verify", Policy::Public),
    ("/api/signin/setup_begin", Policy::Public),
    ("/api/signin/setup_finish", Policy::Public),
    ("/api/security/overview", Policy::SignedIn),
    ("/api/security/reauth", Policy::SignedIn),
    ("/api/security/password", Policy::SignedIn),
    ("/api/security/totp_begin", Policy::SignedIn),
    ("/api/security/totp_confirm", Policy::SignedIn),
    ("/api/security/code_factor", Policy::SignedIn),
    ("/api/security/remove_factor", Policy::SignedIn),
    ("/api/security/backup_codes", Policy::SignedIn),
    ("/api/security/email_start", Policy::SignedIn),
    ("/api/security/email_confirm", Policy::SignedIn),
    ("/api/security/phone_start", Policy::SignedIn),
    ("/api/security/phone_confirm", Policy::SignedIn),
    ("/api/security/phone_remove", Policy::SignedIn),
    ("/api/security/activity", Policy::SignedIn),
    ("/api/security/report", Policy::SignedIn),
    ("/api/security/passkey_begin", Policy::SignedIn),
    ("/api/security/passkey_finish", Policy::SignedIn),
    ("/api/security/passkey_rename", Policy::SignedIn),
    ("/api/signin/passkey_begin", Policy::Public),
    ("/api/signin/passkey_finish", Policy::Public),
    ("/api/signin/passkey_login_begin", Policy::Public),
    ("/api/signin/passkey_login_finish", Policy::Public),
    ("/api/recovery/forgot_password", Policy::Public),
    ("/api/recovery/forgot_username", Policy::Public),
    ("/api/recovery/reset_state", Policy::Public),
    ("/api/recovery/reset_send_code", Policy::Public),
    ("/api/recovery/reset_factor", Policy::Public),
    ("/api/recovery/reset", Policy::Public),
    ("/api/messages/teams", Policy::Patient),
    ("/api/messages/list", Policy::Patient),
    ("/api/messages/thread", Policy::Patient),
    ("/api/messages/unread", Policy::Patient),
    ("/api/appointments/page", Policy::Patient),
    ("/api/appointments/slots", Policy::Patient),
    ("/api/appointments/book", Policy::Patient),
    ("/api/appointments/cancel", Policy::Patient),
    ("/api/appointments/reschedule", Policy::Patient),
    ("/api/appointments/request", Policy::Patient),
    ("/api/appointments/waitlist", Policy::Patient),
    ("/api/appointments/accept", Policy::Patient),
    ("/api/refills/list", Policy::Patient),
    ("/api/refills/choices", Policy::Patient),
    ("/api/refills/request", Policy::Patient),
    ("/api/home/care", Policy::Patient),
    ("/api/staff/home", Policy::Staff(ANY_STAFF)),
    ("/api/staff/inbox", Policy::Staff(INBOX)),
    ("/api/staff/thread", Policy::Staff(INBOX)),
    ("/api/staff/assign", Policy::Staff(INBOX)),
    ("/api/staff/close", Policy::Staff(INBOX)),
    ("/api/staff/patients", Policy::Staff(SCHEDULE)),
    ("/api/staff/register", Policy::Staff(FRONT_DESK)),
    ("/api/staff/letter", Policy::Staff(FRONT_DESK)),
    ("/api/staff/account", Policy::Staff(FRONT_DESK)),
    ("/api/staff/refills", Policy::Staff(REFILL_QUEUE)),
    ("/api/staff/approve", Policy::Staff(CLINICIAN)),
    ("/api/staff/deny", Policy::Staff(CLINICIAN)),
    ("/api/staff/sent", Policy::Staff(REFILL_QUEUE)),
    ("/api/staff/schedule", Policy::Staff(SCHEDULE)),
    ("/api/staff/setup", Policy::Staff(SCHEDULE)),
    ("/api/staff/template_add", Policy::Staff(SCHEDULE)),
    ("/api/staff/template_remove", Policy::Staff(SCHEDULE)),
    ("/api/staff/exception_add", Policy::Staff(SCHEDULE)),
    ("/api/staff/requests", Policy::Staff(FRONT_DESK)),
    ("/api/staff/request_done", Policy::Staff(FRONT_DESK)),
    ("/api/staff/slots", Policy::Staff(FRONT_DESK)),
    ("/api/staff/book", Policy::Staff(FRONT_DESK)),
    ("/api/staff/cancel", Policy::Staff(FRONT_DESK)),
    ("/api/staff/results", Policy::Staff(CLINICIAN)),
    ("/api/staff/result", Policy::Staff(CLINICIAN)),
];

pub fn policy_of(path: &str) -> Option<Policy> {
    POLICIES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, pol)| *pol)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The server side of every call: principal from the session, policy check, status codes.

    use super::Policy;
    use crate::error::AppError;
    use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
    use backend::audit::{self, Entry, Outcome};
    use backend::{Portal, Principal, RequestMeta};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use std::future::Future;
    use std::net::SocketAddr;

    /// What a server function works with once its policy let the caller through.
    pub struct Call {
        pub portal: Portal,
        pub principal: Principal,
        pub meta: RequestMeta,
        pub headers: HeaderMap,
    }

    impl Call {
        pub fn cookie(&self, name: &str) -> Option<String> {
            cookie(&self.headers, name)
        }
    }

    pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// The client's address: what the web layer found (trusted proxies considered), else the
    /// TCP peer.
    pub fn meta(parts: &Parts) -> RequestMeta {
        let ip = parts
            .extensions
            .get::<backend::audit::ClientIp>()
            .map(|c| c.0.clone())
            .or_else(|| {
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_string())
            });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        RequestMeta { ip, user_agent }
    }

    /// Whether the request is a plain HTML form post (no JavaScript): then errors travel
    /// back in a redirect, and the status must stay 302.
    fn is_form_post(parts: &Parts) -> bool {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }

    /// The caller as staff in one of `roles`, through the backend's access layer.
    pub async fn staff(
        c: &Call,
        roles: &'static [domain::session::Role],
        what: &str,
    ) -> Result<backend::StaffAccess, AppError> {
        Ok(c.portal
            .staff_access(&c.principal, roles, what, &c.meta)
            .await?)
    }

    /// Runs a server function body after checking `policy`, and maps errors to statuses.
    pub async fn run<T, F, Fut>(policy: Policy, body: F) -> Result<T, AppError>
    where
        F: FnOnce(Call) -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let parts = use_context::<Parts>();
        let out = async {
            let parts = parts.as_ref().ok_or(AppError::Internal)?;
            let portal = use_context::<Portal>().ok_or(AppError::Internal)?;
            let meta = meta(parts);
            let token = cookie(&parts.headers, backend::auth::session::COOKIE);
            let principal = portal.principal(token.as_deref()).await?;
            let allowed = match (policy, &principal) {
                (Policy::Public, _) => Ok(()),
                (_, Principal::Anonymous) => Err(AppError::sign_in_needed()),
                (Policy::SignedIn, _) => Ok(()),
                (Policy::Patient, Principal::Patient { .. }) => Ok(()),
                (Policy::Staff(roles), Principal::Staff { role, .. }) if roles.contains(role) => {
                    Ok(())
                }
                (Policy::Patient, Principal::Staff { user_id, .. })
                | (Policy::Staff(_), Principal::Staff { user_id, .. })
                | (Policy::Staff(_), Principal::Patient { user_id, .. }) => {
                    let path = parts.uri.path().to_owned();
                    audit::record(
                        &portal.db,
                        portal.now(),
                        &meta,
                        Entry::new("access.denied", Outcome::Denied)
                            .actor(user_id.clone())
                            .detail(path),
                    )
                    .await
                    .map_err(AppError::from)?;
                    Err(AppError::Forbidden)
                }
            };
            allowed?;
            body(Call {
                portal,
                principal,
                meta,
                headers: parts.headers.clone(),
            })
            .await
        }
        .await;
        if let Err(e) = &out
            && let Some(parts) = &parts
            && !is_form_post(parts)
            && let Some(res) = use_context::<ResponseOptions>()
        {
            res.set_status(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        out
    }

    /// Adds a cookie to the response. `__Host-` cookies are Secure, Path=/, host-only.
    pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<u64>) {
        let mut c = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age_secs {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if let (Some(res), Ok(v)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(&c)) {
            res.append_header(header::SET_COOKIE, v);
        }
    }

    pub fn clear_cookie(name: &str) {
        set_cookie(name, "", Some(0));
    }

    pub fn header(name: header::HeaderName, value: &'static str) {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.insert_header(name, HeaderValue::from_static(value));
        }
    }
}
