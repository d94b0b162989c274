//! The health record as the patient reads it. Every function takes a [`PatientAccess`].

use crate::access::PatientAccess;
use crate::audit::Outcome;
use crate::clock::{to_datetime, to_rfc3339};
use crate::storage::entity::{
    allergy, diagnostic_report, document, encounter, immunization, location, medication,
    observation, organization, practitioner, problem,
};
use crate::{Portal, Result};
use domain::person::{format_iso_date, format_long_date, parse_iso_date};
use domain::proxy::Scope;
use domain::records::{
    AllergyView, DateRange, Flag, ImmunizationView, MedicationView, NoteView, ProblemView,
    RecordHighlights, ReportView, ResultDay, ResultDetail, ResultRow, Trend, TrendPoint, VisitView,
    VitalView,
};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const LAB: &str = "laboratory";
const VITALS: &str = "vital-signs";
/// Records entered by mistake are never shown.
pub(crate) const ERROR_STATUS: &str = "entered-in-error";

fn value_text(o: &observation::Model) -> String {
    match (o.value_num, &o.value_text) {
        (Some(v), _) => format_number(v),
        (None, Some(t)) => t.clone(),
        (None, None) => "—".into(),
    }
}

/// Numbers as labs print them: no trailing zeros, at most 3 decimals.
pub fn format_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn range_text(o: &observation::Model) -> Option<String> {
    if let Some(t) = &o.ref_text
        && !t.is_empty()
    {
        return Some(t.clone());
    }
    let unit = o
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    match (o.ref_low, o.ref_high) {
        (Some(l), Some(h)) => Some(format!("{}–{}{unit}", format_number(l), format_number(h))),
        (None, Some(h)) => Some(format!("≤ {}{unit}", format_number(h))),
        (Some(l), None) => Some(format!("≥ {}{unit}", format_number(l))),
        (None, None) => None,
    }
}

/// The flag: the lab's interpretation when given, else computed from the range.
fn flag(o: &observation::Model) -> Flag {
    if let Some(code) = &o.interpretation {
        return Flag::from_code(code);
    }
    match (o.value_num, o.ref_low, o.ref_high) {
        (Some(v), Some(l), _) if v < l => Flag::Low,
        (Some(v), _, Some(h)) if v > h => Flag::High,
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Flag::Normal,
        _ => Flag::None,
    }
}

fn row(o: &observation::Model) -> ResultRow {
    ResultRow {
        id: o.id.clone(),
        name: o.name.clone(),
        loinc: o.code.clone(),
        value: value_text(o),
        unit: o.unit.clone(),
        range: range_text(o),
        flag: flag(o),
    }
}

