//! The demo seed: what a first start creates, and what later starts do.

use crate::common::*;
use backend::auth::activation::NO_MATCH;
use backend::demo::{self, CLINIC_NAME, DEMO_PASSWORD, READY_USERNAME, STAFF};
use backend::storage::entity::{clinic, observation, patient, user_account};
use domain::session::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test]
async fn a_first_start_seeds_the_clinic_staff_and_demo_patients() {
    let (portal, _) = portal().await;
    let out = seed(&portal).await;

    let clinics = clinic::Entity::find().all(&portal.db).await.unwrap();
    assert_eq!(clinics.len(), 1);
    assert_eq!(clinics[0].name, CLINIC_NAME);
    // The three fixture patients and the teenager made at seed time.
    assert_eq!(count(&portal, patient::Entity).await, 4);

    // Dara, three staff, two caregivers and the teenager.
    let users = user_account::Entity::find().all(&portal.db).await.unwrap();
    assert_eq!(users.len(), 7);
    for (username, given, family, role) in STAFF {
        let u = users
            .iter()
            .find(|u| u.username == username)
            .expect(username);
        assert_eq!(
            (u.given_name.as_str(), u.family_name.as_str()),
            (given, family)
        );
        assert_eq!(u.role, role.as_str());
        assert!(role.is_staff());
        assert_eq!(u.patient_id, None);
        assert_eq!(u.clinic_id.as_deref(), Some(clinics[0].id.as_str()));
    }
    let dara = users.iter().find(|u| u.username == READY_USERNAME).unwrap();
    assert_eq!(dara.role, "patient");
    assert_eq!(
        dara.patient_id.as_deref(),
        Some(portal.patient_by_mrn(DARA_MRN).await.unwrap().id.as_str())
    );

    assert_eq!(out.ready_username, READY_USERNAME);
    assert_eq!(out.activate_name, "Emet Stubfield");
    assert_eq!(out.activate_dob, EMET_DOB);
    assert_eq!(out.staff.len(), 3);
    assert!(out.staff.iter().all(|(_, r)| *r != Role::Patient));
    assert!(out.activation_code.is_some());
}

#[tokio::test]
async fn dara_signs_in_with_the_demo_password() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    assert!(portal.principal(Some(&s.token)).await.unwrap().is_self());
}

#[tokio::test]
async fn the_printed_code_activates_emet() {
    let (portal, _) = portal().await;
    let out = seed(&portal).await;
    let code = out.activation_code.unwrap();
    let (first, last) = out.activate_name.split_once(' ').unwrap();
    portal
        .start_activation(first, last, &out.activate_dob, &code, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_later_start_imports_nothing_again_and_issues_a_new_code() {
    let (portal, _) = portal().await;
    let first = seed(&portal).await;
    let observations = count(&portal, observation::Entity).await;
    let users = count(&portal, user_account::Entity).await;

    let second = seed(&portal).await;
    assert_eq!(count(&portal, clinic::Entity).await, 1);
    assert_eq!(count(&portal, patient::Entity).await, 4);
    assert_eq!(count(&portal, observation::Entity).await, observations);
    assert_eq!(count(&portal, user_account::Entity).await, users);

    let (old, new) = (
        first.activation_code.unwrap(),
        second.activation_code.unwrap(),
    );
    assert_ne!(old, new);
    let m = meta();
    let e = portal
        .start_activation("Emet", "Stubfield", EMET_DOB, &old, &m)
        .await;
    assert_eq!(invalid(e), NO_MATCH);
    portal
        .start_activation("Emet", "Stubfield", EMET_DOB, &new, &m)
        .await
        .unwrap();
}

#[tokio::test]
async fn once_emet_has_activated_no_code_is_printed() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    activate_emet(&portal).await;
    let again = seed(&portal).await;
    assert_eq!(again.activation_code, None);
    assert_eq!(again.activate_name, "Emet Stubfield");
}

#[tokio::test]
async fn the_default_clinic_is_created_once() {
    let (portal, _) = portal().await;
    let a = demo::default_clinic(&portal).await.unwrap();
    let b = demo::default_clinic(&portal).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(count(&portal, clinic::Entity).await, 1);
}

#[tokio::test]
async fn a_seed_interrupted_half_way_is_completed_on_the_next_start() {
    use backend::storage::entity::portal_meta;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ModelTrait};
    let (portal, _) = portal().await;
    seed(&portal).await;
    let users = count(&portal, user_account::Entity).await;
    // Simulate a start that stopped after the import: no accounts, no care-team set-up, no
    // "seeded" marks.
    {
        use backend::storage::entity::{availability, care_team, location, pharmacy, visit_type};
        availability::Entity::delete_many()
            .exec(&portal.db)
            .await
            .unwrap();
        visit_type::Entity::delete_many()
            .exec(&portal.db)
            .await
            .unwrap();
        pharmacy::Entity::delete_many()
            .exec(&portal.db)
            .await
            .unwrap();
        care_team::Entity::delete_many()
            .exec(&portal.db)
            .await
            .unwrap();
        location::Entity::delete_many()
            .filter(location::Column::FhirId.starts_with("portal-location-"))
            .exec(&portal.db)
            .await
            .unwrap();
        for mark in ["demo_care_seeded", "demo_family_seeded"] {
            portal_meta::Entity::delete_by_id(mark.to_owned())
                .exec(&portal.db)
                .await
                .unwrap();
        }
        backend::storage::entity::proxy_grant::Entity::delete_many()
            .exec(&portal.db)
            .await
            .unwrap();
    }
    user_account::Entity::delete_many()
        .exec(&portal.db)
        .await
        .unwrap();
    portal_meta::Entity::find_by_id("demo_seeded".to_owned())
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap()
        .delete(&portal.db)
        .await
        .unwrap();
    let _ = portal_meta::ActiveModel {
        name: Set("unrelated".into()),
        value: Set("x".into()),
    }
    .insert(&portal.db)
    .await
    .unwrap();
    seed(&portal).await;
    assert_eq!(count(&portal, user_account::Entity).await, users);
    assert_eq!(count(&portal, patient::Entity).await, 4);
    // The care-team set-up came back too, once.
    assert_eq!(
        count(&portal, backend::storage::entity::availability::Entity).await,
        8
    );
    assert_eq!(
        count(&portal, backend::storage::entity::care_team::Entity).await,
        1
    );
}
