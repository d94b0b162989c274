//! What others see of a caregiver's work: the patient and the care team see who wrote a
//! message, asked for a refill or booked a visit; the patient's Activity names the caregiver;
//! the header offers the records one may open; and the demo's family is seeded working.

use crate::common::*;
use crate::proxy::{acting, caregiver};
use backend::demo::family::{
    CHILD_MRN, DAUGHTER_USERNAME, FATHER_MRN, PARENT_USERNAME, TEEN_MRN, TEEN_SENSITIVE_TEST,
    TEEN_USERNAME,
};
use backend::demo::{ACTIVATE_MRN, READY_USERNAME};
use backend::storage::entity::{medication, pharmacy, user_account};
use domain::proxy::Scope;
use domain::records::{DateRange, LogSort};
use domain::session::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test]
async fn a_caregivers_message_and_refill_request_say_so_to_the_patient_and_the_team() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let grant = caregiver(
        &portal,
        "kim.dummett",
        &[Scope::Messages, Scope::Medications],
    )
    .await;
    let (_, kim) = acting(&portal, "kim.dummett", &grant).await;
    let kim_msgs = portal.record(&kim, Scope::Messages, &meta()).await.unwrap();
    let team = portal.care_teams(&kim_msgs).await.unwrap()[0].id.clone();
    let thread = portal
        .start_thread(
            &kim_msgs,
            &team,
            None,
            "question",
            "For my mother",
            "Could the next visit be in the afternoon?",
            vec![],
        )
        .await
        .unwrap();
    // The caregiver reads their own message as theirs.
    let seen = portal.patient_thread(&kim_msgs, &thread).await.unwrap();
    assert_eq!(seen.messages[0].author, "You");
    // The patient and the team see who wrote it.
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    let own = portal
        .record(&dara, Scope::Messages, &meta())
        .await
        .unwrap();
    let seen = portal.patient_thread(&own, &thread).await.unwrap();
    assert_eq!(seen.messages[0].author, "Kim Dummett (caregiver)");
    assert!(
        seen.messages[0].mine,
        "the patient's side of the conversation"
    );
    let fen = clinician(&portal).await;
    let staff_view = portal.staff_thread(&fen, &thread).await.unwrap();
    assert_eq!(staff_view.messages[0].author, "Kim Dummett (caregiver)");

    // A refill request by the caregiver is labelled on both sides; the patient's own is not.
    let kim_meds = portal
        .record(&kim, Scope::Medications, &meta())
        .await
        .unwrap();
    let med = medication::Entity::find()
        .filter(medication::Column::PatientId.eq(kim_meds.patient_id()))
        .filter(medication::Column::Status.eq("active"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let pharmacy = pharmacy::Entity::find()
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    portal
        .request_refill(&kim_meds, &med.id, &pharmacy.id, "")
        .await
        .unwrap();
    let own_meds = portal
        .record(&dara, Scope::Medications, &meta())
        .await
        .unwrap();
    let mine = portal.patient_refills(&own_meds).await.unwrap();
    assert_eq!(
        mine[0].by_caregiver.as_deref(),
        Some("Kim Dummett (caregiver)")
    );
    let queue = portal.refill_queue(&fen).await.unwrap();
    assert_eq!(
        queue[0].by_caregiver.as_deref(),
        Some("Kim Dummett (caregiver)")
    );

    // Dara's Activity lists what the caregiver did, under the caregiver's name.
    let log = portal
        .access_log(&dara, &DateRange::all(), LogSort::When, true, 1)
        .await
        .unwrap();
    let by_kim: Vec<_> = log
        .rows
        .iter()
        .filter(|r| r.who == "Kim Dummett (caregiver)")
        .map(|r| r.what.as_str())
        .collect();
    for what in [
        "Sent a message",
        "Asked for a refill",
        "Opened the record as a caregiver",
    ] {
        assert!(by_kim.contains(&what), "{what} not in {by_kim:?}");
    }
    // The clinician's read of the thread is there too.
    assert!(
        log.rows
            .iter()
            .any(|r| r.who == "Fen Mocklin (clinician)" && r.what == "Read a conversation"),
        "{:?}",
        log.rows
    );
}

#[tokio::test]
async fn the_header_offers_the_records_a_person_may_open() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let grant = caregiver(&portal, "kim.dummett", &[Scope::Results]).await;
    let (_, kim) = principal_of(&portal, "kim.dummett").await;
    let me = portal.me(&kim).await.unwrap();
    assert!(!me.has_own_record);
    assert!(me.acting_for.is_none());
    assert!(!me.has_record() && !me.shows(Scope::Results));
    assert_eq!(me.records.len(), 1);
    assert_eq!(me.records[0].name, "Dara Dummett");
    let (_, kim) = acting(&portal, "kim.dummett", &grant).await;
    let me = portal.me(&kim).await.unwrap();
    assert_eq!(me.acting_for.as_deref(), Some("Dara Dummett"));
    assert_eq!(me.acting_grant.as_deref(), Some(grant.as_str()));
    assert!(me.shows(Scope::Results) && !me.shows(Scope::Messages));
    // The patient on her own record sees every part.
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    let me = portal.me(&dara).await.unwrap();
    assert!(me.has_own_record && me.records.is_empty());
    assert!(Scope::ALL.into_iter().all(|s| me.shows(s)));
}

