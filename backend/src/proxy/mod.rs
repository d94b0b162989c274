//! Proxy access: a patient grants a caregiver scoped, time-limited access by an emailed,
//! single-use invitation; the caregiver accepts by confirming the patient's date of birth;
//! the patient edits scopes and revokes. Grants are checked again on every request
//! ([`Portal::live_grant`]), with the age rules for a parent's grant of a child.

use crate::access::{Grant, PatientAccess, Principal};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::clock::to_datetime;
use crate::storage::entity::{patient, proxy_grant, user_account, user_session};
use crate::{Error, Portal, Result};

mod guardian;
mod invitation;
use domain::person::{age_on, format_long_date, parse_iso_date};
use domain::proxy::{ActingChoice, GrantStatus, GrantView, ProxyPage, Relationship, Scope};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

/// A grant made by the patient, or a parent's grant made by the front desk for a child.
pub(crate) const BY_PATIENT: &str = "patient";
pub(crate) const BY_CLINIC: &str = "guardian";
const DAY_MS: i64 = 86_400_000;

/// Ages at which a parent's grant changes: from 12 the sensitive categories are hidden, at
/// 18 it ends.
pub const TEEN_FROM: i32 = 12;
pub const ADULT_AT: i32 = 18;

/// A grant still open: invited or active (what revoking and editing may change).
fn open_grant() -> sea_orm::sea_query::SimpleExpr {
    proxy_grant::Column::Status.is_in([GrantStatus::Invited.as_str(), GrantStatus::Active.as_str()])
}

