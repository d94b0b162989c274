//! Proxy access with an injected clock: scoped grants by the patient, revocation and expiry
//! on the very next request, self-only functions, single-use invitations, and a parent's
//! grant across the child's 12th and 18th birthdays in the clinic's time zone.

use crate::common::*;
use backend::demo::{ACTIVATE_MRN, READY_USERNAME};
use backend::records::HighlightParts;
use backend::storage::entity::{audit_event, observation, patient, proxy_grant, user_account};
use backend::{Error, Portal, Principal, TestClock};
use domain::account::Email;
use domain::proxy::{Relationship, Scope};
use domain::records::DateRange;
use domain::session::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::time::Duration;

const KIM_PASSWORD: &str = "Copper-Kettle-Winter-8812";

/// The token of the newest invitation link in the outbox.
async fn invitation_token(portal: &Portal) -> String {
    let mail = portal.outbox(1).await.unwrap();
    let link = mail[0].body.split('#').nth(1).expect("an invitation link");
    link.chars().take_while(|c| !c.is_whitespace()).collect()
}

async fn dara_birth_date(portal: &Portal) -> String {
    portal
        .patient_by_mrn(backend::demo::READY_MRN)
        .await
        .unwrap()
        .birth_date
}

/// Dara invites a new caregiver account `username` with `scopes`; returns the grant id.
pub async fn caregiver(portal: &Portal, username: &str, scopes: &[Scope]) -> String {
    let (_, dara) = principal_of(portal, READY_USERNAME).await;
    let email = Email::parse(&format!("{username}@example.org")).unwrap();
    portal
        .invite_caregiver(&dara, &email, Relationship::Child, scopes, 12, &meta())
        .await
        .unwrap();
    let token = invitation_token(portal).await;
    let dob = dara_birth_date(portal).await;
    portal
        .join_as_caregiver(
            &token,
            "Kim",
            "Dummett",
            username,
            KIM_PASSWORD,
            KIM_PASSWORD,
            &dob,
            &meta(),
        )
        .await
        .unwrap();
    grant_of(portal, username).await.id
}

async fn grant_of(portal: &Portal, username: &str) -> proxy_grant::Model {
    let u = user_account::Entity::find()
        .filter(user_account::Column::Username.eq(username))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    proxy_grant::Entity::find()
        .filter(proxy_grant::Column::CaregiverUserId.eq(u.id))
        .order_by_desc(proxy_grant::Column::CreatedAt)
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap()
}

/// A fresh session of `username` switched to the record `grant` opens.
pub async fn acting(portal: &Portal, username: &str, grant: &str) -> (String, Principal) {
    let (token, p) = principal_of(portal, username).await;
    portal.act_for(&p, Some(grant), &meta()).await.unwrap();
    let p = portal.principal(Some(&token)).await.unwrap();
    (token, p)
}

#[tokio::test]
async fn a_caregiver_sees_only_the_granted_parts_and_the_audit_names_whom_they_act_for() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let grant = caregiver(&portal, "kim.dummett", &[Scope::Results]).await;
    let (_, kim) = acting(&portal, "kim.dummett", &grant).await;
    assert_eq!(kim.acting_grant(), Some(grant.as_str()));
    assert_eq!(kim.role(), Some(Role::Caregiver));
    let results = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    let dara = portal
        .patient_by_mrn(backend::demo::READY_MRN)
        .await
        .unwrap();
    assert_eq!(results.patient_id(), dara.id);
    assert!(
        !portal
            .list_results(&results, &DateRange::all())
            .await
            .unwrap()
            .is_empty()
    );
    let view = audit_rows(&portal, "record.view").await;
    let last = view.last().unwrap();
    assert_eq!(last.actor_user_id.as_deref(), Some(results.actor()));
    assert_eq!(last.on_behalf_of.as_deref(), Some(dara.id.as_str()));
    assert_eq!(last.patient_id.as_deref(), Some(dara.id.as_str()));
    for other in [Scope::Messages, Scope::Medications, Scope::Visits] {
        let e = err(portal.record(&kim, other, &meta()).await);
        assert!(matches!(e, Error::Refused(_)), "{other:?}: {e:?}");
    }
    // The refusal is audited on Dara's record, so she sees it in her Activity.
    let denied = audit_rows(&portal, "access.denied").await;
    assert!(
        denied
            .iter()
            .any(|d| d.patient_id.as_deref() == Some(dara.id.as_str()))
    );
}

