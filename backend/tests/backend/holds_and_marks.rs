//! The clinic's own decisions on a record: holding a report or a visit note, marking a result
//! or a conversation confidential by hand, each clinic's own directory of practitioners and
//! places, and the clinic's list views on each patient's Activity.

use crate::common::*;
use crate::proxy::acting;
use backend::demo::family::{PARENT_USERNAME, TEEN_MRN, TEEN_USERNAME};
use backend::demo::{READY_MRN, READY_USERNAME};
use backend::release::ClinicActor;
use backend::storage::entity::{
    clinic, diagnostic_report, document, observation, practitioner, user_account,
};
use backend::{Error, PatientAccess, Portal};
use domain::care::InboxView;
use domain::proxy::{Scope, Sensitivity};
use domain::records::{DateRange, Holdable, LogSort, Markable};
use domain::session::Role;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

const REASON: &str = "Discuss the findings in person first";

async fn own(portal: &Portal, username: &str, scope: Scope) -> PatientAccess {
    let (_, p) = principal_of(portal, username).await;
    portal.record(&p, scope, &meta()).await.unwrap()
}

async fn results_text(portal: &Portal, a: &PatientAccess) -> String {
    serde_json::to_string(&portal.list_results(a, &DateRange::all()).await.unwrap()).unwrap()
}

async fn visits_text(portal: &Portal, a: &PatientAccess) -> String {
    serde_json::to_string(&portal.list_visits(a, &DateRange::all()).await.unwrap()).unwrap()
}

/// A second clinic with a clinician of its own; returns its id.
async fn second_clinic(portal: &Portal) -> String {
    clinic::ActiveModel {
        id: Set("clinic-two".into()),
        name: Set("Hillside Family Practice".into()),
        phone: Set(None),
        require_second_factor: Set(0),
        created_at: Set(portal.now()),
        time_zone: Set(Some("America/Denver".into())),
    }
    .insert(&portal.db)
    .await
    .unwrap();
    portal
        .create_staff(
            backend::staff::NewStaff {
                username: "ola.otherclinic",
                email: "ola.otherclinic@hillside.example.org",
                given_name: "Ola",
                family_name: "Hillside",
                role: Role::Clinician,
                password: "Copper-Kettle-Winter-8812",
                clinic_id: Some("clinic-two".into()),
            },
            "test",
            &meta(),
        )
        .await
        .unwrap();
    "clinic-two".into()
}

