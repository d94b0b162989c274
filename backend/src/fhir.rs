//! FHIR R4 import: Bundles of Patient, Observation, DiagnosticReport, Encounter, Condition,
//! AllergyIntolerance, MedicationRequest and Immunization. A bundle goes in whole or not at all.

use crate::storage::entity::{
    allergy, diagnostic_report, encounter, immunization, medication, observation, patient, problem,
};
use crate::{Error, Portal, Result, new_id};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Counts of what one import did, per resource type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: BTreeMap<String, u32>,
    pub updated: BTreeMap<String, u32>,
    pub skipped: BTreeMap<String, u32>,
}

impl ImportSummary {
    fn add(&mut self, kind: &str, created: bool) {
        let m = if created {
            &mut self.created
        } else {
            &mut self.updated
        };
        *m.entry(kind.to_owned()).or_default() += 1;
    }
    pub fn total(&self) -> u32 {
        self.created.values().sum::<u32>() + self.updated.values().sum::<u32>()
    }
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&String> = self
            .created
            .keys()
            .chain(self.updated.keys())
            .chain(self.skipped.keys())
            .collect();
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            writeln!(
                f,
                "  {k}: {} created, {} updated, {} skipped",
                self.created.get(k).unwrap_or(&0),
                self.updated.get(k).unwrap_or(&0),
                self.skipped.get(k).unwrap_or(&0)
            )?;
        }
        Ok(())
    }
}

fn bad(kind: &str, id: &str, field: &str) -> Error {
    Error::Invalid(format!("{kind}/{id}: {field} is missing or not valid"))
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = match p.parse::<usize>() {
            Ok(i) => cur.get(i)?,
            Err(_) => cur.get(*p)?,
        };
    }
    cur.as_str()
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = match p.parse::<usize>() {
            Ok(i) => cur.get(i)?,
            Err(_) => cur.get(*p)?,
        };
    }
    cur.as_f64()
}

/// A CodeableConcept's text, or its first coding's display, or its code.
fn concept_text(c: Option<&Value>) -> Option<String> {
    let c = c?;
    s(c, &["text"])
        .or_else(|| s(c, &["coding", "0", "display"]))
        .or_else(|| s(c, &["coding", "0", "code"]))
        .map(str::to_owned)
}

fn first_code(c: Option<&Value>, system: Option<&str>) -> Option<String> {
    let codings = c?.get("coding")?.as_array()?;
    codings
        .iter()
        .find(|cd| system.is_none_or(|sys| s(cd, &["system"]) == Some(sys)))
        .or_else(|| codings.first())
        .and_then(|cd| s(cd, &["code"]))
        .map(str::to_owned)
}

