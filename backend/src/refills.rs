//! Refill requests: a patient asks from the active medication list (pharmacy, note); the
//! clinician approves with a quantity or denies with a reason; approved refills are sent.
//! One open request per medication, held by a unique index. The patient is emailed at every
//! step, without health information in the email.

use crate::access::{PatientAccess, StaffAccess};
use crate::audit::{self, Outcome};
use crate::clinic::{caregiver_names, clinic_of, clinic_patient_ids, names, patient_names};
use crate::scheduling::optional_note;
use crate::storage::entity::{medication, pharmacy, refill_request};
use crate::storage::is_unique_violation;
use crate::{Error, Portal, Result, new_id};
use domain::care::{PharmacyView, RefillStatus, RefillView, short_text};
use domain::session::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use std::collections::HashMap;

/// Who decides refills.
pub const DECIDE_ROLES: &[Role] = domain::session::staff_roles::CLINICIAN;
/// Who marks approved refills as sent to the pharmacy.
pub const SEND_ROLES: &[Role] = domain::session::staff_roles::REFILL_QUEUE;

impl Portal {
    pub async fn pharmacies(&self, access: &PatientAccess) -> Result<Vec<PharmacyView>> {
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        Ok(pharmacy::Entity::find()
            .filter(pharmacy::Column::ClinicId.eq(clinic))
            .order_by_asc(pharmacy::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| PharmacyView {
                id: p.id,
                name: p.name,
                address: p.address,
            })
            .collect())
    }

