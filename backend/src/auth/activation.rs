//! Activation: a patient proves who they are with the clinic's code, chooses a username,
//! email and password, and confirms the email with a 6-digit code.

use super::{session, throttle};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::storage::entity::{activation_code, patient, signup, user_account};
use crate::{Error, Portal, Result, crypto, new_id};
use domain::account::{ActivationCode, Email, EmailCode, Username};
use domain::person::{DateOfBirth, NamePart};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
};

/// Cookie that carries the sign-up ticket between the steps (never in a URL).
pub const SIGNUP_COOKIE: &str = "__Host-mhc_signup";

/// The one answer to every mismatch, so nobody learns which detail was wrong or whether
/// the person exists.
/// Wrong confirmation codes allowed per sign-up, across resends.
pub const MAX_EMAIL_CODE_ATTEMPTS: i32 = 5;
const MAX_RESENDS_PER_HOUR: u32 = 3;
/// "Username/email taken" answers per sign-up.
const MAX_TAKEN_ANSWERS: u32 = 5;
/// New confirmations started by signing in to an unconfirmed account, per hour.
const MAX_RESTARTS_PER_HOUR: u32 = 3;
const TOO_MANY_CODES: &str =
    "Too many wrong codes. Sign in with your username and password to get a new code.";

/// Why a child under 12 gets no activation code: the parent's guardian access covers them.
pub const CHILD_HAS_NO_ACCOUNT: &str = "Children under 12 do not have a portal account of their own: a parent or guardian sees their record through guardian access, given at the front desk after an identity check. From the 12th birthday the clinic can issue the patient an activation code.";

pub const NO_MATCH: &str = "We could not match those details to an activation code. Check the letter from your clinic and try again.";

pub struct IssuedCode {
    pub code: ActivationCode,
    pub expires_at: i64,
}

pub struct Activated {
    pub token: String,
    pub user_id: String,
}

fn code_hash(code: &ActivationCode) -> String {
    crypto::sha256_hex(&["activation", code.as_str()])
}

fn email_code_hash(signup_id: &str, code: &str) -> String {
    crypto::sha256_hex(&["email-code", signup_id, code])
}

