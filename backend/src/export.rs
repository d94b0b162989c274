//! The record leaving the portal: the whole record as a FHIR R4 Bundle, and the PDFs
//! (immunization record, health summary). Each download is audited as a download.

use crate::access::PatientAccess;
use crate::audit::Outcome;
use crate::clock::to_datetime;
use crate::documents::{self, Subject, Summary};
use crate::storage::entity::{
    allergy, clinic, diagnostic_report, document, encounter, immunization, location, medication,
    observation, organization, patient, practitioner, problem,
};
use crate::{Error, Portal, Result};
use domain::person::{format_iso_date, format_long_date, parse_iso_date};
use domain::records::DateRange;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A file to send: its bytes, media type and the name it is saved under.
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub filename: String,
}

/// A stored resource ready for a bundle entry: its id set, a `urn:uuid:` fullUrl when the
/// id is a UUID (so `urn:uuid:` references inside the record still resolve).
fn entry(kind: &str, fhir_id: &str, resource: Option<&str>) -> Option<Value> {
    let mut r: Value = serde_json::from_str(resource?).ok()?;
    if r.get("resourceType").and_then(Value::as_str) != Some(kind) {
        return None;
    }
    r["id"] = json!(fhir_id);
    let mut e = json!({ "resource": r });
    if uuid::Uuid::parse_str(fhir_id).is_ok() {
        e["fullUrl"] = json!(format!("urn:uuid:{fhir_id}"));
    }
    Some(e)
}

/// References (`Type/id` or `urn:uuid:id`) anywhere inside a resource, as logical ids.
fn referenced_ids(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("reference")
                && let Some(id) = r.rsplit(['/', ':']).next()
            {
                out.insert(id.to_owned());
            }
            m.values().for_each(|x| referenced_ids(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| referenced_ids(x, out)),
        _ => {}
    }
}

impl Portal {
    async fn patient_row(&self, access: &PatientAccess) -> Result<patient::Model> {
        patient::Entity::find_by_id(access.patient_id().to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)
    }

    async fn subject_of(&self, p: &patient::Model) -> Result<(String, String, String)> {
        let clinic = clinic::Entity::find_by_id(p.clinic_id.clone())
            .one(&self.db)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        let birth = parse_iso_date(&p.birth_date)
            .map(format_long_date)
            .unwrap_or_else(|| p.birth_date.clone());
        Ok((format!("{} {}", p.given_name, p.family_name), birth, clinic))
    }

    /// The whole record the patient can see (held results left out) as a FHIR R4
    /// `collection` Bundle, with the practitioners, places and organizations it names.
    pub async fn export_fhir(&self, access: &PatientAccess) -> Result<Download> {
        let now = self.now();
        let pid = access.patient_id();
        let p = self.patient_row(access).await?;
        let released = |col_null, col_lte| Condition::any().add(col_null).add(col_lte);
        let mut entries: Vec<Value> = vec![];
        entries.extend(entry(
            "Patient",
            p.fhir_id.as_deref().unwrap_or(&p.id),
            p.resource.as_deref(),
        ));
        macro_rules! rows {
            ($entity:ident, $kind:literal) => {
                for r in $entity::Entity::find()
                    .filter($entity::Column::PatientId.eq(pid))
                    .order_by_asc($entity::Column::FhirId)
                    .all(&self.db)
                    .await?
                {
                    entries.extend(entry($kind, &r.fhir_id, r.resource.as_deref()));
                }
            };
        }
        for r in diagnostic_report::Entity::find()
            .filter(diagnostic_report::Column::PatientId.eq(pid))
            .filter(released(
                diagnostic_report::Column::ReleasedAt.is_null(),
                diagnostic_report::Column::ReleasedAt.lte(now),
            ))
            .order_by_asc(diagnostic_report::Column::FhirId)
            .all(&self.db)
            .await?
        {
            entries.extend(entry("DiagnosticReport", &r.fhir_id, r.resource.as_deref()));
        }
        for r in observation::Entity::find()
            .filter(observation::Column::PatientId.eq(pid))
            .filter(self.visible_results(pid).await?)
            .order_by_asc(observation::Column::FhirId)
            .all(&self.db)
            .await?
        {
            entries.extend(entry("Observation", &r.fhir_id, r.resource.as_deref()));
        }
        rows!(encounter, "Encounter");
        rows!(problem, "Condition");
        rows!(allergy, "AllergyIntolerance");
        rows!(medication, "MedicationRequest");
        rows!(immunization, "Immunization");
        rows!(document, "DocumentReference");
        // A report of a held result still lists it: keep only references that resolve.
        let present: BTreeSet<String> = entries
            .iter()
            .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
            .collect();
        for e in &mut entries {
            if let Some(results) = e["resource"]
                .get_mut("result")
                .and_then(Value::as_array_mut)
            {
                results.retain(|r| {
                    r["reference"]
                        .as_str()
                        .and_then(|s| s.rsplit(['/', ':']).next())
                        .is_some_and(|id| present.contains(id))
                });
                if results.is_empty() {
                    e["resource"].as_object_mut().map(|o| o.remove("result"));
                }
            }
        }
        let mut wanted = BTreeSet::new();
        for e in &entries {
            referenced_ids(&e["resource"], &mut wanted);
        }
        let wanted: Vec<String> = wanted.into_iter().collect();
        for r in practitioner::Entity::find()
            .filter(practitioner::Column::FhirId.is_in(wanted.clone()))
            .all(&self.db)
            .await?
        {
            entries.extend(entry("Practitioner", &r.fhir_id, r.resource.as_deref()));
        }
        for r in location::Entity::find()
            .filter(location::Column::FhirId.is_in(wanted.clone()))
            .all(&self.db)
            .await?
        {
            entries.extend(entry("Location", &r.fhir_id, r.resource.as_deref()));
        }
        for r in organization::Entity::find()
            .filter(organization::Column::FhirId.is_in(wanted))
            .all(&self.db)
            .await?
        {
            entries.extend(entry("Organization", &r.fhir_id, r.resource.as_deref()));
        }
        let stamp = crate::clock::to_rfc3339(now);
        let bundle = json!({
            "resourceType": "Bundle",
            "id": crate::new_id(),
            "meta": { "lastUpdated": stamp },
            "type": "collection",
            "timestamp": stamp,
            "entry": entries,
        });
        access
            .audit(self, "record.download", "fhir", None, Outcome::Ok)
            .await?;
        let bytes = serde_json::to_vec_pretty(&bundle)
            .map_err(|e| Error::Unexpected(format!("export: {e}")))?;
        Ok(Download {
            bytes,
            content_type: "application/fhir+json",
            filename: format!(
                "health-record-{}.json",
                format_iso_date(to_datetime(now).date())
            ),
        })
    }

