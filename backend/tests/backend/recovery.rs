//! Forgotten password and username (SECURITY 4, 5): same answer for real and unknown
//! accounts, single-use one-hour links, the second factor still asked, locks respected.

use crate::common::*;
use backend::auth::factors::{step_of, totp_at};
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::{Clock as _, Error, Portal, Principal};
use domain::security::Method;
use std::time::Duration;

const DARA_EMAIL: &str = "dara.dummett@example.org";
const NEW_PASSWORD: &str = "Copper-Kettle-Winter-8812";

/// The newest mail to `to` whose subject contains `subject`, waiting for the background
/// sender.
async fn mail_to(portal: &Portal, to: &str, subject: &str) -> Option<String> {
    for _ in 0..100 {
        let mail = portal.outbox(200).await.unwrap();
        if let Some(m) = mail
            .iter()
            .rev()
            .find(|m| m.recipient == to && m.subject.contains(subject))
        {
            return Some(m.body.clone());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn mail_count(portal: &Portal) -> usize {
    tokio::time::sleep(Duration::from_millis(200)).await;
    portal.outbox(1000).await.unwrap().len()
}

fn token_in(body: &str) -> String {
    let rest = body.split_once("/reset-password#").expect("a reset link").1;
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn reset_link(portal: &Portal) -> String {
    reset_link_for(portal, READY_USERNAME).await
}

/// Asks for a reset and waits for the new email (it is sent in the background).
async fn reset_link_for(portal: &Portal, login: &str) -> String {
    let resets = || async {
        portal
            .outbox(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.recipient == DARA_EMAIL && m.subject.contains("Reset your"))
            .collect::<Vec<_>>()
    };
    let before = resets().await.len();
    portal.request_password_reset(login, &meta()).await.unwrap();
    for _ in 0..200 {
        let now = resets().await;
        if now.len() > before {
            return token_in(&now.last().unwrap().body);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no reset email arrived");
}

#[tokio::test]
async fn unknown_names_get_the_same_answer_and_no_email() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let before = mail_count(&portal).await;
    portal
        .request_password_reset("nobody.here", &meta())
        .await
        .unwrap();
    portal
        .request_password_reset("nobody@example.org", &meta())
        .await
        .unwrap();
    portal
        .request_username_reminder("nobody@example.org", &meta())
        .await
        .unwrap();
    assert_eq!(mail_count(&portal).await, before);
    invalid(portal.request_password_reset("", &meta()).await);
    invalid(
        portal
            .request_username_reminder("not an address", &meta())
            .await,
    );
}

#[tokio::test]
async fn a_forgotten_username_is_emailed_to_the_account_address() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    portal
        .request_username_reminder("Dara.Dummett@example.org", &meta())
        .await
        .unwrap();
    let body = mail_to(&portal, DARA_EMAIL, "username").await.unwrap();
    assert!(body.contains(READY_USERNAME));
}

#[tokio::test]
async fn a_reset_link_works_once_ends_every_session_and_tells_the_person() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let token = reset_link(&portal).await;
    assert!(token.len() >= 43, "256-bit token");
    let state = portal.reset_state(&token).await.unwrap();
    assert!(state.choice.methods.is_empty());
    invalid(portal.reset_password(&token, "password1234", &meta()).await);
    portal
        .reset_password(&token, NEW_PASSWORD, &meta())
        .await
        .unwrap();
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
    assert!(
        invalid(
            portal
                .reset_password(&token, "Another-Fine-Phrase-77", &meta())
                .await
        )
        .contains("already used")
    );
    sign_in(&portal, READY_USERNAME, NEW_PASSWORD).await;
    assert!(
        mail_to(&portal, DARA_EMAIL, "password was reset")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn a_reset_link_lasts_one_hour_and_a_newer_one_replaces_it() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let first = reset_link(&portal).await;
    clock.advance(Duration::from_secs(60));
    let second = reset_link_for(&portal, "dara.dummett@example.org").await;
    assert_ne!(first, second);
    invalid(portal.reset_state(&first).await);
    clock.advance(Duration::from_secs(3600));
    assert!(invalid(portal.reset_state(&second).await).contains("expired"));
}

#[tokio::test]
async fn a_reset_still_asks_for_the_second_factor() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let user = portal.account_of(&p).await.unwrap();
    let setup = portal.totp_begin(&user).await.unwrap();
    let secret = totp_rs::Secret::Encoded(setup.key_groups.replace(' ', ""))
        .to_bytes()
        .unwrap();
    let codes = portal
        .totp_confirm(&user, &totp_at(&secret, step_of(clock.now_ms())), &meta())
        .await
        .unwrap();
    portal
        .enable_code_factor(&user, Method::Email, &meta())
        .await
        .unwrap();
    let token = reset_link(&portal).await;
    let state = portal.reset_state(&token).await.unwrap();
    assert!(state.choice.methods.contains(&Method::App));
    assert!(
        !state.choice.methods.contains(&Method::Email),
        "the link came by email already"
    );
    assert!(
        invalid(portal.reset_password(&token, NEW_PASSWORD, &meta()).await)
            .contains("second sign-in step")
    );
    invalid(
        portal
            .reset_verify_factor(&token, Method::Email, "123456", &meta())
            .await,
    );
    portal
        .reset_verify_factor(&token, Method::Backup, &codes[3], &meta())
        .await
        .unwrap();
    portal
        .reset_password(&token, NEW_PASSWORD, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lock_voids_earlier_links_and_only_a_reset_with_a_second_factor_unlocks() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let early = reset_link(&portal).await;
    for _ in 0..10 {
        let _ = portal
            .sign_in(READY_USERNAME, "Wrong-Password-000000", &meta())
            .await;
        clock.advance(Duration::from_secs(60));
    }
    assert!(matches!(
        sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &meta()).await,
        Error::Locked
    ));
    assert!(invalid(portal.reset_state(&early).await).contains("expired"));
    // No second factor: a new link cannot unlock.
    let late = reset_link(&portal).await;
    let e = invalid(portal.reset_password(&late, NEW_PASSWORD, &meta()).await);
    assert!(e.contains("Call your clinic"), "{e}");
    portal
        .unlock_account(READY_USERNAME, "front desk", &meta())
        .await
        .unwrap();

    // With an app: the reset proves it and lifts the lock.
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let user = portal
        .account_of(&portal.principal(Some(&s.token)).await.unwrap())
        .await
        .unwrap();
    let setup = portal.totp_begin(&user).await.unwrap();
    let secret = totp_rs::Secret::Encoded(setup.key_groups.replace(' ', ""))
        .to_bytes()
        .unwrap();
    portal
        .totp_confirm(&user, &totp_at(&secret, step_of(clock.now_ms())), &meta())
        .await
        .unwrap();
    for _ in 0..10 {
        let _ = portal
            .sign_in(READY_USERNAME, "Wrong-Password-000000", &meta())
            .await;
        clock.advance(Duration::from_secs(60));
    }
    let token = reset_link(&portal).await;
    let code = totp_at(&secret, step_of(clock.now_ms()));
    portal
        .reset_verify_factor(&token, Method::App, &code, &meta())
        .await
        .unwrap();
    portal
        .reset_password(&token, NEW_PASSWORD, &meta())
        .await
        .unwrap();
    let out = portal
        .sign_in(READY_USERNAME, NEW_PASSWORD, &meta())
        .await
        .unwrap();
    assert!(
        out.is_err(),
        "signed in up to the second step: the lock is lifted"
    );
}

#[tokio::test]
async fn a_password_reset_voids_a_sign_in_that_was_waiting_for_its_second_step_set_up() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (staff, ..) = backend::demo::STAFF[1];
    let backend::auth::signin::Blocked::MustEnrol { ticket } =
        sign_in_blocked(&portal, staff, DEMO_PASSWORD).await
    else {
        panic!("staff must set up a second step");
    };
    portal.request_password_reset(staff, &meta()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mail = portal.outbox(200).await.unwrap();
    let token = token_in(
        &mail
            .iter()
            .rev()
            .find(|m| m.subject.contains("Reset your"))
            .unwrap()
            .body,
    );
    portal
        .reset_password(&token, NEW_PASSWORD, &meta())
        .await
        .unwrap();
    assert!(invalid(portal.enrol_totp_begin(&ticket).await).contains("expired"));
}
