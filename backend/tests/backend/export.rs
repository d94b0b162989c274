//! The record leaving the portal: the FHIR R4 export (and its round trip into an empty
//! portal), the immunization record and health summary PDFs (read back with poppler's
//! pdftotext), and the audit entry every download writes.

use crate::common::*;
use backend::demo::{self, DEMO_PASSWORD, READY_USERNAME};
use backend::storage::entity::{observation, user_account};
use backend::{PatientAccess, Portal};
use domain::records::DateRange;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

async fn dara(portal: &Portal) -> PatientAccess {
    dara_signed_in(portal).await.1
}

/// Dara's principal (just signed in, so recently authenticated) and her own record.
async fn dara_signed_in(portal: &Portal) -> (backend::Principal, PatientAccess) {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let a = portal.own_record(&p, &meta()).await.unwrap();
    (p, a)
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
    let (p, a) = dara_signed_in(&portal).await;
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

    let d = portal.export_fhir(&p, &a).await.unwrap();
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
    let (p, a) = dara_signed_in(&source).await;
    let before = pages(&source, &a).await;
    let exported: Value =
        serde_json::from_slice(&source.export_fhir(&p, &a).await.unwrap().bytes).unwrap();

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

/// Parses XML with Python's expat-based parser: an independent well-formedness check.
fn well_formed_xml(xml: &str) {
    let dir = std::env::temp_dir().join(format!("mhc-xml-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
        ])
        .arg(&file)
        .output()
        .expect("python3 is on the machine");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "not well-formed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_c_cda_is_well_formed_with_the_ccd_templates_and_a_section_for_each_kind_of_data() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let d = portal
        .health_summary(&a, &DateRange::all(), backend::export::SummaryFormat::Ccda)
        .await
        .unwrap();
    assert_eq!(d.content_type, "application/xml");
    assert_eq!(d.filename, "health-summary.xml");
    let xml = String::from_utf8(d.bytes).unwrap();
    well_formed_xml(&xml);
    for template in [
        "2.16.840.1.113883.10.20.22.1.1\" extension=\"2015-08-01",
        "2.16.840.1.113883.10.20.22.1.2\" extension=\"2015-08-01",
    ] {
        assert!(xml.contains(template), "{template}");
    }
    // Sections for the data present: allergies (empty for Dara), medications, problems,
    // results, vital signs, immunizations, encounters.
    for (section, code) in [
        ("2.16.840.1.113883.10.20.22.2.6.1", "48765-2"),
        ("2.16.840.1.113883.10.20.22.2.1.1", "10160-0"),
        ("2.16.840.1.113883.10.20.22.2.5.1", "11450-4"),
        ("2.16.840.1.113883.10.20.22.2.3.1", "30954-2"),
        ("2.16.840.1.113883.10.20.22.2.4.1", "8716-3"),
        ("2.16.840.1.113883.10.20.22.2.2.1", "11369-6"),
        ("2.16.840.1.113883.10.20.22.2.22.1", "46240-8"),
    ] {
        assert!(xml.contains(section), "section {section}");
        assert!(xml.contains(code), "section code {code}");
    }
    assert!(xml.contains("Dummett"));
    assert!(xml.contains("metformin hydrochloride 500 MG Oral Tablet"));
    assert!(xml.contains("code=\"4548-4\""), "HbA1c coded with LOINC");
    assert!(xml.contains("code=\"115\""), "Tdap coded with CVX");
    assert!(xml.contains("U7Z41AA"), "its lot");
    let audit = audit_rows(&portal, "record.download").await;
    assert_eq!(audit[0].category.as_deref(), Some("ccda"));
}

#[tokio::test]
async fn a_transmitted_summary_goes_to_the_typed_address_and_is_audited_with_it() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let a = portal.own_record(&p, &meta()).await.unwrap();
    let to = domain::account::Email::parse("dr.elsewhere@example.net").unwrap();
    let range = DateRange::parse("2026-01-01", "").unwrap();
    portal
        .transmit_summary(&p, &a, &to, &range, backend::export::SummaryFormat::Pdf)
        .await
        .unwrap();
    let mails = portal.outbox(100).await.unwrap();
    let mail = mails
        .iter()
        .find(|m| m.recipient == "dr.elsewhere@example.net")
        .expect("the summary was sent");
    // The message says nothing about the patient's health; the attachment holds it.
    assert!(!mail.body.contains("Dummett") && !mail.body.contains("diabetes"));
    assert_eq!(
        mail.attachment_name.as_deref(),
        Some("health-summary-2026-01-01-to-today.pdf")
    );
    use base64::Engine;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(mail.attachment.as_deref().unwrap())
        .unwrap();
    assert!(pdf_text(&pdf).contains("Dara Dummett"));
    let sent = audit_rows(&portal, "record.transmit").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].outcome, "ok");
    assert_eq!(sent[0].patient_id.as_deref(), Some(a.patient_id()));
    assert!(
        sent[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("to dr.elsewhere@example.net"),
        "{:?}",
        sent[0].detail
    );
    // The patient is told, in case it was not them.
    assert!(
        mails
            .iter()
            .any(|m| m.recipient == "dara.dummett@example.org"
                && m.body.contains("dr.elsewhere@example.net")),
        "no notice to the patient"
    );
    // Later than 5 minutes after the password was last proven, it must be proven again.
    clock.advance(6 * MINUTE);
    let s2 = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p2 = portal.principal(Some(&s2.token)).await.unwrap();
    let a2 = portal.own_record(&p2, &meta()).await.unwrap();
    clock.advance(6 * MINUTE);
    let e = err(portal
        .transmit_summary(&p2, &a2, &to, &range, backend::export::SummaryFormat::Pdf)
        .await);
    assert!(matches!(e, backend::Error::ReauthRequired), "{e:?}");
    // And no more than ten a day.
    let s3 = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p3 = portal.principal(Some(&s3.token)).await.unwrap();
    let a3 = portal.own_record(&p3, &meta()).await.unwrap();
    for _ in 1..backend::export::TRANSMITS_PER_DAY {
        portal
            .transmit_summary(&p3, &a3, &to, &range, backend::export::SummaryFormat::Ccda)
            .await
            .unwrap();
    }
    let e = err(portal
        .transmit_summary(&p3, &a3, &to, &range, backend::export::SummaryFormat::Ccda)
        .await);
    assert!(matches!(e, backend::Error::Throttled { .. }), "{e:?}");
}

