//! FHIR R4 import: Bundles of Patient, Observation, DiagnosticReport, Encounter, Condition,
//! AllergyIntolerance, MedicationRequest and Immunization. A bundle goes in whole or not at all.

use crate::storage::entity::{
    allergy, diagnostic_report, document, encounter, immunization, location, medication,
    observation, organization, patient, practitioner, problem,
};
use crate::{Error, Portal, Result, new_id};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::Expr,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Counts of what one import did, per resource type, and what it refused.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: BTreeMap<String, u32>,
    pub updated: BTreeMap<String, u32>,
    pub unchanged: BTreeMap<String, u32>,
    pub rejected: BTreeMap<String, u32>,
    /// Resource types the portal does not keep.
    pub skipped: BTreeMap<String, u32>,
    /// One line per refused resource: where, which resource, which field.
    pub errors: Vec<String>,
}

/// What an upsert did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Created,
    Updated,
    Unchanged,
}

impl ImportSummary {
    fn add(&mut self, kind: &str, change: Change) {
        let m = match change {
            Change::Created => &mut self.created,
            Change::Updated => &mut self.updated,
            Change::Unchanged => &mut self.unchanged,
        };
        *m.entry(kind.to_owned()).or_default() += 1;
    }
    /// Rows created or updated.
    pub fn total(&self) -> u32 {
        self.created.values().sum::<u32>() + self.updated.values().sum::<u32>()
    }
    /// Rows the import accounted for, changed or not.
    pub fn kept(&self) -> u32 {
        self.total() + self.unchanged.values().sum::<u32>()
    }
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&String> = self
            .created
            .keys()
            .chain(self.updated.keys())
            .chain(self.unchanged.keys())
            .chain(self.rejected.keys())
            .collect();
        kinds.sort();
        kinds.dedup();
        let n = |m: &BTreeMap<String, u32>, k: &String| m.get(k).copied().unwrap_or(0);
        for k in kinds {
            writeln!(
                f,
                "  {k}: {} created, {} updated, {} unchanged, {} rejected",
                n(&self.created, k),
                n(&self.updated, k),
                n(&self.unchanged, k),
                n(&self.rejected, k)
            )?;
        }
        for (k, c) in &self.skipped {
            writeln!(
                f,
                "  {k}: {c} not kept (the portal does not store this type)"
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
    /// observation logical id → (report row id, its place in the report's list).
    report_of: HashMap<String, (String, i32)>,
    summary: ImportSummary,
}

impl Ctx<'_> {
    /// The logical id a reference points at: a resource of this bundle (by fullUrl or
    /// `Type/id`), else the id part of a `Type/id` reference to an earlier import.
    fn target(&self, reference: Option<&Value>) -> Option<String> {
        let r = s(reference?, &["reference"])?;
        if let Some((_, lid)) = self.refs.get(r) {
            return Some(lid.clone());
        }
        let id = r.rsplit(['/', ':']).next()?;
        (!id.is_empty()).then(|| id.to_owned())
    }
}

/// The logical id of an entry: `resource.id`, else the uuid of a `urn:uuid:` fullUrl.
fn logical_id(entry: &Value) -> Option<String> {
    if let Some(id) = s(entry, &["resource", "id"]) {
        return Some(id.to_owned());
    }
    let full = s(entry, &["fullUrl"])?;
    Some(full.rsplit([':', '/']).next()?.to_owned())
}

/// The resource types the portal keeps, in the order they are imported: patients, people and
/// places first, then reports (so results link to them), then everything else.
const PASSES: [&[&str]; 3] = [
    &["Patient", "Practitioner", "Organization", "Location"],
    &["DiagnosticReport"],
    &[
        "Observation",
        "Encounter",
        "Condition",
        "AllergyIntolerance",
        "MedicationRequest",
        "Immunization",
        "DocumentReference",
    ],
];

fn kept_type(kind: &str) -> bool {
    PASSES.iter().any(|p| p.contains(&kind))
}

/// Bundle types an EHR sends: `collection`, `transaction`, `batch`, `searchset`.
const BUNDLE_TYPES: [&str; 4] = ["collection", "transaction", "batch", "searchset"];

/// Longest FHIR id (the spec allows 64 characters of `[A-Za-z0-9\-.]`).
fn valid_fhir_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

impl Portal {
    /// Imports one FHIR R4 Bundle (JSON) into `clinic_id`, in one transaction; any refused
    /// resource refuses the whole bundle, with every reason in the error.
    pub async fn import_bundle(&self, clinic_id: &str, bundle: &Value) -> Result<ImportSummary> {
        let summary = self.import_bundle_report(clinic_id, "", bundle).await?;
        if summary.errors.is_empty() {
            Ok(summary)
        } else {
            Err(Error::Invalid(summary.errors.join("; ")))
        }
    }

