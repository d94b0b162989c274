//! The demo's caregivers: a daughter helping her father with part of his record, and a parent
//! of two children, one of them a teenager with a confidential result. Dates are relative to
//! the day the demo is seeded, so the ages stay right.

use super::{CLINIC_NAME, DEMO_PASSWORD, user_exists, user_id};
use crate::audit::RequestMeta;
use crate::proxy::{BY_CLINIC, BY_PATIENT};
use crate::storage::entity::{patient, proxy_grant};
use crate::{Error, Portal, Result, new_id};
use domain::account::{Email, Password, Username};
use domain::person::NamePart;
use domain::proxy::{GrantStatus, Relationship, Scope};
use domain::session::Role;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};

/// The adult patient whose daughter helps (the fixture patient who activates his account in
/// the demo), and the child (fixture).
pub const FATHER_MRN: &str = super::ACTIVATE_MRN;
pub const CHILD_MRN: &str = "BFC34F76";
/// The teenager, made at seed time so that she is 14 whatever the day.
pub const TEEN_MRN: &str = "7E3A5C21";
pub const TEEN_USERNAME: &str = "robin.fakeworth";
/// The daughter (results, medications, messages and appointments of her father).
pub const DAUGHTER_USERNAME: &str = "jo.stubfield";
/// The parent of the child and of the teenager (granted by the front desk).
pub const PARENT_USERNAME: &str = "kim.fakeworth";
/// What the teen's confidential test is called; a parent never sees it.
pub const TEEN_SENSITIVE_TEST: &str =
    "Chlamydia trachomatis rRNA [Presence] in Urine by NAA with probe detection";

const DAY_MS: i64 = 86_400_000;