#[tokio::test]
async fn the_access_log_lists_views_downloads_and_sends_sorted_and_in_pages() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let a = portal.own_record(&p, &meta()).await.unwrap();
    for _ in 0..30 {
        portal
            .list_medications(&a, &DateRange::all())
            .await
            .unwrap();
        clock.advance(std::time::Duration::from_secs(5));
    }
    portal.immunization_record_pdf(&a).await.unwrap();
    let to = domain::account::Email::parse("me@example.org").unwrap();
    portal
        .transmit_summary(
            &p,
            &a,
            &to,
            &DateRange::all(),
            backend::export::SummaryFormat::Ccda,
        )
        .await
        .unwrap();
    use domain::records::LogSort;
    let all = DateRange::all();
    let log = portal
        .access_log(&p, &all, LogSort::When, true, 1)
        .await
        .unwrap();
    // 30 views, a download, a send, the sign-in (and the password check before it).
    assert!(log.total >= 33, "{}", log.total);
    assert_eq!(log.rows.len(), 25);
    assert_eq!(log.pages, log.total.div_ceil(25));
    assert_eq!(log.rows[0].what, "Sent");
    assert_eq!(log.rows[0].who, "You");
    assert_eq!(log.rows[0].data, "Health summary (C-CDA)");
    assert!(
        log.rows[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("me@example.org")
    );
    assert_eq!(log.rows[1].what, "Downloaded");
    assert_eq!(log.rows[1].data, "Immunizations");
    assert_eq!(log.rows[1].address.as_deref(), Some("203.0.113.7"));
    // Page 2 holds the rest; oldest first puts the sign-in on top.
    let page2 = portal
        .access_log(&p, &all, LogSort::When, true, 2)
        .await
        .unwrap();
    assert_eq!(page2.rows.len() as u32, log.total - 25);
    let oldest = portal
        .access_log(&p, &all, LogSort::When, false, 1)
        .await
        .unwrap();
    assert!(
        oldest.rows[0].what.contains("Signed in") || oldest.rows[0].what.contains("Password"),
        "{:?}",
        oldest.rows[0]
    );
    // By "what", A to Z.
    let by_what = portal
        .access_log(&p, &all, LogSort::What, false, 1)
        .await
        .unwrap();
    let whats: Vec<&str> = by_what.rows.iter().map(|r| r.what.as_str()).collect();
    let mut sorted = whats.clone();
    sorted.sort();
    assert_eq!(whats, sorted);
    // A date range before any of it is empty.
    let none = portal
        .access_log(
            &p,
            &DateRange::parse("2020-01-01", "2020-12-31").unwrap(),
            LogSort::When,
            true,
            1,
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    // Another patient's log has none of Dara's events.
    let emet = activate_emet(&portal).await;
    let ep = portal.principal(Some(&emet.token)).await.unwrap();
    let theirs = portal
        .access_log(&ep, &all, LogSort::When, true, 1)
        .await
        .unwrap();
    assert!(theirs.rows.iter().all(|r| r.data != "Medications"));
}
