//! Passkeys (SECURITY 8) with a software authenticator: user verification, single-use
//! expiring challenges, wrong origin, replay and someone else's credential refused.

use crate::common::*;
use backend::auth::signin::{Blocked, SignedIn};
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::{Error, Portal, Principal};
use domain::security::Method;
use std::time::Duration;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

type Authenticator = WebauthnAuthenticator<SoftPasskey>;

fn origin() -> Url {
    Url::parse("http://localhost:3000").unwrap()
}

fn authenticator() -> Authenticator {
    // `true`: the software token reports user verification, as a phone's passkey does.
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

async fn add_passkey(portal: &Portal, token: &str, name: &str) -> (Authenticator, Vec<String>) {
    let p = portal.principal(Some(token)).await.unwrap();
    let user = portal.account_of(&p).await.unwrap();
    let options = portal.passkey_register_begin(&user).await.unwrap();
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let mut auth = authenticator();
    let reg = auth
        .do_registration(origin(), ccr)
        .expect("the authenticator registers");
    let codes = portal
        .passkey_register_finish(&user, name, &serde_json::to_string(&reg).unwrap(), &meta())
        .await
        .unwrap();
    (auth, codes)
}

async fn second_step(portal: &Portal, login: &str, password: &str) -> String {
    match sign_in_blocked(portal, login, password).await {
        Blocked::SecondFactor { ticket, choice } => {
            assert!(choice.methods.contains(&Method::Passkey));
            ticket
        }
        other => panic!("expected a second step, got {other:?}"),
    }
}

async fn assertion(portal: &Portal, auth: &mut Authenticator, ticket: &str, from: &str) -> String {
    let options = portal.sign_in_passkey_begin(ticket).await.unwrap();
    let rcr: RequestChallengeResponse = serde_json::from_str(&options).unwrap();
    let cred = auth
        .do_authentication(Url::parse(from).unwrap(), rcr)
        .expect("the authenticator answers");
    serde_json::to_string(&cred).unwrap()
}

async fn signed_in(portal: &Portal, s: &SignedIn) -> bool {
    portal.principal(Some(&s.token)).await.unwrap() != Principal::anonymous()
}

#[tokio::test]
async fn a_named_passkey_is_the_second_step_and_comes_with_backup_codes() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let (mut auth, codes) = add_passkey(&portal, &s.token, "Pixel 8").await;
    assert_eq!(codes.len(), 10);
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let o = portal.security_overview(&p).await.unwrap();
    assert_eq!(o.factors[0].label, "Pixel 8");
    assert_eq!(o.factors[0].kind, "passkey");

    let ticket = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let answer = assertion(&portal, &mut auth, &ticket, "http://localhost:3000").await;
    let signed = portal
        .sign_in_passkey_finish(&ticket, &answer, &meta())
        .await
        .expect("the passkey signs in");
    assert!(signed_in(&portal, &signed).await);
    let o = portal.security_overview(&p).await.unwrap();
    assert!(o.factors[0].last_used.is_some());

    // Renaming: only one's own.
    let user = portal.account_of(&p).await.unwrap();
    portal
        .rename_passkey(&user, &o.factors[0].id, "Work laptop", &meta())
        .await
        .unwrap();
    invalid(
        portal
            .rename_passkey(&user, &o.factors[0].id, "", &meta())
            .await,
    );
    let emet = activate_emet(&portal).await;
    let emet_user = portal
        .account_of(&portal.principal(Some(&emet.token)).await.unwrap())
        .await
        .unwrap();
    assert!(matches!(
        portal
            .rename_passkey(&emet_user, &o.factors[0].id, "Mine now", &meta())
            .await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn a_replayed_assertion_and_a_reused_challenge_are_refused() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let (mut auth, _) = add_passkey(&portal, &s.token, "YubiKey").await;
    let ticket = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let answer = assertion(&portal, &mut auth, &ticket, "http://localhost:3000").await;
    portal
        .sign_in_passkey_finish(&ticket, &answer, &meta())
        .await
        .unwrap();
    // The same answer again, on the same sign-in or on a new one with a fresh challenge.
    invalid(
        portal
            .sign_in_passkey_finish(&ticket, &answer, &meta())
            .await,
    );
    let other = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let _fresh_challenge = portal.sign_in_passkey_begin(&other).await.unwrap();
    invalid(
        portal
            .sign_in_passkey_finish(&other, &answer, &meta())
            .await,
    );
    // A challenge answered once (here wrongly) cannot be answered again, even correctly.
    let third = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let right = assertion(&portal, &mut auth, &third, "http://localhost:3000").await;
    invalid(
        portal
            .sign_in_passkey_finish(&third, &answer, &meta())
            .await,
    );
    invalid(portal.sign_in_passkey_finish(&third, &right, &meta()).await);
}

#[tokio::test]
async fn an_assertion_from_another_origin_is_refused() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let (mut auth, _) = add_passkey(&portal, &s.token, "YubiKey").await;
    let ticket = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let answer = assertion(&portal, &mut auth, &ticket, "http://localhost:4000").await;
    invalid(
        portal
            .sign_in_passkey_finish(&ticket, &answer, &meta())
            .await,
    );
}

#[tokio::test]
async fn someone_elses_passkey_does_not_answer_for_you() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let _dara = add_passkey(&portal, &s.token, "Dara's phone").await;
    let emet = activate_emet(&portal).await;
    let (mut emet_key, _) = add_passkey(&portal, &emet.token, "Emet's key").await;
    // Emet's authenticator answers Emet's own challenge; the answer is sent for Dara.
    let emet_ticket = second_step(&portal, EMET_USERNAME, EMET_PASSWORD).await;
    let emet_answer = assertion(
        &portal,
        &mut emet_key,
        &emet_ticket,
        "http://localhost:3000",
    )
    .await;
    let dara_ticket = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let _ = portal.sign_in_passkey_begin(&dara_ticket).await.unwrap();
    invalid(
        portal
            .sign_in_passkey_finish(&dara_ticket, &emet_answer, &meta())
            .await,
    );
}

