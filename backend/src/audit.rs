//! The audit log: who did what to which record, when, from where, and how it ended. Rows are
//! SHA-256 hash-chained, so an altered or removed row is found by [`verify`].

use crate::storage::entity::{audit_event, audit_head};
use crate::{Error, Result, new_id};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession, TransactionTrait,
};
use sha2::{Digest, Sha256};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where a request came from, for the audit log and the sessions list.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The client's address as the web layer determined it (behind trusted proxies, from
/// `X-Forwarded-For`), carried in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
        }
    }
}

/// One audit entry. `action` names are stable, dotted and lowercase (`signin.ok`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: &'static str,
    pub outcome: Outcome,
    pub actor_user_id: Option<String>,
    pub actor_label: Option<String>,
    pub on_behalf_of: Option<String>,
    pub patient_id: Option<String>,
    pub category: Option<&'static str>,
    pub object_id: Option<String>,
    pub detail: Option<String>,
}

impl Entry {
    pub fn new(action: &'static str, outcome: Outcome) -> Self {
        Self {
            action,
            outcome,
            actor_user_id: None,
            actor_label: None,
            on_behalf_of: None,
            patient_id: None,
            category: None,
            object_id: None,
            detail: None,
        }
    }
    pub fn actor(mut self, user_id: impl Into<String>) -> Self {
        self.actor_user_id = Some(user_id.into());
        self
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.actor_label = Some(label.into());
        self
    }
    pub fn patient(mut self, patient_id: impl Into<String>) -> Self {
        self.patient_id = Some(patient_id.into());
        self
    }
    /// The account holder as the actor, with their patient record (if any).
    pub fn by_account(self, u: &crate::storage::entity::user_account::Model) -> Self {
        self.actor(u.id.clone()).maybe_patient(u.patient_id.clone())
    }
    pub fn maybe_patient(mut self, patient_id: Option<String>) -> Self {
        self.patient_id = patient_id;
        self
    }
    pub fn category(mut self, c: &'static str) -> Self {
        self.category = Some(c);
        self
    }
    pub fn object(mut self, id: impl Into<String>) -> Self {
        self.object_id = Some(id.into());
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}

/// The row for an entry, not yet in the chain.
pub(crate) fn row(now: i64, meta: &RequestMeta, e: Entry) -> audit_event::Model {
    audit_event::Model {
        id: new_id(),
        at: now,
        actor_user_id: e.actor_user_id,
        actor_label: e.actor_label,
        on_behalf_of: e.on_behalf_of,
        patient_id: e.patient_id,
        action: e.action.to_owned(),
        category: e.category.map(str::to_owned),
        object_id: e.object_id,
        outcome: e.outcome.as_str().to_owned(),
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(256).collect()),
        detail: e.detail,
        seq: None,
        prev_hash: None,
        hash: None,
    }
}

/// Writes an entry inside the caller's transaction, so that it is committed (or not) with
/// the change it records. Entries that stand alone go through [`Portal::record_audit`]
/// (group commit). The row joins the hash chain: the head row is updated first, which
/// serialises writers (a row lock on PostgreSQL, the write lock on SQLite) until the
/// caller's transaction ends.
///
/// [`Portal::record_audit`]: crate::Portal::record_audit
pub async fn record<C>(db: &C, now: i64, meta: &RequestMeta, e: Entry) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    append_many(&txn, vec![row(now, meta, e)]).await?;
    txn.commit().await?;
    Ok(())
}

