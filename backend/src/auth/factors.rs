//! Second factors: authenticator apps (TOTP, RFC 6238), codes by email or text message,
//! and backup codes; the single-use tickets that carry a sign-in between its two steps.

use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::storage::entity::{auth_factor, auth_ticket, backup_code, user_account};
use crate::{Error, Portal, Result, crypto, new_id};
use domain::security::{FactorChoice, Method, OneTimeCode, TotpSetup, mask_email};
use domain::session::Role;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};

/// RFC 6238 parameters every authenticator app understands.
pub const TOTP_STEP_SECS: i64 = 30;
pub const TOTP_DIGITS: usize = 6;
/// 160-bit secrets (SECURITY 7).
pub const TOTP_SECRET_BYTES: usize = 20;
pub const BACKUP_CODE_COUNT: usize = 10;

pub const KIND_TOTP: &str = "totp";
pub const KIND_EMAIL: &str = "email";
pub const KIND_SMS: &str = "sms";
pub const KIND_PASSKEY: &str = "passkey";

/// Ticket purposes.
pub const T_SIGNIN: &str = "signin";
pub const T_ENROL: &str = "enrol";
pub const T_RESET: &str = "reset";
pub const T_VERIFY_EMAIL: &str = "verify-email";
pub const T_VERIFY_PHONE: &str = "verify-phone";

/// The code an authenticator app shows for time step `step`.
pub fn totp_at(secret: &[u8], step: i64) -> String {
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        TOTP_DIGITS,
        0,
        TOTP_STEP_SECS as u64,
        secret.to_vec(),
    )
    .generate((Ord::max(step, 0) * TOTP_STEP_SECS) as u64)
}

pub fn step_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000 * TOTP_STEP_SECS)
}

/// The time step `code` belongs to, if it is the code of the current step or one either
/// side (clock drift) and later than `after` (each code works once).
pub fn match_totp(
    secret: &[u8],
    code: &OneTimeCode,
    now_ms: i64,
    after: Option<i64>,
) -> Option<i64> {
    let now = step_of(now_ms);
    let mut found = None;
    // Every candidate is computed and compared, so the time taken does not tell which matched.
    for step in [now - 1, now, now + 1] {
        let ok = crypto::constant_time_eq(&totp_at(secret, step), code.as_str());
        if ok && after.is_none_or(|a| step > a) {
            found = Some(step);
        }
    }
    found
}

/// The key as a person types it: base32 in groups of four.
pub fn key_groups(secret: &[u8]) -> String {
    base32_of(secret)
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn base32_of(secret: &[u8]) -> String {
    match totp_rs::Secret::Raw(secret.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(s) => s,
        totp_rs::Secret::Raw(_) => unreachable!("to_encoded always encodes"),
    }
}

fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `otpauth://totp/Issuer:account?secret=…&issuer=…` (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
        uri_escape(issuer),
        uri_escape(account),
        base32_of(secret),
        uri_escape(issuer)
    )
}

/// The QR code of `data` as an SVG element (no XML prologue), for inline display.
pub fn qr_svg(data: &str) -> Result<String> {
    let code = qrcode::QrCode::new(data.as_bytes())
        .map_err(|e| Error::Unexpected(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    ))
}

fn totp_context(factor_id: &str) -> String {
    format!("totp:{factor_id}")
}

fn backup_hash(user_id: &str, normalized: &str) -> String {
    crypto::sha256_hex(&["backup", user_id, normalized])
}

fn code_hash(ticket_id: &str, code: &str) -> String {
    crypto::sha256_hex(&["one-time-code", ticket_id, code])
}

/// A ticket as created: the token goes to the browser (cookie or email), only its hash is kept.
pub struct NewTicket {
    pub id: String,
    pub token: String,
}

