//! Visit summaries: the list (whole, or a page at a time), each visit with what was decided.

use super::{ERROR_STATUS, Window, iso_date_ms, long_date_ms, sensitivity_ok, status_label};
use crate::access::PatientAccess;
use crate::audit::Outcome;
use crate::storage::entity::{
    document, encounter, location, medication, organization, practitioner, problem,
};
use crate::{Portal, Result};
use domain::page::{Before, Cut, Page, cut};
use domain::proxy::Scope;
use domain::records::{DateRange, NoteView, VisitView};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// At most this many visits on one page of the list.
pub const VISITS_PAGE: usize = 20;

struct Directory {
    practitioners: HashMap<String, String>,
    locations: HashMap<String, String>,
    organizations: HashMap<String, String>,
}

/// The conditions a visit names as its diagnoses (their FHIR ids), in the visit's order.
fn diagnosis_refs(e: &encounter::Model) -> Vec<String> {
    e.diagnosis_refs
        .as_deref()
        .and_then(|j| serde_json::from_str::<Vec<String>>(j).ok())
        .unwrap_or_default()
}

impl Portal {
    /// Every visit summary in the range, newest first: for documents and exports.
    pub async fn list_visits(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<VisitView>> {
        let mut visits = self
            .visit_rows(access, range, Window::Before(None), None)
            .await?;
        if range.is_all() {
            visits.extend(
                self.visit_rows(access, range, Window::Undated, None)
                    .await?,
            );
        }
        let out = self.describe_visits(access, visits).await?;
        access
            .audit(self, "record.view", "visits", None, Outcome::Ok)
            .await?;
        Ok(out)
    }

    /// One page of visit summaries: the newest [`VISITS_PAGE`] in the range before `before`,
    /// each with only its own diagnoses, medicines and notes read.
    pub async fn visits_page(
        &self,
        access: &PatientAccess,
        range: &DateRange,
        before: Option<Before>,
    ) -> Result<Page<VisitView>> {
        let window = Window::Before(before.map(Before::ms));
        let mut visits = self
            .visit_rows(access, range, window, Some(VISITS_PAGE as u64 + 1))
            .await?;
        let earlier = match cut(&mut visits, VISITS_PAGE, |e| e.start_at) {
            Cut::Last => {
                if range.is_all() {
                    visits.extend(
                        self.visit_rows(access, range, Window::Undated, None)
                            .await?,
                    );
                }
                None
            }
            Cut::Earlier(b) => Some(b),
            Cut::Crowded(t) => {
                visits = self.visit_rows(access, range, Window::At(t), None).await?;
                Some(Before::at_ms(t))
            }
        };
        let items = self.describe_visits(access, visits).await?;
        access
            .audit(self, "record.view", "visits", None, Outcome::Ok)
            .await?;
        Ok(Page { items, earlier })
    }

    async fn visit_rows(
        &self,
        access: &PatientAccess,
        range: &DateRange,
        window: Window,
        limit: Option<u64>,
    ) -> Result<Vec<encounter::Model>> {
        let mut q = encounter::Entity::find()
            .filter(encounter::Column::PatientId.eq(access.patient_id()))
            .filter(encounter::Column::Status.ne(ERROR_STATUS))
            .filter(sensitivity_ok(access, encounter::Column::Sensitivity));
        let (lo, hi) = range.bounds_ms();
        if let Some(lo) = lo {
            q = q.filter(encounter::Column::StartAt.gte(lo));
        }
        if let Some(hi) = hi {
            q = q.filter(encounter::Column::StartAt.lt(hi));
        }
        Ok(window
            .select(q, encounter::Column::StartAt)
            .order_by_asc(encounter::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|e| range.contains_ms(e.start_at))
            .collect())
    }

    /// The visits with what was decided at each: diagnoses, medicines started and stopped,
    /// instructions and notes, read for these visits only.
    async fn describe_visits(
        &self,
        access: &PatientAccess,
        visits: Vec<encounter::Model>,
    ) -> Result<Vec<VisitView>> {
        if visits.is_empty() {
            return Ok(vec![]);
        }
        let pid = access.patient_id();
        let here_ids: Vec<String> = visits.iter().map(|e| e.fhir_id.clone()).collect();
        // A visit's diagnoses and medicines are parts of their own: a caregiver sees them
        // only when the grant covers them too.
        let problems = if access.may(Scope::Clinical) {
            let named: Vec<String> = visits.iter().flat_map(diagnosis_refs).collect();
            problem::Entity::find()
                .filter(problem::Column::PatientId.eq(pid))
                .filter(
                    Condition::any()
                        .add(problem::Column::FhirId.is_in(named))
                        .add(problem::Column::EncounterRef.is_in(here_ids.clone())),
                )
                .filter(sensitivity_ok(access, problem::Column::Sensitivity))
                .all(&self.db)
                .await?
        } else {
            vec![]
        };
        let meds = if access.may(Scope::Medications) {
            medication::Entity::find()
                .filter(medication::Column::PatientId.eq(pid))
                .filter(medication::Column::EncounterRef.is_in(here_ids.clone()))
                .filter(medication::Column::Status.ne(ERROR_STATUS))
                .filter(sensitivity_ok(access, medication::Column::Sensitivity))
                .order_by_asc(medication::Column::Name)
                .all(&self.db)
                .await?
        } else {
            vec![]
        };
        let docs = document::Entity::find()
            .filter(document::Column::PatientId.eq(pid))
            .filter(document::Column::EncounterRef.is_in(here_ids))
            .filter(document::Column::Status.ne(ERROR_STATUS))
            .filter(document::Column::HeldAt.is_null())
            .filter(sensitivity_ok(access, document::Column::Sensitivity))
            .order_by_asc(document::Column::DateAt)
            .order_by_asc(document::Column::FhirId)
            .all(&self.db)
            .await?;
        let names = self.people_and_places(pid).await?;
        let out = visits
            .into_iter()
            .map(|e| {
                let refs = diagnosis_refs(&e);
                let here = |r: &Option<String>| r.as_deref() == Some(e.fhir_id.as_str());
                // In the visit's own order of diagnoses, then the others by name.
                let mut found: Vec<(usize, &problem::Model)> = problems
                    .iter()
                    .filter_map(|p| {
                        let at = refs.iter().position(|r| *r == p.fhir_id);
                        (at.is_some() || here(&p.encounter_ref))
                            .then(|| (at.unwrap_or(usize::MAX), p))
                    })
                    .collect();
                found.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.name.cmp(&y.name)));
                let diagnoses = found.into_iter().map(|(_, p)| p.name.clone()).collect();
                let (stopped, started): (Vec<&medication::Model>, Vec<&medication::Model>) = meds
                    .iter()
                    .filter(|m| here(&m.encounter_ref))
                    .partition(|m| m.status == "stopped" || m.status == "cancelled");
                let visit_docs: Vec<&document::Model> =
                    docs.iter().filter(|d| here(&d.encounter_ref)).collect();
                VisitView {
                    date_label: long_date_ms(e.start_at),
                    date: iso_date_ms(e.start_at),
                    kind: e.type_text.clone().unwrap_or_else(|| "Visit".into()),
                    status: status_label(&e.status),
                    clinician: e
                        .practitioner_ref
                        .as_ref()
                        .and_then(|r| names.practitioners.get(r).cloned()),
                    location: e
                        .location_ref
                        .as_ref()
                        .and_then(|r| names.locations.get(r).cloned())
                        .or_else(|| {
                            e.organization_ref
                                .as_ref()
                                .and_then(|r| names.organizations.get(r).cloned())
                        }),
                    reason: e.reason.clone(),
                    diagnoses,
                    medications_started: started.iter().map(|m| m.name.clone()).collect(),
                    medications_stopped: stopped.iter().map(|m| m.name.clone()).collect(),
                    instructions: visit_docs
                        .iter()
                        .filter(|d| d.kind == "instructions")
                        .filter_map(|d| d.body.clone())
                        .collect(),
                    notes: visit_docs
                        .iter()
                        .filter(|d| d.kind != "instructions")
                        .map(|d| NoteView {
                            title: d
                                .title
                                .clone()
                                .or_else(|| d.type_text.clone())
                                .unwrap_or_else(|| "Note".into()),
                            author: d
                                .author_ref
                                .as_ref()
                                .and_then(|r| names.practitioners.get(r).cloned()),
                            date_label: long_date_ms(d.date_at),
                            body: d.body.clone(),
                        })
                        .collect(),
                    id: e.id,
                }
            })
            .collect();
        Ok(out)
    }

    /// Practitioner, location and organization names by FHIR id, from the directory of the
    /// patient's clinic.
    async fn people_and_places(&self, patient_id: &str) -> Result<Directory> {
        let clinic = crate::clinic::clinic_of(&self.db, patient_id).await?;
        Ok(Directory {
            practitioners: practitioner::Entity::find()
                .filter(practitioner::Column::ClinicId.eq(clinic.clone()))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|p| (p.fhir_id, p.name))
                .collect(),
            locations: location::Entity::find()
                .filter(location::Column::ClinicId.eq(clinic.clone()))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|l| (l.fhir_id, l.name))
                .collect(),
            organizations: organization::Entity::find()
                .filter(organization::Column::ClinicId.eq(clinic))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|o| (o.fhir_id, o.name))
                .collect(),
        })
    }
}
