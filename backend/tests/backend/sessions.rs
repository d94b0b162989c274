//! Session lifetimes on the injected clock: idle and absolute timeouts, suspension, ending all.

use crate::common::*;
use backend::auth::session;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::storage::entity::{user_account, user_session};
use backend::{Portal, Principal};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use std::time::Duration;

async fn is_patient(portal: &Portal, token: &str) -> bool {
    portal.principal(Some(token)).await.unwrap().is_self()
}

async fn session_row(portal: &Portal, token: &str) -> user_session::Model {
    use sea_orm::{ColumnTrait, QueryFilter};
    user_session::Entity::find()
        .filter(user_session::Column::TokenHash.eq(backend::crypto::sha256_hex(&[token])))
        .one(&portal.db)
        .await
        .unwrap()
        .expect("the session is stored")
}

#[tokio::test]
async fn a_session_idle_for_fifteen_minutes_is_over() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    clock.advance(15 * MINUTE - Duration::from_secs(1));
    assert!(is_patient(&portal, &s.token).await);
    clock.advance(15 * MINUTE + Duration::from_secs(1));
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
    assert_eq!(
        session_row(&portal, &s.token).await.end_reason.as_deref(),
        Some("idle")
    );
}

#[tokio::test]
async fn a_session_is_over_at_exactly_fifteen_idle_minutes() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    clock.advance(15 * MINUTE);
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
}

#[tokio::test]
async fn a_request_records_last_seen_at_most_once_a_minute() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let signed_in = session_row(&portal, &s.token).await.last_seen_at;
    clock.advance(Duration::from_secs(59));
    assert!(is_patient(&portal, &s.token).await);
    assert_eq!(
        session_row(&portal, &s.token).await.last_seen_at,
        signed_in,
        "no write within the minute"
    );
    clock.advance(Duration::from_secs(1));
    assert!(is_patient(&portal, &s.token).await);
    assert_eq!(
        session_row(&portal, &s.token).await.last_seen_at,
        signed_in + 60_000
    );
    // The idle clock still runs from the very last request, though the database did not
    // record it: alive until fifteen minutes after it, over at fifteen.
    clock.advance(Duration::from_secs(59));
    assert!(is_patient(&portal, &s.token).await);
    assert_eq!(
        session_row(&portal, &s.token).await.last_seen_at,
        signed_in + 60_000
    );
    clock.advance(15 * MINUTE - Duration::from_secs(1));
    assert!(is_patient(&portal, &s.token).await);
    clock.advance(15 * MINUTE);
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
}

#[tokio::test]
async fn activity_every_ten_minutes_keeps_a_session_alive() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    for _ in 0..12 {
        clock.advance(10 * MINUTE);
        assert!(is_patient(&portal, &s.token).await);
    }
}

#[tokio::test]
async fn a_session_ends_after_twelve_hours_even_with_activity() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    // 71 × 10 minutes = 11 h 50 min: still alive.
    for _ in 0..71 {
        clock.advance(10 * MINUTE);
        assert!(is_patient(&portal, &s.token).await);
    }
    clock.advance(10 * MINUTE);
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
    assert_eq!(
        session_row(&portal, &s.token).await.end_reason.as_deref(),
        Some("expired")
    );
}

#[tokio::test]
async fn an_ended_session_stays_ended() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    clock.advance(HOUR);
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
    // Going back in time (a clock correction) does not revive it.
    let earlier = Portal::new(
        portal.db.clone(),
        std::sync::Arc::new(backend::TestClock::at(start_ms())),
        backend::Settings::for_tests(),
        portal.mailer.clone(),
    );
    assert_eq!(
        earlier.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
}

#[tokio::test]
async fn a_suspended_users_session_is_dead() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    assert!(is_patient(&portal, &s.token).await);
    let u = user_account::Entity::find_by_id(s.user_id.clone())
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let mut am: user_account::ActiveModel = u.clone().into();
    am.suspended_at = Set(Some(start_ms()));
    am.update(&portal.db).await.unwrap();
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
    assert_eq!(
        session_row(&portal, &s.token).await.end_reason.as_deref(),
        Some("suspended")
    );
    // Lifting the suspension does not bring the old session back.
    let mut am: user_account::ActiveModel = u.into();
    am.suspended_at = Set(None);
    am.update(&portal.db).await.unwrap();
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
}

#[tokio::test]
async fn ending_all_sessions_ends_every_session_of_that_user_only() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let emet = activate_emet(&portal).await;
    let a = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let b = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    clock.advance(MINUTE);
    let ended = session::end_all(
        &portal.db,
        &a.user_id,
        "signed out everywhere",
        portal.now(),
    )
    .await
    .unwrap();
    assert_eq!(ended, 2);
    for t in [&a.token, &b.token] {
        assert_eq!(
            portal.principal(Some(t)).await.unwrap(),
            Principal::anonymous()
        );
        let row = session_row(&portal, t).await;
        assert_eq!(row.end_reason.as_deref(), Some("signed out everywhere"));
        assert_eq!(row.ended_at, Some(start_ms() + 60_000));
    }
    assert!(is_patient(&portal, &emet.token).await);
    // Nothing left to end.
    let again = session::end_all(&portal.db, &a.user_id, "again", portal.now())
        .await
        .unwrap();
    assert_eq!(again, 0);
}

#[tokio::test]
async fn no_token_or_an_unknown_token_is_anonymous() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    assert_eq!(
        portal.principal(None).await.unwrap(),
        Principal::anonymous()
    );
    for t in ["", "not-a-token", &"x".repeat(500)] {
        assert_eq!(
            portal.principal(Some(t)).await.unwrap(),
            Principal::anonymous()
        );
    }
}

#[tokio::test]
async fn the_header_shows_who_is_signed_in_and_the_idle_timeout() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let me = portal.me(&p).await.unwrap();
    assert_eq!(me.display_name, "Dara Dummett");
    assert_eq!(me.first_name, "Dara");
    assert_eq!(me.idle_timeout_secs, 15 * 60);
    assert!(matches!(
        portal.me(&Principal::anonymous()).await,
        Err(backend::Error::Unauthenticated)
    ));
}

#[tokio::test]
async fn people_see_their_own_live_sessions_and_can_end_them_but_not_anyone_elses() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let phone = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let laptop = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let on_laptop = portal.principal(Some(&laptop.token)).await.unwrap();
    let list = portal.list_sessions(&on_laptop).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].current, "the current session comes first");
    let phone_id = list.iter().find(|s| !s.current).unwrap().id.clone();

    // Emet cannot end Dara's session: it is "not found" to him.
    let emet = activate_emet(&portal).await;
    let as_emet = portal.principal(Some(&emet.token)).await.unwrap();
    assert!(matches!(
        portal.end_own_session(&as_emet, &phone_id, &meta()).await,
        Err(backend::Error::NotFound)
    ));
    assert!(is_patient(&portal, &phone.token).await);

    portal
        .end_own_session(&on_laptop, &phone_id, &meta())
        .await
        .unwrap();
    assert!(!is_patient(&portal, &phone.token).await);
    assert!(is_patient(&portal, &laptop.token).await);
    assert_eq!(audit_rows(&portal, "session.ended").await.len(), 1);

    // Idle sessions drop out of the list.
    clock.advance(Duration::from_secs(16 * 60));
    let again = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&again.token)).await.unwrap();
    assert_eq!(portal.list_sessions(&p).await.unwrap().len(), 1);
}