#[tokio::test]
async fn a_held_report_hides_its_results_and_a_held_note_hides_from_the_visit() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let fen = principal_of(&portal, "fen.mocklin").await.1;
    let dara = portal.patient_by_mrn(READY_MRN).await.unwrap();
    let report = diagnostic_report::Entity::find()
        .filter(diagnostic_report::Column::FhirId.eq("dara-2025-09-10-hba1c-report"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let result = observation::Entity::find()
        .filter(observation::Column::ReportId.eq(report.id.clone()))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let note = document::Entity::find()
        .filter(document::Column::FhirId.eq("dara-2025-09-10-progress-note"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let results = own(&portal, READY_USERNAME, Scope::Results).await;
    let visits = own(&portal, READY_USERNAME, Scope::Visits).await;
    assert!(results_text(&portal, &results).await.contains(&result.id));
    assert!(
        visits_text(&portal, &visits)
            .await
            .contains("Progress note, 10 September 2025")
    );

    // A reason is required, and only a clinician of the patient's clinic may hold.
    assert!(
        invalid(
            portal
                .hold(
                    ClinicActor::Staff(&fen),
                    Holdable::Report,
                    &report.id,
                    "soon",
                    &meta()
                )
                .await
        )
        .contains("report")
    );
    second_clinic(&portal).await;
    let ola = principal_of(&portal, "ola.otherclinic").await.1;
    for what in [Holdable::Report, Holdable::Note] {
        let id = if what == Holdable::Report {
            &report.id
        } else {
            &note.id
        };
        let e = err(portal
            .hold(ClinicActor::Staff(&ola), what, id, REASON, &meta())
            .await);
        assert!(matches!(e, Error::NotFound), "{e:?}");
    }
    let riley = principal_of(&portal, "riley.frontdesk").await.1;
    let e = err(portal
        .hold(
            ClinicActor::Staff(&riley),
            Holdable::Note,
            &note.id,
            REASON,
            &meta(),
        )
        .await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");

    portal
        .hold(
            ClinicActor::Staff(&fen),
            Holdable::Report,
            &report.fhir_id,
            REASON,
            &meta(),
        )
        .await
        .unwrap();
    portal
        .hold(
            ClinicActor::Staff(&fen),
            Holdable::Note,
            &note.id,
            REASON,
            &meta(),
        )
        .await
        .unwrap();
    assert!(matches!(
        invalid(
            portal
                .hold(
                    ClinicActor::Staff(&fen),
                    Holdable::Note,
                    &note.id,
                    REASON,
                    &meta()
                )
                .await
        )
        .as_str(),
        "This visit note is already held."
    ));
    // Held: the report, its result and the note are not there for the patient.
    let seen = results_text(&portal, &results).await;
    assert!(
        !seen.contains(&result.id) && !seen.contains(&report.id),
        "{seen}"
    );
    assert!(matches!(
        err(portal.result_detail(&results, &result.id).await),
        Error::NotFound
    ));
    let seen = visits_text(&portal, &visits).await;
    assert!(!seen.contains("Progress note, 10 September 2025"), "{seen}");
    let (_, p) = principal_of(&portal, READY_USERNAME).await;
    let whole = portal.own_record(&p, &meta()).await.unwrap();
    let export = String::from_utf8(portal.export_fhir(&p, &whole).await.unwrap().bytes).unwrap();
    for id in [&report.fhir_id, &result.fhir_id, &note.fhir_id] {
        assert!(!export.contains(id.as_str()), "{id} exported while held");
    }
    // The clinician's list shows both as held, with the reason.
    let listed = portal
        .reports_and_notes(&clinician(&portal).await)
        .await
        .unwrap();
    // Its audit entry is not on Dara's record: nothing held exists for her.
    assert!(
        audit_rows(&portal, "result.review_list")
            .await
            .iter()
            .all(|r| r.patient_id.as_deref() != Some(dara.id.as_str()))
    );
    for id in [&report.id, &note.id] {
        let row = listed.iter().find(|r| &r.id == id).expect("listed");
        assert_eq!(row.held.as_deref(), Some(REASON));
    }
    // A new import of the same records keeps the holds.
    let clinic = backend::demo::default_clinic(&portal).await.unwrap();
    let history: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("riverside-history.json")).unwrap(),
    )
    .unwrap();
    portal.import_bundle(&clinic, &history).await.unwrap();
    assert!(!results_text(&portal, &results).await.contains(&result.id));
    assert!(
        !visits_text(&portal, &visits)
            .await
            .contains("Progress note, 10 September 2025")
    );
    // Released: back under the patient's own rules; each step audited on the clinic's side.
    portal
        .release(
            ClinicActor::CommandLine,
            Holdable::Report,
            &report.id,
            &meta(),
        )
        .await
        .unwrap();
    portal
        .release(
            ClinicActor::Staff(&fen),
            Holdable::Note,
            &note.fhir_id,
            &meta(),
        )
        .await
        .unwrap();
    assert!(results_text(&portal, &results).await.contains(&result.id));
    assert!(
        visits_text(&portal, &visits)
            .await
            .contains("Progress note, 10 September 2025")
    );
    for action in [
        "report.held",
        "note.held",
        "report.released",
        "note.released",
    ] {
        let rows = audit_rows(&portal, action).await;
        assert_eq!(rows.len(), 1, "{action}");
        assert_eq!(rows[0].patient_id.as_deref(), Some(dara.id.as_str()));
    }
    assert_eq!(
        audit_rows(&portal, "report.held").await[0]
            .detail
            .as_deref(),
        Some(REASON)
    );
}

#[tokio::test]
async fn a_clinician_marks_a_teens_result_and_conversation_confidential_and_an_import_keeps_it() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let teen = portal.patient_by_mrn(TEEN_MRN).await.unwrap();
    let hb = observation::Entity::find()
        .filter(observation::Column::PatientId.eq(teen.id.clone()))
        .filter(observation::Column::Name.contains("Hemoglobin"))
        .filter(observation::Column::Sensitivity.is_null())
        .one(&portal.db)
        .await
        .unwrap()
        .expect("an ordinary result of the teenager's");
    let kim = principal_of(&portal, PARENT_USERNAME).await.1;
    let grant = portal
        .me(&kim)
        .await
        .unwrap()
        .records
        .into_iter()
        .find(|r| r.name == "Robin Fakeworth")
        .unwrap()
        .grant_id;
    let (_, kim) = acting(&portal, PARENT_USERNAME, &grant).await;
    let parent = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    assert!(results_text(&portal, &parent).await.contains(&hb.id));

    let fen = clinician(&portal).await;
    let riley = front_desk(&portal).await;
    let e = err(portal
        .mark_sensitivity(
            &riley,
            Markable::Result,
            &hb.id,
            Some(Sensitivity::Reproductive),
        )
        .await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    second_clinic(&portal).await;
    let ola = staff(
        &portal,
        "ola.otherclinic",
        domain::session::staff_roles::ANY_STAFF,
    )
    .await;
    let e = err(portal
        .mark_sensitivity(
            &ola,
            Markable::Result,
            &hb.id,
            Some(Sensitivity::Reproductive),
        )
        .await);
    assert!(matches!(e, Error::NotFound), "{e:?}");

    portal
        .mark_sensitivity(
            &fen,
            Markable::Result,
            &hb.id,
            Some(Sensitivity::Reproductive),
        )
        .await
        .unwrap();
    // The parent's very next request no longer has it; the teen still does.
    let parent = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    assert!(!results_text(&portal, &parent).await.contains(&hb.id));
    assert!(matches!(
        err(portal.result_detail(&parent, &hb.id).await),
        Error::NotFound
    ));
    let hers = own(&portal, TEEN_USERNAME, Scope::Results).await;
    assert!(results_text(&portal, &hers).await.contains(&hb.id));
    // A new import of the teenager's bundle keeps the clinician's decision.
    let clinic = backend::demo::default_clinic(&portal).await.unwrap();
    let patient_url = "urn:uuid:7e3a5c21-0000-4000-8000-000000000001";
    let again = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient_url, "resource": {"resourceType": "Patient",
            "identifier": [{"system": "urn:uuid:6f2a1d3e-9c47-5b8a-a1f0-2d4e6c8b0a17", "value": TEEN_MRN}],
            "name": [{"use": "official", "family": "Fakeworth", "given": ["Robin"]}],
            "gender": "female", "birthDate": teen.birth_date}},
        {"fullUrl": format!("urn:uuid:{}", hb.fhir_id), "resource": {"resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}], "text": "Hemoglobin [Mass/volume] in Blood"},
            "subject": {"reference": patient_url},
            "effectiveDateTime": backend::clock::to_rfc3339(hb.effective_at.unwrap()),
            "valueQuantity": {"value": 13.4, "unit": "g/dL"}}},
    ]});
    let summary = portal.import_bundle(&clinic, &again).await.unwrap();
    assert_eq!(summary.updated.get("Observation"), Some(&1), "{summary:?}");
    let parent = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    assert!(!results_text(&portal, &parent).await.contains(&hb.id));
    let marked = audit_rows(&portal, "record.sensitivity").await;
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].patient_id.as_deref(), Some(teen.id.as_str()));
    assert_eq!(marked[0].detail.as_deref(), Some("reproductive"));
    // Marked as none: the parent sees it again.
    portal
        .mark_sensitivity(&fen, Markable::Result, &hb.id, None)
        .await
        .unwrap();
    let parent = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    assert!(results_text(&portal, &parent).await.contains(&hb.id));

    // A conversation the teen started is hidden from the parent once marked.
    let hers = own(&portal, TEEN_USERNAME, Scope::Messages).await;
    let team = portal.care_teams(&hers).await.unwrap()[0].id.clone();
    let thread = portal
        .start_thread(
            &hers,
            &team,
            None,
            "question",
            "A private question",
            "Just for you",
            vec![],
        )
        .await
        .unwrap();
    let parent_msgs = portal.record(&kim, Scope::Messages, &meta()).await.unwrap();
    assert_eq!(portal.patient_threads(&parent_msgs).await.unwrap().len(), 1);
    portal
        .mark_sensitivity(
            &fen,
            Markable::Thread,
            &thread,
            Some(Sensitivity::MentalHealth),
        )
        .await
        .unwrap();
    let seen = portal.staff_thread(&fen, &thread).await.unwrap();
    assert_eq!(seen.sensitivity, Some(Sensitivity::MentalHealth));
    assert!(seen.may_mark);
    let parent_msgs = portal.record(&kim, Scope::Messages, &meta()).await.unwrap();
    assert!(
        portal
            .patient_threads(&parent_msgs)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        err(portal.patient_thread(&parent_msgs, &thread).await),
        Error::NotFound
    ));
    assert_eq!(portal.patient_threads(&hers).await.unwrap().len(), 1);
}

