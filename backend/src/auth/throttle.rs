//! Database-backed failure counters ("buckets"): escalating waits, locks and windowed limits.
//! Kept in the database so several server instances share them.

use crate::storage::entity::throttle::{self, ActiveModel, Column, Entity};
use crate::{Error, Result, Settings};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub fn login_bucket(login: &str) -> String {
    format!("login:{}", crate::crypto::sha256_hex(&[login]))
}
pub fn ip_bucket(ip: &str) -> String {
    format!("ip:{ip}")
}

async fn get(db: &impl ConnectionTrait, bucket: &str) -> Result<Option<throttle::Model>> {
    Ok(Entity::find_by_id(bucket.to_owned()).one(db).await?)
}

/// Refuses when `bucket` is locked, or when its escalating wait has not passed.
pub async fn check_backoff(
    db: &impl ConnectionTrait,
    s: &Settings,
    bucket: &str,
    now: i64,
) -> Result<()> {
    let Some(row) = get(db, bucket).await? else {
        return Ok(());
    };
    if row.locked_at.is_some() {
        return Err(Error::Locked);
    }
    let wait = backoff_ms(s, row.failures as u32);
    let ready_at = row.last_failure_at + wait;
    if now < ready_at {
        return Err(Error::Throttled {
            retry_after_secs: ((ready_at - now) as u64).div_ceil(1000),
        });
    }
    Ok(())
}

/// Wait after `failures` consecutive failures: none for the first few, then 1 s, 2 s, 4 s…
/// up to the maximum.
pub fn backoff_ms(s: &Settings, failures: u32) -> i64 {
    if failures < s.free_failures {
        return 0;
    }
    let exp = Ord::min(failures - s.free_failures, 20);
    Ord::min(1000i64 << exp, s.max_backoff.as_millis() as i64)
}

/// Counts one failure; locks the bucket when `lock_at` is reached. Returns the new count.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    bucket: &str,
    now: i64,
    lock_at: Option<u32>,
) -> Result<u32> {
    let row = ActiveModel {
        bucket: Set(bucket.to_owned()),
        failures: Set(1),
        window_start: Set(now),
        last_failure_at: Set(now),
        locked_at: Set(None),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Bucket)
                .value(
                    Column::Failures,
                    Expr::col((Entity, Column::Failures)).add(1),
                )
                .value(Column::LastFailureAt, now)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let row = get(db, bucket)
        .await?
        .ok_or_else(|| Error::Unexpected("throttle row vanished".into()))?;
    let failures = row.failures as u32;
    if let Some(limit) = lock_at
        && failures >= limit
        && row.locked_at.is_none()
    {
        Entity::update_many()
            .col_expr(Column::LockedAt, Expr::value(now))
            .filter(Column::Bucket.eq(bucket))
            .exec(db)
            .await?;
    }
    Ok(failures)
}

/// A fixed-window limit: refuses once `limit` failures fell in the current window.
pub async fn check_window(
    db: &impl ConnectionTrait,
    bucket: &str,
    now: i64,
    window_ms: i64,
    limit: u32,
) -> Result<()> {
    let Some(row) = get(db, bucket).await? else {
        return Ok(());
    };
    if now - row.window_start >= window_ms {
        clear(db, bucket).await?;
        return Ok(());
    }
    if row.failures as u32 >= limit {
        let retry = Ord::max(row.window_start + window_ms - now, 1000) as u64;
        return Err(Error::Throttled {
            retry_after_secs: retry.div_ceil(1000),
        });
    }
    Ok(())
}

pub async fn clear(db: &impl ConnectionTrait, bucket: &str) -> Result<()> {
    Entity::delete_by_id(bucket.to_owned()).exec(db).await?;
    Ok(())
}
