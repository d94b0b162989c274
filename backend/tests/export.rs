//! The record leaving the portal: the FHIR R4 export (and its round trip into an empty
//! portal), the immunization record and health summary PDFs (read back with poppler's
//! pdftotext), and the audit entry every download writes.

mod common;

use backend::demo::{self, DEMO_PASSWORD, READY_USERNAME};
use backend::storage::entity::{observation, user_account};
use backend::{PatientAccess, Portal};
use common::*;
use domain::records::DateRange;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

async fn dara(portal: &Portal) -> PatientAccess {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    portal.own_record(&p, &meta()).await.unwrap()
}

/// The text of a PDF, as an independent reader (poppler) extracts it.
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let dir = std::env::temp_dir().join(format!("mhc-pdf-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.pdf");
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/install-tools.sh");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "pdftotext failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Everything a patient's pages show, without the portal's own row ids.
async fn pages(portal: &Portal, a: &PatientAccess) -> Vec<String> {
    let all = DateRange::all();
    let strip = |v: Value| -> String {
        fn walk(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    m.remove("id");
                    m.values_mut().for_each(walk);
                }
                Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        let mut v = v;
        walk(&mut v);
        v.to_string()
    };
    let j = |x: serde_json::Result<Value>| strip(x.unwrap());
    vec![
        j(serde_json::to_value(
            portal.list_results(a, &all).await.unwrap(),
        )),
        j(serde_json::to_value(
            portal.list_medications(a, &all).await.unwrap(),
        )),
        j(serde_json::to_value(
            portal.list_allergies(a, &all).await.unwrap(),
        )),
        j(serde_json::to_value(
            portal.list_problems(a, &all).await.unwrap(),
        )),
        j(serde_json::to_value(
            portal.list_immunizations(a, &all).await.unwrap(),
        )),
        j(serde_json::to_value(
            portal.list_vitals(a, &all).await.unwrap(),
        )),
        j(serde_json::to_value(
            portal.list_visits(a, &all).await.unwrap(),
        )),
    ]
}

#[tokio::test]
async fn the_fhir_export_holds_only_this_patients_released_record() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    // One result held for review: it must not leave the portal either.
    let held = observation::Entity::find()
        .filter(observation::Column::PatientId.eq(a.patient_id()))
        .filter(observation::Column::Category.eq("laboratory"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let mut am: observation::ActiveModel = held.clone().into();
    am.released_at = Set(Some(portal.now() + 3_600_000));
    am.update(&portal.db).await.unwrap();

    let d = portal.export_fhir(&a).await.unwrap();
    assert_eq!(d.content_type, "application/fhir+json");
    assert!(d.filename.starts_with("health-record-") && d.filename.ends_with(".json"));
    let b: Value = serde_json::from_slice(&d.bytes).unwrap();
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    let entries = b["entry"].as_array().unwrap();
    let count = |t: &str| {
        entries
            .iter()
            .filter(|e| e["resource"]["resourceType"] == t)
            .count()
    };
    assert_eq!(count("Patient"), 1);
    assert_eq!(count("Immunization"), 4);
    assert_eq!(count("Encounter"), 3);
    assert_eq!(count("MedicationRequest"), 5);
    assert_eq!(count("DocumentReference"), 4);
    assert_eq!(
        count("Observation"),
        32 + 12 - 1,
        "labs and vitals, less the held one"
    );
    assert_eq!(count("Practitioner"), 1);
    assert_eq!(count("Location"), 1);
    assert_eq!(count("Organization"), 1);
    let text = String::from_utf8(d.bytes.clone()).unwrap();
    let held_ref = |r: &str| r.rsplit(['/', ':']).next() == Some(held.fhir_id.as_str());
    for e in entries {
        assert_ne!(
            e["resource"]["id"],
            held.fhir_id.as_str(),
            "the held result is left out"
        );
        for r in e["resource"]["result"].as_array().into_iter().flatten() {
            assert!(
                !held_ref(r["reference"].as_str().unwrap()),
                "and its report no longer lists it"
            );
        }
    }
    assert!(!text.contains(EMET_MRN) && !text.contains("Stubfield"));
    for e in entries {
        assert!(e["resource"]["id"].is_string(), "{e}");
    }
    let audit = audit_rows(&portal, "record.download").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].category.as_deref(), Some("fhir"));
    assert_eq!(audit[0].patient_id.as_deref(), Some(a.patient_id()));
}

