//! The staff console's own work: the home page's queue counts, patient search and
//! registration with an activation letter, account unlock / suspend / restore by the front
//! desk, and the clinician's lists of results, reports and visit notes to review, hold or
//! release.

use crate::access::StaffAccess;
use crate::audit;
use crate::clinic::{clinic_patient_ids, names, patient_name, patient_names};
use crate::messaging::INBOX_ROLES;
use crate::refills::{DECIDE_ROLES, SEND_ROLES};
use crate::storage::entity::{diagnostic_report, document, observation, patient, user_account};
use crate::{Error, Portal, Result, new_id};
use domain::care::{
    ActivationLetter, HoldableRow, PatientRow, Registration, ResultToReview, StaffHome,
};
use domain::person::{DateOfBirth, NamePart};
use domain::records::Holdable;
use domain::session::Role;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

/// Who finds and registers patients and manages their accounts.
pub const REGISTRATION_ROLES: &[Role] = domain::session::staff_roles::FRONT_DESK;
/// How far back the clinician's list of reports and notes to hold reaches.
const RECENT_DAYS: i64 = 14;
/// Who may look patients up (to answer a message, book a visit).
pub const SEARCH_ROLES: &[Role] = domain::session::staff_roles::SCHEDULE;

impl Portal {
    /// What is waiting, per queue the role works.
    pub async fn staff_home(&self, staff: &StaffAccess) -> Result<StaffHome> {
        let name = names(&self.db, vec![staff.user_id().to_owned()])
            .await?
            .into_values()
            .next()
            .unwrap_or_default();
        let (unassigned, mine) = if INBOX_ROLES.contains(&staff.role()) {
            self.inbox_counts(staff).await?
        } else {
            (0, 0)
        };
        let (waiting, to_send) = if SEND_ROLES.contains(&staff.role()) {
            self.refill_queue_counts(staff).await?
        } else {
            (0, 0)
        };
        let (today, requests) = self.schedule_counts(staff).await?;
        let results = if DECIDE_ROLES.contains(&staff.role()) {
            self.results_to_review_count(staff).await?
        } else {
            0
        };
        Ok(StaffHome {
            name,
            role: staff.role(),
            unassigned_messages: unassigned,
            my_messages: mine,
            refills_waiting: waiting,
            refills_to_send: to_send,
            visit_requests: requests,
            appointments_today: today,
            results_to_review: results,
        })
    }

