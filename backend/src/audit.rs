//! The audit log: who did what to which record, when, from where, and how it ended.

use crate::storage::entity::audit_event;
use crate::{Result, new_id};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};

/// Where a request came from, for the audit log and the sessions list.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The client's address as the web layer determined it (behind trusted proxies, from
/// `X-Forwarded-For`), carried in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
        }
    }
}

/// One audit entry. `action` names are stable, dotted and lowercase (`signin.ok`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: &'static str,
    pub outcome: Outcome,
    pub actor_user_id: Option<String>,
    pub actor_label: Option<String>,
    pub on_behalf_of: Option<String>,
    pub patient_id: Option<String>,
    pub category: Option<&'static str>,
    pub object_id: Option<String>,
    pub detail: Option<String>,
}

impl Entry {
    pub fn new(action: &'static str, outcome: Outcome) -> Self {
        Self {
            action,
            outcome,
            actor_user_id: None,
            actor_label: None,
            on_behalf_of: None,
            patient_id: None,
            category: None,
            object_id: None,
            detail: None,
        }
    }
    pub fn actor(mut self, user_id: impl Into<String>) -> Self {
        self.actor_user_id = Some(user_id.into());
        self
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.actor_label = Some(label.into());
        self
    }
    pub fn patient(mut self, patient_id: impl Into<String>) -> Self {
        self.patient_id = Some(patient_id.into());
        self
    }
    /// The account holder as the actor, with their patient record (if any).
    pub fn by_account(self, u: &crate::storage::entity::user_account::Model) -> Self {
        self.actor(u.id.clone()).maybe_patient(u.patient_id.clone())
    }
    pub fn maybe_patient(mut self, patient_id: Option<String>) -> Self {
        self.patient_id = patient_id;
        self
    }
    pub fn category(mut self, c: &'static str) -> Self {
        self.category = Some(c);
        self
    }
    pub fn object(mut self, id: impl Into<String>) -> Self {
        self.object_id = Some(id.into());
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}

/// Writes an entry, inside the caller's transaction when given one.
pub async fn record(
    db: &impl ConnectionTrait,
    now: i64,
    meta: &RequestMeta,
    e: Entry,
) -> Result<()> {
    audit_event::ActiveModel {
        id: Set(new_id()),
        at: Set(now),
        actor_user_id: Set(e.actor_user_id),
        actor_label: Set(e.actor_label),
        on_behalf_of: Set(e.on_behalf_of),
        patient_id: Set(e.patient_id),
        action: Set(e.action.to_owned()),
        category: Set(e.category.map(str::to_owned)),
        object_id: Set(e.object_id),
        outcome: Set(e.outcome.as_str().to_owned()),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(256).collect())),
        detail: Set(e.detail),
    }
    .insert(db)
    .await?;
    Ok(())
}
