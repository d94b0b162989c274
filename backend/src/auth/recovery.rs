//! Forgotten password and forgotten username. Both answer the same whether or not the
//! account exists, and send their email in the background so the timing does not tell.

use super::factors::{self, T_RESET};
use super::signin::find_by_login;
use super::{session, throttle};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::storage::entity::{auth_ticket, user_account};
use crate::{Error, Portal, Result};
use domain::account::{Email, LoginId};
use domain::security::{FactorChoice, Method};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

/// Where a reset stands, for the page that carries it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetState {
    /// The second factors the person must prove one of before choosing a password.
    pub choice: FactorChoice,
    pub factor_done: bool,
}

impl Portal {
    fn send_later(&self, to: String, subject: String, body: String) {
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, &subject, &body).await {
                tracing::warn!(error = %e, "a recovery email could not be sent");
            }
        });
    }

    /// "Forgot password": emails a single-use link valid for an hour, if the name belongs
    /// to an active account. The answer is the same either way.
    pub async fn request_password_reset(&self, login: &str, meta: &RequestMeta) -> Result<()> {
        let login = LoginId::parse(login)?;
        let now = self.now();
        if let Some(b) = meta.ip.as_deref().map(throttle::ip_bucket) {
            throttle::check_window(
                &self.db,
                &format!("reset:{b}"),
                now,
                self.settings.ip_window.as_millis() as i64,
                self.settings.ip_failure_limit,
            )
            .await?;
            throttle::record_failure(&self.db, &format!("reset:{b}"), now, None).await?;
        }
        let Some(user) = find_by_login(self, &login).await? else {
            self.record_audit(
                now,
                meta,
                Entry::new("password.reset_requested", Outcome::Failed).label("unknown account"),
            )
            .await?;
            return Ok(());
        };
        let active = user.suspended_at.is_none() && user.email_verified_at.is_some();
        let mut entry = Entry::new("password.reset_requested", Outcome::Ok).by_account(&user);
        if !active {
            entry = entry.detail("not sent: account not active");
        }
        // Real and unknown accounts do the same work before answering (one audit row); the
        // link is made and sent in the background, so the timing does not tell them apart.
        self.record_audit(now, meta, entry).await?;
        if active {
            let portal = self.clone();
            tokio::spawn(async move {
                if let Err(e) = portal.send_reset_link(&user, now).await {
                    tracing::warn!(error = %e, "a reset link could not be made or sent");
                }
            });
        }
        Ok(())
    }

    async fn send_reset_link(&self, user: &user_account::Model, now: i64) -> Result<()> {
        let ttl = self.settings.reset_token_ttl.as_millis() as i64;
        let txn = self.db.begin().await?;
        // One live link at a time: a new request voids the earlier ones.
        factors::cancel_tickets(&txn, &user.id, T_RESET, now).await?;
        let t = factors::issue_ticket(&txn, Some(&user.id), T_RESET, now, ttl, None).await?;
        txn.commit().await?;
        // The token travels in the fragment, which browsers never send to a server or log.
        let link = format!(
            "{}/reset-password#{}",
            self.settings.public_url.trim_end_matches('/'),
            t.token
        );
        let locked = if user.locked_at.is_some() {
            "\nYour account is locked after too many failed sign-ins. Resetting the password unlocks it only if you also prove your second sign-in step (authenticator app or backup code); otherwise call your clinic.\n"
        } else {
            ""
        };
        self.mailer
            .send(
                &user.email,
                &format!("Reset your {} password", self.settings.portal_name),
                &format!(
                    "Hello {},\n\nTo choose a new password, open this link within {} minutes:\n\n{link}\n\nThe link works once.{locked}\nIf you did not ask for this, ignore this email: your password stays as it is.\n",
                    user.given_name,
                    ttl / 60_000
                ),
            )
            .await
    }

    /// "Forgot username": emails the username to the account's address. Same answer
    /// whether or not the address is known.
    pub async fn request_username_reminder(&self, email: &str, meta: &RequestMeta) -> Result<()> {
        let email = Email::parse(email)?;
        let now = self.now();
        if let Some(b) = meta.ip.as_deref().map(throttle::ip_bucket) {
            let bucket = format!("remind:{b}");
            throttle::check_window(
                &self.db,
                &bucket,
                now,
                self.settings.ip_window.as_millis() as i64,
                self.settings.ip_failure_limit,
            )
            .await?;
            throttle::record_failure(&self.db, &bucket, now, None).await?;
        }
        let user = user_account::Entity::find()
            .filter(user_account::Column::EmailKey.eq(email.key()))
            .filter(user_account::Column::EmailVerifiedAt.is_not_null())
            .one(&self.db)
            .await?;
        let Some(user) = user else {
            self.record_audit(
                now,
                meta,
                Entry::new("username.reminder", Outcome::Failed).label("unknown address"),
            )
            .await?;
            return Ok(());
        };
        self.record_audit(
            now,
            meta,
            Entry::new("username.reminder", Outcome::Ok).by_account(&user),
        )
        .await?;
        self.send_later(
            user.email.clone(),
            format!("Your {} username", self.settings.portal_name),
            format!(
                "Hello {},\n\nYour username is: {}\n\nYou can also sign in with this email address. If you did not ask for this, ignore this email.\n",
                user.given_name, user.username
            ),
        );
        Ok(())
    }

    async fn reset_ticket(&self, token: &str) -> Result<(auth_ticket::Model, user_account::Model)> {
        let bad = || {
            Error::Invalid(
                "This reset link has expired or was already used. Ask for a new one.".into(),
            )
        };
        let t = factors::live_ticket(&self.db, token, T_RESET, self.now())
            .await?
            .ok_or_else(bad)?;
        let user = user_account::Entity::find_by_id(t.user_id.clone().unwrap_or_default())
            .one(&self.db)
            .await?
            .ok_or_else(bad)?;
        if user.suspended_at.is_some() {
            return Err(Error::Invalid(
                "This account is suspended. Contact your clinic to restore access.".into(),
            ));
        }
        Ok((t, user))
    }

    /// The second factors a reset can prove: not email codes, since the link itself came by
    /// email.
    async fn reset_choice(&self, user: &user_account::Model) -> Result<FactorChoice> {
        let mut c = factors::choice_for(&self.db, user, self.settings.sms_enabled).await?;
        // The reset page takes codes; a passkey account resets with a backup code.
        c.methods.retain(|m| *m != Method::Passkey);
        // Email codes prove nothing the link did not, unless they are all the person has.
        if c.methods.iter().any(|m| *m != Method::Email) {
            c.methods.retain(|m| *m != Method::Email);
            c.email_hint = None;
        }
        if c.methods.is_empty()
            && !factors::confirmed_factors(&self.db, &user.id)
                .await?
                .is_empty()
        {
            return Err(Error::Invalid(
                "Your second sign-in step cannot be used here. Call your clinic to reset your password.".into(),
            ));
        }
        Ok(c)
    }

    pub async fn reset_state(&self, token: &str) -> Result<ResetState> {
        let (t, user) = self.reset_ticket(token).await?;
        Ok(ResetState {
            choice: self.reset_choice(&user).await?,
            factor_done: t.factor_done_at.is_some(),
        })
    }

    pub async fn reset_send_code(
        &self,
        token: &str,
        method: Method,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (t, user) = self.reset_ticket(token).await?;
        if !matches!(method, Method::Email | Method::Sms)
            || !self.reset_choice(&user).await?.methods.contains(&method)
        {
            return Err(Error::Invalid(
                "That method is not set up for this account.".into(),
            ));
        }
        self.send_ticket_code(&t, &user, method, meta).await
    }

    /// Proves a second factor for a reset (SECURITY 5: a reset that unlocks needs one).
    pub async fn reset_verify_factor(
        &self,
        token: &str,
        method: Method,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (t, user) = self.reset_ticket(token).await?;
        if !self.reset_choice(&user).await?.methods.contains(&method) {
            return Err(Error::Invalid(
                "That method is not set up for this account.".into(),
            ));
        }
        self.check_second_factor(&t, &user, method, code, meta)
            .await?;
        auth_ticket::Entity::update_many()
            .col_expr(auth_ticket::Column::FactorDoneAt, Expr::value(self.now()))
            .filter(auth_ticket::Column::Id.eq(t.id.clone()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Sets the new password. Needs the second factor first when one is enrolled; lifts a
    /// lock only then. Ends every session, voids the link and tells the person.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (t, user) = self.reset_ticket(token).await?;
        let choice = self.reset_choice(&user).await?;
        let factor_done = t.factor_done_at.is_some();
        if !choice.methods.is_empty() && !factor_done {
            return Err(Error::Invalid(
                "First confirm your second sign-in step (authenticator app, text message or backup code)."
                    .into(),
            ));
        }
        if user.locked_at.is_some() && !factor_done {
            return Err(Error::Invalid(
                "This account is locked after too many failed sign-ins, and it has no second sign-in step to prove it is you. Call your clinic to unlock it."
                    .into(),
            ));
        }
        let pw = self.passwords.check_new(
            new_password,
            &[
                user.given_name.as_str(),
                user.family_name.as_str(),
                user.username.as_str(),
                user.email.as_str(),
            ],
        )?;
        let hash = self.passwords.hash(&pw).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        if !factors::consume_ticket(&txn, &t.id, now).await? {
            return Err(Error::Invalid(
                "This reset link has expired or was already used. Ask for a new one.".into(),
            ));
        }
        let mut upd = user_account::Entity::update_many()
            .col_expr(user_account::Column::PasswordHash, Expr::value(hash))
            .col_expr(user_account::Column::FailedLogins, Expr::value(0))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now));
        if factor_done {
            upd = upd.col_expr(
                user_account::Column::LockedAt,
                Expr::value(Option::<i64>::None),
            );
        }
        let r = upd
            .filter(user_account::Column::Id.eq(user.id.clone()))
            .filter(user_account::Column::SuspendedAt.is_null())
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::Invalid(
                "This account is suspended. Contact your clinic to restore access.".into(),
            ));
        }
        if factor_done {
            for key in [user.username.as_str(), user.email_key.as_str()] {
                throttle::clear(&txn, &throttle::login_bucket(key)).await?;
            }
        }
        factors::cancel_pending(&txn, &user.id, now).await?;
        let ended = session::end_all(&txn, &user.id, "password reset", now).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("password.reset", Outcome::Ok)
                .by_account(&user)
                .detail(format!(
                    "{ended} sessions ended{}",
                    if factor_done && user.locked_at.is_some() {
                        "; unlocked"
                    } else {
                        ""
                    }
                )),
        )
        .await?;
        if factor_done && user.locked_at.is_some() {
            audit::record(
                &txn,
                now,
                meta,
                Entry::new("account.unlocked", Outcome::Ok)
                    .by_account(&user)
                    .object(user.id.clone())
                    .detail("by a password reset with a second factor"),
            )
            .await?;
        }
        txn.commit().await?;
        self.notify(
            &user,
            "Your password was reset",
            "The password of your account was just reset, and every device was signed out.\n\nIf you did not do this, call your clinic now.",
        )
        .await;
        Ok(())
    }
}
