//! Server functions, one file per portal area. Each declares its access policy here and
//! enforces it through [`ssr::run`]; a test checks the two agree for every registered function.

pub mod activation;
pub mod activity;
pub mod appointments;
pub mod auth;
pub mod messages;
pub mod proxy;
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
    /// A patient or caregiver account (the Proxy access page, accepting an invitation).
    Person,
    /// One part of the record the session is on: the patient's own, or a caregiver's whose
    /// grant includes the scope (the backend opens the handle for that scope only).
    Record(Scope),
    /// A view made of several parts (Home): each part asks for its own scope.
    AnyRecord,
    /// Only the patient on their own record, never a caregiver acting for them: proxy
    /// management, release preferences, whole-record export, transmit.
    SelfOnly,
    /// Signed-in staff in one of these roles (the backend checks the same again).
    Staff(&'static [Role]),
}

use domain::proxy::Scope;
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
    ("/api/results/list", Policy::Record(Scope::Results)),
    ("/api/results/get", Policy::Record(Scope::Results)),
    (
        "/api/record/medications",
        Policy::Record(Scope::Medications),
    ),
    ("/api/record/allergies", Policy::Record(Scope::Clinical)),
    ("/api/record/problems", Policy::Record(Scope::Clinical)),
    (
        "/api/record/immunizations",
        Policy::Record(Scope::Immunizations),
    ),
    ("/api/record/vitals", Policy::Record(Scope::Clinical)),
    ("/api/record/visits", Policy::Record(Scope::Visits)),
    ("/api/record/highlights", Policy::AnyRecord),
    ("/api/record/transmit", Policy::SelfOnly),
    ("/api/record/release_preference", Policy::SelfOnly),
    ("/api/record/release_preferences", Policy::SelfOnly),
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
    ("/api/messages/teams", Policy::Record(Scope::Messages)),
    ("/api/messages/list", Policy::Record(Scope::Messages)),
    ("/api/messages/thread", Policy::Record(Scope::Messages)),
    ("/api/messages/unread", Policy::Record(Scope::Messages)),
    (
        "/api/appointments/page",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/slots",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/book",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/cancel",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/reschedule",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/request",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/waitlist",
        Policy::Record(Scope::Appointments),
    ),
    (
        "/api/appointments/accept",
        Policy::Record(Scope::Appointments),
    ),
    ("/api/refills/list", Policy::Record(Scope::Medications)),
    ("/api/refills/choices", Policy::Record(Scope::Medications)),
    ("/api/refills/request", Policy::Record(Scope::Medications)),
    ("/api/home/care", Policy::AnyRecord),
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
    ("/api/staff/reports", Policy::Staff(CLINICIAN)),
    ("/api/staff/sensitivity", Policy::Staff(CLINICIAN)),
    ("/api/proxy/page", Policy::Person),
    ("/api/proxy/invite", Policy::SelfOnly),
    ("/api/proxy/revoke", Policy::SelfOnly),
    ("/api/proxy/scopes", Policy::SelfOnly),
    ("/api/proxy/switch", Policy::Person),
    ("/api/proxy/invitation", Policy::Public),
    ("/api/proxy/accept", Policy::Person),
    ("/api/proxy/decline", Policy::Public),
    ("/api/proxy/join", Policy::Public),
    ("/api/proxy/guardian", Policy::Staff(FRONT_DESK)),
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
    use backend::{PatientAccess, Portal, Principal, RequestMeta};
    use domain::proxy::Scope;
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
        /// One part of a composite view, when the session may see it (`None` otherwise).
        pub async fn part(&self, scope: Scope) -> Result<Option<PatientAccess>, AppError> {
            if !self.principal.may(scope) {
                return Ok(None);
            }
            Ok(Some(
                self.portal
                    .record(&self.principal, scope, &self.meta)
                    .await?,
            ))
        }
    }

    /// Runs a `Record(scope)` function with the access handle opened for that very scope.
    pub async fn with_record<T, F, Fut>(scope: Scope, body: F) -> Result<T, AppError>
    where
        F: FnOnce(Call, PatientAccess) -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        run(Policy::Record(scope), |c| async move {
            let access = c.portal.record(&c.principal, scope, &c.meta).await?;
            body(c, access).await
        })
        .await
    }

    /// Runs a `SelfOnly` function with the patient's own whole-record handle.
    pub async fn with_own<T, F, Fut>(body: F) -> Result<T, AppError>
    where
        F: FnOnce(Call, PatientAccess) -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        run(Policy::SelfOnly, |c| async move {
            let access = c.portal.own_record(&c.principal, &c.meta).await?;
            body(c, access).await
        })
        .await
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
            let allowed = if policy == Policy::Public {
                Ok(())
            } else if principal.is_anonymous() {
                Err(AppError::sign_in_needed())
            } else {
                let fits = match policy {
                    Policy::Public | Policy::SignedIn => true,
                    Policy::Person => principal.is_person(),
                    Policy::AnyRecord => {
                        if principal.is_person() && !principal.has_record() {
                            // Refused with the reason (nobody chosen, or the grant ended).
                            portal.record(&principal, Scope::Results, &meta).await?;
                        }
                        principal.is_person()
                    }
                    Policy::SelfOnly => principal.is_self(),
                    Policy::Record(scope) => {
                        if principal.is_person() && !principal.may(scope) {
                            // The backend words the refusal (scope not granted, grant ended)
                            // and audits it.
                            portal.record(&principal, scope, &meta).await?;
                        }
                        principal.is_person()
                    }
                    Policy::Staff(roles) => principal.role().is_some_and(|r| roles.contains(&r)),
                };
                if fits {
                    Ok(())
                } else {
                    let refused = portal.deny(&principal, &meta, parts.uri.path()).await?;
                    Err(AppError::from(refused))
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