impl Portal {
    /// Released lab results, grouped by collection day (newest first) and report.
    pub async fn list_results(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ResultDay>> {
        // The date filter runs in the database (on the (patient, date) index), and only the
        // reports of the results shown are read.
        let mut q = observation::Entity::find()
            .filter(observation::Column::Category.eq(LAB))
            .filter(self.visible_results(access).await?);
        let (lo, hi) = range.bounds_ms();
        if let Some(lo) = lo {
            q = q.filter(observation::Column::EffectiveAt.gte(lo));
        }
        if let Some(hi) = hi {
            q = q.filter(observation::Column::EffectiveAt.lt(hi));
        }
        let mut obs: Vec<observation::Model> = q
            .order_by_desc(observation::Column::EffectiveAt)
            .order_by_asc(observation::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|o| range.contains_ms(o.effective_at))
            .collect();
        let shown: BTreeSet<String> = obs.iter().filter_map(|o| o.report_id.clone()).collect();
        let reports: BTreeMap<String, diagnostic_report::Model> = diagnostic_report::Entity::find()
            .filter(diagnostic_report::Column::Id.is_in(shown))
            .filter(diagnostic_report::Column::PatientId.eq(access.patient_id()))
            .filter(diagnostic_report::Column::HeldAt.is_null())
            .filter(sensitivity_ok(
                access,
                diagnostic_report::Column::Sensitivity,
            ))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        // Within a report, results keep the order the lab listed them in.
        let position: HashMap<String, usize> = reports
            .values()
            .filter_map(|r| r.resource.as_deref())
            .filter_map(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .flat_map(|r| {
                r["result"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, x)| {
                        let id = x["reference"]
                            .as_str()?
                            .rsplit(['/', ':'])
                            .next()?
                            .to_owned();
                        Some((id, i))
                    })
            })
            .collect();
        obs.sort_by(|a, b| {
            b.effective_at
                .cmp(&a.effective_at)
                .then_with(|| {
                    let p = |o: &observation::Model| {
                        position.get(&o.fhir_id).copied().unwrap_or(usize::MAX)
                    };
                    p(a).cmp(&p(b))
                })
                .then_with(|| a.fhir_id.cmp(&b.fhir_id))
        });

        // day → report key → (report view)
        let mut days: BTreeMap<String, BTreeMap<String, ReportView>> = BTreeMap::new();
        for o in &obs {
            let at = o.effective_at.unwrap_or(0);
            let day = format_iso_date(to_datetime(at).date());
            let (key, name, issued) = match o.report_id.as_ref().and_then(|id| reports.get(id)) {
                Some(r) => (r.id.clone(), r.name.clone(), r.issued_at),
                None => (format!("single:{}", o.id), o.name.clone(), None),
            };
            let view = days
                .entry(day)
                .or_default()
                .entry(key.clone())
                .or_insert_with(|| ReportView {
                    id: key,
                    name,
                    collected_at: to_rfc3339(at),
                    issued_at: issued.map(to_rfc3339),
                    rows: vec![],
                });
            view.rows.push(row(o));
        }
        let out = days
            .into_iter()
            .rev()
            .map(|(date, reports)| {
                let label = domain::person::parse_iso_date(&date)
                    .map(format_long_date)
                    .unwrap_or_else(|| date.clone());
                let mut reports: Vec<ReportView> = reports.into_values().collect();
                reports.sort_by(|a, b| a.name.cmp(&b.name));
                ResultDay {
                    date,
                    label,
                    reports,
                }
            })
            .collect();
        access
            .audit(self, "record.view", "results", None, Outcome::Ok)
            .await?;
        Ok(out)
    }

    /// One released result of this patient, with the other values of the same test.
    /// Someone else's or a held result is "not found", like a missing one.
    pub async fn result_detail(&self, access: &PatientAccess, id: &str) -> Result<ResultDetail> {
        let o = observation::Entity::find_by_id(id.to_owned())
            .filter(observation::Column::Category.eq(LAB))
            .filter(self.visible_results(access).await?)
            .one(&self.db)
            .await?;
        let Some(o) = o else {
            return Err(access.not_found(self, "record.view", "results", id).await?);
        };
        let report = match &o.report_id {
            Some(rid) => {
                diagnostic_report::Entity::find_by_id(rid.clone())
                    .filter(diagnostic_report::Column::PatientId.eq(access.patient_id()))
                    .filter(diagnostic_report::Column::HeldAt.is_null())
                    .filter(sensitivity_ok(
                        access,
                        diagnostic_report::Column::Sensitivity,
                    ))
                    .one(&self.db)
                    .await?
            }
            None => None,
        };
        let mut history = vec![];
        let mut trend = Trend {
            name: o.name.clone(),
            unit: o.unit.clone(),
            low: o.ref_low,
            high: o.ref_high,
            points: vec![],
        };
        if let Some(code) = &o.code {
            let others = observation::Entity::find()
                .filter(observation::Column::Code.eq(code.clone()))
                .filter(observation::Column::Category.eq(LAB))
                .filter(observation::Column::Id.ne(o.id.clone()))
                .filter(self.visible_results(access).await?)
                .order_by_desc(observation::Column::EffectiveAt)
                .all(&self.db)
                .await?;
            // Points in the unit of this result only: a value in another unit is not comparable.
            let mut points: Vec<TrendPoint> = others
                .iter()
                .chain(std::iter::once(&o))
                .filter(|e| e.unit == o.unit)
                .filter_map(|e| {
                    Some(TrendPoint {
                        at: e.effective_at?,
                        date_label: format_long_date(to_datetime(e.effective_at?).date()),
                        value: e.value_num?,
                        flag: flag(e),
                    })
                })
                .collect();
            points.sort_by_key(|p| p.at);
            trend.points = points;
            history = others
                .iter()
                .map(|e| {
                    let unit = e
                        .unit
                        .as_deref()
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default();
                    (
                        format_long_date(to_datetime(e.effective_at.unwrap_or(0)).date()),
                        format!("{}{unit}", value_text(e)),
                        flag(e),
                    )
                })
                .collect();
        }
        access
            .audit(self, "record.view", "results", Some(&o.id), Outcome::Ok)
            .await?;
        let r = row(&o);
        Ok(ResultDetail {
            id: o.id.clone(),
            name: o.name.clone(),
            loinc: o.code.clone(),
            value: r.value,
            unit: r.unit,
            range: r.range,
            flag: r.flag,
            collected: format_long_date(to_datetime(o.effective_at.unwrap_or(0)).date()),
            released: o
                .released_at
                .or(report.as_ref().and_then(|r| r.issued_at))
                .map(|t| format_long_date(to_datetime(t).date())),
            report_name: report.map(|r| r.name),
            status: o.status.clone(),
            history,
            trend,
        })
    }
}

/// "active" → "Active", "on-hold" → "On hold".
pub fn status_label(s: &str) -> String {
    let s = s.replace('-', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A FHIR date or dateTime's day, as a long date.
fn long_date_text(t: Option<&str>) -> Option<String> {
    t.and_then(|t| t.get(0..10))
        .and_then(parse_iso_date)
        .map(format_long_date)
}

fn long_date_ms(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| format_long_date(to_datetime(ms).date()))
}

/// A FHIR date or dateTime's day as `YYYY-MM-DD`.
fn iso_date_text(t: Option<&str>) -> Option<String> {
    t.and_then(|t| t.get(0..10))
        .filter(|d| parse_iso_date(d).is_some())
        .map(str::to_owned)
}

fn iso_date_ms(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| format_iso_date(to_datetime(ms).date()))
}

impl Portal {
    /// The medication list: active ones first, then the rest, newest prescription first.
    pub async fn list_medications(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<MedicationView>> {
        let mut rows: Vec<medication::Model> = medication::Entity::find()
            .filter(medication::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, medication::Column::Sensitivity))
            .filter(medication::Column::Status.ne(ERROR_STATUS))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|m| range.contains_text(m.authored_on.as_deref()))
            .collect();
        rows.sort_by(|a, b| {
            (b.status == "active")
                .cmp(&(a.status == "active"))
                .then(b.authored_on.cmp(&a.authored_on))
                .then(a.name.cmp(&b.name))
        });
        access
            .audit(self, "record.view", "medications", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| MedicationView {
                active: m.status == "active",
                status: status_label(&m.status),
                prescribed: long_date_text(m.authored_on.as_deref()),
                prescribed_date: iso_date_text(m.authored_on.as_deref()),
                id: m.id,
                name: m.name,
                rxnorm: m.code,
                dosage: m.dosage,
            })
            .collect())
    }

    pub async fn list_allergies(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<AllergyView>> {
        let rows = allergy::Entity::find()
            .filter(allergy::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, allergy::Column::Sensitivity))
            .order_by_asc(allergy::Column::Name)
            .all(&self.db)
            .await?;
        access
            .audit(self, "record.view", "allergies", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|a| range.contains_text(a.recorded.as_deref()))
            .map(|a| AllergyView {
                status: a
                    .clinical_status
                    .as_deref()
                    .map(status_label)
                    .unwrap_or_else(|| "Status not given".into()),
                criticality: match a.criticality.as_deref() {
                    Some("high") => "High risk",
                    Some("low") => "Low risk",
                    _ => "Risk not known",
                }
                .into(),
                recorded: long_date_text(a.recorded.as_deref()),
                recorded_date: iso_date_text(a.recorded.as_deref()),
                id: a.id,
                name: a.name,
                code: a.code,
                reaction: a.reaction,
            })
            .collect())
    }

    pub async fn list_problems(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ProblemView>> {
        let mut rows: Vec<problem::Model> = problem::Entity::find()
            .filter(problem::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, problem::Column::Sensitivity))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|p| range.contains_text(p.onset.as_deref()))
            .collect();
        rows.sort_by(|a, b| {
            let active = |p: &problem::Model| p.clinical_status.as_deref() == Some("active");
            active(b)
                .cmp(&active(a))
                .then(b.onset.cmp(&a.onset))
                .then(a.name.cmp(&b.name))
        });
        access
            .audit(self, "record.view", "problems", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| ProblemView {
                status: p
                    .clinical_status
                    .as_deref()
                    .map(status_label)
                    .unwrap_or_else(|| "Status not given".into()),
                onset: long_date_text(p.onset.as_deref()),
                onset_date: iso_date_text(p.onset.as_deref()),
                id: p.id,
                name: p.name,
                code: p.code,
                code_system: p.code_system,
            })
            .collect())
    }

    /// Vaccines given, newest first.
    pub async fn list_immunizations(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ImmunizationView>> {
        let out = self.immunizations(access, range).await?;
        access
            .audit(self, "record.view", "immunizations", None, Outcome::Ok)
            .await?;
        Ok(out)
    }

    /// The same without an audit entry, for callers that audit their own use (downloads).
    pub(crate) async fn immunizations(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ImmunizationView>> {
        let mut rows: Vec<immunization::Model> = immunization::Entity::find()
            .filter(immunization::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, immunization::Column::Sensitivity))
            .filter(immunization::Column::Status.ne(ERROR_STATUS))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|i| range.contains_text(i.occurred.as_deref()))
            .collect();
        rows.sort_by(|a, b| b.occurred.cmp(&a.occurred).then(a.name.cmp(&b.name)));
        Ok(rows
            .into_iter()
            .map(|i| ImmunizationView {
                date: i
                    .occurred
                    .as_deref()
                    .and_then(|t| t.get(0..10))
                    .map(str::to_owned),
                date_label: long_date_text(i.occurred.as_deref()),
                status: status_label(&i.status),
                id: i.id,
                name: i.name,
                cvx: i.cvx,
                dose: i.dose,
                dose_number: i.dose_number,
                lot: i.lot,
                site: i.site,
                performer: i.performer,
            })
            .collect())
    }

    /// Vital signs, newest first.
    pub async fn list_vitals(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<VitalView>> {
        let rows = observation::Entity::find()
            .filter(observation::Column::Category.eq(VITALS))
            .filter(self.visible_results(access).await?)
            .order_by_desc(observation::Column::EffectiveAt)
            .order_by_asc(observation::Column::Name)
            .all(&self.db)
            .await?;
        access
            .audit(self, "record.view", "vitals", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|o| range.contains_ms(o.effective_at))
            .map(|o| VitalView {
                value: match &o.unit {
                    Some(u) => format!("{} {u}", value_text(&o)),
                    None => value_text(&o),
                },
                date_label: long_date_ms(o.effective_at).unwrap_or_else(|| "—".into()),
                date: iso_date_ms(o.effective_at),
                id: o.id,
                name: o.name,
                loinc: o.code,
            })
            .collect())
    }

    /// Visit summaries, newest first, each with what was decided at the visit.
    pub async fn list_visits(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<VisitView>> {
        let pid = access.patient_id();
        let visits: Vec<encounter::Model> = encounter::Entity::find()
            .filter(encounter::Column::PatientId.eq(pid))
            .filter(encounter::Column::Status.ne(ERROR_STATUS))
            .filter(sensitivity_ok(access, encounter::Column::Sensitivity))
            .order_by_desc(encounter::Column::StartAt)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|e| range.contains_ms(e.start_at))
            .collect();
        // A visit's diagnoses and medicines are parts of their own: a caregiver sees them
        // only when the grant covers them too.
        let problems = if access.may(Scope::Clinical) {
            problem::Entity::find()
                .filter(problem::Column::PatientId.eq(pid))
                .filter(sensitivity_ok(access, problem::Column::Sensitivity))
                .all(&self.db)
                .await?
        } else {
            vec![]
        };
        let meds = if access.may(Scope::Medications) {
            medication::Entity::find()
                .filter(medication::Column::PatientId.eq(pid))
                .filter(medication::Column::EncounterRef.is_not_null())
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
                let refs: Vec<String> = e
                    .diagnosis_refs
                    .as_deref()
                    .and_then(|j| serde_json::from_str::<Vec<String>>(j).ok())
                    .unwrap_or_default();
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
        access
            .audit(self, "record.view", "visits", None, Outcome::Ok)
            .await?;
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

    /// The Home page's cards: new results since `since` (the previous sign-in), the active
    /// medications, the last visit, and vaccines due by the two rules the record can tell.
    pub async fn record_highlights(
        &self,
        parts: HighlightParts<'_>,
        since: Option<i64>,
    ) -> Result<RecordHighlights> {
        let now = self.now();
        let mut h = RecordHighlights {
            new_results: 0,
            latest_result_day: None,
            active_medications: 0,
            last_visit: None,
            immunizations_due: vec![],
            covers: vec![],
        };
        if let Some(access) = parts.results {
            let results = observation::Entity::find()
                .filter(observation::Column::Category.eq(LAB))
                .filter(self.visible_results(access).await?)
                .order_by_desc(observation::Column::EffectiveAt)
                .all(&self.db)
                .await?;
            h.new_results = results
                .iter()
                .filter(|o| since.is_none_or(|t| o.released_at.unwrap_or(0) > t))
                .count() as u32;
            h.latest_result_day = results.first().and_then(|o| long_date_ms(o.effective_at));
            h.covers.push(Scope::Results);
            access
                .audit(self, "record.view", "summary", None, Outcome::Ok)
                .await?;
        }
        if let Some(access) = parts.medications {
            h.active_medications = medication::Entity::find()
                .filter(medication::Column::PatientId.eq(access.patient_id()))
                .filter(sensitivity_ok(access, medication::Column::Sensitivity))
                .filter(medication::Column::Status.eq("active"))
                .all(&self.db)
                .await?
                .len() as u32;
            h.covers.push(Scope::Medications);
        }
        if let Some(access) = parts.visits {
            h.last_visit = encounter::Entity::find()
                .filter(encounter::Column::PatientId.eq(access.patient_id()))
                .filter(sensitivity_ok(access, encounter::Column::Sensitivity))
                .filter(encounter::Column::StartAt.lte(now))
                .filter(encounter::Column::Status.ne(ERROR_STATUS))
                .order_by_desc(encounter::Column::StartAt)
                .one(&self.db)
                .await?
                .and_then(|e| long_date_ms(e.start_at));
            h.covers.push(Scope::Visits);
        }
        if let Some(access) = parts.immunizations {
            let shots = self.immunizations(access, &DateRange::all()).await?;
            h.immunizations_due = vaccines_due(&shots, to_datetime(now).date());
            h.covers.push(Scope::Immunizations);
        }
        Ok(h)
    }
}

/// The Home cards' parts, each opened for its own scope (absent when not granted).
#[derive(Default)]
pub struct HighlightParts<'a> {
    pub results: Option<&'a PatientAccess>,
    pub medications: Option<&'a PatientAccess>,
    pub visits: Option<&'a PatientAccess>,
    pub immunizations: Option<&'a PatientAccess>,
}