#[tokio::test]
async fn a_caregiver_cannot_reach_self_only_functions() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let grant = caregiver(&portal, "kim.dummett", &Scope::ALL).await;
    let (_, kim) = acting(&portal, "kim.dummett", &grant).await;
    assert!(matches!(
        err(portal.own_record(&kim, &meta()).await),
        Error::Forbidden
    ));
    let email = Email::parse("someone@example.org").unwrap();
    let e = err(portal
        .invite_caregiver(
            &kim,
            &email,
            Relationship::Friend,
            &[Scope::Results],
            12,
            &meta(),
        )
        .await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    let e = err(portal.revoke_grant(&kim, &grant, &meta()).await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    // The whole-record export refuses a caregiver's handle even for every scope.
    let results = portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    assert!(matches!(
        err(portal.export_fhir(&kim, &results).await),
        Error::Forbidden
    ));
}

#[tokio::test]
async fn revoking_a_grant_refuses_the_caregivers_very_next_request() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let grant = caregiver(&portal, "kim.dummett", &[Scope::Results]).await;
    let (kim_token, kim) = acting(&portal, "kim.dummett", &grant).await;
    portal.record(&kim, Scope::Results, &meta()).await.unwrap();
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    portal.revoke_grant(&dara, &grant, &meta()).await.unwrap();
    let next = portal.principal(Some(&kim_token)).await.unwrap();
    let e = err(portal.record(&next, Scope::Results, &meta()).await);
    assert!(matches!(e, Error::Refused(_)), "{e:?}");
    assert_eq!(next.acting_grant(), None);
    // And every request after it says why, not only the first (the pages of the portal
    // ask several things at once).
    let again = portal.principal(Some(&kim_token)).await.unwrap();
    match err(portal.record(&again, Scope::Results, &meta()).await) {
        Error::Refused(why) => assert!(why.contains("has ended"), "{why}"),
        e => panic!("{e:?}"),
    }
    assert!(portal.act_for(&next, Some(&grant), &meta()).await.is_err());
    assert_eq!(grant_of(&portal, "kim.dummett").await.status, "revoked");
}

#[tokio::test]
async fn a_patient_acting_for_someone_is_back_on_their_own_record_after_a_revoke() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let emet = activate_emet(&portal).await;
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    let email = Email::parse(EMET_EMAIL).unwrap();
    portal
        .invite_caregiver(
            &dara,
            &email,
            Relationship::Child,
            &[Scope::Results],
            12,
            &meta(),
        )
        .await
        .unwrap();
    let token = invitation_token(&portal).await;
    let dara_dob = portal.patient_by_mrn(DARA_MRN).await.unwrap().birth_date;
    let me = portal.principal(Some(&emet.token)).await.unwrap();
    portal
        .accept_invitation(&me, &token, &dara_dob, &meta())
        .await
        .unwrap();
    let grant = grant_of(&portal, EMET_USERNAME).await.id;
    portal.act_for(&me, Some(&grant), &meta()).await.unwrap();
    let acting = portal.principal(Some(&emet.token)).await.unwrap();
    assert_eq!(acting.acting_grant(), Some(grant.as_str()));
    portal.revoke_grant(&dara, &grant, &meta()).await.unwrap();
    // The first request after the revoke says what happened ...
    let next = portal.principal(Some(&emet.token)).await.unwrap();
    match err(portal.record(&next, Scope::Results, &meta()).await) {
        Error::Refused(why) => assert!(why.contains("back on your own record"), "{why}"),
        e => panic!("{e:?}"),
    }
    // ... and the next ones open his own record again.
    let again = portal.principal(Some(&emet.token)).await.unwrap();
    assert_eq!(again.acting_grant(), None);
    let own = portal
        .record(&again, Scope::Results, &meta())
        .await
        .unwrap();
    assert_eq!(own.patient_id(), emet.patient_id.as_str());
}

