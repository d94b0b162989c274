//! Release rules with an injected clock: the default (at release), the patient's own
//! "after review" and "after N days" per category, and a clinician's documented hold, which
//! makes a result not exist for the patient (404) until it is released.

use crate::common::*;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::release::ClinicActor;
use backend::storage::entity::{observation, user_account};
use backend::{Error, PatientAccess, Portal, Principal};
use domain::records::{DateRange, Holdable, ReleaseRule};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

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

async fn visible(portal: &Portal, a: &PatientAccess) -> usize {
    portal
        .list_results(a, &DateRange::all())
        .await
        .unwrap()
        .iter()
        .flat_map(|d| &d.reports)
        .map(|r| r.rows.len())
        .sum()
}

/// Dara's newest HbA1c, released (issued) `ago` ms before now.
async fn fresh_result(portal: &Portal, ago: i64) -> observation::Model {
    let dara = portal.patient_by_mrn(DARA_MRN).await.unwrap();
    let o = observation::Entity::find()
        .filter(observation::Column::PatientId.eq(dara.id))
        .filter(observation::Column::Code.eq("4548-4"))
        .order_by_desc(observation::Column::EffectiveAt)
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let mut am: observation::ActiveModel = o.into();
    am.released_at = Set(Some(portal.now() - ago));
    am.update(&portal.db).await.unwrap()
}

async fn clinician(portal: &Portal) -> Principal {
    principal_of(portal, "fen.mocklin").await.1
}

#[tokio::test]
async fn by_default_every_released_result_is_shown_at_once() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    fresh_result(&portal, 0).await;
    assert_eq!(visible(&portal, &a).await, 32);
    let prefs = portal.release_preferences(&a).await.unwrap();
    assert!(prefs.iter().all(|p| p.rule == ReleaseRule::Immediately));
}

#[tokio::test]
async fn after_n_days_hides_a_new_result_until_the_days_have_passed() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let o = fresh_result(&portal, HOUR.as_millis() as i64).await;
    portal
        .set_release_preference(&a, "laboratory", ReleaseRule::AfterDays(3))
        .await
        .unwrap();
    // The older results are well past 3 days; the fresh one is not.
    assert_eq!(visible(&portal, &a).await, 31);
    assert!(matches!(
        err(portal.result_detail(&a, &o.id).await),
        Error::NotFound
    ));
    clock.advance(DAY * 2);
    let a = dara(&portal).await;
    assert_eq!(visible(&portal, &a).await, 31);
    clock.advance(DAY);
    let a = dara(&portal).await;
    assert_eq!(visible(&portal, &a).await, 32);
    portal.result_detail(&a, &o.id).await.unwrap();
    // Recorded as the patient's own request.
    let rows = audit_rows(&portal, "record.release_preference").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_user_id.as_deref(), Some(a.actor()));
    assert_eq!(
        rows[0].detail.as_deref(),
        Some("laboratory: 3 days after they are ready")
    );
}

#[tokio::test]
async fn after_review_waits_for_the_clinicians_review_and_leaves_other_categories_alone() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    portal
        .set_release_preference(&a, "laboratory", ReleaseRule::AfterReview)
        .await
        .unwrap();
    assert_eq!(visible(&portal, &a).await, 0, "nothing is reviewed yet");
    assert!(
        !portal
            .list_vitals(&a, &DateRange::all())
            .await
            .unwrap()
            .is_empty()
    );
    let o = fresh_result(&portal, 0).await;
    let fen = clinician(&portal).await;
    portal
        .review_result(ClinicActor::Staff(&fen), &o.id, &meta())
        .await
        .unwrap();
    assert_eq!(visible(&portal, &a).await, 1);
    // Back to "immediately": everything again.
    portal
        .set_release_preference(&a, "laboratory", ReleaseRule::Immediately)
        .await
        .unwrap();
    assert_eq!(visible(&portal, &a).await, 32);
    // A category that does not exist is refused.
    let e = invalid(
        portal
            .set_release_preference(&a, "astrology", ReleaseRule::AfterReview)
            .await,
    );
    assert!(e.contains("laboratory"), "{e}");
}

