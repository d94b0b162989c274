//! The Account and security page: re-authentication, password change, recovery email and
//! mobile number, second factors, and the security activity list.

use super::factors::{self, KIND_SMS};
use super::password::Verified;
use super::session;
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::storage::entity::{audit_event, auth_factor, auth_ticket, user_account, user_session};
use crate::{Error, Portal, Principal, Result, crypto};
use domain::account::{Email, Password};
use domain::security::{ActivityRow, FactorInfo, OneTimeCode, PhoneE164, SecurityOverview};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

/// The audit actions shown as security activity, with the words for them.
pub(crate) const SECURITY_ACTIONS: &[(&str, &str)] = &[
    ("signin.ok", "Signed in"),
    ("signin.failed", "Sign-in refused"),
    ("signin.refused", "Sign-in refused"),
    ("signin.password_ok", "Password accepted, second step asked"),
    ("second_factor.failed", "Wrong second-step code"),
    ("signout", "Signed out"),
    ("reauth.ok", "Password confirmed"),
    ("reauth.failed", "Password confirmation failed"),
    ("password.changed", "Password changed"),
    ("password.reset_requested", "Password reset requested"),
    ("password.reset", "Password reset"),
    ("factor.added", "Sign-in method added"),
    ("factor.removed", "Sign-in method removed"),
    ("factors.reset", "Sign-in methods reset by the clinic"),
    ("backup_codes.generated", "New backup codes made"),
    ("backup_code.used", "Backup code used"),
    ("email.changed", "Email address changed"),
    ("phone.verified", "Mobile number verified"),
    ("phone.removed", "Mobile number removed"),
    ("email.change_started", "Code sent to a new email address"),
    ("phone.change_started", "Code sent to a mobile number"),
    ("verification.failed", "Wrong confirmation code"),
    ("account.restored", "Account restored by the clinic"),
    ("session.ended", "A session was ended"),
    ("session.ended_others", "Signed out everywhere else"),
    ("account.locked", "Account locked"),
    ("account.unlocked", "Account unlocked by the clinic"),
    ("account.suspended", "Account suspended"),
];

impl Portal {
    /// The signed-in person's account row.
    pub async fn account_of(&self, p: &Principal) -> Result<user_account::Model> {
        let uid = p.user_id().ok_or(Error::Unauthenticated)?;
        user_account::Entity::find_by_id(uid.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Seconds left in which the caller's last password confirmation still covers changes.
    pub async fn reauth_secs_left(&self, p: &Principal) -> Result<u64> {
        let sid = p.session_id().ok_or(Error::Unauthenticated)?;
        let s = user_session::Entity::find_by_id(sid.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let window = self.settings.reauth_window.as_millis() as i64;
        let left = s.authenticated_at.map_or(0, |at| at + window - self.now());
        Ok((left.max(0) / 1000) as u64)
    }

    /// The account, if the caller proved their password within the re-authentication window
    /// (SECURITY 17); otherwise `ReauthRequired`.
    pub async fn recently_authenticated(&self, p: &Principal) -> Result<user_account::Model> {
        if self.reauth_secs_left(p).await? == 0 {
            return Err(Error::ReauthRequired);
        }
        self.account_of(p).await
    }

    /// Confirms the password again. The session gets a new token (the old one stops
    /// working), which the caller sets as the new cookie.
    pub async fn reauthenticate(
        &self,
        p: &Principal,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let user = self.account_of(p).await?;
        self.check_own_password(&user, password, meta).await?;
        self.rotate_session(p, meta, "reauth.ok").await
    }

    /// Checks the holder's own password. Failures count towards the account lock like a
    /// failed sign-in.
    async fn check_own_password(
        &self,
        user: &user_account::Model,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let pw = Password::for_sign_in(password)?;
        let now = self.now();
        if self
            .passwords
            .verify(&pw, Some(&user.password_hash))
            .await?
            != Verified::No
        {
            return Ok(());
        }
        let txn = self.db.begin().await?;
        let lock =
            factors::count_account_failure(&txn, &user.id, self.settings.lockout_threshold, now)
                .await?;
        if lock {
            session::end_all(&txn, &user.id, "locked", now).await?;
        }
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("reauth.failed", Outcome::Failed)
                .by_account(user)
                .detail(if lock {
                    "wrong password; locked"
                } else {
                    "wrong password"
                }),
        )
        .await?;
        txn.commit().await?;
        Err(if lock {
            Error::Locked
        } else {
            Error::Invalid("That password is not right. Try again.".into())
        })
    }

    /// A new token for the caller's session, and a fresh re-authentication time.
    async fn rotate_session(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        action: &'static str,
    ) -> Result<String> {
        let (Some(sid), Some(uid)) = (p.session_id(), p.user_id()) else {
            return Err(Error::Unauthenticated);
        };
        let now = self.now();
        let token = crypto::random_token(32);
        let txn = self.db.begin().await?;
        let r = user_session::Entity::update_many()
            .col_expr(
                user_session::Column::TokenHash,
                Expr::value(crypto::sha256_hex(&[&token])),
            )
            .col_expr(user_session::Column::AuthenticatedAt, Expr::value(now))
            .filter(user_session::Column::Id.eq(sid))
            .filter(user_session::Column::EndedAt.is_null())
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::Unauthenticated);
        }
        audit::record(
            &txn,
            now,
            meta,
            Entry::new(action, Outcome::Ok)
                .actor(uid)
                .maybe_patient(p.patient_id())
                .object(sid),
        )
        .await?;
        txn.commit().await?;
        Ok(token)
    }