#[tokio::test]
async fn a_grant_past_its_expiry_is_refused_and_marked_expired() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let grant = caregiver(&portal, "kim.dummett", &[Scope::Results]).await;
    clock.advance(Duration::from_secs(400 * 86_400));
    let (_, kim) = principal_of(&portal, "kim.dummett").await;
    assert!(matches!(
        err(portal.act_for(&kim, Some(&grant), &meta()).await),
        Error::NotFound
    ));
    assert_eq!(grant_of(&portal, "kim.dummett").await.status, "expired");
}

#[tokio::test]
async fn an_invitation_works_once_and_only_with_the_patients_birth_date() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    let email = Email::parse("kim@example.org").unwrap();
    portal
        .invite_caregiver(
            &dara,
            &email,
            Relationship::Child,
            &[Scope::Immunizations],
            6,
            &meta(),
        )
        .await
        .unwrap();
    let token = invitation_token(&portal).await;
    let offer = portal.invitation(&token).await.unwrap();
    assert_eq!(offer.scopes, vec![Scope::Immunizations]);
    let join = |dob: String| {
        let portal = portal.clone();
        let token = token.clone();
        async move {
            portal
                .join_as_caregiver(
                    &token,
                    "Kim",
                    "Dummett",
                    "kim.d",
                    KIM_PASSWORD,
                    KIM_PASSWORD,
                    &dob,
                    &meta(),
                )
                .await
        }
    };
    let wrong = invalid(join("1990-01-01".into()).await);
    assert!(wrong.contains("date of birth"), "{wrong}");
    join(dara_birth_date(&portal).await).await.unwrap();
    assert!(matches!(
        err(join(dara_birth_date(&portal).await).await),
        Error::NotFound
    ));
    assert!(matches!(
        err(portal.invitation(&token).await),
        Error::NotFound
    ));
}

/// The instant of local midnight at the start of `day` in the demo clinic's zone.
fn local_midnight(day: jiff::civil::Date) -> i64 {
    let tz = jiff::tz::TimeZone::get(backend::demo::CLINIC_TIME_ZONE).unwrap();
    day.to_zoned(tz).unwrap().timestamp().as_millisecond()
}

fn local_today(now: i64) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get(backend::demo::CLINIC_TIME_ZONE).unwrap();
    jiff::Timestamp::from_millisecond(now)
        .unwrap()
        .to_zoned(tz)
        .date()
}

/// Sets Emet's date of birth so that turning `age` happens at the next local midnight.
async fn birthday_tomorrow(portal: &Portal, age: i16) -> String {
    let tomorrow = local_today(portal.now()).tomorrow().unwrap();
    let born = tomorrow.saturating_sub(jiff::Span::new().years(age));
    let iso = born.to_string();
    let emet = portal.patient_by_mrn(ACTIVATE_MRN).await.unwrap();
    patient::Entity::update_many()
        .col_expr(patient::Column::BirthDate, Expr::value(iso.clone()))
        .filter(patient::Column::Id.eq(emet.id))
        .exec(&portal.db)
        .await
        .unwrap();
    iso
}

async fn move_to(clock: &TestClock, portal: &Portal, at: i64) {
    clock.advance(Duration::from_millis((at - portal.now()) as u64));
}

