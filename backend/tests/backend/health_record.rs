//! The health record's sections: medications, allergies, problems, immunizations, vitals and
//! visit summaries, each narrowed by a date range, each audited, each the patient's own only.

use crate::common::*;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::records::vaccines_due;
use backend::{PatientAccess, Portal};
use domain::records::DateRange;

async fn dara(portal: &Portal) -> PatientAccess {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    portal.own_record(&p, &meta()).await.unwrap()
}

fn range(from: &str, to: &str) -> DateRange {
    DateRange::parse(from, to).unwrap()
}

#[tokio::test]
async fn the_medication_list_puts_active_ones_first_and_shows_the_stopped_one() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let meds = portal
        .list_medications(&a, &DateRange::all())
        .await
        .unwrap();
    let names: Vec<(&str, &str)> = meds
        .iter()
        .map(|m| (m.name.as_str(), m.status.as_str()))
        .collect();
    assert_eq!(meds.len(), 5, "{names:?}");
    assert!(meds[..4].iter().all(|m| m.active), "{names:?}");
    assert_eq!(names[4], ("glipizide 5 MG Oral Tablet", "Stopped"));
    let statin = meds
        .iter()
        .find(|m| m.name.starts_with("atorvastatin"))
        .unwrap();
    assert_eq!(statin.prescribed.as_deref(), Some("12 March 2026"));
    assert_eq!(
        statin.dosage.as_deref(),
        Some("Take 1 tablet by mouth every evening")
    );
    // Narrowed to what was prescribed in March 2026.
    let march = portal
        .list_medications(&a, &range("2026-03-01", "2026-03-31"))
        .await
        .unwrap();
    assert_eq!(march.len(), 1);
    assert_eq!(march[0].id, statin.id);
}

#[tokio::test]
async fn problems_allergies_and_vitals_read_back_from_the_fixtures() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let problems = portal.list_problems(&a, &DateRange::all()).await.unwrap();
    let names: Vec<&str> = problems.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(problems.len(), 4, "{names:?}");
    assert!(names.contains(&"Type 2 diabetes mellitus without complications"));
    assert!(problems.iter().all(|p| p.status == "Active"));
    assert_eq!(problems[0].onset.as_deref(), Some("15 September 2024"));
    // Dara has no allergies: the list is empty, not an error.
    assert!(
        portal
            .list_allergies(&a, &DateRange::all())
            .await
            .unwrap()
            .is_empty()
    );
    let vitals = portal.list_vitals(&a, &DateRange::all()).await.unwrap();
    assert!(vitals.len() >= 12, "{}", vitals.len());
    let bp: Vec<&str> = vitals
        .iter()
        .filter(|v| v.name.contains("Blood pressure") || v.name.contains("blood pressure"))
        .map(|v| v.value.as_str())
        .collect();
    assert!(bp.contains(&"142/88 mmHg"), "{bp:?}");
    let sept = portal
        .list_vitals(&a, &range("2025-09-10", "2025-09-10"))
        .await
        .unwrap();
    assert_eq!(sept.len(), 2, "{sept:?}");
    assert!(sept.iter().all(|v| v.date_label == "10 September 2025"));
}

#[tokio::test]
async fn emets_allergy_shows_its_risk_and_status() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let emet = activate_emet(&portal).await;
    let p = portal.principal(Some(&emet.token)).await.unwrap();
    let a = portal.own_record(&p, &meta()).await.unwrap();
    let allergies = portal.list_allergies(&a, &DateRange::all()).await.unwrap();
    assert_eq!(allergies.len(), 1);
    assert_eq!(allergies[0].name, "penicillin G");
    assert_eq!(allergies[0].status, "Active");
    // Emet sees his own medications only.
    let meds = portal
        .list_medications(&a, &DateRange::all())
        .await
        .unwrap();
    assert_eq!(meds.len(), 3);
    assert!(meds.iter().all(|m| !m.name.starts_with("metformin")));
}

#[tokio::test]
async fn immunizations_come_newest_first_with_dose_lot_and_giver() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let shots = portal
        .list_immunizations(&a, &DateRange::all())
        .await
        .unwrap();
    assert_eq!(shots.len(), 4);
    assert_eq!(shots[0].date.as_deref(), Some("2026-09-15"));
    assert_eq!(shots[0].date_label.as_deref(), Some("15 September 2026"));
    assert_eq!(shots[0].lot.as_deref(), Some("UT9213CA"));
    assert_eq!(
        shots[0].performer.as_deref(),
        Some("Riverside Family Clinic")
    );
    assert_eq!(shots[3].name, "Tdap (Adacel)");
    let in_2025 = portal
        .list_immunizations(&a, &range("2025-01-01", "2025-12-31"))
        .await
        .unwrap();
    assert_eq!(in_2025.len(), 2);
}