impl<'a> HighlightParts<'a> {
    /// Every part through one handle (the patient's own record).
    pub fn all(access: &'a PatientAccess) -> Self {
        Self {
            results: Some(access),
            medications: Some(access),
            visits: Some(access),
            immunizations: Some(access),
        }
    }
}

/// Rows marked sensitive are left out when the handle hides them.
pub(crate) fn sensitivity_ok(access: &PatientAccess, column: impl ColumnTrait) -> Condition {
    if access.hides_sensitive() {
        Condition::all().add(column.is_null())
    } else {
        Condition::all()
    }
}

impl Portal {
    /// When the caller's previous session began (the last sign-in before this one).
    pub async fn previous_sign_in(&self, p: &crate::Principal) -> Result<Option<i64>> {
        use crate::storage::entity::user_session;
        let (Some(uid), Some(sid)) = (p.user_id(), p.session_id()) else {
            return Ok(None);
        };
        Ok(user_session::Entity::find()
            .filter(user_session::Column::UserId.eq(uid))
            .filter(user_session::Column::Id.ne(sid))
            .order_by_desc(user_session::Column::CreatedAt)
            .one(&self.db)
            .await?
            .map(|s| s.created_at))
    }
}

struct Directory {
    practitioners: HashMap<String, String>,
    locations: HashMap<String, String>,
    organizations: HashMap<String, String>,
}