/// FHIR dateTime / instant / date → Unix ms (dates at midnight UTC).
pub fn parse_instant(t: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(dt) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Some((dt.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let d = domain::person::parse_iso_date(t.get(0..10)?)?;
    Some(d.midnight().assume_utc().unix_timestamp() * 1000)
}

struct Ctx<'a> {
    txn: &'a DatabaseTransaction,
    clinic_id: String,
    now: i64,
    /// fullUrl / "Type/id" → (type, logical id) of resources in this bundle.
    refs: HashMap<String, (String, String)>,
    /// patient logical id → patient row id.
    patients: HashMap<String, String>,
    /// observation logical id → report row id.
    report_of: HashMap<String, String>,
    summary: ImportSummary,
}

/// The logical id of an entry: `resource.id`, else the uuid of a `urn:uuid:` fullUrl.
fn logical_id(entry: &Value) -> Option<String> {
    if let Some(id) = s(entry, &["resource", "id"]) {
        return Some(id.to_owned());
    }
    let full = s(entry, &["fullUrl"])?;
    Some(full.rsplit([':', '/']).next()?.to_owned())
}

impl Portal {
    /// Imports one FHIR R4 Bundle (JSON) into the default clinic, in one transaction.
    pub async fn import_bundle(&self, clinic_id: &str, bundle: &Value) -> Result<ImportSummary> {
        if s(bundle, &["resourceType"]) != Some("Bundle") {
            return Err(Error::Invalid("resourceType must be \"Bundle\"".into()));
        }
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Invalid("the bundle has no entry array".into()))?;
        let txn = self.db.begin().await?;
        let mut cx = Ctx {
            txn: &txn,
            clinic_id: clinic_id.to_owned(),
            now: self.now(),
            refs: HashMap::new(),
            patients: HashMap::new(),
            report_of: HashMap::new(),
            summary: ImportSummary::default(),
        };
        for (i, e) in entries.iter().enumerate() {
            let kind = s(e, &["resource", "resourceType"]).ok_or_else(|| {
                Error::Invalid(format!("entry {i}: resource.resourceType is missing"))
            })?;
            let id = logical_id(e)
                .ok_or_else(|| Error::Invalid(format!("entry {i} ({kind}): no id or fullUrl")))?;
            if let Some(full) = s(e, &["fullUrl"]) {
                cx.refs
                    .insert(full.to_owned(), (kind.to_owned(), id.clone()));
            }
            cx.refs
                .insert(format!("{kind}/{id}"), (kind.to_owned(), id));
        }
        // Patients first, then reports (so results link to them), then everything else.
        for pass in [
            &["Patient"][..],
            &["DiagnosticReport"],
            &[
                "Observation",
                "Encounter",
                "Condition",
                "AllergyIntolerance",
                "MedicationRequest",
                "Immunization",
            ],
        ] {
            for e in entries {
                let r = &e["resource"];
                let kind = s(r, &["resourceType"]).unwrap_or_default();
                if !pass.contains(&kind) {
                    continue;
                }
                let id = logical_id(e).unwrap_or_default();
                match kind {
                    "Patient" => import_patient(&mut cx, &id, r).await?,
                    "DiagnosticReport" => import_report(&mut cx, &id, r).await?,
                    "Observation" => import_observation(&mut cx, &id, r).await?,
                    "Encounter" => import_encounter(&mut cx, &id, r).await?,
                    "Condition" => import_condition(&mut cx, &id, r).await?,
                    "AllergyIntolerance" => import_allergy(&mut cx, &id, r).await?,
                    "MedicationRequest" => import_medication(&mut cx, &id, r).await?,
                    "Immunization" => import_immunization(&mut cx, &id, r).await?,
                    _ => unreachable!(),
                }
            }
        }
        for e in entries {
            let kind = s(e, &["resource", "resourceType"]).unwrap_or_default();
            if ![
                "Patient",
                "DiagnosticReport",
                "Observation",
                "Encounter",
                "Condition",
                "AllergyIntolerance",
                "MedicationRequest",
                "Immunization",
            ]
            .contains(&kind)
            {
                *cx.summary.skipped.entry(kind.to_owned()).or_default() += 1;
            }
        }
        let summary = std::mem::take(&mut cx.summary);
        txn.commit().await?;
        Ok(summary)
    }
}

async fn import_patient(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let mrn = s(r, &["identifier", "0", "value"])
        .ok_or_else(|| bad("Patient", id, "identifier[0].value (MRN)"))?;
    let system = s(r, &["identifier", "0", "system"]).map(str::to_owned);
    let family =
        s(r, &["name", "0", "family"]).ok_or_else(|| bad("Patient", id, "name[0].family"))?;
    let given =
        s(r, &["name", "0", "given", "0"]).ok_or_else(|| bad("Patient", id, "name[0].given"))?;
    let birth = s(r, &["birthDate"])
        .filter(|d| domain::person::parse_iso_date(d).is_some())
        .ok_or_else(|| bad("Patient", id, "birthDate"))?;
    let existing = patient::Entity::find()
        .filter(patient::Column::Mrn.eq(mrn))
        .one(cx.txn)
        .await?;
    let row_id = match existing {
        Some(p) => {
            let mut am: patient::ActiveModel = p.clone().into();
            am.given_name = Set(given.to_owned());
            am.family_name = Set(family.to_owned());
            am.birth_date = Set(birth.to_owned());
            am.sex = Set(s(r, &["gender"]).map(str::to_owned));
            am.fhir_id = Set(Some(id.to_owned()));
            am.mrn_system = Set(system);
            if am.is_changed() {
                am.updated_at = Set(cx.now);
                am.update(cx.txn).await?;
            }
            cx.summary.add("Patient", false);
            p.id
        }
        None => {
            let row_id = new_id();
            patient::ActiveModel {
                id: Set(row_id.clone()),
                clinic_id: Set(cx.clinic_id.clone()),
                mrn: Set(mrn.to_owned()),
                mrn_system: Set(system),
                fhir_id: Set(Some(id.to_owned())),
                given_name: Set(given.to_owned()),
                family_name: Set(family.to_owned()),
                birth_date: Set(birth.to_owned()),
                sex: Set(s(r, &["gender"]).map(str::to_owned)),
                created_at: Set(cx.now),
                updated_at: Set(cx.now),
            }
            .insert(cx.txn)
            .await?;
            cx.summary.add("Patient", true);
            row_id
        }
    };
    cx.patients.insert(id.to_owned(), row_id);
    Ok(())
}