#[tokio::test]
async fn a_held_result_does_not_exist_for_the_patient_until_released() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (p, a) = dara_signed_in(&portal).await;
    let o = fresh_result(&portal, 0).await;
    let fen = clinician(&portal).await;
    let e = invalid(
        portal
            .hold(
                ClinicActor::Staff(&fen),
                Holdable::Result,
                &o.id,
                "too short",
                &meta(),
            )
            .await,
    );
    assert!(e.contains("reason"), "{e}");
    portal
        .hold(
            ClinicActor::Staff(&fen),
            Holdable::Result,
            &o.fhir_id,
            "Discuss the result in person at the next visit",
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(visible(&portal, &a).await, 31);
    assert!(matches!(
        err(portal.result_detail(&a, &o.id).await),
        Error::NotFound
    ));
    let export = portal.export_fhir(&p, &a).await.unwrap();
    let text = String::from_utf8(export.bytes).unwrap();
    assert!(!text.contains(&format!("\"id\": \"{}\"", o.fhir_id)));
    // The hold and its reason are audited, on the clinic's side only.
    let held = audit_rows(&portal, "result.held").await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].actor_user_id.as_deref(), fen.user_id());
    assert_eq!(
        held[0].detail.as_deref(),
        Some("Discuss the result in person at the next visit")
    );
    let log = portal
        .access_log(
            &portal
                .principal(Some(
                    &sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await.token,
                ))
                .await
                .unwrap(),
            &DateRange::all(),
            domain::records::LogSort::When,
            true,
            1,
        )
        .await
        .unwrap();
    assert!(log.rows.iter().all(|r| !r.what.contains("Held")));
    // A re-import of the same bundle keeps the hold.
    let clinic = backend::demo::default_clinic(&portal).await.unwrap();
    let history: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("riverside-history.json")).unwrap(),
    )
    .unwrap();
    portal.import_bundle(&clinic, &history).await.unwrap();
    let dara_bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("dara-dummett-type2-diabetes.json")).unwrap(),
    )
    .unwrap();
    portal.import_bundle(&clinic, &dara_bundle).await.unwrap();
    assert_eq!(visible(&portal, &a).await, 31);
    portal
        .release(ClinicActor::Staff(&fen), Holdable::Result, &o.id, &meta())
        .await
        .unwrap();
    assert_eq!(visible(&portal, &a).await, 32);
    assert_eq!(audit_rows(&portal, "result.released").await.len(), 1);
}

#[tokio::test]
async fn only_clinicians_hold_release_or_review_results() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let o = fresh_result(&portal, 0).await;
    let riley = user_account::Entity::find()
        .filter(user_account::Column::Username.eq("riley.frontdesk"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let s = backend::auth::session::create(&portal.db, &portal, &riley.id, None, None)
        .await
        .unwrap();
    let front_desk = portal.principal(Some(&s.token)).await.unwrap();
    let e = err(portal
        .hold(
            ClinicActor::Staff(&front_desk),
            Holdable::Result,
            &o.id,
            "A reason that is long enough",
            &meta(),
        )
        .await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let patient = portal.principal(Some(&s.token)).await.unwrap();
    let e = err(portal
        .review_result(ClinicActor::Staff(&patient), &o.id, &meta())
        .await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    // The command line (the clinic's operator) may.
    portal
        .hold(
            ClinicActor::CommandLine,
            Holdable::Result,
            &o.id,
            "A reason that is long enough",
            &meta(),
        )
        .await
        .unwrap();
    let e = err(portal
        .release(
            ClinicActor::CommandLine,
            Holdable::Result,
            "no-such-result",
            &meta(),
        )
        .await);
    assert!(matches!(e, Error::NotFound), "{e:?}");
}
