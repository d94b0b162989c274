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
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
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
    /// A full export: the password must have been confirmed in the last minutes
    /// (SECURITY 17), whoever calls this.
    pub async fn export_fhir(
        &self,
        p: &crate::Principal,
        access: &PatientAccess,
    ) -> Result<Download> {
        if p.user_id() != Some(access.actor()) || access.by_caregiver() {
            return Err(Error::Forbidden);
        }
        self.recently_authenticated(p).await?;
        let now = self.now();
        let pid = access.patient_id();
        let p = self.patient_row(access).await?;
        let mut entries: Vec<Value> = vec![];
        entries.extend(entry(
            "Patient",
            p.fhir_id.as_deref().unwrap_or(&p.id),
            p.resource.as_deref(),
        ));
        macro_rules! rows {
            ($entity:ident, $kind:literal) => {
                rows!($entity, $kind, sea_orm::Condition::all())
            };
            ($entity:ident, $kind:literal, $cond:expr) => {
                for r in $entity::Entity::find()
                    .filter($entity::Column::PatientId.eq(pid))
                    .filter($cond)
                    .order_by_asc($entity::Column::FhirId)
                    .all(&self.db)
                    .await?
                {
                    entries.extend(entry($kind, &r.fhir_id, r.resource.as_deref()));
                }
            };
        }
        let visible: Vec<observation::Model> = observation::Entity::find()
            .filter(self.visible_results(access).await?)
            .order_by_asc(observation::Column::FhirId)
            .all(&self.db)
            .await?;
        let shown: BTreeSet<String> = visible.iter().map(|o| o.fhir_id.clone()).collect();
        // Every result row, to tell "none of its results are shown" from "it has none".
        let linked: BTreeSet<String> = observation::Entity::find()
            .filter(observation::Column::PatientId.eq(pid))
            .filter(observation::Column::ReportId.is_not_null())
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|o| o.report_id)
            .collect();
        let waiting = self.release_preferences_set(pid).await?;
        for r in diagnostic_report::Entity::find()
            .filter(diagnostic_report::Column::PatientId.eq(pid))
            .filter(diagnostic_report::Column::HeldAt.is_null())
            .filter(
                Condition::any()
                    .add(diagnostic_report::Column::ReleasedAt.is_null())
                    .add(diagnostic_report::Column::ReleasedAt.lte(now)),
            )
            .order_by_asc(diagnostic_report::Column::FhirId)
            .all(&self.db)
            .await?
        {
            let Some(mut e) = entry("DiagnosticReport", &r.fhir_id, r.resource.as_deref()) else {
                continue;
            };
            let res = &mut e["resource"];
            let listed = res
                .get("result")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            if let Some(results) = res.get_mut("result").and_then(Value::as_array_mut) {
                // Only the results the patient may see.
                results.retain(|x| {
                    x["reference"]
                        .as_str()
                        .and_then(|s| s.rsplit(['/', ':']).next())
                        .is_some_and(|id| shown.contains(id))
                });
            }
            let kept = res
                .get("result")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            if listed > 0 || linked.contains(&r.id) {
                // A report whose results are all hidden does not leave the portal; one with
                // some hidden loses its conclusion and attached text, which may tell them.
                if kept == 0 {
                    continue;
                }
                if kept < listed
                    && let Some(o) = res.as_object_mut()
                {
                    for k in ["conclusion", "conclusionCode", "presentedForm", "text"] {
                        o.remove(k);
                    }
                }
            } else if waiting {
                // A report without results (an imaging report, say) has no result to
                // review: while the patient asked to wait for some category, it waits too.
                continue;
            }
            entries.push(e);
        }
        for r in &visible {
            entries.extend(entry("Observation", &r.fhir_id, r.resource.as_deref()));
        }
        // Rows entered in error are not part of the record (they are never shown either).
        let error = crate::records::ERROR_STATUS;
        rows!(encounter, "Encounter", encounter::Column::Status.ne(error));
        rows!(problem, "Condition");
        rows!(allergy, "AllergyIntolerance");
        rows!(
            medication,
            "MedicationRequest",
            medication::Column::Status.ne(error)
        );
        rows!(
            immunization,
            "Immunization",
            immunization::Column::Status.ne(error)
        );
        rows!(
            document,
            "DocumentReference",
            Condition::all()
                .add(document::Column::Status.ne(error))
                .add(document::Column::HeldAt.is_null())
        );
        let mut wanted = BTreeSet::new();
        for e in &entries {
            referenced_ids(&e["resource"], &mut wanted);
        }
        let wanted: Vec<String> = wanted.into_iter().collect();
        // The patient's clinic's directory only: another clinic may use the same FHIR ids.
        let clinic = crate::clinic::clinic_of(&self.db, pid).await?;
        for r in practitioner::Entity::find()
            .filter(practitioner::Column::ClinicId.eq(clinic.clone()))
            .filter(practitioner::Column::FhirId.is_in(wanted.clone()))
            .all(&self.db)
            .await?
        {
            entries.extend(entry("Practitioner", &r.fhir_id, r.resource.as_deref()));
        }
        for r in location::Entity::find()
            .filter(location::Column::ClinicId.eq(clinic.clone()))
            .filter(location::Column::FhirId.is_in(wanted.clone()))
            .all(&self.db)
            .await?
        {
            entries.extend(entry("Location", &r.fhir_id, r.resource.as_deref()));
        }
        for r in organization::Entity::find()
            .filter(organization::Column::ClinicId.eq(clinic))
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
    /// itself carries no health information; the summary is its attachment. The password must
    /// have been confirmed in the last 5 minutes (the record leaves the portal), at most
    /// [`TRANSMITS_PER_DAY`] go out a day, the send is audited with the recipient before it
    /// is attempted, and the patient is told by email.
    pub async fn transmit_summary(
        &self,
        principal: &crate::Principal,
        access: &PatientAccess,
        to: &Email,
        range: &DateRange,
        format: SummaryFormat,
    ) -> Result<()> {
        let account = self.recently_authenticated(principal).await?;
        let since = self.now() - 86_400_000;
        let sent_today = crate::storage::entity::audit_event::Entity::find()
            .filter(crate::storage::entity::audit_event::Column::ActorUserId.eq(access.actor()))
            .filter(crate::storage::entity::audit_event::Column::Action.eq("record.transmit"))
            .filter(crate::storage::entity::audit_event::Column::At.gte(since))
            .count(&self.db)
            .await?;
        if sent_today >= TRANSMITS_PER_DAY {
            return Err(Error::Throttled {
                retry_after_secs: 3600,
            });
        }
        let d = self.summary_document(access, range, format).await?;
        let detail = format!(
            "health summary ({}), {}, to {}",
            format.label(),
            range.describe(),
            to.as_str()
        );
        let entry = |outcome| {
            Entry::new("record.transmit", outcome)
                .actor(access.actor().to_owned())
                .patient(access.patient_id().to_owned())
                .category(format.category())
                .detail(detail.clone())
        };
        self.record_audit(self.now(), access.meta(), entry(Outcome::Ok))
            .await?;
        let body = format!(
            "Someone chose to send you a health summary with {}. It is attached to this message.\n\nIf you did not expect it, delete this message.",
            self.settings.portal_name
        );
        let sent = self
            .mailer
            .send_with_attachment(
                to.as_str(),
                "A health summary was sent to you",
                &body,
                &Attachment {
                    filename: d.filename.clone(),
                    content_type: d.content_type,
                    bytes: d.bytes,
                },
            )
            .await;
        if sent.is_err() {
            self.record_audit(self.now(), access.meta(), entry(Outcome::Failed))
                .await?;
            return Err(Error::Invalid(
                "The summary could not be sent to that address. Check it and try again.".into(),
            ));
        }
        self.notify(
            &account,
            "Your health summary was sent",
            &format!(
                "Your health summary was sent by email to {}. If this was not you, open the Activity page and choose \"This wasn't me\", or call your clinic.",
                to.as_str()
            ),
        )
        .await;
        Ok(())
    }
}

/// Summaries a patient may send a day: enough for every doctor they see, too few for spam.
pub const TRANSMITS_PER_DAY: u64 = 10;

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