/// Puts `rows` at the end of the chain, in order (inside a transaction): one lock on the
/// head, one insert.
pub(crate) async fn append_many(
    txn: &impl ConnectionTrait,
    mut rows: Vec<audit_event::Model>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len() as i64;
    // Taking the lock first: the increment is the write that makes other writers wait.
    audit_head::Entity::update_many()
        .col_expr(
            audit_head::Column::Seq,
            Expr::col(audit_head::Column::Seq).add(n),
        )
        .filter(audit_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    let head = audit_head::Entity::find_by_id(1)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Unexpected("the audit chain head is missing".into()))?;
    let mut seq = head.seq - n;
    let mut prev = head.hash;
    for row in &mut rows {
        seq += 1;
        row.seq = Some(seq);
        row.prev_hash = Some(prev);
        let hash = chain_hash(row);
        row.hash = Some(hash.clone());
        prev = hash;
    }
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Hash, Expr::value(prev))
        .filter(audit_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    // Within SQLite's limit on bound values per statement (17 columns a row).
    for chunk in rows.chunks(500) {
        audit_event::Entity::insert_many(chunk.iter().cloned().map(audit_event::ActiveModel::from))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// SHA-256 over every field of the row (but its own hash), each length-prefixed so that no
/// two different rows serialise alike.
pub fn chain_hash(r: &audit_event::Model) -> String {
    let mut h = Sha256::new();
    h.update(b"mhc-audit-v1");
    let seq = r.seq.unwrap_or_default().to_string();
    let at = r.at.to_string();
    let fields: [Option<&str>; 15] = [
        Some(&seq),
        r.prev_hash.as_deref(),
        Some(&r.id),
        Some(&at),
        r.actor_user_id.as_deref(),
        r.actor_label.as_deref(),
        r.on_behalf_of.as_deref(),
        r.patient_id.as_deref(),
        Some(&r.action),
        r.category.as_deref(),
        r.object_id.as_deref(),
        Some(&r.outcome),
        r.ip.as_deref(),
        r.user_agent.as_deref(),
        r.detail.as_deref(),
    ];
    for f in fields {
        match f {
            Some(v) => {
                h.update(b"+");
                h.update((v.len() as u64).to_be_bytes());
                h.update(v.as_bytes());
            }
            None => h.update(b"-"),
        }
    }
    hex::encode(h.finalize())
}

/// Chains rows written before the chain existed (an earlier schema), oldest first. Runs once
/// per database (a marker in `portal_meta` records it): a row slipped in without a place in
/// the chain later is never sealed, so [`verify`] reports it.
pub async fn seal_unchained<C>(db: &C) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    if !crate::storage::first_time(&txn, "audit_chain_sealed").await? {
        return Ok(0);
    }
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::Seq.is_null())
        .order_by_asc(audit_event::Column::At)
        .order_by_asc(audit_event::Column::Id)
        .all(&txn)
        .await?;
    let n = rows.len() as u64;
    for r in rows {
        audit_event::Entity::delete_by_id(r.id.clone())
            .exec(&txn)
            .await?;
        append_many(&txn, vec![r]).await?;
    }
    txn.commit().await?;
    Ok(n)
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every row is in place and unaltered.
    Intact { rows: u64 },
    /// The first place where the chain breaks.
    Broken { seq: i64, reason: String },
}

/// Walks the chain from the first row and reports the first altered, removed or inserted row.
pub async fn verify(db: &impl ConnectionTrait) -> Result<Verdict> {
    let outside = audit_event::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(audit_event::Column::Seq.is_null())
                .add(audit_event::Column::Seq.lt(1)),
        )
        .order_by_asc(audit_event::Column::At)
        .one(db)
        .await?;
    if let Some(r) = outside {
        return Ok(Verdict::Broken {
            seq: 0,
            reason: format!("row {} was added outside the chain", r.id),
        });
    }
    let head = audit_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| Error::Unexpected("the audit chain head is missing".into()))?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    loop {
        // Up to the head read above: rows appended while this runs are for the next run.
        let batch = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gte(expected_seq))
            .filter(audit_event::Column::Seq.lte(head.seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(1000)
            .all(db)
            .await?;
        if batch.is_empty() {
            break;
        }
        for r in batch {
            let seq = r.seq.unwrap_or_default();
            if seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("row {expected_seq} was removed"),
                });
            }
            if r.prev_hash.as_deref() != Some(prev.as_str()) {
                return Ok(Verdict::Broken {
                    seq,
                    reason: format!(
                        "row {seq} does not follow row {}: a row before it was altered or removed",
                        seq - 1
                    ),
                });
            }
            if r.hash.as_deref() != Some(chain_hash(&r).as_str()) {
                return Ok(Verdict::Broken {
                    seq,
                    reason: format!("row {seq} ({}) was altered", r.id),
                });
            }
            prev = r.hash.unwrap_or_default();
            expected_seq += 1;
        }
    }
    let last = expected_seq - 1;
    if head.seq != last || head.hash != prev {
        return Ok(Verdict::Broken {
            seq: last + 1,
            reason: format!(
                "the chain ends at row {last} but {} rows were written: the last rows were removed",
                head.seq
            ),
        });
    }
    Ok(Verdict::Intact { rows: last as u64 })
}
