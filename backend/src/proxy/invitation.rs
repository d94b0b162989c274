//! Invitations: the patient's emailed, single-use link (stored hashed, 7 days), accepted by
//! a signed-in person or by a new caregiver account, each confirming the patient's date of
//! birth.

use super::{BY_PATIENT, DAY_MS};
use crate::access::Principal;
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::clock::to_datetime;
use crate::storage::entity::{patient, proxy_grant, user_account};
use crate::{Error, Portal, Result, crypto, new_id};
use domain::account::Email;
use domain::person::{format_long_date, parse_iso_date};
use domain::proxy::{GrantStatus, InvitationView, Relationship, Scope};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionTrait,
};

/// How long an invitation link works.
pub(super) const INVITE_DAYS: i64 = 7;
/// Wrong dates of birth before an invitation stops working.
const DOB_TRIES: u32 = 5;
/// Grants (open or pending) one patient can have at a time.
const MAX_GRANTS: usize = 20;

pub(super) fn token_hash(token: &str) -> String {
    crypto::sha256_hex(&["proxy-invite", token])
}

/// The instant `months` calendar months after `now` (the day clamped to the month's end).
fn months_later(now: i64, months: u32) -> i64 {
    let t = to_datetime(now);
    let total = t.month() as i32 - 1 + months as i32;
    let year = t.year() + total.div_euclid(12);
    let month =
        time::Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(time::Month::January);
    let mut day = t.day();
    let date = loop {
        if let Ok(d) = time::Date::from_calendar_date(year, month, day) {
            break d;
        }
        day -= 1;
    };
    let dt = t.replace_date(date);
    (dt.unix_timestamp_nanos() / 1_000_000) as i64
}

impl Portal {
    /// The patient invites a caregiver by email with the scopes and expiry they chose. Needs
    /// the password confirmed in the last minutes (SECURITY 17). The link carries a random
    /// token, stored hashed, that works once for 7 days.
    pub async fn invite_caregiver(
        &self,
        p: &Principal,
        email: &Email,
        relationship: Relationship,
        scopes: &[Scope],
        months: u32,
        meta: &RequestMeta,
    ) -> Result<()> {
        let own = self.own_record(p, meta).await?;
        let me = self.recently_authenticated(p).await?;
        if me.email_key == email.key() {
            return Err(Error::Invalid(
                "That is your own address: invite the person who will help you.".into(),
            ));
        }
        let open = proxy_grant::Entity::find()
            .filter(proxy_grant::Column::PatientId.eq(own.patient_id()))
            .filter(super::open_grant())
            .all(&self.db)
            .await?;
        if open.len() >= MAX_GRANTS {
            return Err(Error::Invalid(format!(
                "You can have at most {MAX_GRANTS} people with access. Revoke one first."
            )));
        }
        let now = self.now();
        let token = crypto::random_token(32);
        let id = new_id();
        let txn = self.db.begin().await?;
        proxy_grant::ActiveModel {
            id: Set(id.clone()),
            patient_id: Set(own.patient_id().to_owned()),
            caregiver_user_id: Set(None),
            invited_email: Set(email.as_str().to_owned()),
            relationship: Set(relationship.as_str().to_owned()),
            scopes: Set(Scope::join(scopes)),
            kind: Set(BY_PATIENT.to_owned()),
            status: Set(GrantStatus::Invited.as_str().to_owned()),
            created_by: Set(me.id.clone()),
            created_at: Set(now),
            expires_at: Set(months_later(now, months)),
            accepted_at: Set(None),
            ended_at: Set(None),
            end_reason: Set(None),
            reminded_at: Set(None),
            identity_note: Set(None),
            invite_token_hash: Set(Some(token_hash(&token))),
            invite_expires_at: Set(Some(now + INVITE_DAYS * DAY_MS)),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            now,
            meta,
            own.entry("proxy.invite", "proxy")
                .object(id.clone())
                .detail(format!(
                    "{} ({}): {}",
                    email.as_str(),
                    relationship.label(),
                    Scope::join(scopes)
                )),
        )
        .await?;
        txn.commit().await?;
        self.send_invitation(email, &me.given_name, &token).await;
        Ok(())
    }