#[tokio::test]
async fn an_export_imported_into_an_empty_portal_shows_the_same_record_on_every_page() {
    let (source, _) = portal().await;
    seed(&source).await;
    let a = dara(&source).await;
    let before = pages(&source, &a).await;
    let exported: Value =
        serde_json::from_slice(&source.export_fhir(&a).await.unwrap().bytes).unwrap();

    let (target, _) = portal().await;
    let clinic = demo::default_clinic(&target).await.unwrap();
    let summary = target.import_bundle(&clinic, &exported).await.unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.created["Patient"], 1);
    // Dara's account, moved over as it is (same password hash), for her new record.
    let patient = target.patient_by_mrn(DARA_MRN).await.unwrap();
    let account = user_account::Entity::find()
        .filter(user_account::Column::Username.eq(READY_USERNAME))
        .one(&source.db)
        .await
        .unwrap()
        .unwrap();
    user_account::ActiveModel {
        patient_id: Set(Some(patient.id.clone())),
        clinic_id: Set(Some(clinic.clone())),
        ..account.into()
    }
    .insert(&target.db)
    .await
    .unwrap();
    let access = dara(&target).await;
    assert_eq!(access.patient_id(), patient.id);
    let after = pages(&target, &access).await;
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        if a != b {
            let at = a
                .bytes()
                .zip(b.bytes())
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            panic!(
                "page {i} differs after the round trip:\n before: {}\n after:  {}",
                &a[at.saturating_sub(200)..(at + 200).min(a.len())],
                &b[at.saturating_sub(200)..(at + 200).min(b.len())]
            );
        }
    }
    // And importing the same export again changes nothing.
    let again = target.import_bundle(&clinic, &exported).await.unwrap();
    assert!(
        again.created.is_empty() && again.updated.is_empty(),
        "{again}"
    );
}

#[tokio::test]
async fn the_immunization_pdf_lists_every_vaccine_with_date_dose_lot_and_giver() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let d = portal.immunization_record_pdf(&a).await.unwrap();
    assert_eq!(d.content_type, "application/pdf");
    assert!(d.filename.starts_with("immunization-record-"));
    let text = pdf_text(&d.bytes);
    assert!(text.contains("Immunization record"), "{text}");
    assert!(text.contains("Dara Dummett"), "{text}");
    assert!(text.contains("19 October 1972"), "{text}");
    assert!(text.contains("Riverside Family Clinic"), "{text}");
    for (date, lot) in [
        ("2019-03-12", "U7Z41AA"),
        ("2025-10-08", "UT8874AA"),
        ("2025-10-08", "MF4825"),
        ("2026-09-15", "UT9213CA"),
    ] {
        assert!(text.contains(date), "{date} missing: {text}");
        assert!(text.contains(lot), "{lot} missing: {text}");
    }
    assert!(text.contains("Tdap (Adacel)"), "{text}");
    assert!(text.contains("0.5 mL"), "{text}");
    // Oldest first.
    assert!(text.find("2019-03-12").unwrap() < text.find("2026-09-15").unwrap());
    let audit = audit_rows(&portal, "record.download").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].category.as_deref(), Some("immunizations"));
}

#[tokio::test]
async fn the_health_summary_pdf_covers_only_its_date_range() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let range = DateRange::parse("2026-01-01", "2026-06-30").unwrap();
    let d = portal.health_summary_pdf(&a, &range).await.unwrap();
    assert_eq!(d.filename, "health-summary-2026-01-01-to-2026-06-30.pdf");
    let text = pdf_text(&d.bytes);
    assert!(text.contains("Health summary"), "{text}");
    assert!(
        text.contains("from 1 January 2026 to 30 June 2026"),
        "{text}"
    );
    assert!(text.contains("12 March 2026"), "{text}");
    assert!(text.contains("atorvastatin 20 MG Oral Tablet"), "{text}");
    assert!(text.contains("Dr Fen Mocklin"), "{text}");
    assert!(text.contains("7.9 %"), "the March HbA1c: {text}");
    assert!(
        !text.contains("15 September 2026"),
        "a visit outside the range: {text}"
    );
    assert!(
        !text.contains("8.4 %"),
        "a result outside the range: {text}"
    );
    // One download entry, not one view per list it read.
    assert!(
        audit_rows(&portal, "record.view")
            .await
            .iter()
            .all(|r| r.patient_id.as_deref() != Some(a.patient_id()))
    );
    let audit = audit_rows(&portal, "record.download").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].category.as_deref(), Some("summary"));
    assert!(
        audit[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("1 January 2026")
    );
}