/// CVX codes of influenza vaccines and of tetanus-diphtheria boosters (Td / Tdap).
const FLU_CVX: [&str; 10] = [
    "88", "135", "140", "141", "150", "153", "155", "158", "161", "171",
];
const TD_CVX: [&str; 4] = ["09", "113", "115", "139"];

/// The two schedule rules that hold for everyone the record shows a history for: one
/// influenza dose each season (from 1 August), and a Td/Tdap booster every 10 years. Only
/// applied when the record already has that vaccine, so a record that starts late does not
/// call everything due.
pub fn vaccines_due(shots: &[ImmunizationView], today: time::Date) -> Vec<String> {
    let mut due = vec![];
    let last = |codes: &[&str]| {
        shots
            .iter()
            .filter(|s| s.cvx.as_deref().is_some_and(|c| codes.contains(&c)))
            .filter_map(|s| s.date.as_deref().and_then(parse_iso_date))
            .max()
    };
    let season_start = {
        let year = if today.month() as u8 >= 8 {
            today.year()
        } else {
            today.year() - 1
        };
        time::Date::from_calendar_date(year, time::Month::August, 1).ok()
    };
    if let (Some(flu), Some(start)) = (last(&FLU_CVX), season_start)
        && flu < start
    {
        due.push(format!(
            "Influenza (flu) vaccine for the {}–{} season",
            start.year(),
            start.year() + 1
        ));
    }
    if let Some(td) = last(&TD_CVX)
        && let Ok(ten_years_on) = td.replace_year(td.year() + 10)
        && ten_years_on <= today
    {
        due.push("Tetanus and diphtheria (Td or Tdap) booster".into());
    }
    due
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_print_like_a_lab_report() {
        assert_eq!(format_number(146.0), "146");
        assert_eq!(format_number(7.25), "7.25");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
    }
}
