//! Signing in with a username or email and a password, and signing out.

use super::factors::{self, Needed};
use super::password::Verified;
use super::{session, throttle};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::storage::entity::{auth_ticket, user_account, user_session};
use crate::{Error, Portal, Principal, Result};
use domain::account::{LoginId, Password};
use domain::security::{FactorChoice, Method};
use domain::session::{Me, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

pub struct SignedIn {
    pub token: String,
    pub user_id: String,
}

/// What stops a correct password from opening a session.
#[derive(Debug)]
pub enum Blocked {
    /// The email address was never confirmed; a new code has been sent.
    EmailUnconfirmed { signup_token: String },
    /// The password was right; a second factor must follow. The ticket (a cookie) carries
    /// the sign-in to that step.
    SecondFactor {
        ticket: String,
        choice: domain::security::FactorChoice,
    },
    /// The password was right, but a second factor is required and none is set up yet
    /// (staff always, patients under a clinic policy): set one up to finish signing in.
    MustEnrol { ticket: String },
}

pub async fn find_by_login(
    portal: &Portal,
    login: &LoginId,
) -> Result<Option<user_account::Model>> {
    let col = if login.is_email() {
        user_account::Column::EmailKey
    } else {
        user_account::Column::Username
    };
    Ok(user_account::Entity::find()
        .filter(col.eq(login.as_str()))
        .one(&portal.db)
        .await?)
}

impl Portal {
    /// Checks a password sign-in. Real and unknown accounts take the same path and time and
    /// get the same answer; failures count against the name typed and the caller's address.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<std::result::Result<SignedIn, Blocked>> {
        let login = LoginId::parse(login)?;
        let password = Password::for_sign_in(password)?;
        let s = &self.settings;
        let now = self.now();
        let ip_bucket = meta.ip.as_deref().map(throttle::ip_bucket);
        if let Some(b) = &ip_bucket {
            throttle::check_window(
                &self.db,
                b,
                now,
                s.ip_window.as_millis() as i64,
                s.ip_failure_limit,
            )
            .await?;
        }
        let bucket = throttle::login_bucket(login.as_str());
        // The attempt is counted before the password is checked: parallel guesses cannot
        // outrun the escalating wait or the lock.
        let attempt = match throttle::reserve_attempt(&self.db, s, &bucket, now).await {
            Ok(n) => n,
            Err(e @ (Error::Locked | Error::Throttled { .. })) => {
                let user = find_by_login(self, &login).await?;
                let mut entry = Entry::new("signin.refused", Outcome::Denied).detail(
                    if matches!(e, Error::Locked) {
                        "locked"
                    } else {
                        "too many attempts"
                    },
                );
                entry = match &user {
                    Some(u) => entry.by_account(u),
                    None => entry.label("unknown account"),
                };
                self.record_audit(now, meta, entry).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };

        let user = find_by_login(self, &login).await?;
        let verified = match self
            .passwords
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                throttle::release(&self.db, &bucket, attempt).await?;
                return Err(e);
            }
        };

        if verified == Verified::No {
            let txn = self.db.begin().await?;
            let locked =
                throttle::settle_failure(&txn, &bucket, now, attempt, s.lockout_threshold).await?;
            if let Some(b) = &ip_bucket {
                throttle::record_failure(&txn, b, now, None).await?;
            }
            if let Some(u) = &user {
                // The account counts failures whichever of its names was typed, so switching
                // between username and email buys no extra tries; the answer, though, follows
                // only the name typed, so it tells nothing about which names belong together.
                let failures = Ord::max(attempt, u.failed_logins.max(0) as u32 + 1);
                let mut upd = user_account::Entity::update_many().col_expr(
                    user_account::Column::FailedLogins,
                    Expr::value(failures as i32),
                );
                if failures >= s.lockout_threshold && u.locked_at.is_none() {
                    upd = upd.col_expr(user_account::Column::LockedAt, Expr::value(now));
                    // A lock voids every reset link sent before it (SECURITY 5), and any
                    // sign-in waiting for its second step.
                    factors::cancel_pending(&txn, &u.id, now).await?;
                }
                upd.filter(user_account::Column::Id.eq(u.id.clone()))
                    .exec(&txn)
                    .await?;
            }
            let mut e = Entry::new("signin.failed", Outcome::Failed).detail(if locked {
                "wrong password; locked"
            } else {
                "wrong password"
            });
            e = match &user {
                Some(u) => e.actor(u.id.clone()).maybe_patient(u.patient_id.clone()),
                None => e.label("unknown account"),
            };
            audit::record(&txn, now, meta, e).await?;
            txn.commit().await?;
            return Err(if locked {
                Error::Locked
            } else {
                Error::InvalidCredentials
            });
        }
        let user = user.ok_or_else(|| Error::Unexpected("verified without an account".into()))?;
        let deny = |detail: &'static str| {
            Entry::new("signin.failed", Outcome::Denied)
                .by_account(&user)
                .detail(detail)
        };
        if user.locked_at.is_some() {
            self.record_audit(now, meta, deny("account locked")).await?;
            return Err(Error::Locked);
        }
        // A correct password: this attempt is not a failure, whatever happens next.
        throttle::release(&self.db, &bucket, attempt).await?;
        if user.suspended_at.is_some() {
            self.record_audit(now, meta, deny("account suspended"))
                .await?;
            return Err(Error::Invalid(
                "This account is suspended. Contact your clinic to restore access.".into(),
            ));
        }
        if user.email_verified_at.is_none() {
            let token = self.restart_email_confirmation(&user, meta).await?;
            return Ok(Err(Blocked::EmailUnconfirmed {
                signup_token: token,
            }));
        }

        // Hashing must not hold the database's write lock, so it happens first.
        // The rehash is best effort: when the hashing pool is full, the verified sign-in goes
        // on and the next one rehashes.
        if verified == Verified::YesRehash
            && let Ok(h) = self.passwords.hash(&password).await
        {
            user_account::Entity::update_many()
                .col_expr(user_account::Column::PasswordHash, Expr::value(h))
                .filter(user_account::Column::Id.eq(user.id.clone()))
                .exec(&self.db)
                .await?;
        }
        let ttl = self.settings.second_factor_ttl.as_millis() as i64;
        let (purpose, choice) = match self.second_factor_needed(&user).await? {
            Needed::Nothing => return self.finish_sign_in(&user, meta, "password").await.map(Ok),
            Needed::SecondFactor(choice) => (factors::T_SIGNIN, Some(choice)),
            Needed::Enrolment => (factors::T_ENROL, None),
        };
        let t = factors::issue_ticket(&self.db, Some(&user.id), purpose, now, ttl, None).await?;
        self.record_audit(
            now,
            meta,
            Entry::new("signin.password_ok", Outcome::Ok)
                .by_account(&user)
                .detail(if choice.is_some() {
                    "second step next"
                } else {
                    "second step set-up next"
                }),
        )
        .await?;
        Ok(Err(match choice {
            Some(choice) => Blocked::SecondFactor {
                ticket: t.token,
                choice,
            },
            None => Blocked::MustEnrol { ticket: t.token },
        }))
    }

    /// Opens a session once every step is done: clears the failure counters (unless a
    /// parallel failure locked the account meanwhile) and records the sign-in.
    pub(crate) async fn finish_sign_in(
        &self,
        user: &user_account::Model,
        meta: &RequestMeta,
        how: &str,
    ) -> Result<SignedIn> {
        let now = self.now();
        // The devices of the last 50 sessions: enough to know a device, without reading
        // the whole history at every sign-in.
        let seen_before = user_session::Entity::find()
            .filter(user_session::Column::UserId.eq(user.id.clone()))
            .order_by_desc(user_session::Column::CreatedAt)
            .limit(50)
            .all(&self.db)
            .await?;
        let device = session::describe_device(meta.user_agent.as_deref());
        let known_device = seen_before.is_empty()
            || seen_before
                .iter()
                .any(|s| session::describe_device(s.user_agent.as_deref()) == device);
        let txn = self.db.begin().await?;
        throttle::clear(&txn, &throttle::login_bucket(&user.username)).await?;
        throttle::clear(&txn, &throttle::login_bucket(&user.email_key)).await?;
        let updated = user_account::Entity::update_many()
            .col_expr(user_account::Column::FailedLogins, Expr::value(0))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .filter(user_account::Column::LockedAt.is_null())
            .filter(user_account::Column::SuspendedAt.is_null())
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::Locked);
        }
        let new = session::create(
            &txn,
            self,
            &user.id,
            meta.ip.as_deref(),
            meta.user_agent.as_deref(),
        )
        .await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("signin.ok", Outcome::Ok)
                .by_account(user)
                .object(new.id.clone())
                .detail(how.to_owned()),
        )
        .await?;
        txn.commit().await?;
        if !known_device {
            self.notify(
                user,
                "New sign-in",
                &format!(
                    "Your account was just signed in to from {device}{}.\n\nIf this was you, there is nothing to do. If not, change your password on the Account and security page and sign out everywhere, or call your clinic.",
                    meta.ip.as_deref().map(|ip| format!(" (address {ip})")).unwrap_or_default()
                ),
            )
            .await;
        }
        Ok(SignedIn {
            token: new.token,
            user_id: user.id.clone(),
        })
    }

    /// The live ticket of a sign-in between its steps, and its account.
    pub async fn pending_sign_in(
        &self,
        ticket: &str,
        purpose: &str,
    ) -> Result<(auth_ticket::Model, user_account::Model)> {
        let now = self.now();
        let t = factors::live_ticket(&self.db, ticket, purpose, now)
            .await?
            .ok_or_else(|| {
                Error::Invalid(
                    "This sign-in has expired. Start again from the sign-in page.".into(),
                )
            })?;
        let user = user_account::Entity::find_by_id(t.user_id.clone().unwrap_or_default())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        if user.locked_at.is_some() {
            return Err(Error::Locked);
        }
        if user.suspended_at.is_some() {
            return Err(Error::Invalid(
                "This account is suspended. Contact your clinic to restore access.".into(),
            ));
        }
        Ok((t, user))
    }

    /// The second step's choices, for the page that asks for it.
    pub async fn sign_in_choices(&self, ticket: &str) -> Result<FactorChoice> {
        let (_, user) = self.pending_sign_in(ticket, factors::T_SIGNIN).await?;
        factors::choice_for(&self.db, &user, self.settings.sms_enabled).await
    }

    /// Sends a sign-in code by email or text message.
    pub async fn send_sign_in_code(
        &self,
        ticket: &str,
        method: Method,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (t, user) = self.pending_sign_in(ticket, factors::T_SIGNIN).await?;
        let choice = factors::choice_for(&self.db, &user, self.settings.sms_enabled).await?;
        if !choice.methods.contains(&method) {
            return Err(Error::Invalid(
                "That method is not set up for this account.".into(),
            ));
        }
        self.send_ticket_code(&t, &user, method, meta).await
    }

    /// The second step: a code from the app, an emailed or texted code, or a backup code.
    pub async fn sign_in_second_factor(
        &self,
        ticket: &str,
        method: Method,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn> {
        let (t, user) = self.pending_sign_in(ticket, factors::T_SIGNIN).await?;
        let choice = factors::choice_for(&self.db, &user, self.settings.sms_enabled).await?;
        if !choice.methods.contains(&method) {
            return Err(Error::Invalid(
                "That method is not set up for this account.".into(),
            ));
        }
        self.check_second_factor(&t, &user, method, code, meta)
            .await?;
        if !factors::consume_ticket(&self.db, &t.id, self.now()).await? {
            return Err(Error::Invalid(
                "This sign-in has expired. Start again from the sign-in page.".into(),
            ));
        }
        self.finish_sign_in(&user, meta, method.as_str()).await
    }

    /// Forced set-up during sign-in: starts an authenticator app for the ticket's account.
    pub async fn enrol_totp_begin(&self, ticket: &str) -> Result<domain::security::TotpSetup> {
        let (_, user) = self.pending_sign_in(ticket, factors::T_ENROL).await?;
        self.totp_begin(&user).await
    }

    /// Forced set-up during sign-in: proves the app's first code, then opens the session.
    /// Returns the session and the first set of backup codes.
    pub async fn enrol_totp_finish(
        &self,
        ticket: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<(SignedIn, Vec<String>)> {
        let (t, user) = self.pending_sign_in(ticket, factors::T_ENROL).await?;
        let codes = self.totp_confirm(&user, code, meta).await?;
        if !factors::consume_ticket(&self.db, &t.id, self.now()).await? {
            return Err(Error::Invalid(
                "This sign-in has expired. Start again from the sign-in page.".into(),
            ));
        }
        let signed = self.finish_sign_in(&user, meta, "app (new)").await?;
        Ok((signed, codes))
    }

    /// Ends the caller's session.
    pub async fn sign_out(&self, p: &Principal, meta: &RequestMeta) -> Result<()> {
        let (Some(sid), Some(uid)) = (p.session_id(), p.user_id()) else {
            return Ok(());
        };
        let now = self.now();
        let txn = self.db.begin().await?;
        session::end(&txn, sid, "signed out", now).await?;
        let patient = p.patient_id();
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("signout", Outcome::Ok)
                .actor(uid)
                .maybe_patient(patient)
                .object(sid),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The signed-in person, for the header.
    pub async fn me(&self, p: &Principal) -> Result<Me> {
        let uid = p.user_id().ok_or(Error::Unauthenticated)?;
        let u = user_account::Entity::find_by_id(uid.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let acting = self.acting_banner(p).await?;
        let records = if p.is_person() {
            self.acting_choices(uid).await?
        } else {
            vec![]
        };
        Ok(Me {
            has_own_record: p.patient_id().is_some(),
            acting_grant: acting.as_ref().and(p.acting_grant().map(str::to_owned)),
            records,
            display_name: format!("{} {}", u.given_name, u.family_name),
            first_name: u.given_name,
            role: p.role().unwrap_or(Role::Patient),
            idle_timeout_secs: self.settings.idle_timeout.as_secs(),
            acting_scopes: acting.as_ref().map(|a| a.1.clone()).unwrap_or_default(),
            acting_for: acting.map(|a| a.0),
        })
    }
}