    /// After a change to sign-in details: every other session ends and the person is told.
    pub async fn after_security_change(
        &self,
        p: &Principal,
        user: &user_account::Model,
        subject: &str,
        body: &str,
    ) -> Result<()> {
        let now = self.now();
        if let Some(current) = p.session_id() {
            user_session::Entity::update_many()
                .col_expr(user_session::Column::EndedAt, Expr::value(now))
                .col_expr(
                    user_session::Column::EndReason,
                    Expr::value("sign-in details changed"),
                )
                .filter(user_session::Column::UserId.eq(user.id.clone()))
                .filter(user_session::Column::Id.ne(current))
                .filter(user_session::Column::EndedAt.is_null())
                .exec(&self.db)
                .await?;
        }
        self.notify(user, subject, body).await;
        Ok(())
    }

    /// Changes the password: the current one proves the person (it counts as
    /// re-authentication), the new one follows the same rules as at activation. Other
    /// sessions end; this one gets a new token, returned for the cookie.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let user = self.account_of(p).await?;
        let new_pw = self.passwords.check_new(
            new,
            &[
                user.given_name.as_str(),
                user.family_name.as_str(),
                user.username.as_str(),
                user.email.as_str(),
            ],
        )?;
        self.check_own_password(&user, current, meta).await?;
        if self
            .passwords
            .verify(&new_pw, Some(&user.password_hash))
            .await?
            != Verified::No
        {
            return Err(Error::Invalid(
                "The new password is the same as the current one. Choose a different one.".into(),
            ));
        }
        let hash = self.passwords.hash(&new_pw).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        user_account::Entity::update_many()
            .col_expr(user_account::Column::PasswordHash, Expr::value(hash))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .exec(&txn)
            .await?;
        factors::cancel_pending(&txn, &user.id, now).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("password.changed", Outcome::Ok).by_account(&user),
        )
        .await?;
        txn.commit().await?;
        let token = self.rotate_session(p, meta, "reauth.ok").await?;
        self.after_security_change(
            p,
            &user,
            "Your password was changed",
            "The password of your account was just changed, and every other device was signed out.\n\nIf you did not do this, call your clinic now.",
        )
        .await?;
        Ok(token)
    }

    /// Everything the Account and security page shows about signing in.
    pub async fn security_overview(&self, p: &Principal) -> Result<SecurityOverview> {
        let user = self.account_of(p).await?;
        let factors = factors::confirmed_factors(&self.db, &user.id).await?;
        Ok(SecurityOverview {
            factors: factors
                .into_iter()
                .map(|f| FactorInfo {
                    id: f.id,
                    kind: f.kind,
                    label: f.label,
                    added: session::format_instant(f.created_at),
                    last_used: f.last_used_at.map(session::format_instant),
                })
                .collect(),
            backup_codes_left: factors::unused_backup_codes(&self.db, &user.id).await? as u32,
            second_factor_required: self.second_factor_required_for(&user),
            sms_available: self.settings.sms_enabled,
            phone_verified: user.phone_verified_at.is_some(),
            phone: user.phone.clone(),
            email: user.email.clone(),
            reauth_secs_left: self.reauth_secs_left(p).await?,
        })
    }

    /// Starts a change of the recovery email: a code goes to the new address, which only
    /// replaces the old one once the code comes back.
    pub async fn start_email_change(
        &self,
        p: &Principal,
        new_email: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let user = self.recently_authenticated(p).await?;
        let email = Email::parse(new_email)?;
        if email.key() == user.email_key {
            return Err(Error::Invalid("That is already your email address.".into()));
        }
        let t = self
            .verification_ticket(&user, factors::T_VERIFY_EMAIL, email.as_str())
            .await?;
        let code = self.set_ticket_code(&t).await?;
        self.mailer
            .send(
                email.as_str(),
                &format!("Confirm your new email for {}", self.settings.portal_name),
                &format!(
                    "Hello {},\n\nEnter this code on the Account and security page to confirm this address: {code}\n\nIt works once, for {} minutes. If you did not ask for this, ignore this email.\n",
                    user.given_name,
                    self.settings.one_time_code_ttl.as_secs() / 60
                ),
            )
            .await?;
        self.record_audit(
            self.now(),
            meta,
            Entry::new("email.change_started", Outcome::Ok).by_account(&user),
        )
        .await
    }

    /// Finishes the email change with the code sent to the new address.
    pub async fn confirm_email_change(
        &self,
        p: &Principal,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let user = self.recently_authenticated(p).await?;
        let (t, new_email) = self
            .check_verification(&user, factors::T_VERIFY_EMAIL, code)
            .await?;
        let email = Email::parse(&new_email)?;
        let now = self.now();
        let txn = self.db.begin().await?;
        let taken = user_account::Entity::find()
            .filter(user_account::Column::EmailKey.eq(email.key()))
            .filter(user_account::Column::Id.ne(user.id.clone()))
            .one(&txn)
            .await?
            .is_some();
        if taken {
            return Err(Error::Invalid(
                "That email address belongs to another account. Use a different one.".into(),
            ));
        }
        if !factors::consume_ticket(&txn, &t.id, now).await? {
            return Err(Error::Invalid("That code was already used.".into()));
        }
        user_account::Entity::update_many()
            .col_expr(user_account::Column::Email, Expr::value(email.as_str()))
            .col_expr(user_account::Column::EmailKey, Expr::value(email.key()))
            .col_expr(user_account::Column::EmailVerifiedAt, Expr::value(now))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .exec(&txn)
            .await?;
        factors::cancel_tickets(&txn, &user.id, factors::T_RESET, now).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("email.changed", Outcome::Ok).by_account(&user),
        )
        .await?;
        txn.commit().await?;
        // The notice goes to the old address: that is the one an intruder does not control.
        self.after_security_change(
            p,
            &user,
            "Your email address was changed",
            &format!(
                "The email address of your account was changed to {}. Other devices were signed out.\n\nIf you did not do this, call your clinic now.",
                domain::security::mask_email(email.as_str())
            ),
        )
        .await
    }

    /// Starts adding (or changing) the mobile number: a code goes to it by text message.
    pub async fn start_phone_change(
        &self,
        p: &Principal,
        phone: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let user = self.recently_authenticated(p).await?;
        if !self.settings.sms_enabled {
            return Err(Error::Invalid(
                "Your clinic does not send text messages yet. Use the authenticator app, a passkey or email codes."
                    .into(),
            ));
        }
        let phone = PhoneE164::parse(phone)?;
        let t = self
            .verification_ticket(&user, factors::T_VERIFY_PHONE, phone.as_str())
            .await?;
        let code = self.set_ticket_code(&t).await?;
        self.sms
            .send_sms(
                phone.as_str(),
                &format!(
                    "{}: your code to confirm this number is {code}.",
                    self.settings.portal_name
                ),
            )
            .await?;
        self.record_audit(
            self.now(),
            meta,
            Entry::new("phone.change_started", Outcome::Ok).by_account(&user),
        )
        .await
    }

    pub async fn confirm_phone(&self, p: &Principal, code: &str, meta: &RequestMeta) -> Result<()> {
        let user = self.recently_authenticated(p).await?;
        let (t, phone) = self
            .check_verification(&user, factors::T_VERIFY_PHONE, code)
            .await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        if !factors::consume_ticket(&txn, &t.id, now).await? {
            return Err(Error::Invalid("That code was already used.".into()));
        }
        user_account::Entity::update_many()
            .col_expr(user_account::Column::Phone, Expr::value(phone))
            .col_expr(user_account::Column::PhoneVerifiedAt, Expr::value(now))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("phone.verified", Outcome::Ok).by_account(&user),
        )
        .await?;
        txn.commit().await?;
        self.after_security_change(
            p,
            &user,
            "Your mobile number was changed",
            "A mobile number was confirmed for your account. Other devices were signed out.\n\nIf you did not do this, call your clinic now.",
        )
        .await
    }

    /// Removes the mobile number, and text-message codes with it.
    pub async fn remove_phone(&self, p: &Principal, meta: &RequestMeta) -> Result<()> {
        let user = self.recently_authenticated(p).await?;
        if let Some(f) = factors::confirmed_factors(&self.db, &user.id)
            .await?
            .into_iter()
            .find(|f| f.kind == KIND_SMS)
        {
            self.remove_factor(&user, &f.id, meta).await?;
        }
        let now = self.now();
        user_account::Entity::update_many()
            .col_expr(
                user_account::Column::Phone,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                user_account::Column::PhoneVerifiedAt,
                Expr::value(Option::<i64>::None),
            )
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .exec(&self.db)
            .await?;
        self.record_audit(
            now,
            meta,
            Entry::new("phone.removed", Outcome::Ok).by_account(&user),
        )
        .await?;
        self.after_security_change(
            p,
            &user,
            "Your mobile number was removed",
            "The mobile number was removed from your account. Other devices were signed out.\n\nIf you did not do this, call your clinic now.",
        )
        .await
    }

    /// One live verification ticket per purpose: a new one replaces the old.
    async fn verification_ticket(
        &self,
        user: &user_account::Model,
        purpose: &str,
        value: &str,
    ) -> Result<auth_ticket::Model> {
        let now = self.now();
        factors::cancel_tickets(&self.db, &user.id, purpose, now).await?;
        let ttl = self.settings.one_time_code_ttl.as_millis() as i64;
        let t = factors::issue_ticket(
            &self.db,
            Some(&user.id),
            purpose,
            now,
            ttl,
            Some(value.into()),
        )
        .await?;
        auth_ticket::Entity::find_by_id(t.id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)
    }

    async fn set_ticket_code(&self, t: &auth_ticket::Model) -> Result<String> {
        let code = crypto::random_digits(6);
        auth_ticket::Entity::update_many()
            .col_expr(
                auth_ticket::Column::CodeHash,
                Expr::value(crypto::sha256_hex(&["verify", &t.id, &code])),
            )
            .col_expr(
                auth_ticket::Column::CodeExpiresAt,
                Expr::value(t.expires_at),
            )
            .filter(auth_ticket::Column::Id.eq(t.id.clone()))
            .exec(&self.db)
            .await?;
        Ok(code)
    }

    /// Checks a verification code; five wrong codes void it.
    async fn check_verification(
        &self,
        user: &user_account::Model,
        purpose: &str,
        code: &str,
    ) -> Result<(auth_ticket::Model, String)> {
        let code = OneTimeCode::parse(code)?;
        let now = self.now();
        let t = auth_ticket::Entity::find()
            .filter(auth_ticket::Column::UserId.eq(user.id.clone()))
            .filter(auth_ticket::Column::Purpose.eq(purpose))
            .filter(auth_ticket::Column::UsedAt.is_null())
            .filter(auth_ticket::Column::ExpiresAt.gt(now))
            .order_by_desc(auth_ticket::Column::CreatedAt)
            .one(&self.db)
            .await?
            .ok_or_else(|| Error::Invalid("The code has expired. Ask for a new one.".into()))?;
        let expected = crypto::sha256_hex(&["verify", &t.id, code.as_str()]);
        if t.code_hash
            .as_deref()
            .is_some_and(|h| crypto::constant_time_eq(h, &expected))
        {
            let value = t.payload.clone().unwrap_or_default();
            return Ok((t, value));
        }
        let tries = t.attempts + 1;
        let mut upd = auth_ticket::Entity::update_many()
            .col_expr(auth_ticket::Column::Attempts, Expr::value(tries));
        if tries >= self.settings.second_factor_tries as i32 {
            upd = upd.col_expr(auth_ticket::Column::UsedAt, Expr::value(now));
        }
        upd.filter(auth_ticket::Column::Id.eq(t.id.clone()))
            .exec(&self.db)
            .await?;
        Err(Error::Invalid(
            "That code is not right. Check it and try again.".into(),
        ))
    }

    /// The caller's own security activity, newest first.
    pub async fn security_activity(&self, p: &Principal) -> Result<Vec<ActivityRow>> {
        let uid = p.user_id().ok_or(Error::Unauthenticated)?;
        let actions: Vec<&str> = SECURITY_ACTIONS.iter().map(|(a, _)| *a).collect();
        let rows = audit_event::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(audit_event::Column::ActorUserId.eq(uid))
                    // What the clinic did to the account (unlock, suspend, reset) names it
                    // as the object.
                    .add(audit_event::Column::ObjectId.eq(uid)),
            )
            .filter(audit_event::Column::Action.is_in(actions))
            .order_by_desc(audit_event::Column::At)
            .order_by_desc(audit_event::Column::Id)
            .limit(200)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ActivityRow {
                at: session::format_instant(r.at),
                what: SECURITY_ACTIONS
                    .iter()
                    .find(|(a, _)| *a == r.action)
                    .map(|(_, w)| (*w).to_owned())
                    .unwrap_or(r.action),
                outcome: match r.outcome.as_str() {
                    "ok" => "Succeeded".into(),
                    "failed" => "Failed".into(),
                    _ => "Refused".into(),
                },
                device: session::describe_device(r.user_agent.as_deref()),
                ip: r.ip,
            })
            .collect())
    }

    /// "Report suspicious activity": the person suspends their own account; every session
    /// ends, and the clinic restores access after checking who they are.
    pub async fn report_suspicious(&self, p: &Principal, meta: &RequestMeta) -> Result<()> {
        let user = self.account_of(p).await?;
        self.suspend(&user, None, meta).await?;
        self.record_audit(
            self.now(),
            meta,
            Entry::new("account.reported", Outcome::Ok).by_account(&user),
        )
        .await?;
        self.notify(
            &user,
            "Your account is suspended",
            "You reported suspicious activity, so your account is suspended and every device was signed out. Call your clinic to restore access; they will check who you are.",
        )
        .await;
        self.tell_clinic_admins(&user).await?;
        Ok(())
    }

    /// Tells the clinic's admins that an account was reported and suspended. The message
    /// names the account by its opaque id only: no name, no health information.
    async fn tell_clinic_admins(&self, user: &user_account::Model) -> Result<()> {
        let mut admins = user_account::Entity::find()
            .filter(user_account::Column::Role.eq(domain::session::Role::Admin.as_str()))
            .filter(user_account::Column::SuspendedAt.is_null());
        if let Some(c) = &user.clinic_id {
            admins = admins.filter(user_account::Column::ClinicId.eq(c.clone()));
        }
        for admin in admins.all(&self.db).await? {
            let body = format!(
                "A patient reported activity on their account that was not theirs. The account is suspended and every session has ended.\n\nAccount reference: {}\n\nCheck the audit log for this account, confirm the person's identity, then restore access with `mhc account restore`.",
                user.id
            );
            if let Err(e) = self
                .mailer
                .send(
                    &admin.email,
                    "A patient account was reported and suspended",
                    &body,
                )
                .await
            {
                tracing::warn!(error = %e, "could not tell a clinic admin about a reported account");
            }
        }
        Ok(())
    }

    /// Suspends an account: sign-in is refused and every session and reset link ends.
    pub(crate) async fn suspend(
        &self,
        user: &user_account::Model,
        by_staff: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let txn = self.db.begin().await?;
        user_account::Entity::update_many()
            .col_expr(user_account::Column::SuspendedAt, Expr::value(now))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .exec(&txn)
            .await?;
        session::end_all(&txn, &user.id, "suspended", now).await?;
        factors::cancel_pending(&txn, &user.id, now).await?;
        audit::record(
            &txn,
            now,
            meta,
            match by_staff {
                Some(by) => Entry::new("account.suspended", Outcome::Ok)
                    .label(by.to_owned())
                    .object(user.id.clone())
                    .maybe_patient(user.patient_id.clone())
                    .detail("by the clinic"),
                None => Entry::new("account.suspended", Outcome::Ok)
                    .by_account(user)
                    .detail("reported by the account holder"),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Staff: removes every second factor and backup code of an account (after an identity
    /// check), so the person can set up new ones; their sessions end and they are told.
    pub(crate) async fn clear_second_factors(
        &self,
        user: &user_account::Model,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<u64> {
        let now = self.now();
        let txn = self.db.begin().await?;
        let n = auth_factor::Entity::delete_many()
            .filter(auth_factor::Column::UserId.eq(user.id.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
        crate::storage::entity::backup_code::Entity::delete_many()
            .filter(crate::storage::entity::backup_code::Column::UserId.eq(user.id.clone()))
            .exec(&txn)
            .await?;
        session::end_all(&txn, &user.id, "second factors reset", now).await?;
        factors::cancel_pending(&txn, &user.id, now).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("factors.reset", Outcome::Ok)
                .label(by.to_owned())
                .maybe_patient(user.patient_id.clone())
                .object(user.id.clone())
                .detail(format!("{n} removed")),
        )
        .await?;
        txn.commit().await?;
        self.notify(
            user,
            "Your second sign-in step was reset",
            "Your clinic removed the second sign-in step (authenticator app, codes and backup codes) from your account, at your request. Sign in and set up a new one on the Account and security page.\n\nIf you did not ask for this, call your clinic now.",
        )
        .await;
        Ok(n)
    }
}
