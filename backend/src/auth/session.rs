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
        authenticated_at: Set(Some(now)),
        acting_grant_id: Set(None),
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
    let last_seen = portal.seen.latest(&s.id, s.last_seen_at);
    let reason = if now >= s.expires_at {
        Some("expired")
    } else if now - last_seen >= idle {
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
    // The exact time goes to memory; the database gets it at most once per touch interval, so
    // that reads do not queue behind writes. Another instance sees the stored time: at most a
    // touch interval old, so a session it judges ends early rather than late.
    portal.seen.note(&s.id, now, idle);
    if now - s.last_seen_at >= touch_every(portal.settings.idle_timeout).as_millis() as i64 {
        user_session::Entity::update_many()
            .col_expr(user_session::Column::LastSeenAt, Expr::value(now))
            .filter(user_session::Column::Id.eq(s.id.clone()))
            .exec(db)
            .await?;
    }
    Ok((s, u))
}

/// The latest request of each session this instance has served, to the millisecond.
#[derive(Default)]
pub struct SeenSessions {
    inner: std::sync::Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    at: std::collections::HashMap<String, i64>,
    /// Sessions idle past the timeout are dropped when the map grows to this size.
    prune_at: usize,
}

impl SeenSessions {
    /// The later of the stored time and the one noted here.
    fn latest(&self, session_id: &str, stored: i64) -> i64 {
        let noted = self
            .inner
            .lock()
            .ok()
            .and_then(|m| m.at.get(session_id).copied());
        noted.map_or(stored, |t| t.max(stored))
    }

    fn note(&self, session_id: &str, now: i64, idle_ms: i64) {
        let Ok(mut m) = self.inner.lock() else { return };
        m.at.insert(session_id.to_owned(), now);
        if m.at.len() >= m.prune_at {
            m.at.retain(|_, t| now - *t < idle_ms);
            m.prune_at = (m.at.len() * 2).max(1024);
        }
    }
}

/// How stale a session's `last_seen_at` may get before a request records it again: a
/// minute, or a quarter of a short idle timeout.
pub fn touch_every(idle: std::time::Duration) -> std::time::Duration {
    (idle / 4).min(std::time::Duration::from_secs(60))
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

/// A short, readable device description from a user agent: "Firefox on Windows".
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Unknown device".into();
    };
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.contains("mhc command line") {
        return "Command line".into();
    } else {
        "A browser"
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        "an unknown system"
    };
    format!("{browser} on {os}")
}

/// "25 November 2026, 14:05 UTC"
pub fn format_instant(ms: i64) -> String {
    let t = crate::clock::to_datetime(ms);
    format!(
        "{}, {:02}:{:02} UTC",
        domain::person::format_long_date(t.date()),
        t.hour(),
        t.minute()
    )
}

impl Portal {
    /// Ends the session the caller arrived with, when a sign-in gives the browser a new one.
    pub async fn end_replaced_session(&self, p: &crate::Principal) -> Result<()> {
        if let Some(old) = p.session_id() {
            end(&self.db, old, "replaced", self.now()).await?;
        }
        Ok(())
    }

    /// The caller's live sessions, newest activity first.
    pub async fn list_sessions(
        &self,
        p: &crate::Principal,
    ) -> Result<Vec<domain::session::SessionInfo>> {
        let (Some(uid), Some(current)) = (p.user_id(), p.session_id()) else {
            return Err(Error::Unauthenticated);
        };
        let now = self.now();
        let idle = self.settings.idle_timeout.as_millis() as i64;
        let rows = user_session::Entity::find()
            .filter(user_session::Column::UserId.eq(uid))
            .filter(user_session::Column::EndedAt.is_null())
            .filter(user_session::Column::ExpiresAt.gt(now))
            .filter(user_session::Column::LastSeenAt.gt(now - idle))
            .all(&self.db)
            .await?;
        let mut out: Vec<_> = rows
            .into_iter()
            .map(|s| domain::session::SessionInfo {
                current: s.id == current,
                device: describe_device(s.user_agent.as_deref()),
                ip: s.ip,
                started: format_instant(s.created_at),
                last_active: format_instant(s.last_seen_at),
                id: s.id,
            })
            .collect();
        out.sort_by_key(|s| !s.current);
        Ok(out)
    }

    /// Ends one of the caller's own sessions; anyone else's is "not found".
    pub async fn end_own_session(
        &self,
        p: &crate::Principal,
        session_id: &str,
        meta: &crate::RequestMeta,
    ) -> Result<()> {
        let uid = p.user_id().ok_or(Error::Unauthenticated)?;
        let now = self.now();
        let r = user_session::Entity::update_many()
            .col_expr(user_session::Column::EndedAt, Expr::value(now))
            .col_expr(
                user_session::Column::EndReason,
                Expr::value("ended by the user"),
            )
            .filter(user_session::Column::Id.eq(session_id))
            .filter(user_session::Column::UserId.eq(uid))
            .filter(user_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await?;
        if r.rows_affected != 1 {
            return Err(Error::NotFound);
        }
        self.record_audit(
            now,
            meta,
            crate::audit::Entry::new("session.ended", crate::audit::Outcome::Ok)
                .actor(uid)
                .maybe_patient(p.patient_id())
                .object(session_id),
        )
        .await
    }

    /// "Sign out everywhere else": ends every session of the caller but this one.
    pub async fn end_other_sessions(
        &self,
        p: &crate::Principal,
        meta: &crate::RequestMeta,
    ) -> Result<u64> {
        let (Some(uid), Some(current)) = (p.user_id(), p.session_id()) else {
            return Err(Error::Unauthenticated);
        };
        let now = self.now();
        let r = user_session::Entity::update_many()
            .col_expr(user_session::Column::EndedAt, Expr::value(now))
            .col_expr(
                user_session::Column::EndReason,
                Expr::value("signed out everywhere"),
            )
            .filter(user_session::Column::UserId.eq(uid))
            .filter(user_session::Column::Id.ne(current))
            .filter(user_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await?;
        self.record_audit(
            now,
            meta,
            crate::audit::Entry::new("session.ended_others", crate::audit::Outcome::Ok)
                .actor(uid)
                .maybe_patient(p.patient_id())
                .detail(format!("{} sessions", r.rows_affected)),
        )
        .await?;
        Ok(r.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::describe_device;

    #[test]
    fn devices_are_described_in_words() {
        let chrome_android = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(describe_device(Some(chrome_android)), "Chrome on Android");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_device(Some(safari)), "Safari on iOS");
        assert_eq!(describe_device(None), "Unknown device");
    }
}
