//! The record leaving the portal: the whole record as a FHIR R4 Bundle, and the PDFs
//! (immunization record, health summary). Each download is audited as a download.

use crate::access::PatientAccess;
use crate::audit::Entry;
use crate::audit::Outcome;
use crate::ccda::{self, CcdInput, CcdPatient};
use crate::clock::to_datetime;
use crate::documents::{self, Subject, Summary};
use crate::notify::Attachment;
use crate::storage::entity::{
    allergy, clinic, diagnostic_report, document, encounter, immunization, location, medication,
    observation, organization, patient, practitioner, problem,
};
use crate::{Error, Portal, Result};
use domain::account::Email;
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

    /// Everything a health summary holds for `range`, read without per-list audit entries
    /// (the caller audits the download or transmit as one event).
    async fn summary_parts(&self, access: &PatientAccess, range: &DateRange) -> Result<Parts> {
        let quiet = access.quiet();
        Ok(Parts {
            problems: self.list_problems(&quiet, range).await?,
            medications: self.list_medications(&quiet, range).await?,
            allergies: self.list_allergies(&quiet, range).await?,
            immunizations: self.immunizations(access, range).await?,
            visits: self.list_visits(&quiet, range).await?,
            results: self.list_results(&quiet, range).await?,
            vitals: self.list_vitals(&quiet, range).await?,
        })
    }

    /// The health summary for `range`, as a PDF or a C-CDA document, not yet audited.
    async fn summary_document(
        &self,
        access: &PatientAccess,
        range: &DateRange,
        format: SummaryFormat,
    ) -> Result<Download> {
        let p = self.patient_row(access).await?;
        let (name, birth, clinic) = self.subject_of(&p).await?;
        let parts = self.summary_parts(access, range).await?;
        let now = to_datetime(self.now());
        let (from, to) = range.fields();
        let span = match (from.is_empty(), to.is_empty()) {
            (true, true) => String::new(),
            _ => format!("-{}-to-{}", or(&from, "start"), or(&to, "today")),
        };
        match format {
            SummaryFormat::Pdf => {
                let printed = format_long_date(now.date());
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
                        problems: &parts.problems,
                        medications: &parts.medications,
                        allergies: &parts.allergies,
                        immunizations: &parts.immunizations,
                        visits: &parts.visits,
                        results: &parts.results,
                        vitals: &parts.vitals,
                    },
                )
                .map_err(Error::Unexpected)?;
                Ok(Download {
                    bytes,
                    content_type: "application/pdf",
                    filename: format!("health-summary{span}.pdf"),
                })
            }
            SummaryFormat::Ccda => {
                let doc_id = crate::new_id();
                let xml = ccda::ccd_xml(&CcdInput {
                    patient: CcdPatient {
                        given: &p.given_name,
                        family: &p.family_name,
                        birth_date: &p.birth_date,
                        sex: p.sex.as_deref(),
                        mrn: &p.mrn,
                        mrn_system: p.mrn_system.as_deref(),
                    },
                    clinic_name: &clinic,
                    document_id: &doc_id,
                    created_at: now,
                    from: (!from.is_empty()).then_some(from.as_str()),
                    to: (!to.is_empty()).then_some(to.as_str()),
                    problems: &parts.problems,
                    medications: &parts.medications,
                    allergies: &parts.allergies,
                    immunizations: &parts.immunizations,
                    results: &parts.results,
                    vitals: &parts.vitals,
                    visits: &parts.visits,
                });
                Ok(Download {
                    bytes: xml.into_bytes(),
                    content_type: "application/xml",
                    filename: format!("health-summary{span}.xml"),
                })
            }
        }
    }

    /// The health summary for `range`, downloaded (audited as one download).
    pub async fn health_summary(
        &self,
        access: &PatientAccess,
        range: &DateRange,
        format: SummaryFormat,
    ) -> Result<Download> {
        let d = self.summary_document(access, range, format).await?;
        access
            .audit_detail(
                self,
                "record.download",
                format.category(),
                &format!("health summary, {}", range.describe()),
            )
            .await?;
        Ok(d)
    }

    /// The health summary PDF for `range`.
    pub async fn health_summary_pdf(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Download> {
        self.health_summary(access, range, SummaryFormat::Pdf).await
    }

    /// Sends the health summary to an address the patient typed (ONC "transmit"). The email
    /// itself carries no health information; the summary is its attachment. Audited with the
    /// recipient, whether or not the mail server took it.
    pub async fn transmit_summary(
        &self,
        access: &PatientAccess,
        to: &Email,
        range: &DateRange,
        format: SummaryFormat,
    ) -> Result<()> {
        let d = self.summary_document(access, range, format).await?;
        let clinic = {
            let p = self.patient_row(access).await?;
            self.subject_of(&p).await?.2
        };
        let body = format!(
            "A patient of {clinic} chose to send you their health summary with {}. It is attached to this message.\n\nIf you did not expect it, delete this message.",
            self.settings.portal_name
        );
        let sent = self
            .mailer
            .send_with_attachment(
                to.as_str(),
                &format!("Health summary sent from {clinic}"),
                &body,
                &Attachment {
                    filename: d.filename.clone(),
                    content_type: d.content_type,
                    bytes: d.bytes,
                },
            )
            .await;
        let detail = format!(
            "health summary ({}), {}, to {}",
            format.label(),
            range.describe(),
            to.as_str()
        );
        let entry = Entry::new(
            "record.transmit",
            if sent.is_ok() {
                Outcome::Ok
            } else {
                Outcome::Failed
            },
        )
        .actor(access.actor().to_owned())
        .patient(access.patient_id().to_owned())
        .category(format.category())
        .detail(detail);
        crate::audit::record(&self.db, self.now(), access.meta(), entry).await?;
        sent.map_err(|_| {
            Error::Invalid(
                "The summary could not be sent to that address. Check it and try again.".into(),
            )
        })
    }
}

/// The two forms of the health summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    Pdf,
    Ccda,
}

impl SummaryFormat {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pdf" => Ok(Self::Pdf),
            "ccda" => Ok(Self::Ccda),
            _ => Err(Error::Invalid(
                "Choose the summary's format: PDF or C-CDA.".into(),
            )),
        }
    }
    fn category(self) -> &'static str {
        match self {
            Self::Pdf => "summary",
            Self::Ccda => "ccda",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Ccda => "C-CDA",
        }
    }
}

struct Parts {
    problems: Vec<domain::records::ProblemView>,
    medications: Vec<domain::records::MedicationView>,
    allergies: Vec<domain::records::AllergyView>,
    immunizations: Vec<domain::records::ImmunizationView>,
    visits: Vec<domain::records::VisitView>,
    results: Vec<domain::records::ResultDay>,
    vitals: Vec<domain::records::VitalView>,
}

fn or<'a>(s: &'a str, dflt: &'a str) -> &'a str {
    if s.is_empty() { dflt } else { s }
}