    /// Asks for a refill of one of the patient's active medications.
    pub async fn request_refill(
        &self,
        access: &PatientAccess,
        medication_id: &str,
        pharmacy_id: &str,
        note: &str,
    ) -> Result<String> {
        let med = medication::Entity::find_by_id(medication_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|m| m.patient_id == access.patient_id());
        let Some(med) = med else {
            return Err(access
                .not_found(self, "refill.requested", "medications", medication_id)
                .await?);
        };
        if med.status != "active" {
            return Err(Error::Invalid(format!(
                "{} is not an active medication, so it cannot be refilled. Message your care team if you still take it.",
                med.name
            )));
        }
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let pharmacy = pharmacy::Entity::find_by_id(pharmacy_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|p| p.clinic_id == clinic)
            .ok_or_else(|| Error::Invalid("Choose the pharmacy to send the refill to.".into()))?;
        let note = optional_note(note, "your note")?;
        let now = self.now();
        let id = new_id();
        let txn = self.db.begin().await?;
        let row = refill_request::ActiveModel {
            id: Set(id.clone()),
            patient_id: Set(access.patient_id().to_owned()),
            medication_id: Set(med.id.clone()),
            pharmacy_id: Set(pharmacy.id),
            note: Set(note),
            status: Set(RefillStatus::Requested.key().into()),
            quantity: Set(None),
            deny_reason: Set(None),
            requested_by: Set(access.actor().to_owned()),
            requested_at: Set(now),
            decided_by: Set(None),
            decided_at: Set(None),
            sent_at: Set(None),
            open_key: Set(Some(med.id.clone())),
        };
        match row.insert(&txn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(format!(
                    "A refill of {} is already requested and open. You can follow it below; a new request is possible once it is decided.",
                    med.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("refill.requested", "medications")
                .object(id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// The patient's refill requests, newest first.
    pub async fn patient_refills(&self, access: &PatientAccess) -> Result<Vec<RefillView>> {
        let rows = refill_request::Entity::find()
            .filter(refill_request::Column::PatientId.eq(access.patient_id()))
            .order_by_desc(refill_request::Column::RequestedAt)
            .all(&self.db)
            .await?;
        access
            .audit(self, "refill.list", "medications", None, Outcome::Ok)
            .await?;
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        self.refill_views(&clinic, rows, false).await
    }

    async fn refill_views(
        &self,
        clinic: &str,
        rows: Vec<refill_request::Model>,
        with_patient: bool,
    ) -> Result<Vec<RefillView>> {
        let zone = self.clinic_zone(clinic).await?;
        let meds: HashMap<String, String> = medication::Entity::find()
            .filter(medication::Column::Id.is_in(rows.iter().map(|r| r.medication_id.clone())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let pharmacies: HashMap<String, String> = pharmacy::Entity::find()
            .filter(pharmacy::Column::ClinicId.eq(clinic))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let patients = if with_patient {
            patient_names(
                &self.db,
                rows.iter().map(|r| r.patient_id.clone()).collect(),
            )
            .await?
        } else {
            HashMap::new()
        };
        let deciders = names(
            &self.db,
            rows.iter().filter_map(|r| r.decided_by.clone()).collect(),
        )
        .await?;
        let acts: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.patient_id.clone(), r.requested_by.clone()))
            .collect();
        let carers = caregiver_names(&self.db, &acts).await?;
        Ok(rows
            .into_iter()
            .map(|r| RefillView {
                medication: meds.get(&r.medication_id).cloned().unwrap_or_default(),
                medication_id: r.medication_id.clone(),
                pharmacy: pharmacies.get(&r.pharmacy_id).cloned().unwrap_or_default(),
                status: RefillStatus::parse(&r.status).unwrap_or(RefillStatus::Requested),
                note: r.note,
                quantity: r.quantity,
                deny_reason: r.deny_reason,
                requested: zone.format(r.requested_at),
                decided: r.decided_at.map(|d| {
                    match r.decided_by.as_ref().and_then(|b| deciders.get(b)) {
                        Some(by) => format!("{} by {by}", zone.format(d)),
                        None => zone.format(d),
                    }
                }),
                patient: patients.get(&r.patient_id).cloned(),
                by_caregiver: carers
                    .get(&(r.patient_id.clone(), r.requested_by.clone()))
                    .cloned(),
                id: r.id,
            })
            .collect())
    }

    /// The clinic's open refill requests: waiting for a decision, then approved and not yet
    /// sent. Oldest first.
    pub async fn refill_queue(&self, staff: &StaffAccess) -> Result<Vec<RefillView>> {
        staff.require(SEND_ROLES)?;
        let patients: Vec<String> = clinic_patient_ids(&self.db, staff.clinic_id()).await?;
        let rows = refill_request::Entity::find()
            .filter(refill_request::Column::PatientId.is_in(patients))
            .filter(refill_request::Column::Status.is_in(["requested", "approved"]))
            .order_by_asc(refill_request::Column::RequestedAt)
            .all(&self.db)
            .await?;
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("refill.queue").category("medications"),
            "open refill requests",
            rows.iter().map(|x| x.patient_id.as_str()),
        )
        .await?;
        self.refill_views(staff.clinic_id(), rows, true).await
    }

    /// Queue counts for the console's home: waiting for a decision, approved to send.
    pub async fn refill_queue_counts(&self, staff: &StaffAccess) -> Result<(u64, u64)> {
        let patients: Vec<String> = clinic_patient_ids(&self.db, staff.clinic_id()).await?;
        let count = |status: &'static str| {
            refill_request::Entity::find()
                .filter(refill_request::Column::PatientId.is_in(patients.clone()))
                .filter(refill_request::Column::Status.eq(status))
                .count(&self.db)
        };
        Ok((count("requested").await?, count("approved").await?))
    }

    /// Moves a request of the staff member's clinic one step, if the workflow allows it.
    async fn refill_step(
        &self,
        staff: &StaffAccess,
        id: &str,
        next: RefillStatus,
        quantity: Option<i32>,
        reason: Option<String>,
    ) -> Result<()> {
        staff.require(if next == RefillStatus::Sent {
            SEND_ROLES
        } else {
            DECIDE_ROLES
        })?;
        let r = refill_request::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        self.clinic_patient(staff, &r.patient_id).await?;
        let current = RefillStatus::parse(&r.status).unwrap_or(RefillStatus::Requested);
        if !current.can_become(next) {
            return Err(Error::Invalid(format!(
                "This request is {}; it cannot become {} now.",
                current.label().to_lowercase(),
                next.label().to_lowercase()
            )));
        }
        let now = self.now();
        let txn = self.db.begin().await?;
        let mut q = refill_request::Entity::update_many()
            .col_expr(refill_request::Column::Status, Expr::value(next.key()));
        q = match next {
            RefillStatus::Approved | RefillStatus::Denied => q
                .col_expr(refill_request::Column::DecidedAt, Expr::value(now))
                .col_expr(
                    refill_request::Column::DecidedBy,
                    Expr::value(staff.user_id().to_owned()),
                )
                .col_expr(refill_request::Column::Quantity, Expr::value(quantity))
                .col_expr(
                    refill_request::Column::DenyReason,
                    Expr::value(reason.clone()),
                ),
            _ => q.col_expr(refill_request::Column::SentAt, Expr::value(now)),
        };
        if !next.is_open() {
            q = q.col_expr(
                refill_request::Column::OpenKey,
                Expr::value(Option::<String>::None),
            );
        }
        // The status in the filter makes two clinicians deciding at once one decision.
        let n = q
            .filter(refill_request::Column::Id.eq(r.id.clone()))
            .filter(refill_request::Column::Status.eq(r.status.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            return Err(Error::Conflict(
                "Someone else changed this request a moment ago. Reload the queue.".into(),
            ));
        }
        let action = match next {
            RefillStatus::Approved => "refill.approved",
            RefillStatus::Denied => "refill.denied",
            _ => "refill.sent",
        };
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry(action)
                .patient(r.patient_id.clone())
                .category("medications")
                .object(r.id.clone()),
        )
        .await?;
        txn.commit().await?;
        let (subject, body) = match next {
            RefillStatus::Approved => (
                "your refill request was approved",
                "Your refill request was approved. Sign in to the portal to follow it.",
            ),
            RefillStatus::Denied => (
                "your refill request was answered",
                "Your care team answered your refill request. Sign in to the portal to read the answer.",
            ),
            _ => (
                "your refill was sent to the pharmacy",
                "Your refill was sent to the pharmacy you chose. Sign in to the portal for details.",
            ),
        };
        self.tell_patient(&r.patient_id, subject, body).await;
        Ok(())
    }

    pub async fn approve_refill(&self, staff: &StaffAccess, id: &str, quantity: i32) -> Result<()> {
        let quantity = domain::care::parse_quantity(&quantity.to_string())?;
        self.refill_step(staff, id, RefillStatus::Approved, Some(quantity), None)
            .await
    }

    pub async fn deny_refill(&self, staff: &StaffAccess, id: &str, reason: &str) -> Result<()> {
        let reason = short_text(reason, "the reason the patient will read", 5, 500)?;
        self.refill_step(staff, id, RefillStatus::Denied, None, Some(reason))
            .await
    }

    pub async fn mark_refill_sent(&self, staff: &StaffAccess, id: &str) -> Result<()> {
        self.refill_step(staff, id, RefillStatus::Sent, None, None)
            .await
    }
}
