//! Activating an account with the clinic's code: identity check, account choice, email code.

use crate::common::*;
use backend::auth::activation::NO_MATCH;
use backend::storage::entity::{activation_code, signup, user_account};
use backend::{Error, Portal};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::time::Duration;

/// The seeded portal and a fresh activation code for Emet Stubfield.
async fn with_code() -> (Portal, std::sync::Arc<backend::TestClock>, String) {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let code = issue(&portal).await;
    (portal, clock, code)
}

async fn issue(portal: &Portal) -> String {
    let p = portal.patient_by_mrn(EMET_MRN).await.unwrap();
    portal
        .issue_activation_code(&p.id, "riley.frontdesk", &meta())
        .await
        .unwrap()
        .code
        .display()
}

async fn start(portal: &Portal, code: &str) -> backend::Result<String> {
    portal
        .start_activation("Emet", "Stubfield", EMET_DOB, code, &meta())
        .await
}

async fn choose(portal: &Portal, ticket: &str, password: &str) -> backend::Result<()> {
    portal
        .choose_account(
            ticket,
            EMET_USERNAME,
            EMET_EMAIL,
            password,
            password,
            &meta(),
        )
        .await
}

/// A ticket at the email-code step.
async fn at_email_step(portal: &Portal, code: &str) -> String {
    let ticket = start(portal, code).await.unwrap();
    choose(portal, &ticket, EMET_PASSWORD).await.unwrap();
    ticket
}

/// A well-formed code that is not `code`.
fn other_code(code: &str) -> String {
    let first = if code.starts_with('A') { "B" } else { "A" };
    format!("{first}{}", &code[1..])
}

/// A 6-digit code that is not `code`.
fn other_digits(code: &str) -> String {
    let first = if code.starts_with('1') { "2" } else { "1" };
    format!("{first}{}", &code[1..])
}

fn no_match<T>(r: backend::Result<T>) {
    assert_eq!(invalid(r), NO_MATCH);
}

#[tokio::test]
async fn a_patient_activates_an_account_and_is_signed_in() {
    let (portal, _, code) = with_code().await;
    let emet = portal.patient_by_mrn(EMET_MRN).await.unwrap();
    let ticket = start(&portal, &code).await.unwrap();
    assert_eq!(portal.activation_step(&ticket).await, Some(false));
    choose(&portal, &ticket, EMET_PASSWORD).await.unwrap();
    assert_eq!(portal.activation_step(&ticket).await, Some(true));

    let mail = portal.outbox(10).await.unwrap();
    let mail = mail.last().unwrap();
    assert_eq!(mail.recipient, EMET_EMAIL);
    assert_eq!(mail.subject, "Confirm your email for My Health Connection");
    let email_code = email_code_in(&mail.body).expect("a 6-digit code in the body");
    assert!(
        mail.body
            .contains(&format!("Your confirmation code is {email_code}"))
    );

    // Created, but not usable until the email is confirmed.
    let u = user_account::Entity::find()
        .filter(user_account::Column::Username.eq(EMET_USERNAME))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert!(u.email_verified_at.is_none());
    assert_eq!(u.patient_id.as_deref(), Some(emet.id.as_str()));
    assert_eq!(u.role, "patient");
    assert!(u.password_hash.starts_with("$argon2id$"));

    let done = portal
        .confirm_email(&ticket, &email_code, &meta())
        .await
        .unwrap();
    assert_eq!(done.user_id, u.id);
    let p = portal.principal(Some(&done.token)).await.unwrap();
    assert_eq!(
        p.patient_id(),
        Some(emet.id.clone()),
        "expected Emet signed in: {p:?}"
    );
    let u = user_account::Entity::find_by_id(u.id)
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert!(u.email_verified_at.is_some());
    // The ticket is finished, and the new password signs in.
    assert_eq!(portal.activation_step(&ticket).await, None);
    sign_in(&portal, EMET_USERNAME, EMET_PASSWORD).await;
}