pub async fn issue_ticket(
    db: &impl ConnectionTrait,
    user_id: Option<&str>,
    purpose: &str,
    now: i64,
    ttl_ms: i64,
    payload: Option<String>,
) -> Result<NewTicket> {
    let token = crypto::random_token(32);
    let id = new_id();
    auth_ticket::ActiveModel {
        id: Set(id.clone()),
        token_hash: Set(crypto::sha256_hex(&[&token])),
        user_id: Set(user_id.map(str::to_owned)),
        purpose: Set(purpose.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + ttl_ms),
        used_at: Set(None),
        attempts: Set(0),
        code_hash: Set(None),
        code_expires_at: Set(None),
        payload: Set(payload),
        factor_done_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(NewTicket { id, token })
}

/// The live (unused, unexpired) ticket for `token` and `purpose`.
pub async fn live_ticket(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<auth_ticket::Model>> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    Ok(auth_ticket::Entity::find()
        .filter(auth_ticket::Column::TokenHash.eq(crypto::sha256_hex(&[token])))
        .filter(auth_ticket::Column::Purpose.eq(purpose))
        .filter(auth_ticket::Column::UsedAt.is_null())
        .filter(auth_ticket::Column::ExpiresAt.gt(now))
        .one(db)
        .await?)
}

/// Marks a ticket used; false when another request used it first (single use).
pub async fn consume_ticket(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<bool> {
    let r = auth_ticket::Entity::update_many()
        .col_expr(auth_ticket::Column::UsedAt, Expr::value(now))
        .filter(auth_ticket::Column::Id.eq(id))
        .filter(auth_ticket::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Voids a user's outstanding tickets of one purpose (a lock cancels reset links).
pub async fn cancel_tickets(
    db: &impl ConnectionTrait,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> Result<u64> {
    let r = auth_ticket::Entity::update_many()
        .col_expr(auth_ticket::Column::UsedAt, Expr::value(now))
        .filter(auth_ticket::Column::UserId.eq(user_id))
        .filter(auth_ticket::Column::Purpose.eq(purpose))
        .filter(auth_ticket::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Voids every sign-in, set-up and reset ticket of a user: after a password change or reset,
/// a lock, a suspension or a factor reset, nothing started before may finish.
pub async fn cancel_pending(db: &impl ConnectionTrait, user_id: &str, now: i64) -> Result<()> {
    for purpose in [
        T_SIGNIN,
        T_ENROL,
        T_RESET,
        super::passkeys::T_PASSKEY_REGISTER,
    ] {
        cancel_tickets(db, user_id, purpose, now).await?;
    }
    Ok(())
}

/// Counts one failure on the account in a single statement (parallel failures all count)
/// and locks it at the threshold. Returns whether it is now locked.
pub async fn count_account_failure(
    db: &impl ConnectionTrait,
    user_id: &str,
    threshold: u32,
    now: i64,
) -> Result<bool> {
    user_account::Entity::update_many()
        .col_expr(
            user_account::Column::FailedLogins,
            Expr::col(user_account::Column::FailedLogins).add(1),
        )
        .filter(user_account::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    let locked = user_account::Entity::update_many()
        .col_expr(user_account::Column::LockedAt, Expr::value(now))
        .filter(user_account::Column::Id.eq(user_id))
        .filter(user_account::Column::LockedAt.is_null())
        .filter(user_account::Column::FailedLogins.gte(threshold as i32))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if locked {
        cancel_pending(db, user_id, now).await?;
    }
    Ok(locked)
}

/// Reserves one try on a ticket before its code is checked, in one statement, so parallel
/// guesses cannot outrun the limit. False when the tries are used up.
pub async fn reserve_ticket_try(
    db: &impl ConnectionTrait,
    ticket_id: &str,
    tries: i32,
) -> Result<bool> {
    Ok(auth_ticket::Entity::update_many()
        .col_expr(
            auth_ticket::Column::Attempts,
            Expr::col(auth_ticket::Column::Attempts).add(1),
        )
        .filter(auth_ticket::Column::Id.eq(ticket_id))
        .filter(auth_ticket::Column::UsedAt.is_null())
        .filter(auth_ticket::Column::Attempts.lt(tries))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

pub async fn confirmed_factors(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<auth_factor::Model>> {
    Ok(auth_factor::Entity::find()
        .filter(auth_factor::Column::UserId.eq(user_id))
        .filter(auth_factor::Column::ConfirmedAt.is_not_null())
        .order_by_asc(auth_factor::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn unused_backup_codes(db: &impl ConnectionTrait, user_id: &str) -> Result<u64> {
    Ok(backup_code::Entity::find()
        .filter(backup_code::Column::UserId.eq(user_id))
        .filter(backup_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

/// Replaces a user's backup codes with a fresh set of ten; the old set stops working.
pub async fn new_backup_codes(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>> {
    backup_code::Entity::delete_many()
        .filter(backup_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let mut codes = Vec::with_capacity(BACKUP_CODE_COUNT);
    for _ in 0..BACKUP_CODE_COUNT {
        let code = crypto::random_backup_code();
        let normalized = crypto::normalize_backup_code(&code).expect("generated codes are valid");
        backup_code::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id.to_owned()),
            code_hash: Set(backup_hash(user_id, &normalized)),
            created_at: Set(now),
            used_at: Set(None),
        }
        .insert(db)
        .await?;
        codes.push(code);
    }
    Ok(codes)
}

/// Whether a factor kind resists phishing of the email account: staff need one of these.
pub fn is_strong(kind: &str) -> bool {
    matches!(kind, KIND_TOTP | KIND_PASSKEY)
}

/// What a user's enrolled factors offer at sign-in.
pub async fn choice_for(
    db: &impl ConnectionTrait,
    user: &user_account::Model,
    sms_enabled: bool,
) -> Result<FactorChoice> {
    let factors = confirmed_factors(db, &user.id).await?;
    choice_from(db, user, &factors, sms_enabled).await
}

/// The same, from factors already read.
async fn choice_from(
    db: &impl ConnectionTrait,
    user: &user_account::Model,
    factors: &[auth_factor::Model],
    sms_enabled: bool,
) -> Result<FactorChoice> {
    let mut methods = Vec::new();
    let has = |k: &str| factors.iter().any(|f| f.kind == k);
    if has(KIND_PASSKEY) {
        methods.push(Method::Passkey);
    }
    if has(KIND_TOTP) {
        methods.push(Method::App);
    }
    if has(KIND_EMAIL) {
        methods.push(Method::Email);
    }
    let phone_ok = user.phone.is_some() && user.phone_verified_at.is_some();
    let phone_ok = phone_ok && sms_enabled;
    if has(KIND_SMS) && phone_ok {
        methods.push(Method::Sms);
    }
    if !factors.is_empty() && unused_backup_codes(db, &user.id).await? > 0 {
        methods.push(Method::Backup);
    }
    Ok(FactorChoice {
        email_hint: has(KIND_EMAIL).then(|| mask_email(&user.email)),
        phone_hint: if has(KIND_SMS) && phone_ok {
            user.phone
                .as_deref()
                .and_then(|p| domain::security::PhoneE164::parse(p).ok())
                .map(|p| p.masked())
        } else {
            None
        },
        methods,
    })
}

/// What must happen after a correct password.
pub enum Needed {
    Nothing,
    SecondFactor(FactorChoice),
    Enrolment,
}

impl Portal {
    /// Whether this person must prove, or first set up, a second factor.
    pub async fn second_factor_needed(&self, user: &user_account::Model) -> Result<Needed> {
        let factors = confirmed_factors(&self.db, &user.id).await?;
        let choice = choice_from(&self.db, user, &factors, self.settings.sms_enabled).await?;
        let staff = Role::parse(&user.role).is_some_and(|r| r.is_staff());
        let required = self.second_factor_required_for(user);
        if staff && !factors.iter().any(|f| is_strong(&f.kind)) {
            return Ok(Needed::Enrolment);
        }
        if choice.methods.is_empty() && !factors.is_empty() {
            // Factors exist but none can be offered here: never fall back to the password alone.
            return Err(Error::Invalid(
                "Your second sign-in step cannot be used here. Call your clinic to reset it."
                    .into(),
            ));
        }
        if choice.methods.is_empty() {
            return Ok(if required {
                Needed::Enrolment
            } else {
                Needed::Nothing
            });
        }
        Ok(Needed::SecondFactor(choice))
    }

    pub fn second_factor_required_for(&self, user: &user_account::Model) -> bool {
        Role::parse(&user.role).is_some_and(|r| r.is_staff())
            || self.settings.require_second_factor_for_patients
    }

    /// Sends a one-time code for a ticket by email or text message (at most 5 per ticket).
    pub async fn send_ticket_code(
        &self,
        ticket: &auth_ticket::Model,
        user: &user_account::Model,
        method: Method,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let code = crypto::random_digits(6);
        let ttl = self.settings.one_time_code_ttl.as_millis() as i64;
        // One code per 30 seconds: a ticket cannot be used to flood a mailbox.
        let r = auth_ticket::Entity::update_many()
            .col_expr(
                auth_ticket::Column::CodeHash,
                Expr::value(code_hash(&ticket.id, &code)),
            )
            .col_expr(auth_ticket::Column::CodeExpiresAt, Expr::value(now + ttl))
            .filter(auth_ticket::Column::Id.eq(ticket.id.clone()))
            .filter(auth_ticket::Column::UsedAt.is_null())
            .filter(
                Condition::any()
                    .add(auth_ticket::Column::CodeExpiresAt.is_null())
                    .add(auth_ticket::Column::CodeExpiresAt.lte(now + ttl - 30_000)),
            )
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::Throttled {
                retry_after_secs: 30,
            });
        }
        let mins = ttl / 60_000;
        let name = &self.settings.portal_name;
        match method {
            Method::Email => {
                self.mailer
                    .send(
                        &user.email,
                        &format!("Your {name} sign-in code"),
                        &format!(
                            "Hello {},\n\nYour sign-in code is {code}. It works once, for {mins} minutes.\n\nIf you are not signing in, someone knows your password: change it on the Account and security page, or call your clinic.\n",
                            user.given_name
                        ),
                    )
                    .await?
            }
            Method::Sms => {
                let phone = user
                    .phone
                    .as_deref()
                    .filter(|_| user.phone_verified_at.is_some())
                    .ok_or_else(|| Error::Invalid("No verified mobile number is on file.".into()))?;
                self.sms
                    .send_sms(phone, &format!("{name}: your sign-in code is {code}. It works once, for {mins} minutes."))
                    .await?
            }
            _ => return Err(Error::Invalid("That method does not send codes.".into())),
        }
        self.record_audit(
            now,
            meta,
            Entry::new("second_factor.code_sent", Outcome::Ok)
                .by_account(user)
                .detail(method.as_str()),
        )
        .await
    }

    /// Checks a second factor for a ticket's user. A wrong code counts against the ticket
    /// and against the account's lock, like a wrong password.
    pub async fn check_second_factor(
        &self,
        ticket: &auth_ticket::Model,
        user: &user_account::Model,
        method: Method,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let tries = self.settings.second_factor_tries as i32;
        if !reserve_ticket_try(&self.db, &ticket.id, tries).await? {
            consume_ticket(&self.db, &ticket.id, now).await?;
            self.record_audit(
                now,
                meta,
                Entry::new("second_factor.failed", Outcome::Denied)
                    .by_account(user)
                    .detail("too many tries"),
            )
            .await?;
            return Err(Error::Invalid(
                "Too many wrong codes. Start again from the sign-in page.".into(),
            ));
        }
        let ok = match method {
            Method::App => self.check_totp(&user.id, code, now).await?,
            Method::Email | Method::Sms => {
                let c = OneTimeCode::parse(code)?;
                match (&ticket.code_hash, ticket.code_expires_at) {
                    (Some(h), Some(exp)) if exp > now => {
                        let matches =
                            crypto::constant_time_eq(h, &code_hash(&ticket.id, c.as_str()));
                        // Single use: clearing the hash must win against a parallel request.
                        matches
                            && auth_ticket::Entity::update_many()
                                .col_expr(
                                    auth_ticket::Column::CodeHash,
                                    Expr::value(Option::<String>::None),
                                )
                                .filter(auth_ticket::Column::Id.eq(ticket.id.clone()))
                                .filter(auth_ticket::Column::CodeHash.eq(h.clone()))
                                .exec(&self.db)
                                .await?
                                .rows_affected
                                == 1
                    }
                    (Some(_), Some(_)) => {
                        return Err(Error::Invalid(
                            "That code has expired. Ask for a new one.".into(),
                        ));
                    }
                    _ => {
                        return Err(Error::Invalid(
                            "Ask for a code first, then enter it here.".into(),
                        ));
                    }
                }
            }
            Method::Backup => self.use_backup_code(user, code, meta).await?,
            Method::Passkey => {
                return Err(Error::Invalid(
                    "Use the passkey button: a passkey does not have a code to type.".into(),
                ));
            }
        };
        if ok {
            return Ok(());
        }
        self.second_factor_failed(user, method, meta).await?;
        Err(Error::Invalid(match method {
            Method::Backup => "That backup code is not right, or it was used already.".into(),
            _ => "That code is not right. Check it and try again; an app shows a new code every 30 seconds.".into(),
        }))
    }

    async fn second_factor_failed(
        &self,
        user: &user_account::Model,
        method: Method,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let lock =
            count_account_failure(&txn, &user.id, self.settings.lockout_threshold, now).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("second_factor.failed", Outcome::Failed)
                .by_account(user)
                .detail(if lock {
                    format!("{}; locked", method.as_str())
                } else {
                    method.as_str().to_owned()
                }),
        )
        .await?;
        txn.commit().await?;
        if lock {
            return Err(Error::Locked);
        }
        Ok(())
    }

    /// An authenticator-app code for `user_id`'s confirmed app, each step accepted once.
    pub async fn check_totp(&self, user_id: &str, code: &str, now: i64) -> Result<bool> {
        let code = OneTimeCode::parse(code)?;
        let Some(f) = auth_factor::Entity::find()
            .filter(auth_factor::Column::UserId.eq(user_id))
            .filter(auth_factor::Column::Kind.eq(KIND_TOTP))
            .filter(auth_factor::Column::ConfirmedAt.is_not_null())
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        let secret = self.open_totp_secret(&f)?;
        let Some(step) = match_totp(&secret, &code, now, f.last_step) else {
            return Ok(false);
        };
        // Compare-and-swap on the last step: a replayed code, even in parallel, loses.
        let r = auth_factor::Entity::update_many()
            .col_expr(auth_factor::Column::LastStep, Expr::value(step))
            .col_expr(auth_factor::Column::LastUsedAt, Expr::value(now))
            .filter(auth_factor::Column::Id.eq(f.id.clone()))
            .filter(
                Condition::any()
                    .add(auth_factor::Column::LastStep.is_null())
                    .add(auth_factor::Column::LastStep.lt(step)),
            )
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected == 1)
    }

    fn open_totp_secret(&self, f: &auth_factor::Model) -> Result<Vec<u8>> {
        let sealed = f
            .secret_enc
            .as_deref()
            .ok_or_else(|| Error::Unexpected("authenticator factor without a secret".into()))?;
        self.settings
            .server_key
            .open(sealed, &totp_context(&f.id))
            .ok_or_else(|| {
                Error::Unexpected(
                    "an authenticator secret does not open with the server key".into(),
                )
            })
    }

    /// Uses one backup code (single use, even in parallel) and tells the person by email.
    async fn use_backup_code(
        &self,
        user: &user_account::Model,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<bool> {
        let Some(n) = crypto::normalize_backup_code(code) else {
            return Err(Error::Invalid(
                "A backup code has 16 letters and digits, like k7m2-9qpx-4hd0-wz3e.".into(),
            ));
        };
        let now = self.now();
        let r = backup_code::Entity::update_many()
            .col_expr(backup_code::Column::UsedAt, Expr::value(now))
            .filter(backup_code::Column::UserId.eq(user.id.clone()))
            .filter(backup_code::Column::CodeHash.eq(backup_hash(&user.id, &n)))
            .filter(backup_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Ok(false);
        }
        let left = unused_backup_codes(&self.db, &user.id).await?;
        self.record_audit(
            now,
            meta,
            Entry::new("backup_code.used", Outcome::Ok)
                .by_account(user)
                .detail(format!("{left} left")),
        )
        .await?;
        self.notify(
            user,
            "A backup code was used",
            &format!(
                "One of your backup codes was just used to sign in. You have {left} left.\n\nIf this was not you, call your clinic: someone has your password and your backup codes."
            ),
        )
        .await;
        Ok(true)
    }

    /// A security notice by email. A notice that cannot be sent is logged, not fatal: the
    /// change it reports has already happened.
    pub async fn notify(&self, user: &user_account::Model, subject: &str, body: &str) {
        let text = format!(
            "Hello {},\n\n{body}\n\n— {}\n",
            user.given_name, self.settings.portal_name
        );
        if let Err(e) = self
            .mailer
            .send(
                &user.email,
                &format!("{}: {subject}", self.settings.portal_name),
                &text,
            )
            .await
        {
            tracing::warn!(error = %e, "a security notice could not be sent");
        }
    }

    /// Starts an authenticator-app enrolment: a new secret, not yet counted until one code
    /// from it is proven. Any earlier unfinished enrolment is dropped.
    pub async fn totp_begin(&self, user: &user_account::Model) -> Result<TotpSetup> {
        let now = self.now();
        let existing = auth_factor::Entity::find()
            .filter(auth_factor::Column::UserId.eq(user.id.clone()))
            .filter(auth_factor::Column::Kind.eq(KIND_TOTP))
            .all(&self.db)
            .await?;
        if existing.iter().any(|f| f.confirmed_at.is_some()) {
            return Err(Error::Invalid(
                "An authenticator app is already set up. Remove it first to move to a new one."
                    .into(),
            ));
        }
        let mut secret = [0u8; TOTP_SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        let id = new_id();
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        auth_factor::Entity::delete_many()
            .filter(auth_factor::Column::UserId.eq(user.id.clone()))
            .filter(auth_factor::Column::Kind.eq(KIND_TOTP))
            .filter(auth_factor::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        auth_factor::ActiveModel {
            id: Set(id.clone()),
            user_id: Set(user.id.clone()),
            kind: Set(KIND_TOTP.into()),
            label: Set("Authenticator app".into()),
            secret_enc: Set(Some(
                self.settings.server_key.seal(&secret, &totp_context(&id)),
            )),
            last_step: Set(None),
            credential_id: Set(None),
            credential: Set(None),
            created_at: Set(now),
            confirmed_at: Set(None),
            last_used_at: Set(None),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        let uri = otpauth_uri(&self.settings.portal_name, &user.username, &secret);
        Ok(TotpSetup {
            key_groups: key_groups(&secret),
            qr_svg: qr_svg(&uri)?,
            otpauth_uri: uri,
        })
    }

    /// Finishes an authenticator-app enrolment with one code from the app. Returns fresh
    /// backup codes when this is the person's first factor.
    pub async fn totp_confirm(
        &self,
        user: &user_account::Model,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        let code = OneTimeCode::parse(code)?;
        let now = self.now();
        let ttl = self.settings.second_factor_ttl.as_millis() as i64;
        let pending = auth_factor::Entity::find()
            .filter(auth_factor::Column::UserId.eq(user.id.clone()))
            .filter(auth_factor::Column::Kind.eq(KIND_TOTP))
            .filter(auth_factor::Column::ConfirmedAt.is_null())
            .filter(auth_factor::Column::CreatedAt.gt(now - ttl))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                Error::Invalid("The set-up has expired. Start again to get a new QR code.".into())
            })?;
        let secret = self.open_totp_secret(&pending)?;
        let Some(step) = match_totp(&secret, &code, now, None) else {
            return Err(Error::Invalid(
                "That code does not match. Check the app shows My Health Connection and enter its current code."
                    .into(),
            ));
        };
        self.confirm_factor(user, &pending.id, Some(step), "authenticator app", meta)
            .await
    }

    /// Marks a factor confirmed in one transaction with its audit entry; the first factor
    /// also gets a set of backup codes.
    pub(crate) async fn confirm_factor(
        &self,
        user: &user_account::Model,
        factor_id: &str,
        last_step: Option<i64>,
        what: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        let now = self.now();
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let first = confirmed_factors(&txn, &user.id).await?.is_empty();
        let r = auth_factor::Entity::update_many()
            .col_expr(auth_factor::Column::ConfirmedAt, Expr::value(now))
            .col_expr(auth_factor::Column::LastStep, Expr::value(last_step))
            .filter(auth_factor::Column::Id.eq(factor_id))
            .filter(auth_factor::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::Invalid("That set-up was already finished.".into()));
        }
        let codes = if first {
            new_backup_codes(&txn, &user.id, now).await?
        } else {
            Vec::new()
        };
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("factor.added", Outcome::Ok)
                .by_account(user)
                .object(factor_id)
                .detail(what.to_owned()),
        )
        .await?;
        txn.commit().await?;
        self.notify(
            user,
            "A sign-in method was added",
            &format!(
                "A second sign-in step ({what}) was added to your account.\n\nIf you did not do this, call your clinic now."
            ),
        )
        .await;
        Ok(codes)
    }

    /// Turns on codes by email, or by text message to the verified mobile number.
    pub async fn enable_code_factor(
        &self,
        user: &user_account::Model,
        method: Method,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        let (kind, label) = match method {
            Method::Email => (KIND_EMAIL, "Codes by email"),
            Method::Sms => {
                if user.phone.is_none() || user.phone_verified_at.is_none() {
                    return Err(Error::Invalid(
                        "Add and verify a mobile number first.".into(),
                    ));
                }
                (KIND_SMS, "Codes by text message")
            }
            _ => return Err(Error::Invalid("Choose email or text message.".into())),
        };
        let exists = auth_factor::Entity::find()
            .filter(auth_factor::Column::UserId.eq(user.id.clone()))
            .filter(auth_factor::Column::Kind.eq(kind))
            .one(&self.db)
            .await?
            .is_some();
        if exists {
            return Err(Error::Invalid(format!("{label} are already on.")));
        }
        let id = new_id();
        auth_factor::ActiveModel {
            id: Set(id.clone()),
            user_id: Set(user.id.clone()),
            kind: Set(kind.into()),
            label: Set(label.into()),
            secret_enc: Set(None),
            last_step: Set(None),
            credential_id: Set(None),
            credential: Set(None),
            created_at: Set(self.now()),
            confirmed_at: Set(None),
            last_used_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        self.confirm_factor(user, &id, None, &label.to_lowercase(), meta)
            .await
    }

    /// Removes one of the person's own factors; anyone else's is "not found". Removing the
    /// last factor also voids the backup codes. Staff, and patients under a clinic policy,
    /// cannot remove their last factor.
    pub async fn remove_factor(
        &self,
        user: &user_account::Model,
        factor_id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let factors = confirmed_factors(&self.db, &user.id).await?;
        let Some(f) = factors.iter().find(|f| f.id == factor_id) else {
            return Err(Error::NotFound);
        };
        let rest: Vec<_> = factors.iter().filter(|g| g.id != factor_id).collect();
        let staff = Role::parse(&user.role).is_some_and(|r| r.is_staff());
        if staff && !rest.iter().any(|g| is_strong(&g.kind)) {
            return Err(Error::Invalid(
                "Staff accounts need an authenticator app or a passkey. Add another before removing this one."
                    .into(),
            ));
        }
        if self.second_factor_required_for(user) && rest.is_empty() {
            return Err(Error::Invalid(
                "Your clinic requires a second sign-in step. Add another method before removing this one."
                    .into(),
            ));
        }
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        auth_factor::Entity::delete_by_id(f.id.clone())
            .exec(&txn)
            .await?;
        if rest.is_empty() {
            backup_code::Entity::delete_many()
                .filter(backup_code::Column::UserId.eq(user.id.clone()))
                .exec(&txn)
                .await?;
        }
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("factor.removed", Outcome::Ok)
                .by_account(user)
                .object(f.id.clone())
                .detail(f.kind.clone()),
        )
        .await?;
        txn.commit().await?;
        self.notify(
            user,
            "A sign-in method was removed",
            &format!(
                "\"{}\" was removed from your account's second sign-in step.\n\nIf you did not do this, call your clinic now.",
                f.label
            ),
        )
        .await;
        Ok(())
    }

    /// A new set of backup codes; the old set stops working.
    pub async fn regenerate_backup_codes(
        &self,
        user: &user_account::Model,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        let now = self.now();
        if confirmed_factors(&self.db, &user.id).await?.is_empty() {
            return Err(Error::Invalid(
                "Set up an authenticator app or email codes first; backup codes stand in for them."
                    .into(),
            ));
        }
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let codes = new_backup_codes(&txn, &user.id, now).await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("backup_codes.generated", Outcome::Ok).by_account(user),
        )
        .await?;
        txn.commit().await?;
        self.notify(
            user,
            "New backup codes",
            "A new set of backup codes was made for your account. The old codes no longer work.",
        )
        .await;
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(totp_at(secret, 59 / 30), "287082");
        assert_eq!(totp_at(secret, 1_111_111_109 / 30), "081804");
        assert_eq!(totp_at(secret, 1_234_567_890 / 30), "005924");
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let secret = b"12345678901234567890";
        let now_ms = 1_234_567_890_000;
        let step = step_of(now_ms);
        for (d, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = OneTimeCode::parse(&totp_at(secret, step + d)).unwrap();
            assert_eq!(
                match_totp(secret, &code, now_ms, None).is_some(),
                ok,
                "drift {d}"
            );
        }
        let code = OneTimeCode::parse(&totp_at(secret, step)).unwrap();
        assert_eq!(
            match_totp(secret, &code, now_ms, Some(step)),
            None,
            "replay"
        );
    }

    #[test]
    fn the_uri_carries_the_key_and_issuer() {
        let uri = otpauth_uri(
            "My Health Connection",
            "dara.dummett",
            b"12345678901234567890",
        );
        assert_eq!(
            uri,
            "otpauth://totp/My%20Health%20Connection:dara.dummett?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20Health%20Connection&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(key_groups(b"12345678901234567890").split(' ').count(), 8);
        assert!(qr_svg(&uri).unwrap().starts_with("<svg role=\"img\""));
    }
}
