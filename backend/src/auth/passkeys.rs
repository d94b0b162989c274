//! Passkeys (WebAuthn, with webauthn-rs): add, list, rename, remove; use one as the second
//! step after the password, or alone ("Sign in with a passkey", discoverable credentials).
//! Ceremony state lives in `auth_ticket` rows (single-use, 5 minutes), never in memory, so
//! it works across instances.

use super::factors::{self, KIND_PASSKEY, T_SIGNIN};
use super::signin::SignedIn;
use super::throttle;
use crate::audit::{Entry, Outcome, RequestMeta};
use crate::storage::entity::{auth_factor, auth_ticket, user_account};
use crate::{Error, Portal, Result, new_id};
use base64::Engine;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder,
};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

pub const T_PASSKEY_REGISTER: &str = "passkey-register";
pub const T_PASSKEY_LOGIN: &str = "passkey-login";
/// Ceremonies expire within 5 minutes (SECURITY 8).
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn refused() -> Error {
    Error::Invalid("The passkey was not accepted. Try again, or use another way to sign in.".into())
}

/// A passkey name as the person typed it: 1–60 characters, no control characters.
pub fn passkey_name(raw: &str) -> Result<String> {
    let name = domain::tidy(raw);
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "Give the passkey a name of up to 60 characters, like \"Pixel 8\" or \"YubiKey\"."
                .into(),
        ));
    }
    Ok(name)
}