    /// The immunization record PDF (for school or travel).
    pub async fn immunization_record_pdf(&self, access: &PatientAccess) -> Result<Download> {
        let p = self.patient_row(access).await?;
        let (name, birth, clinic) = self.subject_of(&p).await?;
        let shots = self.immunizations(access, &DateRange::all()).await?;
        let today = to_datetime(self.now()).date();
        let printed = format_long_date(today);
        let who = Subject {
            name: &name,
            birth_date: &birth,
            clinic: &clinic,
            printed_on: &printed,
        };
        let bytes = documents::immunization_pdf(&who, &shots).map_err(Error::Unexpected)?;
        access
            .audit(self, "record.download", "immunizations", None, Outcome::Ok)
            .await?;
        Ok(Download {
            bytes,
            content_type: "application/pdf",
            filename: format!("immunization-record-{}.pdf", format_iso_date(today)),
        })
    }

    /// The health summary PDF for `range`. The lists it reads are audited as one download.
    pub async fn health_summary_pdf(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Download> {
        let p = self.patient_row(access).await?;
        let (name, birth, clinic) = self.subject_of(&p).await?;
        let quiet = access.quiet();
        let problems = self.list_problems(&quiet, range).await?;
        let medications = self.list_medications(&quiet, range).await?;
        let allergies = self.list_allergies(&quiet, range).await?;
        let immunizations = self.immunizations(access, range).await?;
        let visits = self.list_visits(&quiet, range).await?;
        let results = self.list_results(&quiet, range).await?;
        let vitals = self.list_vitals(&quiet, range).await?;
        let today = to_datetime(self.now()).date();
        let printed = format_long_date(today);
        let who = Subject {
            name: &name,
            birth_date: &birth,
            clinic: &clinic,
            printed_on: &printed,
        };
        let covers = range.describe();
        let bytes = documents::summary_pdf(
            &who,
            &Summary {
                range: &covers,
                problems: &problems,
                medications: &medications,
                allergies: &allergies,
                immunizations: &immunizations,
                visits: &visits,
                results: &results,
                vitals: &vitals,
            },
        )
        .map_err(Error::Unexpected)?;
        access
            .audit_detail(
                self,
                "record.download",
                "summary",
                &format!("health summary, {covers}"),
            )
            .await?;
        let (from, to) = range.fields();
        let span = match (from.is_empty(), to.is_empty()) {
            (true, true) => String::new(),
            _ => format!("-{}-to-{}", or(&from, "start"), or(&to, "today")),
        };
        Ok(Download {
            bytes,
            content_type: "application/pdf",
            filename: format!("health-summary{span}.pdf"),
        })
    }
}

fn or<'a>(s: &'a str, dflt: &'a str) -> &'a str {
    if s.is_empty() { dflt } else { s }
}