#[tokio::test]
async fn each_clinic_keeps_its_own_practitioners_and_places() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let other = second_clinic(&portal).await;
    // Another clinic's feed uses the same FHIR ids for its own people and places.
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {"resourceType": "Practitioner", "id": "1ac7a9c5-dd84-504a-a048-febc2884d9d2",
                "name": [{"family": "Elsewhere", "given": ["Quinn"], "prefix": ["Dr"]}]}},
            {"resource": {"resourceType": "Location", "id": "riverside-main-street",
                "name": "Hillside Annex"}},
            {"resource": {"resourceType": "Organization", "id": "riverside-family-clinic",
                "name": "Hillside Family Practice"}},
        ]
    });
    portal.import_bundle(&other, &bundle).await.unwrap();
    let rows = practitioner::Entity::find()
        .filter(practitioner::Column::FhirId.eq("1ac7a9c5-dd84-504a-a048-febc2884d9d2"))
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one row per clinic");
    // Clinic 1's patient still sees clinic 1's names.
    let visits = own(&portal, READY_USERNAME, Scope::Visits).await;
    let seen = visits_text(&portal, &visits).await;
    assert!(seen.contains("Dr Fen Mocklin"), "{seen}");
    assert!(
        seen.contains("Riverside Family Clinic, Main Street"),
        "{seen}"
    );
    assert!(
        !seen.contains("Elsewhere") && !seen.contains("Hillside"),
        "{seen}"
    );
    // And the second clinic's schedule cannot use clinic 1's location.
    let (_, p) = principal_of(&portal, READY_USERNAME).await;
    let whole = portal.own_record(&p, &meta()).await.unwrap();
    let export = String::from_utf8(portal.export_fhir(&p, &whole).await.unwrap().bytes).unwrap();
    assert!(!export.contains("Elsewhere") && !export.contains("Hillside Annex"));
}