#[tokio::test]
async fn the_demo_seeds_a_daughter_a_parent_and_a_teenager_whose_confidential_result_stays_hers() {
    let (portal, _) = portal().await;
    let signins = seed(&portal).await;
    for who in [DAUGHTER_USERNAME, PARENT_USERNAME, TEEN_USERNAME] {
        assert!(
            signins.family.iter().any(|(u, _)| u == who),
            "{who} printed"
        );
    }
    assert_eq!(FATHER_MRN, ACTIVATE_MRN);
    // The daughter helps her father with four parts of his record.
    let (_, jo) = principal_of(&portal, DAUGHTER_USERNAME).await;
    let me = portal.me(&jo).await.unwrap();
    assert_eq!(me.role, Role::Caregiver);
    assert_eq!(me.records.len(), 1);
    assert_eq!(me.records[0].name, "Emet Stubfield");
    assert_eq!(me.records[0].scopes.len(), 4);
    // The parent has both children; the teenager's confidential test is hidden from her.
    let (_, kim) = principal_of(&portal, PARENT_USERNAME).await;
    let me = portal.me(&kim).await.unwrap();
    let mut names: Vec<_> = me.records.iter().map(|r| r.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["Emet Fakeworth", "Robin Fakeworth"]);
    let teen = portal.patient_by_mrn(TEEN_MRN).await.unwrap();
    assert!(portal.patient_by_mrn(CHILD_MRN).await.is_ok());
    let teen_grant = me
        .records
        .iter()
        .find(|r| r.name == "Robin Fakeworth")
        .unwrap()
        .grant_id
        .clone();
    let (_, kim) = acting(&portal, PARENT_USERNAME, &teen_grant).await;
    let parent = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    assert!(
        parent.hides_sensitive(),
        "14 years old: sensitive care is hers"
    );
    let seen = serde_json::to_string(
        &portal
            .list_results(&parent, &DateRange::all())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(seen.contains("Hemoglobin"), "{seen}");
    assert!(!seen.contains(TEEN_SENSITIVE_TEST), "{seen}");
    // She sees it herself.
    let (_, robin) = principal_of(&portal, TEEN_USERNAME).await;
    let own = portal
        .record(&robin, Scope::Results, &meta())
        .await
        .unwrap();
    assert_eq!(own.patient_id(), teen.id);
    let hers = serde_json::to_string(&portal.list_results(&own, &DateRange::all()).await.unwrap())
        .unwrap();
    assert!(hers.contains(TEEN_SENSITIVE_TEST), "{hers}");
    // Seeding again (the next start) adds nobody twice.
    seed(&portal).await;
    let parents = user_account::Entity::find()
        .filter(user_account::Column::Username.eq(PARENT_USERNAME))
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(parents.len(), 1);
}

#[tokio::test]
async fn the_demo_clinic_has_a_day_of_work_waiting() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    backend::demo::seed_clinic_day(&portal).await.unwrap();
    let (_, fen) = principal_of(&portal, "fen.mocklin").await;
    let fen = portal
        .staff_access(&fen, &[Role::Clinician], "test", &meta())
        .await
        .unwrap();
    let home = portal.staff_home(&fen).await.unwrap();
    assert!(home.unassigned_messages >= 2, "{home:?}");
    assert!(home.refills_waiting >= 1, "{home:?}");
    assert!(home.results_to_review >= 1, "{home:?}");
    let (_, riley) = principal_of(&portal, "riley.frontdesk").await;
    let riley = portal
        .staff_access(&riley, &[Role::FrontDesk], "test", &meta())
        .await
        .unwrap();
    let desk = portal.staff_home(&riley).await.unwrap();
    assert!(desk.appointments_today >= 1, "{desk:?}");
    assert!(desk.visit_requests >= 1, "{desk:?}");
    // The daughter's work is labelled as hers in the team's queues.
    let queue = portal.refill_queue(&fen).await.unwrap();
    assert!(
        queue
            .iter()
            .any(|r| r.by_caregiver.as_deref() == Some("Jo Stubfield (caregiver)"))
    );
    // Seeding again on the next start adds nothing.
    backend::demo::seed_clinic_day(&portal).await.unwrap();
    assert_eq!(portal.refill_queue(&fen).await.unwrap().len(), queue.len());
}
