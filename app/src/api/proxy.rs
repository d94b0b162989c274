//! Proxy access: the patient's grants (invite, change scopes, revoke), the caregiver's side
//! (accept or decline an invitation, create a caregiver account, switch records).

use crate::error::AppError;
use domain::proxy::{InvitationView, ProxyPage};
use leptos::prelude::*;

/// Who has access to my record, and whose records I can act for.
#[server(prefix = "/api", endpoint = "proxy/page")]
pub async fn load_proxy_page() -> Result<ProxyPage, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Person, |c| async move {
        Ok(c.portal.proxy_page(&c.principal).await?)
    })
    .await
}

/// Invites a caregiver: `scopes[]` names each part shared (one checkbox each:
/// `scopes[]=results&scopes[]=messages`), `months` 1 to 24. Needs the password confirmed in
/// the last minutes.
#[server(prefix = "/api", endpoint = "proxy/invite")]
pub async fn invite_caregiver(
    email: String,
    relationship: String,
    #[server(default)] scopes: Vec<String>,
    months: String,
) -> Result<String, AppError> {
    use super::{Policy, ssr};
    use domain::proxy::{Relationship, Scope, grant_months};
    ssr::run(Policy::SelfOnly, |c| async move {
        let bad = |e: domain::DomainError| AppError::BadRequest(e.0);
        let email = domain::account::Email::parse(&email).map_err(bad)?;
        let relationship = Relationship::parse(&relationship).map_err(bad)?;
        let scopes = Scope::from_form(&scopes).map_err(bad)?;
        let months = grant_months(&months).map_err(bad)?;
        c.portal
            .invite_caregiver(&c.principal, &email, relationship, &scopes, months, &c.meta)
            .await?;
        Ok(format!(
            "An invitation was sent to {}. It works once, for 7 days.",
            email.as_str()
        ))
    })
    .await
}

#[server(prefix = "/api", endpoint = "proxy/revoke")]
pub async fn revoke_grant(id: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::SelfOnly, |c| async move {
        Ok(c.portal.revoke_grant(&c.principal, &id, &c.meta).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "proxy/scopes")]
pub async fn set_grant_scopes(
    id: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<(), AppError> {
    use super::{Policy, ssr};
    use domain::proxy::Scope;
    ssr::run(Policy::SelfOnly, |c| async move {
        let scopes = Scope::from_form(&scopes).map_err(|e| AppError::BadRequest(e.0))?;
        Ok(c.portal
            .set_grant_scopes(&c.principal, &id, &scopes, &c.meta)
            .await?)
    })
    .await
}

/// Opens the record of someone the person acts for (`grant`), or their own (empty).
#[server(prefix = "/api", endpoint = "proxy/switch")]
pub async fn switch_record(#[server(default)] grant: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Person, |c| async move {
        let grant = Some(grant.trim()).filter(|g| !g.is_empty());
        c.portal.act_for(&c.principal, grant, &c.meta).await?;
        leptos_axum::redirect("/home");
        Ok(())
    })
    .await
}

/// What an invitation offers (the token comes from the link's fragment, in the body).
#[server(prefix = "/api", endpoint = "proxy/invitation")]
pub async fn load_invitation(token: String) -> Result<InvitationView, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        Ok(c.portal.invitation(&token).await?)
    })
    .await
}

/// The signed-in person accepts, confirming the patient's date of birth.
#[server(prefix = "/api", endpoint = "proxy/accept")]
pub async fn accept_invitation(token: String, date_of_birth: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Person, |c| async move {
        c.portal
            .accept_invitation(&c.principal, &token, &date_of_birth, &c.meta)
            .await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "proxy/decline")]
pub async fn decline_invitation(token: String) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        Ok(c.portal.decline_invitation(&token, &c.meta).await?)
    })
    .await
}

/// Someone without an account accepts by creating a caregiver account, then signs in.
#[server(prefix = "/api", endpoint = "proxy/join")]
#[allow(clippy::too_many_arguments)]
pub async fn join_as_caregiver(
    token: String,
    first_name: String,
    last_name: String,
    username: String,
    password: String,
    confirm_password: String,
    date_of_birth: String,
) -> Result<(), AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Public, |c| async move {
        c.portal
            .join_as_caregiver(
                &token,
                &first_name,
                &last_name,
                &username,
                &password,
                &confirm_password,
                &date_of_birth,
                &c.meta,
            )
            .await?;
        Ok(())
    })
    .await
}

/// The front desk gives a child's parent or legal guardian access after checking who they
/// are (`identity_note` says how); the parent gets an invitation by email.
#[server(prefix = "/api", endpoint = "proxy/guardian")]
pub async fn grant_guardian(
    patient: String,
    email: String,
    relationship: String,
    identity_note: String,
) -> Result<String, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    use domain::proxy::Relationship;
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "parent access").await?;
        let bad = |e: domain::DomainError| AppError::BadRequest(e.0);
        let email = domain::account::Email::parse(&email).map_err(bad)?;
        let relationship = Relationship::parse(&relationship).map_err(bad)?;
        c.portal
            .grant_guardian(&s, &patient, &email, relationship, &identity_note, &c.meta)
            .await?;
        Ok(format!(
            "An invitation was sent to {}. It works once, for 7 days.",
            email.as_str()
        ))
    })
    .await
}
