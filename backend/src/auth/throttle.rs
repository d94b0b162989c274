//! Database-backed failure counters ("buckets"): escalating waits, locks and windowed limits.
//! Kept in the database so several server instances share them.

use crate::storage::entity::throttle::{self, ActiveModel, Column, Entity};
use crate::{Error, Result, Settings};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub fn login_bucket(login: &str) -> String {
    format!("login:{}", crate::crypto::sha256_hex(&[login]))
}
/// The bucket of a client address. IPv6 addresses count per /64, since one subscriber
/// usually holds a whole /64 and could otherwise rotate through it.
pub fn ip_bucket(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => format!(
            "ip:{}",
            v6.to_ipv4_mapped()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)
        ),
        _ => format!("ip:{ip}"),
    }
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

/// Counts an attempt before it is checked, so that parallel attempts cannot all slip past the
/// limits: refuses when the bucket is locked or waiting, and otherwise moves the count from
/// n to n+1 only if no other request did so meanwhile (that one gets a 1-second wait).
/// Returns the count including this attempt.
pub async fn reserve_attempt(
    db: &impl ConnectionTrait,
    s: &Settings,
    bucket: &str,
    now: i64,
) -> Result<u32> {
    let raced = || Error::Throttled {
        retry_after_secs: 1,
    };
    let Some(row) = get(db, bucket).await? else {
        let inserted = Entity::insert(ActiveModel {
            bucket: Set(bucket.to_owned()),
            failures: Set(1),
            window_start: Set(now),
            last_failure_at: Set(now),
            locked_at: Set(None),
        })
        .on_conflict(OnConflict::column(Column::Bucket).do_nothing().to_owned())
        .exec_without_returning(db)
        .await;
        return match inserted {
            Ok(1) => Ok(1),
            Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => Err(raced()),
            Err(e) => Err(e.into()),
        };
    };
    if row.locked_at.is_some() {
        return Err(Error::Locked);
    }
    let ready_at = row.last_failure_at + backoff_ms(s, row.failures as u32);
    if now < ready_at {
        return Err(Error::Throttled {
            retry_after_secs: ((ready_at - now) as u64).div_ceil(1000),
        });
    }
    let moved = Entity::update_many()
        .col_expr(Column::Failures, Expr::value(row.failures + 1))
        .filter(Column::Bucket.eq(bucket))
        .filter(Column::Failures.eq(row.failures))
        .filter(Column::LockedAt.is_null())
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Err(raced());
    }
    Ok(row.failures as u32 + 1)
}

/// A reserved attempt failed: its time starts the next wait, and it locks at `lock_at`.
pub async fn settle_failure(
    db: &impl ConnectionTrait,
    bucket: &str,
    now: i64,
    count: u32,
    lock_at: u32,
) -> Result<bool> {
    let locked = count >= lock_at;
    let mut upd = Entity::update_many().col_expr(Column::LastFailureAt, Expr::value(now));
    if locked {
        upd = upd.col_expr(Column::LockedAt, Expr::value(now));
    }
    upd.filter(Column::Bucket.eq(bucket)).exec(db).await?;
    Ok(locked)
}

/// A reserved attempt did not test a password after all (busy server, correct password
/// refused for another reason): it does not count.
pub async fn release(db: &impl ConnectionTrait, bucket: &str, count: u32) -> Result<()> {
    Entity::update_many()
        .col_expr(
            Column::Failures,
            Expr::value(count.saturating_sub(1) as i32),
        )
        .filter(Column::Bucket.eq(bucket))
        .filter(Column::Failures.eq(count as i32))
        .filter(Column::LockedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
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