/// Resolves a subject/patient reference to a patient row: a reference inside this bundle,
/// `Patient/<id>` of an earlier import, or a logical reference by identifier (MRN).
async fn patient_of(
    cx: &Ctx<'_>,
    kind: &str,
    id: &str,
    reference: Option<&Value>,
) -> Result<String> {
    let reference = reference.ok_or_else(|| bad(kind, id, "subject/patient"))?;
    if let Some(r) = s(reference, &["reference"]) {
        if let Some((t, lid)) = cx.refs.get(r)
            && t == "Patient"
            && let Some(row) = cx.patients.get(lid)
        {
            return Ok(row.clone());
        }
        if let Some(lid) = r.strip_prefix("Patient/")
            && let Some(p) = patient::Entity::find()
                .filter(patient::Column::FhirId.eq(lid))
                .one(cx.txn)
                .await?
        {
            return Ok(p.id);
        }
    }
    if let Some(v) = s(reference, &["identifier", "value"])
        && let Some(p) = patient::Entity::find()
            .filter(patient::Column::Mrn.eq(v))
            .one(cx.txn)
            .await?
    {
        return Ok(p.id);
    }
    Err(Error::Invalid(format!(
        "{kind}/{id}: its patient reference does not match a patient in this bundle or in the portal"
    )))
}

/// Inserts, or updates the earlier import of the same FHIR id; yields the row id.
macro_rules! upsert {
    ($cx:expr, $entity:ident, $kind:literal, $id:expr, $am:expr) => {{
        let existing = $entity::Entity::find()
            .filter($entity::Column::FhirId.eq($id))
            .one($cx.txn)
            .await?;
        let mut am = $am;
        let row_id = match existing {
            Some(e) => {
                // The same FHIR id under another patient is a conflict, never a move.
                if am.patient_id.as_ref() != &e.patient_id {
                    return Err(Error::Invalid(format!(
                        "{}/{}: this id already belongs to another patient's record",
                        $kind, $id
                    )));
                }
                am.id = Set(e.id.clone());
                am.update($cx.txn).await?;
                $cx.summary.add($kind, false);
                e.id
            }
            None => {
                let row_id = new_id();
                am.id = Set(row_id.clone());
                am.insert($cx.txn).await?;
                $cx.summary.add($kind, true);
                row_id
            }
        };
        row_id
    }};
}

async fn import_report(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "DiagnosticReport", id, r.get("subject")).await?;
    let name = concept_text(r.get("code")).ok_or_else(|| bad("DiagnosticReport", id, "code"))?;
    let issued = s(r, &["issued"]).and_then(parse_instant);
    let am = diagnostic_report::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        code: Set(first_code(r.get("code"), Some("http://loinc.org"))),
        name: Set(name),
        category: Set(first_code(r.get("category").and_then(|c| c.get(0)), None)),
        status: Set(s(r, &["status"])
            .ok_or_else(|| bad("DiagnosticReport", id, "status"))?
            .to_owned()),
        effective_at: Set(s(r, &["effectiveDateTime"]).and_then(parse_instant)),
        issued_at: Set(issued),
        // Released when issued (the default release rule).
        released_at: Set(issued),
    };
    let row = upsert!(cx, diagnostic_report, "DiagnosticReport", id, am);
    if let Some(results) = r.get("result").and_then(Value::as_array) {
        for res in results {
            if let Some(reference) = s(res, &["reference"]) {
                let lid = cx
                    .refs
                    .get(reference)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| reference.rsplit('/').next().unwrap_or_default().to_owned());
                cx.report_of.insert(lid, row.clone());
            }
        }
    }
    Ok(())
}

