//! The database: connecting (SQLite embedded or PostgreSQL), migrations and entities.

#[cfg(not(feature = "test-support"))]
pub(crate) mod entity;
#[cfg(feature = "test-support")]
pub mod entity;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};
use sea_orm_migration::prelude::*;
use std::time::Duration;

/// Opens the database at `url` (`sqlite://…` or `postgres://…`). SQLite gets WAL, a busy
/// timeout, foreign keys and synchronous=FULL, so a write that was acknowledged survives a crash.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        // One connection for an in-memory database: each connection would see its own.
        opts.max_connections(if memory { 1 } else { 8 })
            .min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    } else {
        opts.max_connections(16).min_connections(1);
    }
    Database::connect(opts).await
}

/// Applies every pending migration, then chains any audit rows an earlier schema wrote.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    crate::audit::seal_unchained(db)
        .await
        .map_err(|e| DbErr::Custom(format!("chaining earlier audit rows: {e}")))?;
    crate::records::fill_report_positions(db)
        .await
        .map_err(|e| DbErr::Custom(format!("ordering earlier results: {e}")))?;
    Ok(())
}

/// Records in `portal_meta`, inside `txn`, that the one-time step `marker` has run; `false`
/// when it already had (the step is then skipped). Commits with the step's own work.
pub(crate) async fn first_time(txn: &impl ConnectionTrait, marker: &str) -> Result<bool, DbErr> {
    use entity::portal_meta;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
    if portal_meta::Entity::find_by_id(marker.to_owned())
        .one(txn)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    portal_meta::ActiveModel {
        name: Set(marker.into()),
        value: Set("1".into()),
    }
    .insert(txn)
    .await?;
    Ok(true)
}

/// Whether a write failed on a unique index: the database deciding a race (a slot booked
/// twice, a second open request).
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Whether the database answers (readiness).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(SqlMigration {
                name: "m0001_foundation",
                sql: include_str!("../../migrations/0001_foundation.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0002_second_factors",
                sql: include_str!("../../migrations/0002_second_factors.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0003_health_record",
                sql: include_str!("../../migrations/0003_health_record.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0004_care_team",
                sql: include_str!("../../migrations/0004_care_team.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0005_proxy_access",
                sql: include_str!("../../migrations/0005_proxy_access.sql"),
            }),
            Box::new(SplitMigration {
                name: "m0006_clinic_directory",
                sqlite: include_str!("../../migrations/0006_clinic_directory.sqlite.sql"),
                postgres: include_str!("../../migrations/0006_clinic_directory.postgres.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0007_holds_and_marks",
                sql: include_str!("../../migrations/0007_holds_and_marks.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0008_result_order",
                sql: include_str!("../../migrations/0008_result_order.sql"),
            }),
        ]
    }
}

/// A migration written as portable SQL, one statement per `;`.
struct SqlMigration {
    name: &'static str,
    sql: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for stmt in statements(self.sql) {
            db.execute_unprepared(&stmt).await?;
        }
        Ok(())
    }
}

/// A migration whose SQL differs between SQLite and PostgreSQL (a table rebuilt on SQLite
/// where PostgreSQL alters it). PostgreSQL's runs in the migrator's transaction; SQLite's gets
/// one of its own, so a rebuild is never left half done.
struct SplitMigration {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl MigrationName for SplitMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SplitMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Sqlite {
            let txn = manager.begin().await?;
            for stmt in statements(self.sqlite) {
                txn.get_connection().execute_unprepared(&stmt).await?;
            }
            txn.commit().await
        } else {
            for stmt in statements(self.postgres) {
                manager.get_connection().execute_unprepared(&stmt).await?;
            }
            Ok(())
        }
    }
}

fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
