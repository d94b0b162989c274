//! Shared set-up for the backend's integration tests.
//!
//! Every test gets its own empty, migrated database: in-memory SQLite by default, or a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set (for example
//! `postgres://postgres@127.0.0.1:5432/test`). A PostgreSQL test database is dropped again when
//! the last clone of the test's `Portal` goes away, even when the test fails.

use backend::auth::signin::{Blocked, SignedIn};
use backend::demo::{self, DemoSignIns};
use backend::storage::{self, entity::audit_event};
use backend::{Clock, Error, Portal, RequestMeta, Result, Settings, TestClock};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where every test's clock starts: 2026-11-25 12:00 UTC (after the fixtures' visits).
pub fn start_ms() -> i64 {
    time::macros::datetime!(2026-11-25 12:00 UTC).unix_timestamp() * 1000
}

pub const DARA_MRN: &str = "BC909B9D";
pub const EMET_MRN: &str = "61146B0D";
pub const CHILD_MRN: &str = "BFC34F76";
pub const EMET_DOB: &str = "1964-06-13";
pub const EMET_USERNAME: &str = "emet.s";
pub const EMET_EMAIL: &str = "emet@example.org";
/// A password that passes every new-password rule for Emet.
pub const EMET_PASSWORD: &str = "Quiet-Otter-Meadow-1964x";

pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// A portal on a fresh database with the test settings.
pub async fn portal() -> (Portal, Arc<TestClock>) {
    portal_with(Settings::for_tests()).await
}

/// A portal on a SQLite file (WAL, a pool of 8 connections) in a temporary folder, whatever
/// `TEST_DATABASE_URL` says: for tests of concurrent writers on the embedded database.
pub async fn sqlite_file_portal() -> (Portal, Arc<TestClock>, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let url = format!("sqlite://{}?mode=rwc", dir.path.join("portal.db").display());
    let db = storage::connect(&url).await.expect("open a SQLite file");
    storage::migrate(&db).await.expect("migrate SQLite");
    let clock = Arc::new(TestClock::at(start_ms()));
    let shared: Arc<dyn Clock> = clock.clone();
    let mailer = Arc::new(backend::notify::OutboxMailer::new(
        db.clone(),
        shared.clone(),
    ));
    (
        Portal::new(db, shared, Settings::for_tests(), mailer),
        clock,
        dir,
    )
}

/// A temporary folder, removed when dropped.
pub mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("mhc-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&path).expect("create a temporary folder");
            Self { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A portal on a fresh database with the given settings.
pub async fn portal_with(settings: Settings) -> (Portal, Arc<TestClock>) {
    let clock = Arc::new(TestClock::at(start_ms()));
    let (db, database) = fresh_database().await;
    // The portal's clock carries the database's guard, so the database lives exactly as long
    // as the portal (and its clones, and the mailer) do.
    let shared: Arc<dyn Clock> = Arc::new(GuardedClock {
        clock: clock.clone(),
        _database: database,
    });
    let mailer = Arc::new(backend::notify::OutboxMailer::new(
        db.clone(),
        shared.clone(),
    ));
    (Portal::new(db, shared, settings, mailer), clock)
}

/// The same database, clock and mailer with other settings (a policy change between starts).
pub fn with_settings(portal: &Portal, settings: Settings) -> Portal {
    Portal::new(
        portal.db.clone(),
        portal.clock.clone(),
        settings,
        portal.mailer.clone(),
    )
}

/// The test clock, plus whatever must outlive the database connection.
struct GuardedClock {
    clock: Arc<TestClock>,
    _database: Option<DropDatabase>,
}

impl Clock for GuardedClock {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

async fn fresh_database() -> (DatabaseConnection, Option<DropDatabase>) {
    let url = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    if url.trim().is_empty() {
        let db = storage::connect("sqlite::memory:")
            .await
            .expect("open in-memory SQLite");
        storage::migrate(&db).await.expect("migrate SQLite");
        return (db, None);
    }
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let admin = storage::connect(&url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    let _ = admin.close().await;
    // From here on the database is dropped again, whatever happens next.
    let guard = DropDatabase {
        admin_url: url.clone(),
        name: name.clone(),
    };
    let db = storage::connect(&with_database(&url, &name))
        .await
        .expect("connect to the test database");
    storage::migrate(&db)
        .await
        .expect("migrate the test database");
    (db, Some(guard))
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = head.find("://").map_or(0, |i| i + 3);
    let base = match head[after_scheme..].find('/') {
        Some(i) => &head[..after_scheme + i],
        None => head,
    };
    format!("{base}/{name}{query}")
}

/// Drops a PostgreSQL test database when dropped.
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime, which cannot be blocked on: use a thread
        // with a small runtime of its own, and wait for it.
        let done = std::thread::spawn(move || -> std::result::Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let admin = sea_orm::Database::connect(url.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())?;
                admin.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: the thread panicked",
                self.name
            ),
        }
    }
}

/// The demo fixtures shipped with the project.
pub fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo"))
}

/// The default clinic, the fixture patients, the demo staff and Dara's account.
pub async fn seed(portal: &Portal) -> DemoSignIns {
    demo::seed(portal, fixtures_dir())
        .await
        .expect("seed the demo")
}

/// Where a request came from, as the web layer would pass it.
pub fn meta() -> RequestMeta {
    meta_from("203.0.113.7")
}

pub fn meta_from(ip: &str) -> RequestMeta {
    RequestMeta {
        ip: Some(ip.into()),
        user_agent: Some("integration test".into()),
    }
}