    async fn send_invitation(&self, to: &Email, from_name: &str, token: &str) {
        let url = format!(
            "{}/proxy/accept#{token}",
            self.settings.public_url.trim_end_matches('/')
        );
        let body = format!(
            "Hello,\n\n{from_name} invited you to help with their health record in {portal}.\n\n\
             Open this link to accept (it works once, for {INVITE_DAYS} days):\n{url}\n\n\
             You will sign in, or create your own account, and confirm {from_name}'s date of \
             birth. If you were not expecting this, ignore this email.\n\n\
             We never ask for your password by email.\n\n— {portal}\n",
            portal = self.settings.portal_name
        );
        if let Err(e) = self
            .mailer
            .send(
                to.as_str(),
                &format!("{}: an invitation to help", self.settings.portal_name),
                &body,
            )
            .await
        {
            tracing::warn!(error = %e, "a proxy invitation could not be sent");
        }
    }

    async fn live_invitation(&self, token: &str) -> Result<proxy_grant::Model> {
        if token.is_empty() || token.len() > 100 {
            return Err(Error::NotFound);
        }
        proxy_grant::Entity::find()
            .filter(proxy_grant::Column::InviteTokenHash.eq(token_hash(token)))
            .filter(proxy_grant::Column::Status.eq(GrantStatus::Invited.as_str()))
            .filter(proxy_grant::Column::InviteExpiresAt.gt(self.now()))
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)
    }

    /// What an invitation offers, for the acceptance page (the link's token is the key).
    pub async fn invitation(&self, token: &str) -> Result<InvitationView> {
        let g = self.live_invitation(token).await?;
        let p = patient::Entity::find_by_id(g.patient_id.clone())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(InvitationView {
            patient_first_name: p.given_name,
            scopes: Scope::split(&g.scopes),
            expires: format_long_date(to_datetime(g.expires_at).date()),
        })
    }

    /// The signed-in person accepts an invitation by confirming the patient's date of
    /// birth. Five wrong dates and the invitation stops working.
    pub async fn accept_invitation(
        &self,
        p: &Principal,
        token: &str,
        date_of_birth: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let Some(user_id) = p.user_id().filter(|_| p.is_person()) else {
            return Err(if p.is_anonymous() {
                Error::Unauthenticated
            } else {
                Error::Forbidden
            });
        };
        let g = self.live_invitation(token).await?;
        if p.patient_id().as_deref() == Some(g.patient_id.as_str()) {
            return Err(Error::Invalid(
                "This invitation is to your own record: it is for the person you invited.".into(),
            ));
        }
        self.check_birth_date(&g, date_of_birth, meta).await?;
        self.bind_grant(&g, user_id, meta).await
    }

    /// Compares the typed date of birth with the patient's; a wrong one counts a try.
    async fn check_birth_date(
        &self,
        g: &proxy_grant::Model,
        typed: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        use crate::auth::throttle;
        let bucket = format!("proxy-dob:{}", g.id);
        let now = self.now();
        throttle::check_window(&self.db, &bucket, now, INVITE_DAYS * DAY_MS, DOB_TRIES).await?;
        let p = patient::Entity::find_by_id(g.patient_id.clone())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        if parse_iso_date(typed.trim()).is_some() && typed.trim() == p.birth_date {
            return Ok(());
        }
        let n = throttle::record_failure(&self.db, &bucket, now, None).await?;
        self.record_audit(
            now,
            meta,
            Entry::new("proxy.accept", Outcome::Failed)
                .patient(g.patient_id.clone())
                .object(g.id.clone())
                .detail("date of birth did not match"),
        )
        .await?;
        if n >= DOB_TRIES {
            proxy_grant::Entity::update_many()
                .col_expr(
                    proxy_grant::Column::InviteTokenHash,
                    Expr::value(Option::<String>::None),
                )
                .filter(proxy_grant::Column::Id.eq(g.id.clone()))
                .exec(&self.db)
                .await?;
            return Err(Error::Invalid(
                "That date of birth does not match, and this invitation no longer works. Ask for a new one.".into(),
            ));
        }
        Err(Error::Invalid(
            "That date of birth does not match the patient's. Check it and try again.".into(),
        ))
    }

    /// Makes the grant active for `user_id` and spends the invitation, once.
    pub(crate) async fn bind_grant(
        &self,
        g: &proxy_grant::Model,
        user_id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let txn = self.db.begin().await?;
        bind_grant_in(&txn, self.now(), g, user_id, meta).await?;
        txn.commit().await?;
        self.tell_accepted(g, user_id).await;
        Ok(())
    }

    /// Tells the patient who accepted their invitation (after the grant is bound).
    async fn tell_accepted(&self, g: &proxy_grant::Model, user_id: &str) {
        let who = user_account::Entity::find_by_id(user_id.to_owned())
            .one(&self.db)
            .await
            .ok()
            .flatten()
            .map(|u| format!("{} {}", u.given_name, u.family_name))
            .unwrap_or_else(|| "The person you invited".into());
        self.tell_patient(
            &g.patient_id,
            "someone accepted your invitation",
            &format!(
                "{who} accepted your invitation and can now see the parts of your record you \
                 chose. You can change or revoke this at any time on the Proxy access page."
            ),
        )
        .await;
    }

    /// The person turns the invitation down; the link stops working.
    pub async fn decline_invitation(&self, token: &str, meta: &RequestMeta) -> Result<()> {
        let g = self.live_invitation(token).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        proxy_grant::Entity::update_many()
            .col_expr(
                proxy_grant::Column::Status,
                Expr::value(GrantStatus::Declined.as_str()),
            )
            .col_expr(proxy_grant::Column::EndedAt, Expr::value(now))
            .col_expr(
                proxy_grant::Column::InviteTokenHash,
                Expr::value(Option::<String>::None),
            )
            .filter(proxy_grant::Column::Id.eq(g.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("proxy.decline", Outcome::Ok)
                .patient(g.patient_id.clone())
                .object(g.id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Someone without an account accepts by creating a caregiver account: their own name,
    /// username and password, the invited address (confirmed: the link reached it), and
    /// the patient's date of birth. They then sign in like anyone else, second step
    /// included.
    #[allow(clippy::too_many_arguments)]
    pub async fn join_as_caregiver(
        &self,
        token: &str,
        given: &str,
        family: &str,
        username: &str,
        password: &str,
        confirm: &str,
        date_of_birth: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        use domain::account::Username;
        use domain::person::NamePart;
        let g = self.live_invitation(token).await?;
        let given = NamePart::parse(given, "first name")?;
        let family = NamePart::parse(family, "last name")?;
        let username = Username::parse(username)?;
        let email = Email::parse(&g.invited_email)?;
        if password != confirm {
            return Err(Error::Invalid("The two passwords are not the same.".into()));
        }
        let pw = self.passwords.check_new(
            password,
            &[
                given.as_str(),
                family.as_str(),
                username.as_str(),
                email.as_str(),
            ],
        )?;
        self.check_birth_date(&g, date_of_birth, meta).await?;
        let taken = user_account::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(user_account::Column::Username.eq(username.as_str()))
                    .add(user_account::Column::EmailKey.eq(email.key())),
            )
            .one(&self.db)
            .await?;
        if let Some(u) = taken {
            return Err(Error::Invalid(if u.email_key == email.key() {
                "An account already uses this email address: sign in with it, then open the invitation link again.".into()
            } else {
                "That username is taken. Choose another.".into()
            }));
        }
        let account = crate::staff::NewAccount {
            username: &username,
            email: &email,
            given: given.as_str(),
            family: family.as_str(),
            role: domain::session::Role::Caregiver,
            patient_id: None,
            clinic_id: None,
            password_hash: self.passwords.hash(&pw).await?,
            email_verified: true,
        };
        // The account and the accepted grant are written together: an invitation revoked
        // while the password was being hashed leaves no account behind.
        let now = self.now();
        let txn = self.db.begin().await?;
        let user_id =
            crate::staff::insert_account(&txn, now, meta, account, "caregiver invitation").await?;
        bind_grant_in(&txn, now, &g, &user_id, meta).await?;
        txn.commit().await?;
        self.tell_accepted(&g, &user_id).await;
        Ok(())
    }
}

/// The grant becomes `user_id`'s and the invitation is spent, inside the caller's transaction;
/// `NotFound` when someone else spent or revoked it first.
async fn bind_grant_in(
    txn: &DatabaseTransaction,
    now: i64,
    g: &proxy_grant::Model,
    user_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    let changed = proxy_grant::Entity::update_many()
        .col_expr(proxy_grant::Column::CaregiverUserId, Expr::value(user_id))
        .col_expr(
            proxy_grant::Column::Status,
            Expr::value(GrantStatus::Active.as_str()),
        )
        .col_expr(proxy_grant::Column::AcceptedAt, Expr::value(now))
        .col_expr(
            proxy_grant::Column::InviteTokenHash,
            Expr::value(Option::<String>::None),
        )
        .filter(proxy_grant::Column::Id.eq(g.id.clone()))
        .filter(proxy_grant::Column::Status.eq(GrantStatus::Invited.as_str()))
        .exec(txn)
        .await?
        .rows_affected;
    if changed != 1 {
        return Err(Error::NotFound);
    }
    let mut e = Entry::new("proxy.accept", Outcome::Ok)
        .actor(user_id.to_owned())
        .patient(g.patient_id.clone())
        .category("proxy")
        .object(g.id.clone());
    e.on_behalf_of = Some(g.patient_id.clone());
    audit::record(txn, now, meta, e).await
}
