//! Group commit for the audit chain. Entries that are not part of a caller's own transaction
//! (every audited read, refusals, sign-in steps) go to one writer task per portal, which
//! chains whatever has queued up in a single transaction: one lock on the chain head and one
//! commit for many requests, instead of one each. A request gets its answer only after its
//! entry is committed, so an answered read is never missing from the log.

use crate::audit::{self, Entry, RequestMeta};
use crate::storage::entity::audit_event;
use crate::{Error, Portal, Result};
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

/// The most entries one transaction chains.
const BATCH: usize = 512;

struct Pending {
    rows: Vec<audit_event::Model>,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

pub struct AuditWriter {
    db: DatabaseConnection,
    /// Started by the first entry, on the runtime that serves the requests; started again if
    /// it has stopped (its runtime ended).
    queue: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

impl AuditWriter {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            queue: Mutex::new(None),
        }
    }

    /// Chains `rows` (in this order, next to each other) and returns once they are committed.
    async fn write(&self, rows: Vec<audit_event::Model>) -> Result<()> {
        let (done, answer) = oneshot::channel();
        {
            let mut queue = self
                .queue
                .lock()
                .map_err(|_| Error::Unexpected("the audit queue is poisoned".into()))?;
            let sender = match queue.as_ref() {
                Some(tx) if !tx.is_closed() => tx.clone(),
                _ => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(run(self.db.clone(), rx));
                    *queue = Some(tx.clone());
                    tx
                }
            };
            sender
                .send(Pending { rows, done })
                .map_err(|_| Error::Unexpected("the audit writer has stopped".into()))?;
        }
        answer
            .await
            .map_err(|_| Error::Unexpected("the audit writer has stopped".into()))?
            .map_err(|e| Error::Unexpected(format!("audit: {e}")))
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut count = first.rows.len();
        batch.push(first);
        while count < BATCH {
            match rx.try_recv() {
                Ok(p) => {
                    count += p.rows.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let rows: Vec<audit_event::Model> =
            batch.iter().flat_map(|p| p.rows.iter().cloned()).collect();
        if commit(&db, rows).await.is_ok() {
            for p in batch.drain(..) {
                let _ = p.done.send(Ok(()));
            }
            continue;
        }
        // One bad entry must not fail the others: each request's entries on their own.
        for p in batch.drain(..) {
            let outcome = commit(&db, p.rows).await;
            let _ = p.done.send(outcome);
        }
    }
}

/// Chains and commits `rows` in one transaction, in a task of its own so that a panic comes
/// back as an error instead of stopping the writer.
async fn commit(
    db: &DatabaseConnection,
    rows: Vec<audit_event::Model>,
) -> std::result::Result<(), String> {
    let db = db.clone();
    let task = tokio::spawn(async move {
        let txn = db.begin().await?;
        audit::append_many(&txn, rows).await?;
        txn.commit().await?;
        Ok::<(), Error>(())
    });
    match task.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the audit write stopped: {e}")),
    }
}

impl Portal {
    /// Writes an audit entry that is not part of a transaction of the caller's, through the
    /// group-commit writer.
    pub async fn record_audit(&self, now: i64, meta: &RequestMeta, e: Entry) -> Result<()> {
        self.audit_writer
            .write(vec![audit::row(now, meta, e)])
            .await
    }

    /// Audits a staff list view: one entry for each patient the list showed, with the patient
    /// column set (so each patient's Activity lists it), committed together; `what` names the
    /// list. A list that showed nobody is one entry without a patient.
    pub async fn record_audit_list<'a>(
        &self,
        now: i64,
        meta: &RequestMeta,
        e: Entry,
        what: &str,
        patient_ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let mut patients: Vec<&str> = patient_ids.into_iter().collect();
        patients.sort_unstable();
        patients.dedup();
        let rows = if patients.is_empty() {
            let none = e.detail(format!("{what}: nobody shown"));
            vec![audit::row(now, meta, none)]
        } else {
            patients
                .into_iter()
                .map(|pid| audit::row(now, meta, e.clone().patient(pid).detail(what)))
                .collect()
        };
        self.audit_writer.write(rows).await
    }
}