/// The error of a call that must fail.
pub fn err<T>(r: Result<T>) -> Error {
    match r {
        Ok(_) => panic!("expected an error, got success"),
        Err(e) => e,
    }
}

/// The message of an `Error::Invalid`.
pub fn invalid<T>(r: Result<T>) -> String {
    match err(r) {
        Error::Invalid(m) => m,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

/// Signs in and expects a session.
pub async fn sign_in(portal: &Portal, login: &str, password: &str) -> SignedIn {
    sign_in_from(portal, login, password, &meta()).await
}

pub async fn sign_in_from(
    portal: &Portal,
    login: &str,
    password: &str,
    meta: &RequestMeta,
) -> SignedIn {
    match portal.sign_in(login, password, meta).await {
        Ok(Ok(s)) => s,
        Ok(Err(blocked)) => panic!("sign-in blocked: {blocked:?}"),
        Err(e) => panic!("sign-in failed: {e:?}"),
    }
}

/// The error of a sign-in that must fail.
pub async fn sign_in_error(
    portal: &Portal,
    login: &str,
    password: &str,
    meta: &RequestMeta,
) -> Error {
    match portal.sign_in(login, password, meta).await {
        Ok(Ok(_)) => panic!("sign-in succeeded but should have failed"),
        Ok(Err(blocked)) => panic!("sign-in blocked ({blocked:?}) but should have failed"),
        Err(e) => e,
    }
}

/// What stopped a correct password from signing in.
pub async fn sign_in_blocked(portal: &Portal, login: &str, password: &str) -> Blocked {
    match portal.sign_in(login, password, &meta()).await {
        Ok(Err(b)) => b,
        Ok(Ok(_)) => panic!("sign-in succeeded but should have been blocked"),
        Err(e) => panic!("sign-in failed: {e:?}"),
    }
}

/// The 6-digit code in the newest confirmation email to `to`.
pub async fn latest_email_code(portal: &Portal, to: &str) -> String {
    let mails = portal.outbox(1000).await.expect("read the outbox");
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.recipient == to)
        .unwrap_or_else(|| panic!("no email to {to}"));
    email_code_in(&mail.body).unwrap_or_else(|| panic!("no code in: {}", mail.body))
}

/// The code after "Your confirmation code is ", when it is exactly 6 digits.
pub fn email_code_in(body: &str) -> Option<String> {
    let rest = body.split_once("Your confirmation code is ")?.1;
    let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (code.len() == 6).then_some(code)
}

/// A second patient account: Emet Stubfield, activated through the real activation flow.
pub struct Activated {
    pub user_id: String,
    pub patient_id: String,
    pub token: String,
}

pub async fn activate_emet(portal: &Portal) -> Activated {
    let p = portal
        .patient_by_mrn(EMET_MRN)
        .await
        .expect("Emet is imported");
    let issued = portal
        .issue_activation_code(&p.id, "front desk", &meta())
        .await
        .expect("issue a code");
    let ticket = portal
        .start_activation(
            "Emet",
            "Stubfield",
            EMET_DOB,
            &issued.code.display(),
            &meta(),
        )
        .await
        .expect("start activation");
    portal
        .choose_account(
            &ticket,
            EMET_USERNAME,
            EMET_EMAIL,
            EMET_PASSWORD,
            EMET_PASSWORD,
            &meta(),
        )
        .await
        .expect("choose the account");
    let code = latest_email_code(portal, EMET_EMAIL).await;
    let done = portal
        .confirm_email(&ticket, &code, &meta())
        .await
        .expect("confirm the email");
    Activated {
        user_id: done.user_id,
        patient_id: p.id,
        token: done.token,
    }
}

/// Rows in a table.
pub async fn count<E>(portal: &Portal, _: E) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(&portal.db).await.expect("count rows")
}

/// Audit entries with this action, oldest first.
pub async fn audit_rows(portal: &Portal, action: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .order_by_asc(audit_event::Column::At)
        .order_by_asc(audit_event::Column::Id)
        .all(&portal.db)
        .await
        .expect("read the audit log")
}

/// A fresh session of `username` (anyone: patient, caregiver or staff) and its principal,
/// resolved as a request would be.
pub async fn principal_of(portal: &Portal, username: &str) -> (String, backend::Principal) {
    use backend::storage::entity::user_account;
    let u = user_account::Entity::find()
        .filter(user_account::Column::Username.eq(username))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let s = backend::auth::session::create(&portal.db, portal, &u.id, None, None)
        .await
        .unwrap();
    let p = portal.principal(Some(&s.token)).await.unwrap();
    (s.token, p)
}

/// The staff handle of `username` for work open to `roles`.
pub async fn staff(
    portal: &Portal,
    username: &str,
    roles: &[domain::session::Role],
) -> backend::StaffAccess {
    let (_, p) = principal_of(portal, username).await;
    portal
        .staff_access(&p, roles, "test", &meta())
        .await
        .unwrap()
}

/// The demo clinician's staff handle.
pub async fn clinician(portal: &Portal) -> backend::StaffAccess {
    staff(
        portal,
        "fen.mocklin",
        domain::session::staff_roles::ANY_STAFF,
    )
    .await
}

/// The demo front desk's staff handle.
pub async fn front_desk(portal: &Portal) -> backend::StaffAccess {
    staff(
        portal,
        "riley.frontdesk",
        domain::session::staff_roles::ANY_STAFF,
    )
    .await
}
