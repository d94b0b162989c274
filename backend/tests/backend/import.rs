//! FHIR import of the demo fixtures: counts, idempotence, all-or-nothing, links and ranges.

use crate::common::*;
use backend::Portal;
use backend::demo;
use backend::storage::entity::{
    allergy, diagnostic_report, document, encounter, immunization, location, medication,
    observation, organization, patient, practitioner, problem,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const PATIENT_BUNDLES: [&str; 3] = [
    "dara-dummett-type2-diabetes.json",
    "emet-fakeworth-child.json",
    "emet-stubfield-hypertension.json",
];

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join(file)).expect("read the fixture");
    serde_json::from_str(&text).expect("the fixture is JSON")
}

/// Every fixture bundle in the directory.
fn all_bundles() -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn resources(bundle: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e, &e["resource"]))
}

/// The logical id the importer gives an entry: `resource.id`, else the `urn:uuid:` of its fullUrl.
fn logical_id(entry: &Value) -> String {
    match entry["resource"]["id"].as_str() {
        Some(id) => id.to_owned(),
        None => entry["fullUrl"]
            .as_str()
            .unwrap()
            .trim_start_matches("urn:uuid:")
            .to_owned(),
    }
}

/// Rows the fixtures should produce, per table, worked out from the JSON itself.
fn expected_counts() -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    let mut mrns = BTreeSet::new();
    let mut ids: HashMap<&'static str, BTreeSet<String>> = HashMap::new();
    for b in all_bundles() {
        for (entry, r) in resources(&b) {
            let table = match r["resourceType"].as_str().unwrap() {
                "Patient" => {
                    mrns.insert(r["identifier"][0]["value"].as_str().unwrap().to_owned());
                    continue;
                }
                "DiagnosticReport" => "diagnostic_report",
                "Observation" => "observation",
                "Encounter" => "encounter",
                "Condition" => "problem",
                "AllergyIntolerance" => "allergy",
                "MedicationRequest" => "medication",
                "Immunization" => "immunization",
                "Practitioner" => "practitioner",
                "Location" => "location",
                "Organization" => "organization",
                "DocumentReference" => "document",
                _ => continue,
            };
            ids.entry(table).or_default().insert(logical_id(entry));
        }
    }
    out.insert("patient", mrns.len() as u64);
    for (table, set) in ids {
        out.insert(table, set.len() as u64);
    }
    out
}

async fn actual_counts(portal: &Portal) -> BTreeMap<&'static str, u64> {
    BTreeMap::from([
        ("patient", count(portal, patient::Entity).await),
        (
            "diagnostic_report",
            count(portal, diagnostic_report::Entity).await,
        ),
        ("observation", count(portal, observation::Entity).await),
        ("encounter", count(portal, encounter::Entity).await),
        ("problem", count(portal, problem::Entity).await),
        ("allergy", count(portal, allergy::Entity).await),
        ("medication", count(portal, medication::Entity).await),
        ("immunization", count(portal, immunization::Entity).await),
        ("practitioner", count(portal, practitioner::Entity).await),
        ("location", count(portal, location::Entity).await),
        ("organization", count(portal, organization::Entity).await),
        ("document", count(portal, document::Entity).await),
    ])
}

async fn import_all(portal: &Portal) -> u32 {
    let clinic = demo::default_clinic(portal).await.unwrap();
    demo::import_dir(portal, &clinic, fixtures_dir())
        .await
        .unwrap()
}

#[tokio::test]
async fn importing_the_fixtures_stores_every_resource_once() {
    let (portal, _) = portal().await;
    let total = import_all(&portal).await;
    let expected = expected_counts();
    // What the fixtures README promises, as a check on the computation above.
    assert_eq!(expected["patient"], 3);
    assert_eq!(expected["immunization"], 48);
    assert_eq!(expected["diagnostic_report"], 15 + 6);
    assert_eq!(expected["observation"], 102 + 10);
    assert_eq!(expected["document"], 4);
    // Fen Mocklin appears in three bundles, under two ids (riverside-history restates one).
    assert_eq!(expected["practitioner"], 3);
    assert_eq!(actual_counts(&portal).await, expected);
    // Rows written: each row once, and the practitioner riverside-history restates once more.
    assert_eq!(total as u64, expected.values().sum::<u64>() + 1);
}