async fn import_observation(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "Observation", id, r.get("subject")).await?;
    let name = concept_text(r.get("code")).ok_or_else(|| bad("Observation", id, "code"))?;
    let category = first_code(r.get("category").and_then(|c| c.get(0)), None)
        .unwrap_or_else(|| "other".into());
    let (mut value_num, mut value_text, mut unit) = (
        num(r, &["valueQuantity", "value"]),
        s(r, &["valueString"])
            .map(str::to_owned)
            .or_else(|| concept_text(r.get("valueCodeableConcept"))),
        s(r, &["valueQuantity", "unit"])
            .or_else(|| s(r, &["valueQuantity", "code"]))
            .map(str::to_owned),
    );
    // Panels such as blood pressure carry their values in components.
    if value_num.is_none()
        && value_text.is_none()
        && let Some(comps) = r.get("component").and_then(Value::as_array)
    {
        let parts: Vec<String> = comps
            .iter()
            .filter_map(|c| num(c, &["valueQuantity", "value"]).map(crate::records::format_number))
            .collect();
        if !parts.is_empty() {
            value_text = Some(parts.join("/"));
            unit = comps
                .first()
                .and_then(|c| s(c, &["valueQuantity", "unit"]))
                .map(str::to_owned);
        }
    }
    if value_num.is_some() {
        value_text = None;
    }
    if value_num.is_none() && value_text.is_none() && s(r, &["dataAbsentReason", "text"]).is_none()
    {
        value_num = None;
    }
    let range = r.get("referenceRange").and_then(|v| v.get(0));
    let report_id = cx.report_of.get(id).cloned();
    if let Some(rid) = &report_id {
        let same_patient = diagnostic_report::Entity::find_by_id(rid.clone())
            .one(cx.txn)
            .await?
            .is_some_and(|r| r.patient_id == patient_id);
        if !same_patient {
            return Err(Error::Invalid(format!(
                "Observation/{id}: its report belongs to another patient"
            )));
        }
    }
    let issued = s(r, &["issued"]).and_then(parse_instant);
    let am = observation::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        report_id: Set(report_id.clone()),
        fhir_id: Set(id.to_owned()),
        category: Set(category),
        code: Set(first_code(r.get("code"), Some("http://loinc.org"))),
        name: Set(name),
        value_num: Set(value_num),
        value_text: Set(value_text),
        unit: Set(unit),
        ref_low: Set(range.and_then(|g| num(g, &["low", "value"]))),
        ref_high: Set(range.and_then(|g| num(g, &["high", "value"]))),
        ref_text: Set(range.and_then(|g| s(g, &["text"])).map(str::to_owned)),
        interpretation: Set(first_code(
            r.get("interpretation").and_then(|c| c.get(0)),
            None,
        )),
        status: Set(s(r, &["status"])
            .ok_or_else(|| bad("Observation", id, "status"))?
            .to_owned()),
        effective_at: Set(s(r, &["effectiveDateTime"])
            .or_else(|| s(r, &["effectivePeriod", "start"]))
            .or_else(|| s(r, &["effectiveInstant"]))
            .and_then(parse_instant)),
        released_at: Set(issued.or(report_release(cx, report_id.as_deref()).await?)),
    };
    upsert!(cx, observation, "Observation", id, am);
    Ok(())
}

async fn report_release(cx: &Ctx<'_>, report_id: Option<&str>) -> Result<Option<i64>> {
    let Some(rid) = report_id else {
        return Ok(None);
    };
    Ok(diagnostic_report::Entity::find_by_id(rid.to_owned())
        .one(cx.txn)
        .await?
        .and_then(|r| r.released_at))
}