    /// Like [`Portal::import_bundle`], but a refused bundle comes back as a summary with its
    /// errors (each prefixed with `source`) and nothing written, so a caller can report it all.
    pub async fn import_bundle_report(
        &self,
        clinic_id: &str,
        source: &str,
        bundle: &Value,
    ) -> Result<ImportSummary> {
        if s(bundle, &["resourceType"]) != Some("Bundle") {
            return Err(Error::Invalid("resourceType must be \"Bundle\"".into()));
        }
        let kind = s(bundle, &["type"]).unwrap_or("collection");
        if !BUNDLE_TYPES.contains(&kind) {
            return Err(Error::Invalid(format!(
                "a {kind} bundle cannot be imported: send a collection, transaction, batch or searchset bundle"
            )));
        }
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Invalid("the bundle has no entry array".into()))?;
        // A search result's OperationOutcome entries are messages, not data.
        let entries: Vec<&Value> = entries
            .iter()
            .filter(|e| s(e, &["search", "mode"]) != Some("outcome"))
            .collect();
        self.import_entries(clinic_id, source, &entries).await
    }

    /// Imports FHIR Bulk Data NDJSON files (one resource per line, one type per file, files in
    /// any order) together, in one transaction: all of them or none.
    pub async fn import_ndjson(
        &self,
        clinic_id: &str,
        files: &[(String, String)],
    ) -> Result<ImportSummary> {
        let mut entries = vec![];
        let mut errors = vec![];
        for (name, text) in files {
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(r) if r.get("resourceType").is_some_and(Value::is_string) => {
                        entries.push(serde_json::json!({ "resource": r }));
                    }
                    Ok(_) => errors.push(format!(
                        "{name} line {}: not a FHIR resource (no resourceType)",
                        n + 1
                    )),
                    Err(e) => errors.push(format!("{name} line {}: not JSON: {e}", n + 1)),
                }
            }
        }
        if !errors.is_empty() {
            return Ok(ImportSummary {
                errors,
                ..Default::default()
            });
        }
        let refs: Vec<&Value> = entries.iter().collect();
        self.import_entries(clinic_id, "", &refs).await
    }

    async fn import_entries(
        &self,
        clinic_id: &str,
        source: &str,
        entries: &[&Value],
    ) -> Result<ImportSummary> {
        let at = |i: usize| {
            if source.is_empty() {
                format!("entry {i}")
            } else {
                format!("{source} entry {i}")
            }
        };
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
        let mut ids = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let Some(kind) = s(e, &["resource", "resourceType"]) else {
                cx.summary
                    .errors
                    .push(format!("{}: resource.resourceType is missing", at(i)));
                ids.push(None);
                continue;
            };
            let id = logical_id(e).filter(|id| valid_fhir_id(id));
            let Some(id) = id else {
                cx.summary.errors.push(format!(
                    "{} ({kind}): no valid id (resource.id or a urn:uuid fullUrl)",
                    at(i)
                ));
                *cx.summary.rejected.entry(kind.to_owned()).or_default() += 1;
                ids.push(None);
                continue;
            };
            if let Some(full) = s(e, &["fullUrl"]) {
                cx.refs
                    .insert(full.to_owned(), (kind.to_owned(), id.clone()));
            }
            cx.refs
                .insert(format!("{kind}/{id}"), (kind.to_owned(), id.clone()));
            if !kept_type(kind) {
                *cx.summary.skipped.entry(kind.to_owned()).or_default() += 1;
            }
            ids.push(Some(id));
        }
        for pass in PASSES {
            for (i, e) in entries.iter().enumerate() {
                let r = &e["resource"];
                let kind = s(r, &["resourceType"]).unwrap_or_default();
                let Some(id) = &ids[i] else { continue };
                if !pass.contains(&kind) {
                    continue;
                }
                let done = match kind {
                    "Patient" => import_patient(&mut cx, id, r).await,
                    "Practitioner" => import_practitioner(&mut cx, id, r).await,
                    "Organization" => import_organization(&mut cx, id, r).await,
                    "Location" => import_location(&mut cx, id, r).await,
                    "DiagnosticReport" => import_report(&mut cx, id, r).await,
                    "Observation" => import_observation(&mut cx, id, r).await,
                    "Encounter" => import_encounter(&mut cx, id, r).await,
                    "Condition" => import_condition(&mut cx, id, r).await,
                    "AllergyIntolerance" => import_allergy(&mut cx, id, r).await,
                    "MedicationRequest" => import_medication(&mut cx, id, r).await,
                    "Immunization" => import_immunization(&mut cx, id, r).await,
                    "DocumentReference" => import_document(&mut cx, id, r).await,
                    _ => unreachable!(),
                };
                match done {
                    Ok(()) => {}
                    Err(Error::Invalid(msg)) => {
                        cx.summary.errors.push(format!("{}: {msg}", at(i)));
                        *cx.summary.rejected.entry(kind.to_owned()).or_default() += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let summary = std::mem::take(&mut cx.summary);
        if summary.errors.is_empty() {
            txn.commit().await?;
            Ok(summary)
        } else {
            txn.rollback().await?;
            // Nothing was written: what would have been created or changed was not.
            Ok(ImportSummary {
                created: BTreeMap::new(),
                updated: BTreeMap::new(),
                unchanged: BTreeMap::new(),
                ..summary
            })
        }
    }
}

fn json_text(r: &Value) -> String {
    r.to_string()
}

/// The patient's medical record number: the identifier typed `MR`, else the first.
fn mrn_of(r: &Value) -> Option<(&str, Option<&str>)> {
    let ids = r.get("identifier")?.as_array()?;
    let mr = ids
        .iter()
        .find(|i| s(i, &["type", "coding", "0", "code"]) == Some("MR"))
        .or_else(|| ids.first())?;
    Some((s(mr, &["value"])?, s(mr, &["system"])))
}

async fn import_patient(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let (mrn, system) = mrn_of(r).ok_or_else(|| bad("Patient", id, "identifier (MRN)"))?;
    if mrn.is_empty() || mrn.len() > 64 {
        return Err(bad("Patient", id, "identifier.value (MRN)"));
    }
    let system = system.map(str::to_owned);
    let family =
        s(r, &["name", "0", "family"]).ok_or_else(|| bad("Patient", id, "name[0].family"))?;
    let given =
        s(r, &["name", "0", "given", "0"]).ok_or_else(|| bad("Patient", id, "name[0].given"))?;
    let birth = s(r, &["birthDate"])
        .filter(|d| domain::person::parse_iso_date(d).is_some())
        .ok_or_else(|| bad("Patient", id, "birthDate"))?;
    let resource = json_text(r);
    let existing = patient::Entity::find()
        .filter(patient::Column::Mrn.eq(mrn))
        .one(cx.txn)
        .await?;
    // An import reaches its own clinic's patients only.
    if existing
        .as_ref()
        .is_some_and(|p| p.clinic_id != cx.clinic_id)
    {
        return Err(Error::Invalid(format!(
            "Patient/{id}: this MRN cannot be used by this clinic"
        )));
    }
    // The FHIR id must not be another patient's.
    if let Some(other) = patient::Entity::find()
        .filter(patient::Column::FhirId.eq(id))
        .one(cx.txn)
        .await?
        && existing.as_ref().is_none_or(|p| p.id != other.id)
    {
        return Err(Error::Invalid(format!(
            "Patient/{id}: this id belongs to a patient with another MRN"
        )));
    }
    let row_id = match existing {
        Some(p)
            if p.resource.as_deref() == Some(resource.as_str())
                && p.fhir_id.as_deref() == Some(id) =>
        {
            cx.summary.add("Patient", Change::Unchanged);
            p.id
        }
        Some(p) => {
            let mut am: patient::ActiveModel = p.clone().into();
            am.given_name = Set(given.to_owned());
            am.family_name = Set(family.to_owned());
            am.birth_date = Set(birth.to_owned());
            am.sex = Set(s(r, &["gender"]).map(str::to_owned));
            am.fhir_id = Set(Some(id.to_owned()));
            am.mrn_system = Set(system);
            am.resource = Set(Some(resource));
            am.updated_at = Set(cx.now);
            am.update(cx.txn).await?;
            cx.summary.add("Patient", Change::Updated);
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
                resource: Set(Some(resource)),
            }
            .insert(cx.txn)
            .await?;
            cx.summary.add("Patient", Change::Created);
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
        // `Patient/<id>` or `urn:uuid:<id>` of a patient of this import (NDJSON files have no
        // fullUrls) or of an earlier one.
        let lid = r
            .strip_prefix("Patient/")
            .or_else(|| r.strip_prefix("urn:uuid:"));
        if let Some(lid) = lid {
            if let Some(row) = cx.patients.get(lid) {
                return Ok(row.clone());
            }
            if let Some(p) = patient::Entity::find()
                .filter(patient::Column::FhirId.eq(lid))
                .filter(patient::Column::ClinicId.eq(cx.clinic_id.clone()))
                .one(cx.txn)
                .await?
            {
                return Ok(p.id);
            }
        }
    }
    if let Some(v) = s(reference, &["identifier", "value"])
        && let Some(p) = patient::Entity::find()
            .filter(patient::Column::Mrn.eq(v))
            .filter(patient::Column::ClinicId.eq(cx.clinic_id.clone()))
            .one(cx.txn)
            .await?
    {
        return Ok(p.id);
    }
    Err(Error::Invalid(format!(
        "{kind}/{id}: its patient reference does not match a patient in this bundle or in the portal"
    )))
}

/// Inserts, or updates the earlier import of the same FHIR id (unless its resource is the
/// same); yields the row id.
macro_rules! upsert {
    ($cx:expr, $entity:ident, $kind:literal, $id:expr, $am:expr) => {{
        let existing = $entity::Entity::find()
            .filter($entity::Column::FhirId.eq($id))
            .one($cx.txn)
            .await?;
        let mut am = $am;
        match existing {
            Some(e) => {
                // The same FHIR id under another patient is a conflict, never a move.
                if am.patient_id.as_ref() != &e.patient_id {
                    return Err(Error::Invalid(format!(
                        "{}/{}: this id already belongs to another patient's record",
                        $kind, $id
                    )));
                }
                if am.resource.as_ref() == &e.resource {
                    $cx.summary.add($kind, Change::Unchanged);
                } else {
                    am.id = Set(e.id.clone());
                    am.update($cx.txn).await?;
                    $cx.summary.add($kind, Change::Updated);
                }
                e.id
            }
            None => {
                let row_id = new_id();
                am.id = Set(row_id.clone());
                am.insert($cx.txn).await?;
                $cx.summary.add($kind, Change::Created);
                row_id
            }
        }
    }};
}

/// The same for rows shared by the clinic's patients (practitioners, places): each clinic
/// has its own, so one clinic's feed never rewrites another's directory.
macro_rules! upsert_shared {
    ($cx:expr, $entity:ident, $kind:literal, $id:expr, $am:expr) => {{
        let existing = $entity::Entity::find()
            .filter($entity::Column::ClinicId.eq($cx.clinic_id.clone()))
            .filter($entity::Column::FhirId.eq($id))
            .one($cx.txn)
            .await?;
        let mut am = $am;
        match existing {
            Some(e) if am.resource.as_ref() == &e.resource => {
                $cx.summary.add($kind, Change::Unchanged)
            }
            Some(e) => {
                am.id = Set(e.id);
                am.update($cx.txn).await?;
                $cx.summary.add($kind, Change::Updated);
            }
            None => {
                am.id = Set(new_id());
                am.insert($cx.txn).await?;
                $cx.summary.add($kind, Change::Created);
            }
        }
    }};
}

/// A HumanName as written: prefix, given names, family name (or its `text`).
fn human_name(n: &Value) -> Option<String> {
    if let Some(t) = s(n, &["text"]) {
        return Some(t.to_owned());
    }
    let mut parts: Vec<&str> = vec![];
    for key in ["prefix", "given"] {
        if let Some(a) = n.get(key).and_then(Value::as_array) {
            parts.extend(a.iter().filter_map(Value::as_str));
        }
    }
    parts.extend(s(n, &["family"]));
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// An Address on one line: its `text`, else lines, city, state and postal code.
fn address_text(a: Option<&Value>) -> Option<String> {
    let a = a?;
    if let Some(t) = s(a, &["text"]) {
        return Some(t.to_owned());
    }
    let mut parts: Vec<String> = a
        .get("line")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let city_line: Vec<&str> = ["city", "state", "postalCode"]
        .iter()
        .filter_map(|k| s(a, &[k]))
        .collect();
    if !city_line.is_empty() {
        parts.push(city_line.join(" "));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

async fn import_practitioner(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let name = r
        .get("name")
        .and_then(|n| n.get(0))
        .and_then(human_name)
        .ok_or_else(|| bad("Practitioner", id, "name"))?;
    let npi = r
        .get("identifier")
        .and_then(Value::as_array)
        .and_then(|ids| {
            ids.iter()
                .find(|i| s(i, &["system"]) == Some("http://hl7.org/fhir/sid/us-npi"))
        })
        .and_then(|i| s(i, &["value"]))
        .map(str::to_owned);
    let am = practitioner::ActiveModel {
        id: Set(String::new()),
        clinic_id: Set(cx.clinic_id.clone()),
        fhir_id: Set(id.to_owned()),
        name: Set(name),
        npi: Set(npi),
        resource: Set(Some(json_text(r))),
    };
    upsert_shared!(cx, practitioner, "Practitioner", id, am);
    Ok(())
}

async fn import_organization(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let name = s(r, &["name"]).ok_or_else(|| bad("Organization", id, "name"))?;
    let phone = r
        .get("telecom")
        .and_then(Value::as_array)
        .and_then(|t| t.iter().find(|c| s(c, &["system"]) == Some("phone")))
        .and_then(|c| s(c, &["value"]))
        .map(str::to_owned);
    let am = organization::ActiveModel {
        id: Set(String::new()),
        clinic_id: Set(cx.clinic_id.clone()),
        fhir_id: Set(id.to_owned()),
        name: Set(name.to_owned()),
        address: Set(address_text(r.get("address").and_then(|a| a.get(0)))),
        phone: Set(phone),
        resource: Set(Some(json_text(r))),
    };
    upsert_shared!(cx, organization, "Organization", id, am);
    Ok(())
}

async fn import_location(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let name = s(r, &["name"]).ok_or_else(|| bad("Location", id, "name"))?;
    let am = location::ActiveModel {
        id: Set(String::new()),
        clinic_id: Set(cx.clinic_id.clone()),
        fhir_id: Set(id.to_owned()),
        name: Set(name.to_owned()),
        address: Set(address_text(r.get("address"))),
        resource: Set(Some(json_text(r))),
    };
    upsert_shared!(cx, location, "Location", id, am);
    Ok(())
}

async fn import_report(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "DiagnosticReport", id, r.get("subject")).await?;
    let name = concept_text(r.get("code")).ok_or_else(|| bad("DiagnosticReport", id, "code"))?;
    let issued = s(r, &["issued"]).and_then(parse_instant);
    let am = diagnostic_report::ActiveModel {
        id: Set(String::new()),
        sensitivity: Set(crate::sensitivity::stored(r)),
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
        resource: Set(Some(json_text(r))),
        encounter_ref: Set(cx.target(r.get("encounter"))),
        // A clinician's hold is the portal's own: a new import keeps it.
        held_at: NotSet,
        held_by: NotSet,
        hold_reason: NotSet,
    };
    let row = upsert!(cx, diagnostic_report, "DiagnosticReport", id, am);
    if let Some(results) = r.get("result").and_then(Value::as_array) {
        for (i, res) in results.iter().enumerate() {
            let Some(lid) = cx.target(Some(res)) else {
                continue;
            };
            let position = i32::try_from(i).unwrap_or(i32::MAX);
            // A report that lists its results in a new order reorders the ones already stored.
            observation::Entity::update_many()
                .col_expr(observation::Column::ReportPosition, Expr::value(position))
                .filter(observation::Column::FhirId.eq(lid.as_str()))
                .filter(observation::Column::ReportId.eq(row.as_str()))
                .exec(cx.txn)
                .await?;
            cx.report_of.insert(lid, (row.clone(), position));
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
    let (report_id, report_position) = cx.report_of.get(id).cloned().unzip();
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
    // A clinician's own sensitivity decision outlasts the codes of a later import.
    let decided = observation::Entity::find()
        .filter(observation::Column::FhirId.eq(id))
        .filter(observation::Column::SensitivityBy.is_not_null())
        .one(cx.txn)
        .await?
        .is_some();
    let am = observation::ActiveModel {
        id: Set(String::new()),
        sensitivity: if decided {
            NotSet
        } else {
            Set(crate::sensitivity::stored(r))
        },
        sensitivity_by: NotSet,
        patient_id: Set(patient_id),
        // A corrected result sent without its report stays in the report (and under its hold).
        report_id: match &report_id {
            Some(r) => Set(Some(r.clone())),
            None => NotSet,
        },
        report_position: match report_position {
            Some(p) => Set(Some(p)),
            None => NotSet,
        },
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
        resource: Set(Some(json_text(r))),
        encounter_ref: Set(cx.target(r.get("encounter"))),
        // A clinician's hold or review is the portal's own: a new import keeps it.
        held_at: NotSet,
        held_by: NotSet,
        hold_reason: NotSet,
        reviewed_at: NotSet,
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
    let list = |key: &str| {
        r.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    // The first participant that is a practitioner.
    let practitioner_ref = list("participant")
        .iter()
        .filter_map(|p| p.get("individual"))
        .find(|i| {
            s(i, &["reference"]).is_some_and(|r| {
                r.starts_with("Practitioner/")
                    || cx.refs.get(r).is_some_and(|(t, _)| t == "Practitioner")
            })
        })
        .and_then(|i| cx.target(Some(i)));
    let diagnoses: Vec<String> = list("diagnosis")
        .iter()
        .filter_map(|d| cx.target(d.get("condition")))
        .collect();
    let am = encounter::ActiveModel {
        id: Set(String::new()),
        sensitivity: Set(crate::sensitivity::stored(r)),
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
        resource: Set(Some(json_text(r))),
        practitioner_ref: Set(practitioner_ref),
        location_ref: Set(cx.target(
            r.get("location")
                .and_then(|l| l.get(0))
                .and_then(|l| l.get("location")),
        )),
        organization_ref: Set(cx.target(r.get("serviceProvider"))),
        diagnosis_refs: Set(
            (!diagnoses.is_empty()).then(|| serde_json::json!(diagnoses).to_string())
        ),
    };
    upsert!(cx, encounter, "Encounter", id, am);
    Ok(())
}

async fn import_condition(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "Condition", id, r.get("subject")).await?;
    let am = problem::ActiveModel {
        id: Set(String::new()),
        sensitivity: Set(crate::sensitivity::stored(r)),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        code: Set(first_code(r.get("code"), None)),
        code_system: Set(s(r, &["code", "coding", "0", "system"]).map(str::to_owned)),
        name: Set(concept_text(r.get("code")).ok_or_else(|| bad("Condition", id, "code"))?),
        clinical_status: Set(first_code(r.get("clinicalStatus"), None)),
        onset: Set(s(r, &["onsetDateTime"]).map(str::to_owned)),
        resource: Set(Some(json_text(r))),
        encounter_ref: Set(cx.target(r.get("encounter"))),
    };
    upsert!(cx, problem, "Condition", id, am);
    Ok(())
}

async fn import_allergy(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "AllergyIntolerance", id, r.get("patient")).await?;
    let am = allergy::ActiveModel {
        id: Set(String::new()),
        sensitivity: Set(crate::sensitivity::stored(r)),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        code: Set(first_code(r.get("code"), None)),
        name: Set(concept_text(r.get("code")).ok_or_else(|| bad("AllergyIntolerance", id, "code"))?),
        clinical_status: Set(first_code(r.get("clinicalStatus"), None)),
        criticality: Set(s(r, &["criticality"]).map(str::to_owned)),
        recorded: Set(s(r, &["recordedDate"]).map(str::to_owned)),
        resource: Set(Some(json_text(r))),
        reaction: Set(concept_text(
            r.get("reaction")
                .and_then(|x| x.get(0))
                .and_then(|x| x.get("manifestation"))
                .and_then(|x| x.get(0)),
        )),
    };
    upsert!(cx, allergy, "AllergyIntolerance", id, am);
    Ok(())
}

async fn import_medication(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    let patient_id = patient_of(cx, "MedicationRequest", id, r.get("subject")).await?;
    let am = medication::ActiveModel {
        id: Set(String::new()),
        sensitivity: Set(crate::sensitivity::stored(r)),
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
        resource: Set(Some(json_text(r))),
        encounter_ref: Set(cx.target(r.get("encounter"))),
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
        sensitivity: Set(crate::sensitivity::stored(r)),
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
        resource: Set(Some(json_text(r))),
        dose_number: Set(r
            .get("protocolApplied")
            .and_then(|p| p.get(0))
            .and_then(|p| {
                let n = p.get("doseNumberPositiveInt")?.as_u64()?;
                Some(
                    match p.get("seriesDosesPositiveInt").and_then(Value::as_u64) {
                        Some(of) => format!("{n} of {of}"),
                        None => n.to_string(),
                    },
                )
            })),
        site: Set(concept_text(r.get("site"))),
    };
    upsert!(cx, immunization, "Immunization", id, am);
    Ok(())
}

/// LOINC 69730-0 "Instructions": what the patient was told to do after the visit.
const INSTRUCTIONS_LOINC: &str = "69730-0";
/// Plain-text notes longer than this are refused (a visit note is a few pages at most).
const MAX_NOTE_BYTES: usize = 200_000;

async fn import_document(cx: &mut Ctx<'_>, id: &str, r: &Value) -> Result<()> {
    use base64::Engine;
    let patient_id = patient_of(cx, "DocumentReference", id, r.get("subject")).await?;
    let status = s(r, &["status"]).ok_or_else(|| bad("DocumentReference", id, "status"))?;
    let attachment = r
        .get("content")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("attachment"))
        .ok_or_else(|| bad("DocumentReference", id, "content[0].attachment"))?;
    let content_type = s(attachment, &["contentType"]).unwrap_or_default();
    let body = match s(attachment, &["data"]) {
        Some(data) if content_type.starts_with("text/plain") => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| {
                    bad(
                        "DocumentReference",
                        id,
                        "content[0].attachment.data (base64)",
                    )
                })?;
            if bytes.len() > MAX_NOTE_BYTES {
                return Err(Error::Invalid(format!(
                    "DocumentReference/{id}: the note is longer than {MAX_NOTE_BYTES} bytes"
                )));
            }
            Some(String::from_utf8(bytes).map_err(|_| {
                bad(
                    "DocumentReference",
                    id,
                    "content[0].attachment.data (UTF-8 text)",
                )
            })?)
        }
        _ => None,
    };
    let kind = if first_code(r.get("type"), Some("http://loinc.org")).as_deref()
        == Some(INSTRUCTIONS_LOINC)
    {
        "instructions"
    } else {
        "note"
    };
    let am = document::ActiveModel {
        id: Set(String::new()),
        sensitivity: Set(crate::sensitivity::stored(r)),
        patient_id: Set(patient_id),
        fhir_id: Set(id.to_owned()),
        kind: Set(kind.to_owned()),
        type_text: Set(concept_text(r.get("type"))),
        title: Set(s(attachment, &["title"])
            .or_else(|| s(r, &["description"]))
            .map(str::to_owned)),
        status: Set(status.to_owned()),
        date_at: Set(s(r, &["date"]).and_then(parse_instant)),
        encounter_ref: Set(cx.target(
            r.get("context")
                .and_then(|c| c.get("encounter"))
                .and_then(|e| e.get(0)),
        )),
        author_ref: Set(cx.target(r.get("author").and_then(|a| a.get(0)))),
        body: Set(body),
        resource: Set(Some(json_text(r))),
        // A clinician's hold is the portal's own: a new import keeps it.
        held_at: NotSet,
        held_by: NotSet,
        hold_reason: NotSet,
    };
    upsert!(cx, document, "DocumentReference", id, am);
    Ok(())
}
