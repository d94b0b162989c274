//! The EHR feed: clinics push FHIR R4 to `POST /fhir/import` with a per-clinic API token
//! (created with `mhc token create`, shown once, stored as a SHA-256 hash). It runs the same
//! import as `mhc import`.

use crate::audit::{Entry, Outcome, RequestMeta};
use crate::crypto;
use crate::fhir::ImportSummary;
use crate::storage::entity::api_token;
use crate::{Error, Portal, Result, new_id};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// Tokens start with this, so a leaked one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "mhcfeed_";

/// A token as listed (never the secret itself).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// What a feed call sends.
pub enum FeedBody<'a> {
    Bundle(&'a serde_json::Value),
    Ndjson(&'a str),
}

impl Portal {
    /// A new token for `clinic_id`; the secret is returned once and only its hash is kept.
    pub async fn create_api_token(&self, clinic_id: &str, name: &str) -> Result<(String, String)> {
        let name = domain::tidy(name);
        if name.is_empty() || name.chars().count() > 80 {
            return Err(Error::Invalid(
                "Name the token (1 to 80 characters), for example \"EHR nightly feed\".".into(),
            ));
        }
        let secret = format!("{TOKEN_PREFIX}{}", crypto::random_token(32));
        let id = new_id();
        api_token::ActiveModel {
            id: Set(id.clone()),
            clinic_id: Set(clinic_id.to_owned()),
            name: Set(name.clone()),
            token_hash: Set(crypto::sha256_hex(&[&secret])),
            created_at: Set(self.now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        self.record_audit(
            self.now(),
            &RequestMeta::default(),
            Entry::new("api_token.created", Outcome::Ok)
                .label("mhc command line")
                .object(id.clone())
                .detail(name),
        )
        .await?;
        Ok((id, secret))
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<TokenInfo>> {
        Ok(api_token::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                name: t.name,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked: t.revoked_at.is_some(),
            })
            .collect())
    }

    /// Revokes a token at once: the next call with it is refused.
    pub async fn revoke_api_token(&self, id: &str) -> Result<()> {
        let r = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(self.now()))
            .filter(api_token::Column::Id.eq(id))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::NotFound);
        }
        self.record_audit(
            self.now(),
            &RequestMeta::default(),
            Entry::new("api_token.revoked", Outcome::Ok)
                .label("mhc command line")
                .object(id.to_owned()),
        )
        .await
    }

    /// The clinic a live token belongs to, with the token's id and name.
    async fn token_clinic(&self, secret: &str) -> Result<api_token::Model> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
            return Err(Error::Unauthenticated);
        }
        api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(crypto::sha256_hex(&[secret])))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Checks a feed call's token before its body is read; refusals are audited.
    pub async fn feed_token(&self, secret: &str, meta: &RequestMeta) -> Result<api_token::Model> {
        match self.token_clinic(secret).await {
            Ok(t) => Ok(t),
            Err(e) => {
                self.record_audit(
                    self.now(),
                    meta,
                    Entry::new("import.feed", Outcome::Denied).detail("unknown or revoked token"),
                )
                .await?;
                Err(e)
            }
        }
    }

    /// One feed call: checks the token, imports (whole or not at all), audits the outcome.
    pub async fn feed_import(
        &self,
        secret: &str,
        body: FeedBody<'_>,
        meta: &RequestMeta,
    ) -> Result<ImportSummary> {
        let token = self.feed_token(secret, meta).await?;
        self.feed_import_as(&token, body, meta).await
    }

    /// The import of a call whose token [`Portal::feed_token`] accepted.
    pub async fn feed_import_as(
        &self,
        token: &api_token::Model,
        body: FeedBody<'_>,
        meta: &RequestMeta,
    ) -> Result<ImportSummary> {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(self.now()))
            .filter(api_token::Column::Id.eq(token.id.clone()))
            .exec(&self.db)
            .await?;
        let summary = match body {
            FeedBody::Bundle(b) => self.import_bundle_report(&token.clinic_id, "", b).await?,
            FeedBody::Ndjson(text) => {
                self.import_ndjson(&token.clinic_id, &[("body".to_owned(), text.to_owned())])
                    .await?
            }
        };
        let outcome = if summary.errors.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        self.record_audit(
            self.now(),
            meta,
            Entry::new("import.feed", outcome)
                .label(format!("API token {}", token.name))
                .object(token.id.clone())
                .detail(format!(
                    "{} created or updated, {} unchanged, {} refused",
                    summary.total(),
                    summary.unchanged.values().sum::<u32>(),
                    summary.errors.len()
                )),
        )
        .await?;
        Ok(summary)
    }
}