#[tokio::test]
async fn activation_writes_its_audit_trail() {
    let (portal, _, code) = with_code().await;
    let emet = activate_with(&portal, &code).await;
    for action in [
        "activation.verified",
        "account.created",
        "activation.completed",
    ] {
        let rows = audit_rows(&portal, action).await;
        let rows: Vec<_> = rows
            .iter()
            .filter(|r| r.patient_id.as_deref() == Some(emet.as_str()))
            .collect();
        assert_eq!(rows.len(), 1, "{action}");
        assert_eq!(rows[0].outcome, "ok", "{action}");
        assert_eq!(rows[0].ip.as_deref(), Some("203.0.113.7"), "{action}");
    }
}

async fn activate_with(portal: &Portal, code: &str) -> String {
    let ticket = at_email_step(portal, code).await;
    let email_code = latest_email_code(portal, EMET_EMAIL).await;
    portal
        .confirm_email(&ticket, &email_code, &meta())
        .await
        .unwrap();
    portal.patient_by_mrn(EMET_MRN).await.unwrap().id
}

#[tokio::test]
async fn every_mismatch_gets_the_same_answer() {
    let (portal, _, code) = with_code().await;
    let m = meta();
    // Wrong code.
    no_match(start(&portal, &other_code(&code)).await);
    // Wrong first name, wrong last name.
    no_match(
        portal
            .start_activation("Emmet", "Stubfield", EMET_DOB, &code, &m)
            .await,
    );
    no_match(
        portal
            .start_activation("Emet", "Stubfeld", EMET_DOB, &code, &m)
            .await,
    );
    // Wrong date of birth.
    no_match(
        portal
            .start_activation("Emet", "Stubfield", "1964-06-14", &code, &m)
            .await,
    );
    // Someone the clinic does not know.
    no_match(
        portal
            .start_activation("Nobody", "Known", "1990-01-01", &code, &m)
            .await,
    );
    // Someone else's details with Emet's code.
    no_match(
        portal
            .start_activation("Dara", "Dummett", "1972-10-19", &code, &m)
            .await,
    );
    let failed = audit_rows(&portal, "activation.failed").await;
    assert_eq!(failed.len(), 6);
    assert!(
        failed
            .iter()
            .all(|r| r.outcome == "failed" && r.patient_id.is_none())
    );
    // None of that used the code up.
    start(&portal, &code).await.unwrap();
}

#[tokio::test]
async fn name_matching_ignores_case_spaces_and_punctuation() {
    let (portal, _, code) = with_code().await;
    portal
        .start_activation("  EMET ", "stub-field.", EMET_DOB, &code, &meta())
        .await
        .unwrap();
    // The code itself forgives case and the grouping dashes.
    let plain = code.replace('-', "").to_lowercase();
    start(&portal, &plain).await.unwrap();
}

#[tokio::test]
async fn an_activation_code_works_only_once() {
    let (portal, _, code) = with_code().await;
    activate_with(&portal, &code).await;
    no_match(start(&portal, &code).await);
    let used = activation_code::Entity::find()
        .all(&portal.db)
        .await
        .unwrap();
    assert!(used.iter().any(|c| c.used_at.is_some()));
}

#[tokio::test]
async fn two_tickets_for_one_code_create_only_one_account() {
    let (portal, _, code) = with_code().await;
    let first = start(&portal, &code).await.unwrap();
    let second = start(&portal, &code).await.unwrap();
    choose(&portal, &first, EMET_PASSWORD).await.unwrap();
    let msg = invalid(
        portal
            .choose_account(
                &second,
                "emet.two",
                "emet.two@example.org",
                EMET_PASSWORD,
                EMET_PASSWORD,
                &meta(),
            )
            .await,
    );
    assert!(msg.contains("already been used"), "{msg}");
    assert_eq!(
        count(&portal, user_account::Entity).await,
        8,
        "3 staff, Dara, the demo's caregivers and teenager, and Emet"
    );
}

#[tokio::test]
async fn an_activation_code_expires_after_fourteen_days() {
    let (portal, clock, code) = with_code().await;
    clock.advance(14 * DAY - MINUTE);
    start(&portal, &code).await.unwrap();
    clock.advance(MINUTE);
    no_match(start(&portal, &code).await);
}

#[tokio::test]
async fn five_tries_an_hour_per_person_then_a_wait() {
    let (portal, clock, code) = with_code().await;
    let wrong = other_code(&code);
    for _ in 0..5 {
        no_match(start(&portal, &wrong).await);
    }
    // Now even the right code waits.
    let e = err(start(&portal, &code).await);
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    // Another person from the same address is not held back by Emet's tries.
    let e = err(portal
        .start_activation("Dara", "Dummett", "1972-10-19", &code, &meta())
        .await);
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    clock.advance(HOUR);
    start(&portal, &code).await.unwrap();
}