#[tokio::test]
async fn a_visit_summary_names_the_clinician_place_reason_diagnoses_medicines_and_notes() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let visits = portal.list_visits(&a, &DateRange::all()).await.unwrap();
    let dates: Vec<&str> = visits
        .iter()
        .map(|v| v.date_label.as_deref().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["15 September 2026", "12 March 2026", "10 September 2025"]
    );
    let march = &visits[1];
    assert_eq!(march.kind, "Follow-up visit");
    assert_eq!(march.clinician.as_deref(), Some("Dr Fen Mocklin"));
    assert_eq!(
        march.location.as_deref(),
        Some("Riverside Family Clinic, Main Street")
    );
    assert!(march.reason.is_some());
    assert!(
        march
            .diagnoses
            .iter()
            .any(|d| d == "Type 2 diabetes mellitus without complications"),
        "{:?}",
        march.diagnoses
    );
    assert_eq!(
        march.medications_started,
        ["atorvastatin 20 MG Oral Tablet"]
    );
    assert_eq!(march.medications_stopped, ["glipizide 5 MG Oral Tablet"]);
    assert_eq!(march.instructions.len(), 1);
    assert!(march.instructions[0].starts_with("SYNTHETIC TEST DATA."));
    assert_eq!(march.notes.len(), 1);
    assert_eq!(march.notes[0].author.as_deref(), Some("Dr Fen Mocklin"));
    assert!(
        march.notes[0]
            .body
            .as_deref()
            .unwrap()
            .contains("SYNTHETIC")
    );
    // The range narrows the visits.
    let only = portal
        .list_visits(&a, &range("2026-01-01", "2026-06-30"))
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].id, march.id);
    // A visit from before the range's start, and nothing after its end.
    assert!(
        portal
            .list_visits(&a, &range("2027-01-01", ""))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_section_read_is_audited_with_its_category() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let all = DateRange::all();
    portal.list_medications(&a, &all).await.unwrap();
    portal.list_allergies(&a, &all).await.unwrap();
    portal.list_problems(&a, &all).await.unwrap();
    portal.list_immunizations(&a, &all).await.unwrap();
    portal.list_vitals(&a, &all).await.unwrap();
    portal.list_visits(&a, &all).await.unwrap();
    let mut cats: Vec<String> = audit_rows(&portal, "record.view")
        .await
        .into_iter()
        .filter(|r| r.patient_id.as_deref() == Some(a.patient_id()))
        .filter_map(|r| r.category)
        .collect();
    cats.sort();
    assert_eq!(
        cats,
        [
            "allergies",
            "immunizations",
            "medications",
            "problems",
            "visits",
            "vitals"
        ]
    );
}

#[tokio::test]
async fn home_counts_results_released_since_the_previous_sign_in() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    // First sign-in: everything counts as new.
    let h = portal
        .record_highlights(backend::records::HighlightParts::all(&a), None)
        .await
        .unwrap();
    assert_eq!(h.new_results, 32);
    assert_eq!(h.active_medications, 4);
    assert_eq!(h.last_visit.as_deref(), Some("15 September 2026"));
    assert_eq!(h.latest_result_day.as_deref(), Some("15 September 2026"));
    assert!(h.immunizations_due.is_empty(), "{:?}", h.immunizations_due);
    // Since a sign-in after the last release, nothing is new.
    let since = portal.now();
    clock.advance(HOUR);
    let h = portal
        .record_highlights(backend::records::HighlightParts::all(&a), Some(since))
        .await
        .unwrap();
    assert_eq!(h.new_results, 0);
}

#[tokio::test]
async fn vaccines_due_follow_the_flu_season_and_the_ten_year_booster() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    // The child's last flu dose is from the 2025-2026 season.
    let child = portal.patient_by_mrn(CHILD_MRN).await.unwrap();
    let shots: Vec<_> = {
        use backend::storage::entity::immunization;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        immunization::Entity::find()
            .filter(immunization::Column::PatientId.eq(child.id))
            .all(&portal.db)
            .await
            .unwrap()
            .into_iter()
            .map(|i| domain::records::ImmunizationView {
                id: i.id,
                name: i.name,
                cvx: i.cvx,
                date: i.occurred.map(|o| o[..10].to_owned()),
                date_label: None,
                dose: None,
                dose_number: None,
                lot: None,
                site: None,
                performer: None,
                status: i.status,
            })
            .collect()
    };
    let day =
        |y, m, d| time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
    assert_eq!(
        vaccines_due(&shots, day(2026, 11, 25)),
        ["Influenza (flu) vaccine for the 2026–2027 season"]
    );
    // In July the 2025-2026 season's dose still counts.
    assert!(vaccines_due(&shots, day(2026, 7, 31)).is_empty());
    let tdap_2019 = domain::records::ImmunizationView {
        cvx: Some("115".into()),
        date: Some("2019-03-12".into()),
        ..shots[0].clone()
    };
    assert!(vaccines_due(std::slice::from_ref(&tdap_2019), day(2029, 3, 11)).is_empty());
    assert_eq!(
        vaccines_due(&[tdap_2019], day(2029, 3, 12)),
        ["Tetanus and diphtheria (Td or Tdap) booster"]
    );
}

#[test]
fn a_date_range_refuses_bad_dates_and_reversed_ends() {
    assert!(DateRange::parse("", "").unwrap().is_all());
    let e = DateRange::parse("15/09/2026", "").unwrap_err();
    assert!(e.0.contains("from date"), "{e}");
    let e = DateRange::parse("2026-09-15", "2026-02-30").unwrap_err();
    assert!(e.0.contains("to date"), "{e}");
    let e = DateRange::parse("2026-09-15", "2026-09-14").unwrap_err();
    assert!(e.0.contains("on or before"), "{e}");
    let r = DateRange::parse("2026-09-15", "2026-09-15").unwrap();
    assert!(r.contains_text(Some("2026-09-15T23:59:59Z")));
    assert!(!r.contains_text(Some("2026-09-16")));
    assert!(
        !r.contains(None),
        "an undated item cannot be placed in a range"
    );
    assert!(DateRange::all().contains(None));
}