#[tokio::test]
async fn importing_the_same_files_again_changes_no_counts() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let before = actual_counts(&portal).await;
    import_all(&portal).await;
    assert_eq!(actual_counts(&portal).await, before);

    let clinic = demo::default_clinic(&portal).await.unwrap();
    let again = portal
        .import_bundle(&clinic, &load("immunizations.json"))
        .await
        .unwrap();
    assert!(again.created.is_empty(), "{again}");
    assert!(again.updated.is_empty(), "{again}");
    assert_eq!(again.unchanged["Immunization"], 48);
    let dara = load("dara-dummett-type2-diabetes.json");
    portal.import_bundle(&clinic, &dara).await.unwrap();
    let again = portal.import_bundle(&clinic, &dara).await.unwrap();
    assert!(
        again.created.is_empty() && again.updated.is_empty(),
        "{again}"
    );
    assert_eq!(again.unchanged["Observation"], 34);
    assert_eq!(again.unchanged["Practitioner"], 1);
    assert!(
        again
            .to_string()
            .contains("Observation: 0 created, 0 updated, 34 unchanged, 0 rejected")
    );
}

#[tokio::test]
async fn a_changed_resource_is_updated_in_place() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let clinic = demo::default_clinic(&portal).await.unwrap();
    let mut b = load("immunizations.json");
    b["entry"][0]["resource"]["lotNumber"] = Value::String("NEWLOT1".into());
    let id = b["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
    let s = portal.import_bundle(&clinic, &b).await.unwrap();
    assert_eq!(s.updated["Immunization"], 1);
    assert_eq!(s.unchanged["Immunization"], 47);
    let row = immunization::Entity::find()
        .filter(immunization::Column::FhirId.eq(id))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.lot.as_deref(), Some("NEWLOT1"));
}