#[tokio::test]
async fn issuing_a_new_code_revokes_the_old_one() {
    let (portal, _, old) = with_code().await;
    let new = issue(&portal).await;
    assert_ne!(old, new);
    no_match(start(&portal, &old).await);
    start(&portal, &new).await.unwrap();
    let codes = activation_code::Entity::find()
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(codes.iter().filter(|c| c.revoked_at.is_none()).count(), 1);
}

#[tokio::test]
async fn a_patient_with_an_account_gets_no_new_code() {
    let (portal, _, code) = with_code().await;
    activate_with(&portal, &code).await;
    let p = portal.patient_by_mrn(EMET_MRN).await.unwrap();
    let msg = invalid(
        portal
            .issue_activation_code(&p.id, "riley.frontdesk", &meta())
            .await,
    );
    assert!(msg.contains("already has an account"), "{msg}");
}

#[tokio::test]
async fn activation_codes_are_stored_only_as_hashes() {
    let (portal, _, code) = with_code().await;
    let plain = code.replace('-', "");
    for c in activation_code::Entity::find()
        .all(&portal.db)
        .await
        .unwrap()
    {
        assert!(!c.code_hash.contains(&plain) && !c.code_hash.contains(&code));
    }
}

#[tokio::test]
async fn the_activation_code_cannot_be_the_password() {
    let (portal, _, code) = with_code().await;
    let ticket = start(&portal, &code).await.unwrap();
    for pw in [code.clone(), code.replace('-', ""), code.to_lowercase()] {
        let msg = invalid(choose(&portal, &ticket, &pw).await);
        assert!(msg.contains("activation code"), "{msg}");
    }
    assert_eq!(portal.activation_step(&ticket).await, Some(false));
}