#[tokio::test]
async fn a_parents_grant_hides_sensitive_rows_from_the_12th_birthday_and_ends_on_the_18th() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let dob = birthday_tomorrow(&portal, 12).await;
    let emet = portal.patient_by_mrn(ACTIVATE_MRN).await.unwrap();
    // The front desk sets up Dara (a patient herself) as the child's parent.
    let (_, riley) = principal_of(&portal, "riley.frontdesk").await;
    let desk = portal
        .staff_access(&riley, &[Role::FrontDesk], "test", &meta())
        .await
        .unwrap();
    let email = Email::parse("dara.dummett@example.org").unwrap();
    let note = "Birth certificate and photo ID seen at the desk";
    portal
        .grant_guardian(&desk, &emet.id, &email, Relationship::Parent, note, &meta())
        .await
        .unwrap();
    let token = invitation_token(&portal).await;
    let (_, dara) = principal_of(&portal, READY_USERNAME).await;
    portal
        .accept_invitation(&dara, &token, &dob, &meta())
        .await
        .unwrap();
    let grant = grant_of(&portal, READY_USERNAME).await.id;
    // One of the child's results (one the parent sees now) becomes a pregnancy test.
    let (_, p) = acting(&portal, READY_USERNAME, &grant).await;
    let a = portal.record(&p, Scope::Results, &meta()).await.unwrap();
    let days = portal.list_results(&a, &DateRange::all()).await.unwrap();
    let first = days[0].reports[0].rows[0].id.clone();
    let sensitive = observation::Entity::find_by_id(first)
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sensitive.patient_id, emet.id);
    observation::Entity::update_many()
        .col_expr(observation::Column::Sensitivity, Expr::value("pregnancy"))
        .filter(observation::Column::Id.eq(sensitive.id.clone()))
        .exec(&portal.db)
        .await
        .unwrap();

    let sees = |portal: Portal| {
        let grant = grant.clone();
        let id = sensitive.id.clone();
        async move {
            let (_, p) = acting(&portal, READY_USERNAME, &grant).await;
            let a = portal.record(&p, Scope::Results, &meta()).await.unwrap();
            let listed = portal
                .list_results(&a, &DateRange::all())
                .await
                .unwrap()
                .iter()
                .flat_map(|d| d.reports.iter().flat_map(|r| r.rows.iter()))
                .any(|r| r.id == id);
            let detail = portal.result_detail(&a, &id).await.is_ok();
            let h = portal
                .record_highlights(
                    HighlightParts {
                        results: Some(&a),
                        ..Default::default()
                    },
                    None,
                )
                .await
                .unwrap();
            assert_eq!(listed, detail);
            (listed, h.new_results)
        }
    };
    let midnight = local_midnight(local_today(portal.now()).tomorrow().unwrap());
    move_to(&clock, &portal, midnight - 60_000).await;
    let (before, count_before) = sees(portal.clone()).await;
    assert!(before, "at 11 the parent sees the whole record");
    move_to(&clock, &portal, midnight + 60_000).await;
    let (after, count_after) = sees(portal.clone()).await;
    assert!(
        !after,
        "from the 12th birthday the sensitive result is hidden"
    );
    assert_eq!(
        count_after + 1,
        count_before,
        "and it is not counted on Home"
    );

    // Six years on, the night before the 18th birthday the grant still holds…
    birthday_tomorrow(&portal, 18).await;
    let midnight = local_midnight(local_today(portal.now()).tomorrow().unwrap());
    move_to(&clock, &portal, midnight - 60_000).await;
    let (_, p) = principal_of(&portal, READY_USERNAME).await;
    portal.act_for(&p, Some(&grant), &meta()).await.unwrap();
    // …and from the first minute of it, it ends by itself on the next request.
    move_to(&clock, &portal, midnight + 60_000).await;
    let (_, p) = principal_of(&portal, READY_USERNAME).await;
    assert!(matches!(
        err(portal.act_for(&p, Some(&grant), &meta()).await),
        Error::NotFound
    ));
    let g = grant_of(&portal, READY_USERNAME).await;
    assert_eq!(g.status, "ended");
    let ended = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("proxy.ended"))
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(ended.len(), 1);
    let notice = portal.outbox(1).await.unwrap();
    assert_eq!(notice[0].recipient, "dara.dummett@example.org");
    assert!(!notice[0].body.contains("pregnan"), "{}", notice[0].body);
}