pub(crate) async fn stop_acting(db: &impl ConnectionTrait, session_id: &str) -> Result<()> {
    user_session::Entity::update_many()
        .col_expr(
            user_session::Column::ActingGrantId,
            Expr::value(Option::<String>::None),
        )
        .filter(user_session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

impl Portal {
    /// The patient's age today in their clinic's time zone (injected clock).
    pub async fn patient_age(&self, p: &patient::Model) -> Result<i32> {
        let born = parse_iso_date(&p.birth_date)
            .ok_or_else(|| Error::Unexpected("stored birth date unreadable".into()))?;
        self.age_at_clinic(&p.clinic_id, born).await
    }

    /// The age today, at the clinic `clinic_id`, of someone born on `born`.
    pub(crate) async fn age_at_clinic(&self, clinic_id: &str, born: time::Date) -> Result<i32> {
        let zone = self.clinic_zone(clinic_id).await?;
        let today = zone.date_of(self.now());
        let today = time::Date::from_calendar_date(
            today.year() as i32,
            time::Month::try_from(today.month() as u8)
                .map_err(|_| Error::Unexpected("month".into()))?,
            today.day() as u8,
        )
        .map_err(|_| Error::Unexpected("date".into()))?;
        Ok(age_on(born, today))
    }

    /// The grant a caregiver's session acts through, if it still holds right now: active,
    /// not expired, and for a parent's grant the patient under 18 (hidden sensitive
    /// categories from 12). A grant that has run out is marked so here.
    pub(crate) async fn live_grant(
        &self,
        grant_id: &str,
        caregiver: &str,
    ) -> Result<Option<Grant>> {
        let Some(g) = proxy_grant::Entity::find_by_id(grant_id.to_owned())
            .filter(proxy_grant::Column::CaregiverUserId.eq(caregiver))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if g.status != GrantStatus::Active.as_str() {
            return Ok(None);
        }
        let now = self.now();
        if g.expires_at <= now {
            self.end_grant(&g, GrantStatus::Expired, "expired").await?;
            return Ok(None);
        }
        let mut hide_sensitive = false;
        if g.kind == BY_CLINIC {
            let p = patient::Entity::find_by_id(g.patient_id.clone())
                .one(&self.db)
                .await?
                .ok_or(Error::NotFound)?;
            let age = self.patient_age(&p).await?;
            if age >= ADULT_AT {
                self.end_grant(&g, GrantStatus::Ended, "the patient turned 18")
                    .await?;
                self.tell_patient(
                    &g.patient_id,
                    "a parent's access has ended",
                    "You have turned 18, so the access your parent or guardian had to your \
                     record has ended. Only you can give someone access again, on the Proxy \
                     access page.",
                )
                .await;
                return Ok(None);
            }
            hide_sensitive = age >= TEEN_FROM;
        }
        Ok(Some(Grant {
            id: g.id,
            patient_id: g.patient_id,
            scopes: Scope::split(&g.scopes),
            hide_sensitive,
        }))
    }

    /// Ends a grant by the rules (expiry, the 18th birthday), once, with an audit entry and
    /// a notice to the caregiver.
    async fn end_grant(&self, g: &proxy_grant::Model, to: GrantStatus, why: &str) -> Result<()> {
        let now = self.now();
        let txn = self.db.begin().await?;
        let changed = proxy_grant::Entity::update_many()
            .col_expr(proxy_grant::Column::Status, Expr::value(to.as_str()))
            .col_expr(proxy_grant::Column::EndedAt, Expr::value(now))
            .col_expr(proxy_grant::Column::EndReason, Expr::value(why))
            .filter(proxy_grant::Column::Id.eq(g.id.clone()))
            .filter(proxy_grant::Column::Status.eq(GrantStatus::Active.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 1 {
            audit::record(
                &txn,
                now,
                &RequestMeta::default(),
                Entry::new("proxy.ended", Outcome::Ok)
                    .label("portal rules")
                    .patient(g.patient_id.clone())
                    .object(g.id.clone())
                    .detail(why.to_owned()),
            )
            .await?;
        }
        txn.commit().await?;
        if changed == 1 {
            self.tell_caregiver(
                g,
                "your access to a record has ended",
                &format!("Your access to a record you helped with has ended ({why})."),
            )
            .await;
        }
        Ok(())
    }

    pub(crate) async fn tell_caregiver(&self, g: &proxy_grant::Model, subject: &str, body: &str) {
        let Some(id) = &g.caregiver_user_id else {
            return;
        };
        match user_account::Entity::find_by_id(id.clone())
            .one(&self.db)
            .await
        {
            Ok(Some(u)) => self.notify(&u, subject, body).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "caregiver notice: account lookup failed"),
        }
    }

    /// The Proxy access page: who has access to my record, and whose I can act for.
    pub async fn proxy_page(&self, p: &Principal) -> Result<ProxyPage> {
        let Some(user_id) = p.user_id().filter(|_| p.is_person()) else {
            return Err(Error::Forbidden);
        };
        let mut granted = vec![];
        if let Some(own) = p.patient_id() {
            let rows = proxy_grant::Entity::find()
                .filter(proxy_grant::Column::PatientId.eq(own))
                .order_by_desc(proxy_grant::Column::CreatedAt)
                .all(&self.db)
                .await?;
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|g| g.caregiver_user_id.clone())
                .collect();
            let names = crate::clinic::names(&self.db, ids).await?;
            for g in rows {
                let who = g
                    .caregiver_user_id
                    .as_ref()
                    .and_then(|id| names.get(id).cloned())
                    .unwrap_or_else(|| g.invited_email.clone());
                granted.push(grant_view(&g, who));
            }
        }
        Ok(ProxyPage {
            has_own_record: p.patient_id().is_some(),
            granted,
            acting_for: self.acting_choices(user_id).await?,
        })
    }

    /// The records a person may open as a caregiver: their active, unexpired grants.
    pub(crate) async fn acting_choices(&self, user_id: &str) -> Result<Vec<ActingChoice>> {
        let mine = proxy_grant::Entity::find()
            .filter(proxy_grant::Column::CaregiverUserId.eq(user_id))
            .filter(proxy_grant::Column::Status.eq(GrantStatus::Active.as_str()))
            .filter(proxy_grant::Column::ExpiresAt.gt(self.now()))
            .order_by_asc(proxy_grant::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let pids: Vec<String> = mine.iter().map(|g| g.patient_id.clone()).collect();
        let pnames = crate::clinic::patient_names(&self.db, pids).await?;
        Ok(mine
            .into_iter()
            .map(|g| ActingChoice {
                name: pnames.get(&g.patient_id).cloned().unwrap_or_default(),
                scopes: Scope::split(&g.scopes),
                expires: format_long_date(to_datetime(g.expires_at).date()),
                grant_id: g.id,
            })
            .collect())
    }

    /// One of the patient's own grants, for a change (password confirmed recently).
    async fn own_grant(
        &self,
        p: &Principal,
        grant_id: &str,
        meta: &RequestMeta,
    ) -> Result<(PatientAccess, proxy_grant::Model)> {
        let own = self.own_record(p, meta).await?;
        self.recently_authenticated(p).await?;
        let g = proxy_grant::Entity::find_by_id(grant_id.to_owned())
            .filter(proxy_grant::Column::PatientId.eq(own.patient_id()))
            .one(&self.db)
            .await?;
        match g {
            Some(g) => Ok((own, g)),
            None => Err(own
                .not_found(self, "proxy.change", "proxy", grant_id)
                .await?),
        }
    }

    /// The patient revokes a grant (or an invitation not yet accepted). The caregiver's very
    /// next request is refused: grants are checked on every request.
    pub async fn revoke_grant(
        &self,
        p: &Principal,
        grant_id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (own, g) = self.own_grant(p, grant_id, meta).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        let changed = proxy_grant::Entity::update_many()
            .col_expr(
                proxy_grant::Column::Status,
                Expr::value(GrantStatus::Revoked.as_str()),
            )
            .col_expr(proxy_grant::Column::EndedAt, Expr::value(now))
            .col_expr(
                proxy_grant::Column::EndReason,
                Expr::value("revoked by the patient"),
            )
            .col_expr(
                proxy_grant::Column::InviteTokenHash,
                Expr::value(Option::<String>::None),
            )
            .filter(proxy_grant::Column::Id.eq(g.id.clone()))
            .filter(open_grant())
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(Error::Invalid("This access has already ended.".into()));
        }
        audit::record(
            &txn,
            now,
            meta,
            own.entry("proxy.revoke", "proxy").object(g.id.clone()),
        )
        .await?;
        txn.commit().await?;
        self.tell_caregiver(
            &g,
            "your access to a record was revoked",
            "The person whose record you helped with has revoked your access.",
        )
        .await;
        Ok(())
    }

    /// The patient changes what a grant covers.
    pub async fn set_grant_scopes(
        &self,
        p: &Principal,
        grant_id: &str,
        scopes: &[Scope],
        meta: &RequestMeta,
    ) -> Result<()> {
        let (own, g) = self.own_grant(p, grant_id, meta).await?;
        if g.kind == BY_CLINIC {
            return Err(Error::Invalid(
                "The clinic set up this parent's access; ask the front desk to change it.".into(),
            ));
        }
        let now = self.now();
        let txn = self.db.begin().await?;
        let changed = proxy_grant::Entity::update_many()
            .col_expr(
                proxy_grant::Column::Scopes,
                Expr::value(Scope::join(scopes)),
            )
            .filter(proxy_grant::Column::Id.eq(g.id.clone()))
            .filter(open_grant())
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(Error::Invalid("This access has already ended.".into()));
        }
        audit::record(
            &txn,
            now,
            meta,
            own.entry("proxy.scopes", "proxy")
                .object(g.id.clone())
                .detail(Scope::join(scopes)),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Switches the session to a record the person may act for (`Some(grant)`), or back to
    /// their own (`None`).
    pub async fn act_for(
        &self,
        p: &Principal,
        grant_id: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (Some(user_id), Some(session_id)) = (p.user_id(), p.session_id()) else {
            return Err(Error::Unauthenticated);
        };
        if !p.is_person() {
            return Err(Error::Forbidden);
        }
        let Some(grant_id) = grant_id else {
            return stop_acting(&self.db, session_id).await;
        };
        let Some(g) = self.live_grant(grant_id, user_id).await? else {
            return Err(Error::NotFound);
        };
        user_session::Entity::update_many()
            .col_expr(
                user_session::Column::ActingGrantId,
                Expr::value(g.id.clone()),
            )
            .filter(user_session::Column::Id.eq(session_id))
            .exec(&self.db)
            .await?;
        let mut e = Entry::new("proxy.switch", Outcome::Ok)
            .actor(user_id.to_owned())
            .patient(g.patient_id.clone())
            .category("proxy")
            .object(g.id.clone());
        e.on_behalf_of = Some(g.patient_id.clone());
        self.record_audit(self.now(), meta, e).await
    }

    /// The name of the patient a session acts for, and the scopes it has (for the banner).
    pub async fn acting_banner(&self, p: &Principal) -> Result<Option<(String, Vec<Scope>)>> {
        let Some(grant_id) = p.acting_grant() else {
            return Ok(None);
        };
        let Some(g) = proxy_grant::Entity::find_by_id(grant_id.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let names = crate::clinic::patient_names(&self.db, vec![g.patient_id.clone()]).await?;
        Ok(Some((
            names.get(&g.patient_id).cloned().unwrap_or_default(),
            Scope::split(&g.scopes),
        )))
    }

    /// Emails each patient whose grant ends within two weeks, once, to review it.
    pub async fn send_grant_reminders(&self) -> Result<usize> {
        let now = self.now();
        let due = proxy_grant::Entity::find()
            .filter(proxy_grant::Column::Status.eq(GrantStatus::Active.as_str()))
            .filter(proxy_grant::Column::RemindedAt.is_null())
            .filter(proxy_grant::Column::ExpiresAt.lte(now + 14 * DAY_MS))
            .filter(proxy_grant::Column::ExpiresAt.gt(now))
            .all(&self.db)
            .await?;
        let mut sent = 0;
        for g in due {
            let claimed = proxy_grant::Entity::update_many()
                .col_expr(proxy_grant::Column::RemindedAt, Expr::value(now))
                .filter(proxy_grant::Column::Id.eq(g.id.clone()))
                .filter(proxy_grant::Column::RemindedAt.is_null())
                .exec(&self.db)
                .await?
                .rows_affected;
            if claimed == 1 {
                self.tell_patient(
                    &g.patient_id,
                    "review who can see your record",
                    &format!(
                        "Someone's access to your record ends on {}. Review it on the Proxy \
                         access page: renew it by inviting them again, or let it end.",
                        format_long_date(to_datetime(g.expires_at).date())
                    ),
                )
                .await;
                sent += 1;
            }
        }
        Ok(sent)
    }
}

fn grant_view(g: &proxy_grant::Model, who: String) -> GrantView {
    let at = to_datetime(g.expires_at).date();
    GrantView {
        id: g.id.clone(),
        who,
        relationship: Relationship::parse(&g.relationship).unwrap_or(Relationship::Other),
        scopes: Scope::split(&g.scopes),
        status: GrantStatus::parse(&g.status).unwrap_or(GrantStatus::Ended),
        expires: format_long_date(at),
        expires_iso: domain::person::format_iso_date(at),
        by_clinic: g.kind == BY_CLINIC,
    }
}