impl Portal {
    fn webauthn(&self) -> Result<Webauthn> {
        let origin = Url::parse(&self.settings.public_url)
            .map_err(|e| Error::Unexpected(format!("public URL: {e}")))?;
        WebauthnBuilder::new(&self.settings.webauthn_rp_id, &origin)
            .and_then(|b| b.rp_name(&self.settings.portal_name).build())
            .map_err(|e| Error::Unexpected(format!("WebAuthn configuration: {e}")))
    }

    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<(auth_factor::Model, Passkey)>> {
        let rows = auth_factor::Entity::find()
            .filter(auth_factor::Column::UserId.eq(user_id))
            .filter(auth_factor::Column::Kind.eq(KIND_PASSKEY))
            .filter(auth_factor::Column::ConfirmedAt.is_not_null())
            .order_by_asc(auth_factor::Column::CreatedAt)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                let pk: Passkey = serde_json::from_str(r.credential.as_deref().unwrap_or(""))
                    .map_err(|e| Error::Unexpected(format!("stored passkey: {e}")))?;
                Ok((r, pk))
            })
            .collect()
    }

    /// Starts adding a passkey: the options for `navigator.credentials.create`, as JSON.
    pub async fn passkey_register_begin(&self, user: &user_account::Model) -> Result<String> {
        let wa = self.webauthn()?;
        let uid = Uuid::parse_str(&user.id)
            .map_err(|_| Error::Unexpected("account id is not a UUID".into()))?;
        let exclude = self
            .passkeys_of(&user.id)
            .await?
            .into_iter()
            .map(|(_, pk)| pk.cred_id().clone())
            .collect::<Vec<_>>();
        let display = format!("{} {}", user.given_name, user.family_name);
        let (ccr, state): (CreationChallengeResponse, PasskeyRegistration) = wa
            .start_passkey_registration(uid, &user.username, &display, Some(exclude))
            .map_err(|e| Error::Unexpected(format!("start passkey registration: {e}")))?;
        let now = self.now();
        factors::cancel_tickets(&self.db, &user.id, T_PASSKEY_REGISTER, now).await?;
        factors::issue_ticket(
            &self.db,
            Some(&user.id),
            T_PASSKEY_REGISTER,
            now,
            CEREMONY_TTL_MS,
            Some(serde_json::to_string(&state).map_err(|e| Error::Unexpected(e.to_string()))?),
        )
        .await?;
        // Ask for a discoverable credential where the authenticator can keep one, so the same
        // passkey also works for "Sign in with a passkey" (no username typed).
        let mut options =
            serde_json::to_value(&ccr).map_err(|e| Error::Unexpected(e.to_string()))?;
        if let Some(sel) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(|v| v.as_object_mut())
        {
            sel.insert("residentKey".into(), "preferred".into());
        }
        Ok(options.to_string())
    }

    /// Finishes adding a passkey with the browser's answer. Returns backup codes when it is
    /// the first factor.
    pub async fn passkey_register_finish(
        &self,
        user: &user_account::Model,
        name: &str,
        response_json: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        let name = passkey_name(name)?;
        let response: RegisterPublicKeyCredential =
            serde_json::from_str(response_json).map_err(|_| refused())?;
        let now = self.now();
        let t = auth_ticket::Entity::find()
            .filter(auth_ticket::Column::UserId.eq(user.id.clone()))
            .filter(auth_ticket::Column::Purpose.eq(T_PASSKEY_REGISTER))
            .filter(auth_ticket::Column::UsedAt.is_null())
            .filter(auth_ticket::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                Error::Invalid("Adding the passkey took too long. Start again.".into())
            })?;
        // The challenge is single-use: whoever consumes the ticket first is the only one.
        if !factors::consume_ticket(&self.db, &t.id, now).await? {
            return Err(refused());
        }
        let state: PasskeyRegistration =
            serde_json::from_str(t.payload.as_deref().unwrap_or(""))
                .map_err(|e| Error::Unexpected(format!("registration state: {e}")))?;
        let pk = self
            .webauthn()?
            .finish_passkey_registration(&response, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "a passkey registration was refused");
                refused()
            })?;
        let cred_id = b64(pk.cred_id().as_ref());
        let taken = auth_factor::Entity::find()
            .filter(auth_factor::Column::CredentialId.eq(cred_id.clone()))
            .one(&self.db)
            .await?
            .is_some();
        if taken {
            return Err(Error::Invalid("That passkey is already added.".into()));
        }
        let id = new_id();
        auth_factor::ActiveModel {
            id: Set(id.clone()),
            user_id: Set(user.id.clone()),
            kind: Set(KIND_PASSKEY.into()),
            label: Set(name.clone()),
            secret_enc: Set(None),
            last_step: Set(None),
            credential_id: Set(Some(cred_id)),
            credential: Set(Some(
                serde_json::to_string(&pk).map_err(|e| Error::Unexpected(e.to_string()))?,
            )),
            created_at: Set(now),
            confirmed_at: Set(None),
            last_used_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        self.confirm_factor(user, &id, None, &format!("passkey \"{name}\""), meta)
            .await
    }

    /// Renames one of the person's own passkeys; anyone else's is "not found".
    pub async fn rename_passkey(
        &self,
        user: &user_account::Model,
        factor_id: &str,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let name = passkey_name(name)?;
        let r = auth_factor::Entity::update_many()
            .col_expr(auth_factor::Column::Label, Expr::value(name.clone()))
            .filter(auth_factor::Column::Id.eq(factor_id))
            .filter(auth_factor::Column::UserId.eq(user.id.clone()))
            .filter(auth_factor::Column::Kind.eq(KIND_PASSKEY))
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::NotFound);
        }
        self.record_audit(
            self.now(),
            meta,
            Entry::new("factor.renamed", Outcome::Ok)
                .by_account(user)
                .object(factor_id)
                .detail(name),
        )
        .await
    }

    /// After a passkey answered: its signature counter and last use move on. A counter that
    /// went backwards means a cloned authenticator: refused.
    async fn passkey_used(
        &self,
        row: &auth_factor::Model,
        mut pk: Passkey,
        result: &webauthn_rs::prelude::AuthenticationResult,
    ) -> Result<()> {
        if result.needs_update() {
            pk.update_credential(result);
        }
        let r = auth_factor::Entity::update_many()
            .col_expr(
                auth_factor::Column::Credential,
                Expr::value(
                    serde_json::to_string(&pk).map_err(|e| Error::Unexpected(e.to_string()))?,
                ),
            )
            .col_expr(auth_factor::Column::LastUsedAt, Expr::value(self.now()))
            .filter(auth_factor::Column::Id.eq(row.id.clone()))
            // Only over the credential this check read: of two parallel answers from a
            // cloned authenticator, one loses.
            .filter(auth_factor::Column::Credential.eq(row.credential.clone()))
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Err(refused());
        }
        Ok(())
    }

    /// Takes the ceremony state out of a ticket, once: a replayed answer finds none, and a
    /// challenge older than 5 minutes is refused even if its ticket lives longer.
    async fn take_state(&self, t: &auth_ticket::Model) -> Result<String> {
        let Some(state) = t.payload.clone() else {
            return Err(refused());
        };
        let (issued, inner) = state.split_once('|').ok_or_else(refused)?;
        let issued: i64 = issued.parse().map_err(|_| refused())?;
        if self.now() - issued > CEREMONY_TTL_MS {
            return Err(Error::Invalid(
                "The passkey request took too long. Try again.".into(),
            ));
        }
        let inner = inner.to_owned();
        let r = auth_ticket::Entity::update_many()
            .col_expr(
                auth_ticket::Column::Payload,
                Expr::value(Option::<String>::None),
            )
            .filter(auth_ticket::Column::Id.eq(t.id.clone()))
            .filter(auth_ticket::Column::Payload.eq(state.clone()))
            .filter(auth_ticket::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Err(refused());
        }
        Ok(inner)
    }

    /// The second step with a passkey: the options for `navigator.credentials.get`.
    pub async fn sign_in_passkey_begin(&self, ticket: &str) -> Result<String> {
        let (t, user) = self.pending_sign_in(ticket, T_SIGNIN).await?;
        let keys: Vec<Passkey> = self
            .passkeys_of(&user.id)
            .await?
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        if keys.is_empty() {
            return Err(Error::Invalid(
                "No passkey is set up for this account.".into(),
            ));
        }
        let (rcr, state): (RequestChallengeResponse, PasskeyAuthentication) = self
            .webauthn()?
            .start_passkey_authentication(&keys)
            .map_err(|e| Error::Unexpected(format!("start passkey authentication: {e}")))?;
        let state = serde_json::to_string(&state).map_err(|e| Error::Unexpected(e.to_string()))?;
        auth_ticket::Entity::update_many()
            .col_expr(
                auth_ticket::Column::Payload,
                Expr::value(format!("{}|{state}", self.now())),
            )
            .filter(auth_ticket::Column::Id.eq(t.id))
            .exec(&self.db)
            .await?;
        serde_json::to_string(&rcr).map_err(|e| Error::Unexpected(e.to_string()))
    }

    /// Finishes the second step with the browser's passkey answer.
    pub async fn sign_in_passkey_finish(
        &self,
        ticket: &str,
        response_json: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn> {
        let (t, user) = self.pending_sign_in(ticket, T_SIGNIN).await?;
        let response: PublicKeyCredential =
            serde_json::from_str(response_json).map_err(|_| refused())?;
        if !factors::reserve_ticket_try(&self.db, &t.id, self.settings.second_factor_tries as i32)
            .await?
        {
            return Err(Error::Invalid(
                "Too many tries. Start again from the sign-in page.".into(),
            ));
        }
        let state: PasskeyAuthentication = serde_json::from_str(&self.take_state(&t).await?)
            .map_err(|e| Error::Unexpected(format!("authentication state: {e}")))?;
        let result = match self
            .webauthn()?
            .finish_passkey_authentication(&response, &state)
        {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(error = %e, "a passkey assertion was refused");
                // An answer to another tab's challenge is a mix-up, not a guess.
                if !matches!(e, WebauthnError::MismatchedChallenge) {
                    self.passkey_refused(&user, meta).await?;
                }
                return Err(refused());
            }
        };
        let keys = self.passkeys_of(&user.id).await?;
        let (row, pk) = keys
            .into_iter()
            .find(|(_, k)| k.cred_id() == result.cred_id())
            .ok_or_else(refused)?;
        self.passkey_used(&row, pk, &result).await?;
        if !factors::consume_ticket(&self.db, &t.id, self.now()).await? {
            return Err(refused());
        }
        self.finish_sign_in(&user, meta, "passkey").await
    }

    async fn passkey_refused(&self, user: &user_account::Model, meta: &RequestMeta) -> Result<()> {
        let now = self.now();
        let locked = factors::count_account_failure(
            &self.db,
            &user.id,
            self.settings.lockout_threshold,
            now,
        )
        .await?;
        self.record_audit(
            now,
            meta,
            Entry::new("second_factor.failed", Outcome::Failed)
                .by_account(user)
                .detail(if locked { "passkey; locked" } else { "passkey" }),
        )
        .await
    }

    /// "Sign in with a passkey" (no password): options for a discoverable credential, and
    /// the ticket that carries the ceremony (a cookie).
    pub async fn passkey_login_begin(&self, meta: &RequestMeta) -> Result<(String, String)> {
        let now = self.now();
        if let Some(b) = meta.ip.as_deref().map(throttle::ip_bucket) {
            let bucket = format!("passkey:{b}");
            throttle::check_window(
                &self.db,
                &bucket,
                now,
                self.settings.ip_window.as_millis() as i64,
                self.settings.ip_failure_limit * 2,
            )
            .await?;
            throttle::record_failure(&self.db, &bucket, now, None).await?;
        }
        // Spent and expired ceremonies are not kept.
        auth_ticket::Entity::delete_many()
            .filter(auth_ticket::Column::Purpose.eq(T_PASSKEY_LOGIN))
            .filter(auth_ticket::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?;
        let (rcr, state): (RequestChallengeResponse, DiscoverableAuthentication) = self
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(|e| Error::Unexpected(format!("start discoverable authentication: {e}")))?;
        let t = factors::issue_ticket(
            &self.db,
            None,
            T_PASSKEY_LOGIN,
            self.now(),
            CEREMONY_TTL_MS,
            Some(serde_json::to_string(&state).map_err(|e| Error::Unexpected(e.to_string()))?),
        )
        .await?;
        Ok((
            t.token,
            serde_json::to_string(&rcr).map_err(|e| Error::Unexpected(e.to_string()))?,
        ))
    }

    /// Finishes a passwordless sign-in: the passkey (with user verification) is both factors.
    pub async fn passkey_login_finish(
        &self,
        ticket: &str,
        response_json: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn> {
        let now = self.now();
        let t = factors::live_ticket(&self.db, ticket, T_PASSKEY_LOGIN, now)
            .await?
            .ok_or_else(|| {
                Error::Invalid("Signing in with the passkey took too long. Try again.".into())
            })?;
        if !factors::consume_ticket(&self.db, &t.id, now).await? {
            return Err(refused());
        }
        let response: PublicKeyCredential =
            serde_json::from_str(response_json).map_err(|_| refused())?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(t.payload.as_deref().unwrap_or(""))
                .map_err(|e| Error::Unexpected(format!("authentication state: {e}")))?;
        let wa = self.webauthn()?;
        let ip_bucket = meta
            .ip
            .as_deref()
            .map(|ip| format!("passkey-fail:{}", throttle::ip_bucket(ip)));
        if let Some(b) = &ip_bucket {
            throttle::check_window(
                &self.db,
                b,
                now,
                self.settings.ip_window.as_millis() as i64,
                self.settings.ip_failure_limit,
            )
            .await?;
        }
        // A refused answer is audited and counted against the caller's address; it does not
        // lock the account, since nothing proved who sent it.
        let refuse = |user: Option<&user_account::Model>, why: &'static str| {
            let mut e = Entry::new("signin.failed", Outcome::Failed).detail(why);
            e = match user {
                Some(u) => e.actor(u.id.clone()).maybe_patient(u.patient_id.clone()),
                None => e.label("unknown passkey"),
            };
            e
        };
        let fail = |entry: Entry| async {
            if let Some(b) = &ip_bucket {
                throttle::record_failure(&self.db, b, now, None).await?;
            }
            self.record_audit(now, meta, entry).await?;
            Err::<SignedIn, Error>(refused())
        };
        let Ok((uid, cred_id)) = wa.identify_discoverable_authentication(&response) else {
            return fail(refuse(None, "passkey answer not readable")).await;
        };
        let row = auth_factor::Entity::find()
            .filter(auth_factor::Column::CredentialId.eq(b64(cred_id)))
            .filter(auth_factor::Column::Kind.eq(KIND_PASSKEY))
            .filter(
                Condition::all()
                    .add(auth_factor::Column::UserId.eq(uid.to_string()))
                    .add(auth_factor::Column::ConfirmedAt.is_not_null()),
            )
            .one(&self.db)
            .await?;
        let Some(row) = row else {
            return fail(refuse(None, "unknown passkey")).await;
        };
        let pk: Passkey = serde_json::from_str(row.credential.as_deref().unwrap_or(""))
            .map_err(|e| Error::Unexpected(format!("stored passkey: {e}")))?;
        let user = user_account::Entity::find_by_id(row.user_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(refused)?;
        let result = match wa.finish_discoverable_authentication(
            &response,
            state,
            &[DiscoverableKey::from(pk.clone())],
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(error = %e, "a passkey sign-in was refused");
                return fail(refuse(Some(&user), "passkey refused")).await;
            }
        };
        if user.locked_at.is_some() {
            self.record_audit(now, meta, refuse(Some(&user), "account locked"))
                .await?;
            return Err(Error::Locked);
        }
        if user.suspended_at.is_some() {
            self.record_audit(now, meta, refuse(Some(&user), "account suspended"))
                .await?;
            return Err(Error::Invalid(
                "This account is suspended. Contact your clinic to restore access.".into(),
            ));
        }
        self.passkey_used(&row, pk, &result).await?;
        self.finish_sign_in(&user, meta, "passkey (passwordless)")
            .await
    }
}