async fn import_encounter(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "Encounter", id, r.get("subject")).await?;
    let am = encounter::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        status: Set(s(r, &["status"])
            .ok_or_else(|| bad("Encounter", id, "status"))?
            .to_owned()),
        class_code: Set(s(r, &["class", "code"]).map(str::to_owned)),
        type_text: Set(concept_text(r.get("type").and_then(|t| t.get(0)))),
        reason: Set(concept_text(r.get("reasonCode").and_then(|t| t.get(0)))),
        start_at: Set(s(r, &["period", "start"]).and_then(parse_instant)),
        end_at: Set(s(r, &["period", "end"]).and_then(parse_instant)),
    };
    upsert!(cx, encounter, "Encounter", id, am);
    Ok(())
}

async fn import_condition(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "Condition", id, r.get("subject")).await?;
    let am = problem::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        code: Set(first_code(r.get("code"), None)),
        code_system: Set(s(r, &["code", "coding", "0", "system"]).map(str::to_owned)),
        name: Set(concept_text(r.get("code")).ok_or_else(|| bad("Condition", id, "code"))?),
        clinical_status: Set(first_code(r.get("clinicalStatus"), None)),
        onset: Set(s(r, &["onsetDateTime"]).map(str::to_owned)),
    };
    upsert!(cx, problem, "Condition", id, am);
    Ok(())
}

async fn import_allergy(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "AllergyIntolerance", id, r.get("patient")).await?;
    let am = allergy::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        code: Set(first_code(r.get("code"), None)),
        name: Set(concept_text(r.get("code")).ok_or_else(|| bad("AllergyIntolerance", id, "code"))?),
        clinical_status: Set(first_code(r.get("clinicalStatus"), None)),
        criticality: Set(s(r, &["criticality"]).map(str::to_owned)),
        recorded: Set(s(r, &["recordedDate"]).map(str::to_owned)),
    };
    upsert!(cx, allergy, "AllergyIntolerance", id, am);
    Ok(())
}

async fn import_medication(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "MedicationRequest", id, r.get("subject")).await?;
    let am = medication::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        code: Set(first_code(r.get("medicationCodeableConcept"), None)),
        name: Set(concept_text(r.get("medicationCodeableConcept"))
            .or_else(|| s(r, &["medicationReference", "display"]).map(str::to_owned))
            .ok_or_else(|| bad("MedicationRequest", id, "medicationCodeableConcept"))?),
        status: Set(s(r, &["status"])
            .ok_or_else(|| bad("MedicationRequest", id, "status"))?
            .to_owned()),
        authored_on: Set(s(r, &["authoredOn"]).map(str::to_owned)),
        dosage: Set(s(r, &["dosageInstruction", "0", "text"]).map(str::to_owned)),
    };
    upsert!(cx, medication, "MedicationRequest", id, am);
    Ok(())
}

async fn import_immunization(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "Immunization", id, r.get("patient")).await?;
    let dose = num(r, &["doseQuantity", "value"]).map(|v| {
        let unit = s(r, &["doseQuantity", "unit"]).unwrap_or_default();
        format!("{} {unit}", crate::records::format_number(v))
            .trim()
            .to_owned()
    });
    let am = immunization::ActiveModel {
        id: Set(String::new()),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        cvx: Set(first_code(
            r.get("vaccineCode"),
            Some("http://hl7.org/fhir/sid/cvx"),
        )),
        name: Set(concept_text(r.get("vaccineCode"))
            .ok_or_else(|| bad("Immunization", id, "vaccineCode"))?),
        status: Set(s(r, &["status"])
            .ok_or_else(|| bad("Immunization", id, "status"))?
            .to_owned()),
        occurred: Set(s(r, &["occurrenceDateTime"]).map(str::to_owned)),
        lot: Set(s(r, &["lotNumber"]).map(str::to_owned)),
        dose: Set(dose),
        performer: Set(s(r, &["performer", "0", "actor", "display"]).map(str::to_owned)),
    };
    upsert!(cx, immunization, "Immunization", id, am);
    Ok(())
}