#[tokio::test]
async fn a_challenge_expires_within_five_minutes() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let user = portal.account_of(&p).await.unwrap();
    let options = portal.passkey_register_begin(&user).await.unwrap();
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let reg = authenticator().do_registration(origin(), ccr).unwrap();
    clock.advance(Duration::from_secs(5 * 60 + 1));
    let e = invalid(
        portal
            .passkey_register_finish(
                &user,
                "Late",
                &serde_json::to_string(&reg).unwrap(),
                &meta(),
            )
            .await,
    );
    assert!(e.contains("too long"), "{e}");
}

#[tokio::test]
async fn a_discoverable_passkey_signs_in_without_a_password() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let (mut auth, _) = add_passkey(&portal, &s.token, "Pixel 8").await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let user = portal.account_of(&p).await.unwrap();
    let factor = portal.security_overview(&p).await.unwrap().factors[0].clone();
    let cred_id = backend::storage::entity::auth_factor::Entity::find_by_id(factor.id)
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap()
        .credential_id
        .unwrap();

    let (ticket, options) = portal.passkey_login_begin(&meta()).await.unwrap();
    let mut rcr: serde_json::Value = serde_json::from_str(&options).unwrap();
    // The software token keeps no resident keys: tell it which credential to use, as a
    // browser's passkey picker would. The server's challenge is untouched.
    rcr["publicKey"]["allowCredentials"] =
        serde_json::json!([{ "type": "public-key", "id": cred_id }]);
    let rcr: RequestChallengeResponse = serde_json::from_value(rcr).unwrap();
    let mut cred = auth.do_authentication(origin(), rcr).unwrap();
    let uid = webauthn_rs::prelude::Uuid::parse_str(&user.id).unwrap();
    cred.response.user_handle = Some(uid.as_bytes().to_vec().into());
    let answer = serde_json::to_string(&cred).unwrap();
    let signed = portal
        .passkey_login_finish(&ticket, &answer, &meta())
        .await
        .unwrap();
    assert!(signed_in(&portal, &signed).await);
    // The ceremony is single-use.
    invalid(portal.passkey_login_finish(&ticket, &answer, &meta()).await);
}

use sea_orm::EntityTrait;

#[tokio::test]
async fn a_second_step_challenge_older_than_five_minutes_is_refused() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let (mut auth, _) = add_passkey(&portal, &s.token, "YubiKey").await;
    let ticket = second_step(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let answer = assertion(&portal, &mut auth, &ticket, "http://localhost:3000").await;
    // The sign-in itself may wait 10 minutes; its passkey challenge may not.
    clock.advance(Duration::from_secs(5 * 60 + 1));
    let e = invalid(
        portal
            .sign_in_passkey_finish(&ticket, &answer, &meta())
            .await,
    );
    assert!(e.contains("too long"), "{e}");
}