impl Portal {
    /// Issues a new activation code for a patient without an account; earlier codes stop working.
    pub async fn issue_activation_code(
        &self,
        patient_id: &str,
        issued_by: &str,
        meta: &RequestMeta,
    ) -> Result<IssuedCode> {
        let now = self.now();
        let p = patient::Entity::find_by_id(patient_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        if self.patient_age(&p).await? < crate::proxy::TEEN_FROM {
            return Err(Error::Invalid(CHILD_HAS_NO_ACCOUNT.into()));
        }
        let txn = self.db.begin().await?;
        let has_account = user_account::Entity::find()
            .filter(user_account::Column::PatientId.eq(patient_id))
            .one(&txn)
            .await?
            .is_some();
        if has_account {
            return Err(Error::Invalid(
                "This patient already has an account; an activation code is not needed.".into(),
            ));
        }
        activation_code::Entity::update_many()
            .col_expr(activation_code::Column::RevokedAt, Expr::value(now))
            .filter(activation_code::Column::PatientId.eq(patient_id))
            .filter(activation_code::Column::UsedAt.is_null())
            .filter(activation_code::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        let code = crypto::random_activation_code();
        let expires_at = now + self.settings.activation_code_ttl.as_millis() as i64;
        activation_code::ActiveModel {
            id: Set(new_id()),
            patient_id: Set(patient_id.to_owned()),
            code_hash: Set(code_hash(&code)),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
            revoked_at: Set(None),
            created_by: Set(Some(issued_by.to_owned())),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("activation_code.issued", Outcome::Ok)
                .label(issued_by.to_owned())
                .patient(patient_id),
        )
        .await?;
        txn.commit().await?;
        Ok(IssuedCode { code, expires_at })
    }

    /// Step 1: name, date of birth and code. Returns the sign-up ticket for the next steps.
    pub async fn start_activation(
        &self,
        first: &str,
        last: &str,
        dob: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let now = self.now();
        let today = crate::clock::to_datetime(now).date();
        let first = NamePart::parse(first, "first name")?;
        let last = NamePart::parse(last, "last name")?;
        let dob = DateOfBirth::parse(dob, today)?;
        let code = ActivationCode::parse(code)?;
        let hour = 3_600_000;
        let limit = self.settings.activation_tries_per_hour;
        // Tries are counted per identity (name + date of birth) and per address.
        let who = format!(
            "activation:{}",
            crypto::sha256_hex(&[&first.match_key(), &last.match_key(), &dob.iso()])
        );
        let from = meta.ip.as_deref().map(|ip| format!("activation-ip:{ip}"));
        throttle::check_window(&self.db, &who, now, hour, limit).await?;
        if let Some(b) = &from {
            throttle::check_window(&self.db, b, now, hour, limit * 4).await?;
        }

        let found = activation_code::Entity::find()
            .filter(activation_code::Column::CodeHash.eq(code_hash(&code)))
            .one(&self.db)
            .await?;
        let mut matched = None;
        if let Some(c) = found
            && c.used_at.is_none()
            && c.revoked_at.is_none()
            && now < c.expires_at
            && let Some(p) = patient::Entity::find_by_id(c.patient_id.clone())
                .one(&self.db)
                .await?
        {
            let same_name = NamePart::parse(&p.given_name, "first name")
                .is_ok_and(|n| n.match_key() == first.match_key())
                && NamePart::parse(&p.family_name, "last name")
                    .is_ok_and(|n| n.match_key() == last.match_key());
            if same_name && p.birth_date == dob.iso() {
                matched = Some((c, p));
            }
        }
        // A code issued before a rule change, or a record whose birth date was corrected since.
        if let Some((_, p)) = &matched
            && self.patient_age(p).await? < crate::proxy::TEEN_FROM
        {
            let txn = self.db.begin().await?;
            audit::record(
                &txn,
                now,
                meta,
                Entry::new("activation.refused", Outcome::Denied)
                    .label("anonymous")
                    .patient(p.id.clone())
                    .detail("under 12"),
            )
            .await?;
            txn.commit().await?;
            return Err(Error::Invalid(CHILD_HAS_NO_ACCOUNT.into()));
        }
        let Some((c, p)) = matched else {
            let txn = self.db.begin().await?;
            throttle::record_failure(&txn, &who, now, None).await?;
            if let Some(b) = &from {
                throttle::record_failure(&txn, b, now, None).await?;
            }
            audit::record(
                &txn,
                now,
                meta,
                Entry::new("activation.failed", Outcome::Failed).label("anonymous"),
            )
            .await?;
            txn.commit().await?;
            return Err(Error::Invalid(NO_MATCH.into()));
        };
        let token = crypto::random_token(32);
        let txn = self.db.begin().await?;
        signup::ActiveModel {
            id: Set(new_id()),
            token_hash: Set(crypto::sha256_hex(&[&token])),
            patient_id: Set(p.id.clone()),
            activation_code_id: Set(c.id.clone()),
            user_id: Set(None),
            email_code_hash: Set(None),
            email_code_expires_at: Set(None),
            email_code_attempts: Set(0),
            created_at: Set(now),
            expires_at: Set(now + self.settings.signup_ttl.as_millis() as i64),
            completed_at: Set(None),
        }
        .insert(&txn)
        .await?;
        throttle::clear(&txn, &who).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("activation.verified", Outcome::Ok)
                .label("anonymous")
                .patient(p.id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(token)
    }

    async fn live_signup(&self, ticket: &str) -> Result<signup::Model> {
        let gone = || {
            Error::Invalid(
                "This activation has expired. Start again with your activation code.".into(),
            )
        };
        let s = signup::Entity::find()
            .filter(signup::Column::TokenHash.eq(crypto::sha256_hex(&[ticket])))
            .one(&self.db)
            .await?
            .ok_or_else(gone)?;
        if s.completed_at.is_some() || self.now() >= s.expires_at {
            return Err(gone());
        }
        Ok(s)
    }

    /// Whether a ticket is live and which step it is at: `Some(false)` choose details,
    /// `Some(true)` confirm the email.
    pub async fn activation_step(&self, ticket: &str) -> Option<bool> {
        self.live_signup(ticket)
            .await
            .ok()
            .map(|s| s.user_id.is_some())
    }

    /// Step 2: username, email, password. Creates the account (email not yet confirmed),
    /// uses up the activation code and emails a confirmation code.
    pub async fn choose_account(
        &self,
        ticket: &str,
        username: &str,
        email: &str,
        password: &str,
        confirm: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let s = self.live_signup(ticket).await?;
        if s.user_id.is_some() {
            return Err(Error::Invalid(
                "Your account is already created: enter the code we emailed you.".into(),
            ));
        }
        let username = Username::parse(username)?;
        let email = Email::parse(email)?;
        if password != confirm {
            return Err(Error::Invalid("The two passwords are not the same.".into()));
        }
        let p = patient::Entity::find_by_id(s.patient_id.clone())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        let pw = self.passwords.check_new(
            password,
            &[
                &p.given_name,
                &p.family_name,
                username.as_str(),
                email.as_str(),
            ],
        )?;
        // Only this sign-up's own code is refused: other passwords of 12 letters and digits
        // merely look like one.
        if let Ok(typed) = ActivationCode::parse(password)
            && activation_code::Entity::find_by_id(s.activation_code_id.clone())
                .one(&self.db)
                .await?
                .is_some_and(|c| crypto::constant_time_eq(&c.code_hash, &code_hash(&typed)))
        {
            return Err(Error::Invalid(
                "The activation code cannot be used as a password.".into(),
            ));
        }
        // "Taken" answers reveal who has an account: a sign-up gets only a few of them.
        let taken_bucket = format!("signup-taken:{}", s.id);
        let now = self.now();
        let window = self.settings.signup_ttl.as_millis() as i64;
        throttle::check_window(&self.db, &taken_bucket, now, window, MAX_TAKEN_ANSWERS).await?;
        let name_taken = user_account::Column::Username.eq(username.as_str());
        let email_taken = user_account::Column::EmailKey.eq(email.key());
        for (taken, answer) in [
            (name_taken, "That username is taken. Choose another."),
            (
                email_taken,
                "That email address belongs to another account. Use a different one.",
            ),
        ] {
            if user_account::Entity::find()
                .filter(taken)
                .one(&self.db)
                .await?
                .is_some()
            {
                throttle::record_failure(&self.db, &taken_bucket, now, None).await?;
                return Err(Error::Invalid(answer.into()));
            }
        }
        let hash = self.passwords.hash(&pw).await?;
        let user_id = new_id();
        let code = crypto::random_digits(6);
        let txn = self.db.begin().await?;
        // Use up the code only if nobody else did meanwhile.
        let used = activation_code::Entity::update_many()
            .col_expr(activation_code::Column::UsedAt, Expr::value(now))
            .filter(activation_code::Column::Id.eq(s.activation_code_id.clone()))
            .filter(activation_code::Column::UsedAt.is_null())
            .filter(activation_code::Column::RevokedAt.is_null())
            .filter(activation_code::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            return Err(Error::Invalid(
                "This activation code has already been used or replaced. Ask your clinic for a new one.".into(),
            ));
        }
        crate::staff::NewAccount {
            username: &username,
            email: &email,
            given: &p.given_name,
            family: &p.family_name,
            role: domain::session::Role::Patient,
            patient_id: Some(p.id.clone()),
            clinic_id: Some(p.clinic_id.clone()),
            password_hash: hash,
            email_verified: false,
        }
        .row(&user_id, now)
        .insert(&txn)
        .await
        .map_err(|e| {
            // A concurrent sign-up may have taken the name or address between check and insert.
            if e.to_string().to_lowercase().contains("unique") {
                Error::Invalid("That username or email address is taken. Choose another.".into())
            } else {
                e.into()
            }
        })?;
        signup::Entity::update_many()
            .col_expr(signup::Column::UserId, Expr::value(user_id.clone()))
            .col_expr(
                signup::Column::EmailCodeHash,
                Expr::value(email_code_hash(&s.id, &code)),
            )
            .col_expr(
                signup::Column::EmailCodeExpiresAt,
                Expr::value(now + self.settings.email_code_ttl.as_millis() as i64),
            )
            .col_expr(signup::Column::EmailCodeAttempts, Expr::value(0))
            .filter(signup::Column::Id.eq(s.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("account.created", Outcome::Ok)
                .actor(user_id.clone())
                .patient(p.id.clone()),
        )
        .await?;
        txn.commit().await?;
        self.send_email_code(email.as_str(), &code).await;
        Ok(())
    }

    async fn send_email_code(&self, to: &str, code: &str) {
        let minutes = self.settings.email_code_ttl.as_secs() / 60;
        let body = format!(
            "Your confirmation code is {code}\n\nEnter it on the page where you created your account. \
             It works once and expires in {minutes} minutes.\n\nIf you did not create an account, \
             you can ignore this email.\n\n— {}",
            self.settings.portal_name
        );
        if let Err(e) = self
            .mailer
            .send(to, "Confirm your email for My Health Connection", &body)
            .await
        {
            tracing::error!(error = %e, "could not send the confirmation email");
        }
    }

    /// Step 3: the emailed code. Confirms the email, finishes activation and signs in.
    pub async fn confirm_email(
        &self,
        ticket: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Activated> {
        let s = self.live_signup(ticket).await?;
        let Some(user_id) = s.user_id.clone() else {
            return Err(Error::Invalid(
                "Choose your username and password first.".into(),
            ));
        };
        let code = EmailCode::parse(code)?;
        let now = self.now();
        // Count the try before comparing, in one statement, so parallel guesses share the limit.
        let counted = signup::Entity::update_many()
            .col_expr(
                signup::Column::EmailCodeAttempts,
                Expr::col(signup::Column::EmailCodeAttempts).add(1),
            )
            .filter(signup::Column::Id.eq(s.id.clone()))
            .filter(signup::Column::EmailCodeAttempts.lt(MAX_EMAIL_CODE_ATTEMPTS))
            .exec(&self.db)
            .await?;
        if counted.rows_affected != 1 {
            return Err(Error::Invalid(TOO_MANY_CODES.into()));
        }
        let expired = s.email_code_expires_at.is_none_or(|t| now >= t);
        let right = s
            .email_code_hash
            .as_deref()
            .is_some_and(|h| crypto::constant_time_eq(h, &email_code_hash(&s.id, code.as_str())));
        if expired || !right {
            return Err(Error::Invalid(if expired && right {
                "That code has expired. Use “Send a new code”.".into()
            } else {
                "That code is not right. Check the latest email from us and try again.".into()
            }));
        }
        let txn = self.db.begin().await?;
        let done = signup::Entity::update_many()
            .col_expr(signup::Column::CompletedAt, Expr::value(now))
            .filter(signup::Column::Id.eq(s.id.clone()))
            .filter(signup::Column::CompletedAt.is_null())
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            return Err(Error::Invalid("This code has already been used.".into()));
        }
        user_account::Entity::update_many()
            .col_expr(user_account::Column::EmailVerifiedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(user_id.clone()))
            .exec(&txn)
            .await?;
        let new = session::create(
            &txn,
            self,
            &user_id,
            meta.ip.as_deref(),
            meta.user_agent.as_deref(),
        )
        .await?;
        for action in ["activation.completed", "signin.ok"] {
            audit::record(
                &txn,
                now,
                meta,
                Entry::new(action, Outcome::Ok)
                    .actor(user_id.clone())
                    .patient(s.patient_id.clone()),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(Activated {
            token: new.token,
            user_id,
        })
    }

    /// Sends a fresh confirmation code for a ticket at step 3.
    pub async fn resend_email_code(&self, ticket: &str) -> Result<()> {
        let s = self.live_signup(ticket).await?;
        let Some(user_id) = s.user_id.clone() else {
            return Err(Error::Invalid(
                "Choose your username and password first.".into(),
            ));
        };
        if s.email_code_attempts >= MAX_EMAIL_CODE_ATTEMPTS {
            return Err(Error::Invalid(TOO_MANY_CODES.into()));
        }
        let now = self.now();
        // A new code keeps the count of wrong tries, and only a few are sent per hour:
        // resending must not become a way to guess without limit or to flood a mailbox.
        let bucket = format!("email-code-resend:{}", s.id);
        throttle::check_window(&self.db, &bucket, now, 3_600_000, MAX_RESENDS_PER_HOUR).await?;
        throttle::record_failure(&self.db, &bucket, now, None).await?;
        let u = user_account::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        let code = crypto::random_digits(6);
        signup::Entity::update_many()
            .col_expr(
                signup::Column::EmailCodeHash,
                Expr::value(email_code_hash(&s.id, &code)),
            )
            .col_expr(
                signup::Column::EmailCodeExpiresAt,
                Expr::value(now + self.settings.email_code_ttl.as_millis() as i64),
            )
            .filter(signup::Column::Id.eq(s.id))
            .exec(&self.db)
            .await?;
        self.send_email_code(&u.email, &code).await;
        Ok(())
    }

    /// A correct password on an account whose email was never confirmed: start step 3 again.
    pub(crate) async fn restart_email_confirmation(
        &self,
        u: &user_account::Model,
        meta: &RequestMeta,
    ) -> Result<String> {
        let now = self.now();
        let patient_id = u.patient_id.clone().ok_or(Error::Forbidden)?;
        let bucket = format!("confirm-restart:{}", u.id);
        throttle::check_window(&self.db, &bucket, now, 3_600_000, MAX_RESTARTS_PER_HOUR).await?;
        throttle::record_failure(&self.db, &bucket, now, None).await?;
        let code_id = activation_code::Entity::find()
            .filter(activation_code::Column::PatientId.eq(patient_id.clone()))
            .filter(activation_code::Column::UsedAt.is_not_null())
            .one(&self.db)
            .await?
            .ok_or(Error::Forbidden)?
            .id;
        let token = crypto::random_token(32);
        let id = new_id();
        let code = crypto::random_digits(6);
        signup::ActiveModel {
            id: Set(id.clone()),
            token_hash: Set(crypto::sha256_hex(&[&token])),
            patient_id: Set(patient_id.clone()),
            activation_code_id: Set(code_id),
            user_id: Set(Some(u.id.clone())),
            email_code_hash: Set(Some(email_code_hash(&id, &code))),
            email_code_expires_at: Set(Some(now + self.settings.email_code_ttl.as_millis() as i64)),
            email_code_attempts: Set(0),
            created_at: Set(now),
            expires_at: Set(now + self.settings.signup_ttl.as_millis() as i64),
            completed_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        self.record_audit(
            now,
            meta,
            Entry::new("signin.email_unconfirmed", Outcome::Denied)
                .actor(u.id.clone())
                .patient(patient_id),
        )
        .await?;
        self.send_email_code(&u.email, &code).await;
        Ok(token)
    }
}