/// A FHIR bundle for the teenager: two reports a month ago, one of them a sexual-health test
/// (its LOINC code is on the shipped sensitive list), and an immunization.
fn teen_bundle(birth_date: &str, taken: &str) -> Value {
    let htest = json!([{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST" }]);
    let patient = "urn:uuid:7e3a5c21-0000-4000-8000-000000000001";
    let lab = |code: &str, name: &str, value: Value, obs: &str, report: &str| {
        let mut o = json!({
            "resourceType": "Observation",
            "meta": { "security": htest },
            "status": "final",
            "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }],
            "code": { "coding": [{ "system": "http://loinc.org", "code": code, "display": name }], "text": name },
            "subject": { "reference": patient },
            "effectiveDateTime": taken,
        });
        if let (Some(o), Some(v)) = (o.as_object_mut(), value.as_object()) {
            o.extend(v.clone());
        }
        [
            json!({ "fullUrl": obs, "resource": o, "request": { "method": "POST", "url": "Observation" } }),
            json!({ "fullUrl": report, "resource": {
                "resourceType": "DiagnosticReport",
                "meta": { "security": htest },
                "status": "final",
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB" }] }],
                "code": { "coding": [{ "system": "http://loinc.org", "code": code, "display": name }], "text": name },
                "subject": { "reference": patient },
                "effectiveDateTime": taken,
                "issued": taken,
                "result": [{ "reference": obs }]
            }, "request": { "method": "POST", "url": "DiagnosticReport" } }),
        ]
    };
    let mut entries = vec![json!({ "fullUrl": patient, "resource": {
        "resourceType": "Patient",
        "meta": { "security": htest },
        "identifier": [{ "system": "urn:uuid:6f2a1d3e-9c47-5b8a-a1f0-2d4e6c8b0a17", "value": TEEN_MRN }],
        "name": [{ "use": "official", "family": "Fakeworth", "given": ["Robin"] }],
        "gender": "female",
        "birthDate": birth_date
    }, "request": { "method": "POST", "url": "Patient" } })];
    entries.extend(lab(
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        json!({ "valueQuantity": { "value": 13.1, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL" },
                "referenceRange": [{ "low": { "value": 12.0, "unit": "g/dL" }, "high": { "value": 16.0, "unit": "g/dL" } }] }),
        "urn:uuid:7e3a5c21-0000-4000-8000-000000000002",
        "urn:uuid:7e3a5c21-0000-4000-8000-000000000003",
    ));
    entries.extend(lab(
        "43304-5",
        TEEN_SENSITIVE_TEST,
        json!({ "valueString": "Not detected" }),
        "urn:uuid:7e3a5c21-0000-4000-8000-000000000004",
        "urn:uuid:7e3a5c21-0000-4000-8000-000000000005",
    ));
    entries.push(json!({ "fullUrl": "urn:uuid:7e3a5c21-0000-4000-8000-000000000006", "resource": {
        "resourceType": "Immunization",
        "meta": { "security": htest },
        "status": "completed",
        "vaccineCode": { "coding": [{ "system": "http://hl7.org/fhir/sid/cvx", "code": "165", "display": "HPV9" }], "text": "HPV vaccine (9-valent)" },
        "patient": { "reference": patient },
        "occurrenceDateTime": taken
    }, "request": { "method": "POST", "url": "Immunization" } }));
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}

/// A demo account with the demo password and an `@example.org` address.
async fn demo_account(
    portal: &Portal,
    username: &str,
    (given, family): (&str, &str),
    role: Role,
    record: Option<(&str, &str)>,
) -> Result<String> {
    portal
        .insert_user(
            &Username::parse(username)?,
            &Email::parse(&format!("{username}@example.org"))?,
            &NamePart::parse(given, "first name")?,
            &NamePart::parse(family, "last name")?,
            role,
            record.map(|(patient, _)| patient.to_owned()),
            record.map(|(_, clinic)| clinic.to_owned()),
            &Password::for_sign_in(DEMO_PASSWORD)?,
            "demo seed",
            &RequestMeta::default(),
        )
        .await
}

/// An accepted grant, as if the invitation had been sent and accepted.
#[allow(clippy::too_many_arguments)]
async fn active_grant(
    portal: &Portal,
    desk: &str,
    patient: &patient::Model,
    caregiver: &str,
    relationship: Relationship,
    scopes: &[Scope],
    kind: &str,
    expires_at: i64,
) -> Result<()> {
    let now = portal.now();
    proxy_grant::ActiveModel {
        id: Set(new_id()),
        patient_id: Set(patient.id.clone()),
        caregiver_user_id: Set(Some(caregiver.to_owned())),
        invited_email: Set(String::new()),
        relationship: Set(relationship.as_str().to_owned()),
        scopes: Set(Scope::join(scopes)),
        kind: Set(kind.to_owned()),
        status: Set(GrantStatus::Active.as_str().to_owned()),
        created_by: Set(desk.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        accepted_at: Set(Some(now)),
        ended_at: Set(None),
        end_reason: Set(None),
        reminded_at: Set(None),
        identity_note: Set((kind == BY_CLINIC)
            .then(|| format!("Demo: birth certificate seen at the {CLINIC_NAME} front desk."))),
        invite_token_hash: Set(None),
        invite_expires_at: Set(None),
    }
    .insert(&portal.db)
    .await?;
    Ok(())
}

/// Seeds the teenager, the caregivers and their grants (idempotent per account).
pub async fn seed_family(portal: &Portal, clinic_id: &str) -> Result<()> {
    let now = portal.now();
    if portal.patient_by_mrn(TEEN_MRN).await.is_err() {
        let zone = portal.clinic_zone(clinic_id).await?;
        let born = zone
            .date_of(now)
            .checked_sub(jiff::Span::new().years(14).days(100))
            .map_err(|e| Error::Unexpected(format!("teen birth date: {e}")))?;
        let taken =
            domain::person::format_iso_date(crate::clock::to_datetime(now - 30 * DAY_MS).date());
        portal
            .import_bundle(
                clinic_id,
                &teen_bundle(&born.to_string(), &format!("{taken}T15:00:00Z")),
            )
            .await?;
    }
    let teen = portal.patient_by_mrn(TEEN_MRN).await?;
    if !user_exists(portal, TEEN_USERNAME).await? {
        demo_account(
            portal,
            TEEN_USERNAME,
            (&teen.given_name, &teen.family_name),
            Role::Patient,
            Some((&teen.id, clinic_id)),
        )
        .await?;
    }
    // The grants are made by the demo front desk (the father has no account of his own yet).
    let desk = user_id(portal, super::STAFF[1].0).await?;
    if !user_exists(portal, DAUGHTER_USERNAME).await? {
        let jo = demo_account(
            portal,
            DAUGHTER_USERNAME,
            ("Jo", "Stubfield"),
            Role::Caregiver,
            None,
        )
        .await?;
        let father = portal.patient_by_mrn(FATHER_MRN).await?;
        let scopes = [
            Scope::Results,
            Scope::Medications,
            Scope::Messages,
            Scope::Appointments,
        ];
        active_grant(
            portal,
            &desk,
            &father,
            &jo,
            Relationship::Child,
            &scopes,
            BY_PATIENT,
            now + 365 * DAY_MS,
        )
        .await?;
    }
    if !user_exists(portal, PARENT_USERNAME).await? {
        let kim = demo_account(
            portal,
            PARENT_USERNAME,
            ("Kim", "Fakeworth"),
            Role::Caregiver,
            None,
        )
        .await?;
        for mrn in [CHILD_MRN, TEEN_MRN] {
            let child = portal.patient_by_mrn(mrn).await?;
            let until = portal.adult_at(&child).await?;
            active_grant(
                portal,
                &desk,
                &child,
                &kim,
                Relationship::Parent,
                &Scope::ALL,
                BY_CLINIC,
                until,
            )
            .await?;
        }
    }
    Ok(())
}