#[tokio::test]
async fn every_bad_resource_is_reported_with_its_id_and_field_and_the_bundle_is_refused() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let before = actual_counts(&portal).await;
    let clinic = demo::default_clinic(&portal).await.unwrap();
    let mut b = load("riverside-history.json");
    let entries = b["entry"].as_array_mut().unwrap();
    let mut broken = vec![];
    for e in entries.iter_mut() {
        let r = e["resource"].as_object_mut().unwrap();
        match r["resourceType"].as_str().unwrap() {
            "Encounter" if broken.is_empty() => {
                r.remove("status");
                broken.push(r["id"].as_str().unwrap().to_owned());
            }
            "DocumentReference" if broken.len() < 2 => {
                r["content"][0]["attachment"]["data"] = Value::String("not base64!".into());
                broken.push(r["id"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    let s = portal
        .import_bundle_report(&clinic, "history.json", &b)
        .await
        .unwrap();
    assert_eq!(s.errors.len(), 2, "{:?}", s.errors);
    assert!(
        s.errors[0].starts_with("history.json entry "),
        "{:?}",
        s.errors
    );
    assert!(
        s.errors
            .iter()
            .any(|e| e.contains(&broken[0]) && e.contains("status"))
    );
    assert!(
        s.errors
            .iter()
            .any(|e| e.contains(&broken[1]) && e.contains("base64"))
    );
    assert_eq!(s.rejected["Encounter"], 1);
    assert_eq!(s.rejected["DocumentReference"], 1);
    assert!(s.created.is_empty() && s.updated.is_empty());
    assert_eq!(
        actual_counts(&portal).await,
        before,
        "nothing of it was kept"
    );
    // The same through the plain entry point: an error naming both.
    let msg = invalid(portal.import_bundle(&clinic, &b).await);
    assert!(
        msg.contains(&broken[0]) && msg.contains(&broken[1]),
        "{msg}"
    );
}

#[tokio::test]
async fn bundle_types_an_ehr_sends_are_accepted_and_others_refused() {
    let (portal, _) = portal().await;
    let clinic = demo::default_clinic(&portal).await.unwrap();
    let mut b = load("dara-dummett-type2-diabetes.json");
    for kind in ["collection", "batch", "searchset"] {
        b["type"] = Value::String(kind.into());
        portal.import_bundle(&clinic, &b).await.unwrap();
    }
    // A search result's OperationOutcome is not data.
    b["entry"].as_array_mut().unwrap().push(serde_json::json!({
        "search": {"mode": "outcome"},
        "resource": {"resourceType": "OperationOutcome", "issue": []}
    }));
    let s = portal.import_bundle(&clinic, &b).await.unwrap();
    assert!(s.skipped.is_empty(), "{s}");
    b["type"] = Value::String("document".into());
    let msg = invalid(portal.import_bundle(&clinic, &b).await);
    assert!(msg.contains("document bundle cannot be imported"), "{msg}");
}

#[tokio::test]
async fn bulk_data_ndjson_files_import_together_in_any_order() {
    let (portal, _) = portal().await;
    let clinic = demo::default_clinic(&portal).await.unwrap();
    // Split the fixtures into one file per resource type, as a Bulk Data export writes them,
    // and hand them over with the patients last.
    let mut by_type: BTreeMap<String, String> = BTreeMap::new();
    for file in PATIENT_BUNDLES {
        for (entry, r) in resources(&load(file)) {
            let mut r = r.clone();
            r["id"] = Value::String(logical_id(entry));
            let t = r["resourceType"].as_str().unwrap().to_owned();
            let lines = by_type.entry(t).or_default();
            lines.push_str(&r.to_string());
            lines.push('\n');
        }
    }
    let mut files: Vec<(String, String)> = by_type
        .into_iter()
        .map(|(t, text)| (format!("{t}.ndjson"), text))
        .collect();
    files.sort_by_key(|(name, _)| name == "Patient.ndjson");
    assert_eq!(files.last().unwrap().0, "Patient.ndjson");
    let s = portal.import_ndjson(&clinic, &files).await.unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.created["Patient"], 3);
    assert_eq!(s.created["Observation"], 102);
    assert_eq!(s.created["DiagnosticReport"], 15);
    assert_eq!(count(&portal, observation::Entity).await, 102);
    // Reports link their results across files, as in a bundle.
    let linked = observation::Entity::find()
        .filter(observation::Column::ReportId.is_not_null())
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(linked.len(), 78);
    // A broken line refuses the whole set, naming the file and line.
    files[0].1.push_str("{not json\n");
    let s = portal.import_ndjson(&clinic, &files).await.unwrap();
    assert_eq!(s.errors.len(), 1);
    assert!(
        s.errors[0].starts_with(&format!("{} line ", files[0].0)),
        "{:?}",
        s.errors
    );
}

#[tokio::test]
async fn a_malformed_bundle_is_refused_whole_and_leaves_nothing_behind() {
    let (portal, _) = portal().await;
    let clinic = demo::default_clinic(&portal).await.unwrap();
    // Another patient is already there and must stay untouched.
    portal
        .import_bundle(&clinic, &load("emet-stubfield-hypertension.json"))
        .await
        .unwrap();
    let before = actual_counts(&portal).await;

    let mut bundle = load("dara-dummett-type2-diabetes.json");
    let entries = bundle["entry"].as_array_mut().unwrap();
    let (i, broken) = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e["resource"]["resourceType"] == "Observation")
        .nth(1)
        .map(|(i, e)| (i, logical_id(e)))
        .unwrap();
    entries[i]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("code");

    let msg = invalid(portal.import_bundle(&clinic, &bundle).await);
    assert!(msg.contains("Observation"), "{msg}");
    assert!(msg.contains(&broken), "{msg}");
    assert!(msg.contains("code"), "{msg}");

    assert_eq!(actual_counts(&portal).await, before);
    assert!(portal.patient_by_mrn(DARA_MRN).await.is_err());
    // The database is still usable, and the fixed bundle goes in.
    portal
        .import_bundle(&clinic, &load("dara-dummett-type2-diabetes.json"))
        .await
        .unwrap();
    portal.patient_by_mrn(DARA_MRN).await.unwrap();
}

#[tokio::test]
async fn something_that_is_not_a_bundle_is_refused() {
    let (portal, _) = portal().await;
    let clinic = demo::default_clinic(&portal).await.unwrap();
    let msg = invalid(
        portal
            .import_bundle(&clinic, &serde_json::json!({"resourceType": "Patient"}))
            .await,
    );
    assert!(msg.contains("Bundle"), "{msg}");
    let msg = invalid(
        portal
            .import_bundle(&clinic, &serde_json::json!({"resourceType": "Bundle"}))
            .await,
    );
    assert!(msg.contains("entry"), "{msg}");
}

#[tokio::test]
async fn results_are_linked_to_their_reports() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let reports: HashMap<String, String> = diagnostic_report::Entity::find()
        .all(&portal.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.fhir_id))
        .collect();
    let stored: HashMap<String, observation::Model> = observation::Entity::find()
        .all(&portal.db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.fhir_id.clone(), o))
        .collect();
    let mut linked = 0;
    for file in PATIENT_BUNDLES {
        let b = load(file);
        // observation id → report id, from the reports' `result` lists.
        let mut report_of = HashMap::new();
        for (entry, r) in resources(&b) {
            if r["resourceType"] == "DiagnosticReport" {
                for res in r["result"].as_array().unwrap() {
                    let obs = res["reference"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("urn:uuid:");
                    report_of.insert(obs.to_owned(), logical_id(entry));
                }
            }
        }
        for (entry, r) in resources(&b) {
            if r["resourceType"] != "Observation" {
                continue;
            }
            let o = &stored[&logical_id(entry)];
            match report_of.get(&logical_id(entry)) {
                Some(report) => {
                    let row = o.report_id.as_ref().expect("linked to its report");
                    assert_eq!(&reports[row], report);
                    linked += 1;
                }
                None => assert_eq!(o.report_id, None, "{}", o.name),
            }
        }
    }
    assert_eq!(linked, 3 * 26, "every laboratory result has its report");
}