    /// Patients of the clinic whose name, MRN or date of birth matches (at most 25). The
    /// search is audited with how many matched, not with what was typed.
    pub async fn search_patients(
        &self,
        staff: &StaffAccess,
        query: &str,
    ) -> Result<Vec<PatientRow>> {
        staff.require(SEARCH_ROLES)?;
        let q = domain::tidy(query);
        if q.chars().count() < 2 {
            return Err(Error::Invalid(
                "Type at least 2 characters of a name, an MRN or a date of birth (YYYY-MM-DD)."
                    .into(),
            ));
        }
        let mut cond = Condition::any()
            .add(patient::Column::Mrn.eq(q.to_uppercase()))
            .add(patient::Column::BirthDate.eq(q.clone()));
        for word in q.split(' ') {
            let pat = format!("%{}%", word.replace(['%', '_'], ""));
            cond = cond
                .add(patient::Column::GivenName.like(pat.clone()))
                .add(patient::Column::FamilyName.like(pat));
        }
        let found = patient::Entity::find()
            .filter(patient::Column::ClinicId.eq(staff.clinic_id()))
            .filter(cond)
            .order_by_asc(patient::Column::FamilyName)
            .limit(25)
            .all(&self.db)
            .await?;
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("patient.search"),
            "patient search",
            found.iter().map(|p| p.id.as_str()),
        )
        .await?;
        let accounts = user_account::Entity::find()
            .filter(user_account::Column::PatientId.is_in(found.iter().map(|p| p.id.clone())))
            .all(&self.db)
            .await?;
        Ok(found
            .into_iter()
            .map(|p| {
                let acct = accounts
                    .iter()
                    .find(|a| a.patient_id.as_deref() == Some(p.id.as_str()));
                PatientRow {
                    name: patient_name(&p),
                    birth_date: p.birth_date.clone(),
                    mrn: p.mrn.clone(),
                    account: match acct {
                        None => "No account".into(),
                        Some(a) if a.suspended_at.is_some() => "Suspended".into(),
                        Some(a) if a.locked_at.is_some() => "Locked".into(),
                        Some(_) => "Active".into(),
                    },
                    username: acct.map(|a| a.username.clone()),
                    id: p.id,
                }
            })
            .collect())
    }

    /// Registers a new patient of the clinic and issues their activation letter (none for a
    /// child under 12, whose parent or guardian gets guardian access instead).
    pub async fn register_patient(
        &self,
        staff: &StaffAccess,
        given: &str,
        family: &str,
        birth_date: &str,
        mrn: &str,
    ) -> Result<Registration> {
        staff.require(REGISTRATION_ROLES)?;
        let given = NamePart::parse(given, "first name")?;
        let family = NamePart::parse(family, "last name")?;
        let today = crate::clock::to_datetime(self.now()).date();
        let dob = DateOfBirth::parse(birth_date, today)?;
        let mrn = domain::tidy(mrn).to_uppercase();
        if mrn.len() < 3
            || mrn.len() > 20
            || !mrn.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::Invalid(
                "Enter the medical record number from the clinic's record system (3 to 20 letters, digits or dashes).".into(),
            ));
        }
        let taken = patient::Entity::find()
            .filter(patient::Column::Mrn.eq(mrn.clone()))
            .count(&self.db)
            .await?;
        if taken > 0 {
            return Err(Error::Conflict(
                "This MRN is already in use. Check it, or search for the patient instead.".into(),
            ));
        }
        // Decided before anything is written, so that registration either works whole or
        // not at all.
        let child =
            self.age_at_clinic(staff.clinic_id(), dob.date()).await? < crate::proxy::TEEN_FROM;
        let now = self.now();
        let id = new_id();
        let txn = self.db.begin().await?;
        let inserted = patient::ActiveModel {
            id: Set(id.clone()),
            clinic_id: Set(staff.clinic_id().to_owned()),
            mrn: Set(mrn.clone()),
            mrn_system: Set(None),
            fhir_id: Set(None),
            given_name: Set(given.as_str().to_owned()),
            family_name: Set(family.as_str().to_owned()),
            birth_date: Set(domain::person::format_iso_date(dob.date())),
            sex: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            resource: Set(None),
        }
        .insert(&txn)
        .await;
        if let Err(e) = inserted {
            return Err(if crate::storage::is_unique_violation(&e) {
                Error::Conflict(
                    "This MRN is already in use. Check it, or search for the patient instead."
                        .into(),
                )
            } else {
                e.into()
            });
        }
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff.entry("patient.registered").patient(id.clone()),
        )
        .await?;
        txn.commit().await?;
        if child {
            return Ok(Registration::Child {
                patient: format!("{} {}", given.as_str(), family.as_str()),
            });
        }
        Ok(Registration::Letter(
            self.activation_letter(staff, &id).await?,
        ))
    }

    /// A new activation code for a patient without an account, as a letter to print.
    /// Earlier codes stop working.
    pub async fn activation_letter(
        &self,
        staff: &StaffAccess,
        patient_id: &str,
    ) -> Result<ActivationLetter> {
        staff.require(REGISTRATION_ROLES)?;
        let p = self.clinic_patient(staff, patient_id).await?;
        let issued = self
            .issue_activation_code(&p.id, &format!("staff {}", staff.user_id()), staff.meta())
            .await?;
        let clinic = crate::storage::entity::clinic::Entity::find_by_id(p.clinic_id.clone())
            .one(&self.db)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        Ok(ActivationLetter {
            patient: patient_name(&p),
            birth_date: p.birth_date,
            code: issued.code.display(),
            expires: crate::auth::session::format_instant(issued.expires_at),
            clinic,
            portal_url: format!(
                "{}/activate",
                self.settings.public_url.trim_end_matches('/')
            ),
        })
    }

    async fn patient_account(
        &self,
        staff: &StaffAccess,
        patient_id: &str,
    ) -> Result<user_account::Model> {
        staff.require(REGISTRATION_ROLES)?;
        let p = self.clinic_patient(staff, patient_id).await?;
        user_account::Entity::find()
            .filter(user_account::Column::PatientId.eq(p.id))
            .one(&self.db)
            .await?
            .ok_or_else(|| Error::Invalid("This patient has no portal account yet.".into()))
    }

    fn staff_label(&self, staff: &StaffAccess) -> String {
        format!("staff console: {}", staff.user_id())
    }

    /// Unlocks, suspends or restores a patient's account, after the caller checked the
    /// person's identity (the page says so).
    pub async fn staff_account_action(
        &self,
        staff: &StaffAccess,
        patient_id: &str,
        action: &str,
    ) -> Result<String> {
        let u = self.patient_account(staff, patient_id).await?;
        let by = self.staff_label(staff);
        match action {
            "unlock" => {
                self.unlock_account(&u.username, &by, staff.meta()).await?;
                Ok(format!("{}'s account is unlocked.", u.given_name))
            }
            "suspend" => {
                self.suspend(&u, Some(&by), staff.meta()).await?;
                Ok(format!(
                    "{}'s account is suspended and every session has ended.",
                    u.given_name
                ))
            }
            "restore" => {
                self.restore_account(&u.username, &by, staff.meta()).await?;
                Ok(format!("{}'s account can sign in again.", u.given_name))
            }
            _ => Err(Error::Invalid("Choose unlock, suspend or restore.".into())),
        }
    }

    async fn results_to_review_count(&self, staff: &StaffAccess) -> Result<u64> {
        let ids = clinic_patient_ids(&self.db, staff.clinic_id()).await?;
        Ok(observation::Entity::find()
            .filter(observation::Column::PatientId.is_in(ids))
            .filter(observation::Column::ReviewedAt.is_null())
            .filter(observation::Column::Category.is_in(["laboratory", "imaging"]))
            .count(&self.db)
            .await?)
    }

    /// Results not yet reviewed, and held ones, newest first (at most 100).
    pub async fn results_to_review(&self, staff: &StaffAccess) -> Result<Vec<ResultToReview>> {
        staff.require(DECIDE_ROLES)?;
        let ids = clinic_patient_ids(&self.db, staff.clinic_id()).await?;
        let rows = observation::Entity::find()
            .filter(observation::Column::PatientId.is_in(ids))
            .filter(observation::Column::Category.is_in(["laboratory", "imaging"]))
            .filter(
                Condition::any()
                    .add(observation::Column::ReviewedAt.is_null())
                    .add(observation::Column::HeldAt.is_not_null()),
            )
            .order_by_desc(observation::Column::EffectiveAt)
            .limit(100)
            .all(&self.db)
            .await?;
        let patients = patient_names(
            &self.db,
            rows.iter().map(|o| o.patient_id.clone()).collect(),
        )
        .await?;
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("result.review_list").category("results"),
            "results to review",
            // A held row does not exist for its patient: not on their Activity either.
            rows.iter()
                .filter(|x| x.held_at.is_none())
                .map(|x| x.patient_id.as_str()),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|o| ResultToReview {
                patient: patients.get(&o.patient_id).cloned().unwrap_or_default(),
                value: match (o.value_num, &o.value_text) {
                    (Some(v), _) => format!(
                        "{} {}",
                        crate::records::format_number(v),
                        o.unit.clone().unwrap_or_default()
                    )
                    .trim()
                    .to_owned(),
                    (None, Some(t)) => t.clone(),
                    _ => "—".into(),
                },
                flag: o.interpretation.clone(),
                date: o
                    .effective_at
                    .map(crate::auth::session::format_instant)
                    .unwrap_or_default(),
                held: o.hold_reason.clone(),
                reviewed: o.reviewed_at.is_some(),
                sensitivity: o
                    .sensitivity
                    .as_deref()
                    .and_then(domain::proxy::Sensitivity::parse),
                name: o.name,
                id: o.id,
            })
            .collect())
    }

    /// Reports and visit notes of the last 14 days, and held ones, newest first (at most 50
    /// of each): what a clinician may hold from the patient, or release.
    pub async fn reports_and_notes(&self, staff: &StaffAccess) -> Result<Vec<HoldableRow>> {
        staff.require(DECIDE_ROLES)?;
        let ids = clinic_patient_ids(&self.db, staff.clinic_id()).await?;
        let since = self.now() - RECENT_DAYS * 86_400_000;
        let reports = diagnostic_report::Entity::find()
            .filter(diagnostic_report::Column::PatientId.is_in(ids.clone()))
            .filter(
                Condition::any()
                    .add(diagnostic_report::Column::HeldAt.is_not_null())
                    .add(diagnostic_report::Column::IssuedAt.gte(since)),
            )
            .order_by_desc(diagnostic_report::Column::IssuedAt)
            .limit(50)
            .all(&self.db)
            .await?;
        let notes = document::Entity::find()
            .filter(document::Column::PatientId.is_in(ids))
            .filter(
                Condition::any()
                    .add(document::Column::HeldAt.is_not_null())
                    .add(document::Column::DateAt.gte(since)),
            )
            .order_by_desc(document::Column::DateAt)
            .limit(50)
            .all(&self.db)
            .await?;
        let patients = patient_names(
            &self.db,
            reports
                .iter()
                .map(|r| r.patient_id.clone())
                .chain(notes.iter().map(|d| d.patient_id.clone()))
                .collect(),
        )
        .await?;
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("result.review_list").category("results"),
            "reports and visit notes",
            // A held row does not exist for its patient: not on their Activity either.
            reports
                .iter()
                .filter(|r| r.held_at.is_none())
                .map(|r| r.patient_id.as_str())
                .chain(
                    notes
                        .iter()
                        .filter(|d| d.held_at.is_none())
                        .map(|d| d.patient_id.as_str()),
                ),
        )
        .await?;
        let date = |at: Option<i64>| {
            at.map(crate::auth::session::format_instant)
                .unwrap_or_default()
        };
        let name = |pid: &str| patients.get(pid).cloned().unwrap_or_default();
        let mut rows: Vec<(Option<i64>, HoldableRow)> = reports
            .into_iter()
            .map(|r| {
                let row = HoldableRow {
                    what: Holdable::Report,
                    patient: name(&r.patient_id),
                    title: r.name,
                    date: date(r.issued_at),
                    held: r.hold_reason,
                    id: r.id,
                };
                (r.issued_at, row)
            })
            .chain(notes.into_iter().map(|d| {
                let row = HoldableRow {
                    what: Holdable::Note,
                    patient: name(&d.patient_id),
                    title: d
                        .title
                        .or(d.type_text)
                        .unwrap_or_else(|| "Visit note".into()),
                    date: date(d.date_at),
                    held: d.hold_reason,
                    id: d.id,
                };
                (d.date_at, row)
            }))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.0));
        Ok(rows.into_iter().map(|(_, r)| r).collect())
    }
}
