//! Everything server-side that is not HTTP: accounts, sessions, access, audit, records, import, mail.

pub mod access;
pub mod activity;
pub mod audit;
pub mod audit_writer;
pub mod auth;
pub mod ccda;
pub mod clinic;
pub mod clock;
pub mod console;
pub mod crypto;
pub mod demo;
pub mod documents;
pub mod error;
pub mod export;
pub mod feed;
pub mod fhir;
pub mod messaging;
pub mod notify;
pub mod proxy;
pub mod records;
pub mod refills;
pub mod release;
pub mod scheduling;
pub mod sensitivity;
pub mod settings;
pub mod staff;
pub mod storage;

pub use access::{PatientAccess, Principal, RequestMeta, StaffAccess};
pub use clock::{Clock, SystemClock, TestClock};
pub use error::{Error, Result};
pub use settings::Settings;

use auth::password::PasswordService;
use notify::Mailer;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The portal's services, shared by every request.
#[derive(Clone)]
pub struct Portal {
    /// The connection is the backend's own: `app` and `server` reach data only through the
    /// access-checked methods (tests, with `test-support`, plant and inspect rows).
    #[cfg(not(feature = "test-support"))]
    pub(crate) db: DatabaseConnection,
    #[cfg(feature = "test-support")]
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub mailer: Arc<dyn Mailer>,
    pub passwords: Arc<PasswordService>,
    pub sms: Arc<dyn notify::SmsSender>,
    /// Chains stand-alone audit entries in batches (group commit).
    pub(crate) audit_writer: Arc<audit_writer::AuditWriter>,
    /// Each session's latest request, exact (the database copy is at most a minute old).
    pub(crate) seen: Arc<auth::session::SeenSessions>,
}

impl Portal {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        settings: Settings,
        mailer: Arc<dyn Mailer>,
    ) -> Self {
        let passwords = Arc::new(PasswordService::new(&settings));
        let sms = Arc::new(notify::OutboxMailer::new(db.clone(), clock.clone()));
        let audit_writer = Arc::new(audit_writer::AuditWriter::new(db.clone()));
        Self {
            sms,
            audit_writer,
            seen: Arc::default(),
            db,
            clock,
            settings: Arc::new(settings),
            mailer,
            passwords,
        }
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> bool {
        storage::ping(&self.db).await
    }

    /// Walks the audit chain (the operator's `mhc audit verify`).
    pub async fn verify_audit(&self) -> Result<audit::Verdict> {
        audit::verify(&self.db).await
    }

    /// Now, in Unix milliseconds, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// A new UUIDv7 as text: time-ordered, so indexes stay compact.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