#[tokio::test]
async fn a_password_that_merely_looks_like_a_code_is_judged_like_any_other() {
    let (portal, _, code) = with_code().await;
    let ticket = start(&portal, &code).await.unwrap();
    // Twelve letters from the code alphabet once the spaces are dropped, but not the code.
    choose(&portal, &ticket, "tiger moth jam").await.unwrap();
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason() {
    let (portal, _, code) = with_code().await;
    let ticket = start(&portal, &code).await.unwrap();
    let cases = [
        ("password1234", "too common"),
        ("Stubfield-Garden-Lamp-77", "must not contain"),
        ("Emet-Walks-Over-Hills", "must not contain"),
        ("emet.s-quiet-harbour", "must not contain"),
        ("short-pw", "at least 12"),
        ("abcabcabcabcabc", "too easy to guess"),
    ];
    for (pw, reason) in cases {
        let msg = invalid(choose(&portal, &ticket, pw).await);
        assert!(msg.contains(reason), "{pw}: {msg}");
    }
    let msg = invalid(
        portal
            .choose_account(
                &ticket,
                EMET_USERNAME,
                EMET_EMAIL,
                EMET_PASSWORD,
                "Quiet-Otter-Meadow-1964y",
                &meta(),
            )
            .await,
    );
    assert!(msg.contains("not the same"), "{msg}");
    // None of that created an account or used the code.
    assert_eq!(portal.activation_step(&ticket).await, Some(false));
    choose(&portal, &ticket, EMET_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_taken_username_or_email_is_refused() {
    let (portal, _, code) = with_code().await;
    let ticket = start(&portal, &code).await.unwrap();
    let msg = invalid(
        portal
            .choose_account(
                &ticket,
                "dara.dummett",
                EMET_EMAIL,
                EMET_PASSWORD,
                EMET_PASSWORD,
                &meta(),
            )
            .await,
    );
    assert!(msg.contains("username is taken"), "{msg}");
    let msg = invalid(
        portal
            .choose_account(
                &ticket,
                EMET_USERNAME,
                "DARA.DUMMETT@example.org",
                EMET_PASSWORD,
                EMET_PASSWORD,
                &meta(),
            )
            .await,
    );
    assert!(msg.contains("another account"), "{msg}");
}

#[tokio::test]
async fn wrong_email_codes_are_counted_and_the_sixth_try_is_refused() {
    let (portal, _, code) = with_code().await;
    let ticket = at_email_step(&portal, &code).await;
    let right = latest_email_code(&portal, EMET_EMAIL).await;
    let wrong = other_digits(&right);
    for i in 1..=5 {
        let msg = invalid(portal.confirm_email(&ticket, &wrong, &meta()).await);
        assert!(msg.contains("not right"), "{msg}");
        let s = signup::Entity::find()
            .one(&portal.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.email_code_attempts, i);
    }
    let msg = invalid(portal.confirm_email(&ticket, &right, &meta()).await);
    assert!(msg.contains("Too many wrong codes"), "{msg}");
}

#[tokio::test]
async fn a_new_email_code_replaces_the_old_one_but_keeps_the_count_of_wrong_tries() {
    let (portal, _, code) = with_code().await;
    let ticket = at_email_step(&portal, &code).await;
    let first = latest_email_code(&portal, EMET_EMAIL).await;
    for _ in 0..4 {
        invalid(
            portal
                .confirm_email(&ticket, &other_digits(&first), &meta())
                .await,
        );
    }
    portal.resend_email_code(&ticket).await.unwrap();
    let second = latest_email_code(&portal, EMET_EMAIL).await;
    assert_eq!(portal.outbox(10).await.unwrap().len(), 2);
    // One wrong try is left, across the resend.
    let msg = invalid(
        portal
            .confirm_email(&ticket, &other_digits(&second), &meta())
            .await,
    );
    assert!(msg.contains("not right"), "{msg}");
    let msg = invalid(portal.confirm_email(&ticket, &second, &meta()).await);
    assert!(msg.contains("Too many wrong codes"), "{msg}");
    let msg = invalid(portal.resend_email_code(&ticket).await);
    assert!(msg.contains("Too many wrong codes"), "{msg}");
}

#[tokio::test]
async fn new_email_codes_are_limited_to_three_an_hour() {
    let (portal, clock, code) = with_code().await;
    let ticket = at_email_step(&portal, &code).await;
    for _ in 0..3 {
        portal.resend_email_code(&ticket).await.unwrap();
    }
    assert!(matches!(
        err(portal.resend_email_code(&ticket).await),
        Error::Throttled { .. }
    ));
    clock.advance(Duration::from_secs(3600));
    // The sign-up itself lasts 30 minutes: after an hour it has expired.
    let msg = invalid(portal.resend_email_code(&ticket).await);
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test]
async fn an_email_code_expires_after_ten_minutes() {
    let (portal, clock, code) = with_code().await;
    let ticket = at_email_step(&portal, &code).await;
    let right = latest_email_code(&portal, EMET_EMAIL).await;
    clock.advance(10 * MINUTE);
    let msg = invalid(portal.confirm_email(&ticket, &right, &meta()).await);
    assert!(msg.contains("expired"), "{msg}");
    portal.resend_email_code(&ticket).await.unwrap();
    let fresh = latest_email_code(&portal, EMET_EMAIL).await;
    clock.advance(10 * MINUTE - Duration::from_secs(1));
    portal
        .confirm_email(&ticket, &fresh, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_email_code_works_once() {
    let (portal, _, code) = with_code().await;
    let ticket = at_email_step(&portal, &code).await;
    let right = latest_email_code(&portal, EMET_EMAIL).await;
    portal
        .confirm_email(&ticket, &right, &meta())
        .await
        .unwrap();
    let e = err(portal.confirm_email(&ticket, &right, &meta()).await);
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
}

#[tokio::test]
async fn a_correct_password_before_the_email_is_confirmed_restarts_the_confirmation() {
    let (portal, _, code) = with_code().await;
    at_email_step(&portal, &code).await;
    let blocked = sign_in_blocked(&portal, EMET_USERNAME, EMET_PASSWORD).await;
    let backend::auth::signin::Blocked::EmailUnconfirmed { signup_token } = blocked else {
        panic!("expected the email step, got {blocked:?}");
    };
    assert_eq!(portal.activation_step(&signup_token).await, Some(true));
    let fresh = latest_email_code(&portal, EMET_EMAIL).await;
    let done = portal
        .confirm_email(&signup_token, &fresh, &meta())
        .await
        .unwrap();
    assert!(portal.principal(Some(&done.token)).await.unwrap().is_self());
}

#[tokio::test]
async fn an_unfinished_activation_expires() {
    let (portal, clock, code) = with_code().await;
    let ticket = start(&portal, &code).await.unwrap();
    clock.advance(portal.settings.signup_ttl);
    assert_eq!(portal.activation_step(&ticket).await, None);
    let msg = invalid(choose(&portal, &ticket, EMET_PASSWORD).await);
    assert!(msg.contains("expired"), "{msg}");
    // The code itself was not used up and starts a new ticket.
    start(&portal, &code).await.unwrap();
}

#[tokio::test]
async fn a_child_under_12_gets_no_activation_code_and_a_patient_of_12_does() {
    use backend::auth::activation::CHILD_HAS_NO_ACCOUNT;
    use domain::care::Registration;
    let (portal, _) = portal().await;
    seed(&portal).await;
    // The demo child is 8.
    let child = portal.patient_by_mrn(CHILD_MRN).await.unwrap();
    let refused = portal
        .issue_activation_code(&child.id, "riley.frontdesk", &meta())
        .await;
    assert_eq!(invalid(refused), CHILD_HAS_NO_ACCOUNT);
    let desk = front_desk(&portal).await;
    let letter = portal.activation_letter(&desk, &child.id).await;
    assert_eq!(invalid(letter), CHILD_HAS_NO_ACCOUNT);
    // The clock reads 2026-11-25 12:00 UTC, the morning of the 25th at the clinic: a
    // patient born on 2014-11-25 is 12 today, one born a day later is still 11.
    let eleven = portal
        .register_patient(&desk, "Ash", "Younger", "2014-11-26", "NEW-011")
        .await
        .unwrap();
    assert_eq!(
        eleven,
        Registration::Child {
            patient: "Ash Younger".into()
        }
    );
    let eleven = portal.patient_by_mrn("NEW-011").await.unwrap();
    assert!(
        activation_code::Entity::find()
            .filter(activation_code::Column::PatientId.eq(eleven.id))
            .all(&portal.db)
            .await
            .unwrap()
            .is_empty(),
        "no code was made for the child"
    );
    let twelve = portal
        .register_patient(&desk, "Bo", "Older", "2014-11-25", "NEW-012")
        .await
        .unwrap();
    let Registration::Letter(letter) = twelve else {
        panic!("a 12-year-old gets a letter: {twelve:?}");
    };
    let started = portal
        .start_activation("Bo", "Older", "2014-11-25", &letter.code, &meta())
        .await;
    assert!(started.is_ok(), "{started:?}");
}

#[tokio::test]
async fn the_12th_birthday_counts_from_midnight_in_the_clinics_time_zone() {
    use backend::auth::activation::CHILD_HAS_NO_ACCOUNT;
    use domain::care::Registration;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let desk = front_desk(&portal).await;
    // 2026-11-26 03:00 UTC is still the evening of the 25th in Chicago: a patient born on
    // 2014-11-26 is 12 in UTC but 11 at the clinic.
    clock.advance(Duration::from_secs(15 * 3600));
    let eve = portal
        .register_patient(&desk, "Cy", "Evening", "2014-11-26", "NEW-EVE")
        .await
        .unwrap();
    assert!(matches!(eve, Registration::Child { .. }), "{eve:?}");
    // Six hours later it is the 26th there too.
    clock.advance(Duration::from_secs(6 * 3600));
    let cy = portal.patient_by_mrn("NEW-EVE").await.unwrap();
    let letter = portal.activation_letter(&desk, &cy.id).await.unwrap();
    // A birth date corrected after the letter was printed: the code no longer opens an
    // account for a child, and the refusal is audited.
    let mut row = cy.into_active_model();
    row.birth_date = Set("2016-01-01".into());
    row.update(&portal.db).await.unwrap();
    let refused = portal
        .start_activation("Cy", "Evening", "2016-01-01", &letter.code, &meta())
        .await;
    assert_eq!(invalid(refused), CHILD_HAS_NO_ACCOUNT);
    assert_eq!(audit_rows(&portal, "activation.refused").await.len(), 1);
}