#[tokio::test]
async fn the_clinics_list_views_are_on_each_listed_patients_activity() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = own(&portal, READY_USERNAME, Scope::Messages).await;
    let team = portal.care_teams(&a).await.unwrap()[0].id.clone();
    portal
        .start_thread(
            &a,
            &team,
            None,
            "question",
            "Feet",
            "They tingle at night",
            vec![],
        )
        .await
        .unwrap();
    let fen = clinician(&portal).await;
    portal.inbox(&fen, InboxView::Unassigned).await.unwrap();
    portal.results_to_review(&fen).await.unwrap();
    let listed = audit_rows(&portal, "message.inbox").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].patient_id.as_deref(), Some(a.patient_id()));
    // Another patient was not in the inbox, so has no such entry.
    let emet = portal
        .patient_by_mrn(backend::demo::ACTIVATE_MRN)
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .all(|r| r.patient_id.as_deref() != Some(emet.id.as_str()))
    );
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    let log = portal
        .access_log(&dara, &DateRange::all(), LogSort::When, true, 1)
        .await
        .unwrap();
    let inbox = log
        .rows
        .iter()
        .find(|r| r.what == "Listed in the care team's inbox")
        .expect("the inbox view is on her Activity");
    assert_eq!(inbox.who, "Fen Mocklin (clinician)");
    assert_eq!(inbox.data, "Messages");
    // An empty list is still audited, once, without a patient.
    let u = user_account::Entity::find()
        .filter(user_account::Column::Username.eq("fen.mocklin"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    portal.inbox(&fen, InboxView::Closed).await.unwrap();
    let rows = audit_rows(&portal, "message.inbox").await;
    let empty: Vec<_> = rows.iter().filter(|r| r.patient_id.is_none()).collect();
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0].actor_user_id.as_deref(), Some(u.id.as_str()));
    assert_eq!(
        empty[0].detail.as_deref(),
        Some("inbox closed: nobody shown")
    );
}
