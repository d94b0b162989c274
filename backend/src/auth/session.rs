//! Server-side sessions: opaque random tokens in a cookie, stored hashed, with idle and
//! absolute timeouts.

use crate::storage::entity::{user_account, user_session};
use crate::{Error, Portal, Result, crypto, new_id};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

/// The cookie name. `__Host-` binds it to this exact origin, path `/`, and Secure.
pub const COOKIE: &str = "__Host-mhc_session";

pub struct NewSession {
    pub token: String,
    pub id: String,
}

/// Starts a session for `user_id`; the token goes to the browser, only its hash is stored.
pub async fn create(
    db: &impl ConnectionTrait,
    portal: &Portal,
    user_id: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<NewSession> {
    let now = portal.now();
    let token = crypto::random_token(32);
    let id = new_id();
    user_session::ActiveModel {
        id: Set(id.clone()),
        token_hash: Set(crypto::sha256_hex(&[&token])),
        user_id: Set(user_id.to_owned()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + portal.settings.absolute_timeout.as_millis() as i64),
        ended_at: Set(None),
        end_reason: Set(None),
        ip: Set(ip.map(|s| s.chars().take(64).collect())),
        user_agent: Set(user_agent.map(|s| s.chars().take(256).collect())),
    }
    .insert(db)
    .await?;
    Ok(NewSession { token, id })
}

/// Finds the live session for a cookie token and marks it seen. Ends it (and answers
/// `Unauthenticated`) when it has been idle or open too long.
pub async fn resolve(
    portal: &Portal,
    token: &str,
) -> Result<(user_session::Model, user_account::Model)> {
    if token.is_empty() || token.len() > 100 {
        return Err(Error::Unauthenticated);
    }
    let now = portal.now();
    let db = &portal.db;
    let hash = crypto::sha256_hex(&[token]);
    let Some(s) = user_session::Entity::find()
        .filter(user_session::Column::TokenHash.eq(hash))
        .one(db)
        .await?
    else {
        return Err(Error::Unauthenticated);
    };
    let Some(u) = user_account::Entity::find_by_id(s.user_id.clone())
        .one(db)
        .await?
    else {
        return Err(Error::Unauthenticated);
    };
    if s.ended_at.is_some() {
        return Err(Error::Unauthenticated);
    }
    let idle = portal.settings.idle_timeout.as_millis() as i64;
    let reason = if now >= s.expires_at {
        Some("expired")
    } else if now - s.last_seen_at >= idle {
        Some("idle")
    } else if u.suspended_at.is_some() {
        Some("suspended")
    } else {
        None
    };
    if let Some(reason) = reason {
        end(db, &s.id, reason, now).await?;
        return Err(Error::Unauthenticated);
    }
    user_session::Entity::update_many()
        .col_expr(user_session::Column::LastSeenAt, Expr::value(now))
        .filter(user_session::Column::Id.eq(s.id.clone()))
        .exec(db)
        .await?;
    Ok((s, u))
}

pub async fn end(
    db: &impl ConnectionTrait,
    session_id: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    user_session::Entity::update_many()
        .col_expr(user_session::Column::EndedAt, Expr::value(now))
        .col_expr(user_session::Column::EndReason, Expr::value(reason))
        .filter(user_session::Column::Id.eq(session_id))
        .filter(user_session::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every live session of a user (suspension, password reset, "sign out everywhere").
pub async fn end_all(
    db: &impl ConnectionTrait,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<u64> {
    let r = user_session::Entity::update_many()
        .col_expr(user_session::Column::EndedAt, Expr::value(now))
        .col_expr(user_session::Column::EndReason, Expr::value(reason))
        .filter(user_session::Column::UserId.eq(user_id))
        .filter(user_session::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}