#[tokio::test]
async fn reference_ranges_and_interpretations_are_stored() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let stored: HashMap<String, observation::Model> = observation::Entity::find()
        .all(&portal.db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.fhir_id.clone(), o))
        .collect();
    let (mut with_range, mut without_range) = (0, 0);
    for file in PATIENT_BUNDLES {
        for (entry, r) in resources(&load(file)) {
            if r["resourceType"] != "Observation" {
                continue;
            }
            let o = &stored[&logical_id(entry)];
            let range = &r["referenceRange"][0];
            assert_eq!(o.ref_low, range["low"]["value"].as_f64(), "{}", o.name);
            assert_eq!(o.ref_high, range["high"]["value"].as_f64(), "{}", o.name);
            assert_eq!(o.ref_text.as_deref(), range["text"].as_str(), "{}", o.name);
            assert_eq!(
                o.interpretation.as_deref(),
                r["interpretation"][0]["coding"][0]["code"].as_str(),
                "{}",
                o.name
            );
            assert_eq!(
                o.value_num,
                r["valueQuantity"]["value"].as_f64(),
                "{}",
                o.name
            );
            if range.is_null() {
                without_range += 1;
            } else {
                with_range += 1;
            }
        }
    }
    // 78 laboratory results, four of the child's without a range (see the fixtures README).
    assert_eq!((with_range, without_range), (74, 3 * 8 + 4));
}

#[tokio::test]
async fn immunizations_find_their_patient_by_medical_record_number() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (_, r) in resources(&load("immunizations.json")) {
        let mrn = r["patient"]["identifier"]["value"].as_str().unwrap();
        *expected.entry(mrn.to_owned()).or_default() += 1;
    }
    assert_eq!(expected.values().sum::<usize>(), 48);
    for (mrn, n) in expected {
        let p = portal.patient_by_mrn(&mrn).await.unwrap();
        let rows = immunization::Entity::find()
            .filter(immunization::Column::PatientId.eq(p.id))
            .all(&portal.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), n, "{mrn}");
    }
}

#[tokio::test]
async fn a_resource_id_of_another_patient_is_refused_not_moved() {
    let (portal, _) = portal().await;
    import_all(&portal).await;
    let dara = load("dara-dummett-type2-diabetes.json");
    let emet = load("emet-stubfield-hypertension.json");
    // One of Dara's observations, re-sent as if it were Emet's.
    let (entry, _) = resources(&dara)
        .find(|(_, r)| r["resourceType"] == "Observation")
        .unwrap();
    let stolen_id = logical_id(entry);
    let (emet_patient, _) = resources(&emet)
        .find(|(_, r)| r["resourceType"] == "Patient")
        .unwrap();
    let mut obs = entry["resource"].clone();
    obs["id"] = Value::String(stolen_id.clone());
    obs["subject"] = serde_json::json!({ "reference": emet_patient["fullUrl"] });
    let bundle = serde_json::json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [emet_patient.clone(), { "fullUrl": "urn:uuid:x", "resource": obs }]
    });
    let clinic = demo::default_clinic(&portal).await.unwrap();
    let before = actual_counts(&portal).await;
    let msg = invalid(portal.import_bundle(&clinic, &bundle).await);
    assert!(
        msg.contains(&stolen_id) && msg.contains("another patient"),
        "{msg}"
    );
    assert_eq!(actual_counts(&portal).await, before);
    let row = observation::Entity::find()
        .filter(observation::Column::FhirId.eq(stolen_id))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let dara_row = portal.patient_by_mrn("BC909B9D").await.unwrap();
    assert_eq!(row.patient_id, dara_row.id, "the observation stays Dara's");
}
