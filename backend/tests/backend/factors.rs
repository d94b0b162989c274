//! Second factors (SECURITY 7, 9, 10, 11), re-authentication (13, 17) and suspension (18),
//! with an injected clock.

use crate::common::*;
use backend::auth::factors::{step_of, totp_at};
use backend::auth::signin::{Blocked, SignedIn};
use backend::demo::{DEMO_PASSWORD, READY_USERNAME, STAFF};
use backend::storage::entity::{auth_factor, backup_code, user_session};
use backend::{Error, Portal, Principal, Settings, TestClock};
use domain::security::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::time::Duration;

const DARA_EMAIL: &str = "dara.dummett@example.org";

fn secret_of(key_groups: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(key_groups.replace(' ', ""))
        .to_bytes()
        .expect("the key is base32")
}

async fn principal(portal: &Portal, token: &str) -> Principal {
    portal.principal(Some(token)).await.unwrap()
}

/// Signs Dara in, sets up an authenticator app, and returns its secret, the session and
/// the first backup codes.
async fn dara_with_app(portal: &Portal, clock: &TestClock) -> (Vec<u8>, SignedIn, Vec<String>) {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let user = portal
        .account_of(&principal(portal, &s.token).await)
        .await
        .unwrap();
    let setup = portal.totp_begin(&user).await.unwrap();
    assert!(setup.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(setup.qr_svg.contains("<svg"));
    let secret = secret_of(&setup.key_groups);
    assert_eq!(secret.len(), 20, "160-bit secret");
    let code = totp_at(&secret, step_of(clock.now_ms()));
    let codes = portal.totp_confirm(&user, &code, &meta()).await.unwrap();
    (secret, s, codes)
}

async fn second_step_ticket(portal: &Portal) -> (String, domain::security::FactorChoice) {
    match sign_in_blocked(portal, READY_USERNAME, DEMO_PASSWORD).await {
        Blocked::SecondFactor { ticket, choice } => (ticket, choice),
        other => panic!("expected a second step, got {other:?}"),
    }
}

use backend::Clock as _;

#[tokio::test]
async fn enrolment_proves_one_code_and_keeps_the_secret_sealed() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let user = portal
        .account_of(&principal(&portal, &s.token).await)
        .await
        .unwrap();
    let setup = portal.totp_begin(&user).await.unwrap();
    let secret = secret_of(&setup.key_groups);
    // A wrong code does not enable it, and a pending app is not a factor yet.
    let wrong = if totp_at(&secret, step_of(clock.now_ms())) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(invalid(portal.totp_confirm(&user, wrong, &meta()).await).contains("does not match"));
    assert!(matches!(
        portal.sign_in(READY_USERNAME, DEMO_PASSWORD, &meta()).await,
        Ok(Ok(_))
    ));
    let row = auth_factor::Entity::find()
        .filter(auth_factor::Column::UserId.eq(user.id.clone()))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.secret_enc.unwrap();
    assert!(sealed.starts_with("v1."));
    assert!(!sealed.contains(&setup.key_groups.replace(' ', "")));
    let code = totp_at(&secret, step_of(clock.now_ms()));
    let backup = portal.totp_confirm(&user, &code, &meta()).await.unwrap();
    assert_eq!(
        backup.len(),
        10,
        "the first factor comes with ten backup codes"
    );
    assert!(matches!(
        portal.sign_in(READY_USERNAME, DEMO_PASSWORD, &meta()).await,
        Ok(Err(Blocked::SecondFactor { .. }))
    ));
}

#[tokio::test]
async fn an_unfinished_enrolment_expires() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let user = portal
        .account_of(&principal(&portal, &s.token).await)
        .await
        .unwrap();
    let setup = portal.totp_begin(&user).await.unwrap();
    clock.advance(Duration::from_secs(11 * 60));
    let code = totp_at(&secret_of(&setup.key_groups), step_of(clock.now_ms()));
    assert!(invalid(portal.totp_confirm(&user, &code, &meta()).await).contains("expired"));
}

#[tokio::test]
async fn a_code_works_once_and_drift_of_one_step_is_accepted() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (secret, ..) = dara_with_app(&portal, &clock).await;
    // The enrolment code's step is used up: the next sign-in needs a later one.
    clock.advance(Duration::from_secs(30));
    let (ticket, choice) = second_step_ticket(&portal).await;
    assert!(choice.methods.contains(&Method::App));
    assert!(choice.methods.contains(&Method::Backup));
    let code = totp_at(&secret, step_of(clock.now_ms()) + 1);
    let s = portal
        .sign_in_second_factor(&ticket, Method::App, &code, &meta())
        .await
        .expect("a code one step ahead is accepted");
    assert_ne!(principal(&portal, &s.token).await, Principal::anonymous());
    // Replaying that code, or an earlier one, fails.
    let (ticket, _) = second_step_ticket(&portal).await;
    let e = invalid(
        portal
            .sign_in_second_factor(&ticket, Method::App, &code, &meta())
            .await,
    );
    assert!(e.contains("not right"), "{e}");
    let earlier = totp_at(&secret, step_of(clock.now_ms()));
    invalid(
        portal
            .sign_in_second_factor(&ticket, Method::App, &earlier, &meta())
            .await,
    );
    // Two steps off is too far.
    clock.advance(Duration::from_secs(30 * 3));
    let stale = totp_at(&secret, step_of(clock.now_ms()) - 2);
    invalid(
        portal
            .sign_in_second_factor(&ticket, Method::App, &stale, &meta())
            .await,
    );
    let fresh = totp_at(&secret, step_of(clock.now_ms()));
    portal
        .sign_in_second_factor(&ticket, Method::App, &fresh, &meta())
        .await
        .expect("the current code works");
    // A used ticket is gone.
    clock.advance(Duration::from_secs(30));
    let next = totp_at(&secret, step_of(clock.now_ms()));
    invalid(
        portal
            .sign_in_second_factor(&ticket, Method::App, &next, &meta())
            .await,
    );
}

#[tokio::test]
async fn the_same_code_sent_twice_in_parallel_opens_one_session() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (secret, ..) = dara_with_app(&portal, &clock).await;
    clock.advance(Duration::from_secs(30));
    let (t1, _) = second_step_ticket(&portal).await;
    let (t2, _) = second_step_ticket(&portal).await;
    let code = totp_at(&secret, step_of(clock.now_ms()));
    let m = meta();
    let (a, b) = tokio::join!(
        portal.sign_in_second_factor(&t1, Method::App, &code, &m),
        portal.sign_in_second_factor(&t2, Method::App, &code, &m)
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|x| **x).count(), 1);
}

#[tokio::test]
async fn a_second_step_ticket_expires_and_wrong_codes_lock_the_account() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (secret, ..) = dara_with_app(&portal, &clock).await;
    let (ticket, _) = second_step_ticket(&portal).await;
    clock.advance(Duration::from_secs(11 * 60));
    let code = totp_at(&secret, step_of(clock.now_ms()));
    assert!(
        invalid(
            portal
                .sign_in_second_factor(&ticket, Method::App, &code, &meta())
                .await
        )
        .contains("expired")
    );

    // Ten wrong codes in all (across sign-ins) lock the account, as ten wrong passwords do.
    let mut locked = false;
    for _ in 0..4 {
        let (ticket, _) = second_step_ticket(&portal).await;
        for _ in 0..5 {
            match portal
                .sign_in_second_factor(&ticket, Method::App, "000000", &meta())
                .await
            {
                Err(Error::Locked) => locked = true,
                Err(_) => {}
                Ok(_) => panic!("a wrong code signed in"),
            }
            if locked {
                break;
            }
        }
        if locked {
            break;
        }
    }
    assert!(locked);
    assert!(matches!(
        sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &meta()).await,
        Error::Locked
    ));
}

#[tokio::test]
async fn backup_codes_work_once_tell_the_person_and_a_new_set_voids_the_old() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (_, s, codes) = dara_with_app(&portal, &clock).await;
    // Stored hashed.
    let rows = backup_code::Entity::find().all(&portal.db).await.unwrap();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        assert!(
            codes
                .iter()
                .all(|c| !r.code_hash.contains(&c.replace('-', "")))
        );
    }
    let (ticket, _) = second_step_ticket(&portal).await;
    portal
        .sign_in_second_factor(&ticket, Method::Backup, &codes[0].to_uppercase(), &meta())
        .await
        .expect("a backup code signs in, whatever its case");
    let mail = portal.outbox(100).await.unwrap();
    let notice = mail
        .iter()
        .rev()
        .find(|m| m.recipient == DARA_EMAIL)
        .unwrap();
    assert!(
        notice.subject.contains("backup code was used"),
        "{}",
        notice.subject
    );
    assert!(notice.body.contains("9 left"));
    let (ticket, _) = second_step_ticket(&portal).await;
    let e = invalid(
        portal
            .sign_in_second_factor(&ticket, Method::Backup, &codes[0], &meta())
            .await,
    );
    assert!(e.contains("used already"), "{e}");

    let p = principal(&portal, &s.token).await;
    let user = portal.account_of(&p).await.unwrap();
    let fresh = portal
        .regenerate_backup_codes(&user, &meta())
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    invalid(
        portal
            .sign_in_second_factor(&ticket, Method::Backup, &codes[1], &meta())
            .await,
    );
    portal
        .sign_in_second_factor(&ticket, Method::Backup, &fresh[0], &meta())
        .await
        .expect("a code of the new set works");
}

#[tokio::test]
async fn email_codes_are_six_digits_single_use_and_last_ten_minutes() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let user = portal
        .account_of(&principal(&portal, &s.token).await)
        .await
        .unwrap();
    portal
        .enable_code_factor(&user, Method::Email, &meta())
        .await
        .unwrap();

    let (ticket, choice) = second_step_ticket(&portal).await;
    assert_eq!(choice.email_hint.as_deref(), Some("d•••@example.org"));
    portal
        .send_sign_in_code(&ticket, Method::Email, &meta())
        .await
        .unwrap();
    // A second code straight away is refused: no flooding the mailbox.
    assert!(matches!(
        portal
            .send_sign_in_code(&ticket, Method::Email, &meta())
            .await,
        Err(Error::Throttled { .. })
    ));
    let code = sign_in_code(&portal).await;
    assert_eq!(code.len(), 6);
    clock.advance(Duration::from_secs(10 * 60 + 1));
    assert!(
        invalid(
            portal
                .sign_in_second_factor(&ticket, Method::Email, &code, &meta())
                .await
        )
        .contains("expired")
    );

    let (ticket, _) = second_step_ticket(&portal).await;
    portal
        .send_sign_in_code(&ticket, Method::Email, &meta())
        .await
        .unwrap();
    let code = sign_in_code(&portal).await;
    let (other, _) = second_step_ticket(&portal).await;
    // A code belongs to its own sign-in.
    invalid(
        portal
            .sign_in_second_factor(&other, Method::Email, &code, &meta())
            .await,
    );
    portal
        .sign_in_second_factor(&ticket, Method::Email, &code, &meta())
        .await
        .expect("the emailed code signs in");
}

async fn sign_in_code(portal: &Portal) -> String {
    let mail = portal.outbox(100).await.unwrap();
    let m = mail
        .iter()
        .rev()
        .find(|m| m.subject.contains("sign-in code"))
        .expect("a sign-in code email");
    let rest = m.body.split_once("Your sign-in code is ").unwrap().1;
    rest.chars().take(6).collect()
}

#[tokio::test]
async fn text_message_codes_go_to_the_verified_number_through_the_outbox() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = principal(&portal, &s.token).await;
    let user = portal.account_of(&p).await.unwrap();
    assert!(
        invalid(portal.enable_code_factor(&user, Method::Sms, &meta()).await)
            .contains("mobile number")
    );
    portal
        .start_phone_change(&p, "(555) 010-4477", &meta())
        .await
        .unwrap();
    let sms = portal.outbox(100).await.unwrap();
    let text = sms
        .iter()
        .rev()
        .find(|m| m.recipient == "sms:+15550104477")
        .unwrap();
    let code: String = text
        .body
        .split_once("number is ")
        .unwrap()
        .1
        .chars()
        .take(6)
        .collect();
    assert!(
        invalid(portal.confirm_phone(&p, "000000", &meta()).await).contains("not right")
            || code == "000000"
    );
    portal.confirm_phone(&p, &code, &meta()).await.unwrap();
    let user = portal.account_of(&p).await.unwrap();
    assert_eq!(user.phone.as_deref(), Some("+15550104477"));
    portal
        .enable_code_factor(&user, Method::Sms, &meta())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(60));
    let (ticket, choice) = second_step_ticket(&portal).await;
    assert_eq!(choice.phone_hint.as_deref(), Some("••• 4477"));
    portal
        .send_sign_in_code(&ticket, Method::Sms, &meta())
        .await
        .unwrap();
    let sms = portal.outbox(100).await.unwrap();
    let text = sms
        .iter()
        .rev()
        .find(|m| m.recipient == "sms:+15550104477")
        .unwrap();
    let code: String = text
        .body
        .split_once("code is ")
        .unwrap()
        .1
        .chars()
        .take(6)
        .collect();
    portal
        .sign_in_second_factor(&ticket, Method::Sms, &code, &meta())
        .await
        .expect("the texted code signs in");
}

#[tokio::test]
async fn staff_must_set_up_an_app_before_their_first_session() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (username, ..) = STAFF[0];
    let Blocked::MustEnrol { ticket } = sign_in_blocked(&portal, username, DEMO_PASSWORD).await
    else {
        panic!("staff must enrol");
    };
    assert_eq!(count(&portal, user_session::Entity).await, 0);
    let setup = portal.enrol_totp_begin(&ticket).await.unwrap();
    let secret = secret_of(&setup.key_groups);
    let code = totp_at(&secret, step_of(clock.now_ms()));
    let (signed, codes) = portal
        .enrol_totp_finish(&ticket, &code, &meta())
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert!(principal(&portal, &signed.token).await.is_staff());
    // The ticket is spent; the next sign-in asks for the app.
    invalid(portal.enrol_totp_begin(&ticket).await);
    clock.advance(Duration::from_secs(30));
    let Blocked::SecondFactor { choice, .. } =
        sign_in_blocked(&portal, username, DEMO_PASSWORD).await
    else {
        panic!("staff now prove the app");
    };
    assert!(choice.methods.contains(&Method::App));
    // Email codes alone never satisfy the staff rule.
    let staff = portal
        .account_of(&principal(&portal, &signed.token).await)
        .await
        .unwrap();
    portal
        .enable_code_factor(&staff, Method::Email, &meta())
        .await
        .unwrap();
    let app = auth_factor::Entity::find()
        .filter(auth_factor::Column::UserId.eq(staff.id.clone()))
        .filter(auth_factor::Column::Kind.eq("totp"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        invalid(portal.remove_factor(&staff, &app.id, &meta()).await).contains("Staff accounts")
    );
}

#[tokio::test]
async fn a_clinic_policy_makes_patients_set_up_a_second_factor() {
    let settings = Settings {
        require_second_factor_for_patients: true,
        ..Settings::for_tests()
    };
    let (portal, _) = portal_with(settings).await;
    seed(&portal).await;
    assert!(matches!(
        sign_in_blocked(&portal, READY_USERNAME, DEMO_PASSWORD).await,
        Blocked::MustEnrol { .. }
    ));
}

#[tokio::test]
async fn changes_need_a_password_confirmed_in_the_last_five_minutes_and_rotate_the_session() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let other = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = principal(&portal, &s.token).await;
    assert!(portal.reauth_secs_left(&p).await.unwrap() > 290);
    clock.advance(Duration::from_secs(5 * 60 + 1));
    let p = principal(&portal, &s.token).await;
    assert!(matches!(
        portal
            .start_email_change(&p, "dara.new@example.org", &meta())
            .await,
        Err(Error::ReauthRequired)
    ));
    invalid(
        portal
            .reauthenticate(&p, "Wrong-Password-123456", &meta())
            .await,
    );
    let token = portal
        .reauthenticate(&p, DEMO_PASSWORD, &meta())
        .await
        .unwrap();
    // New session id: the old token is dead, the new one carries the same session.
    assert_eq!(principal(&portal, &s.token).await, Principal::anonymous());
    let p2 = principal(&portal, &token).await;
    assert_eq!(p2.session_id(), p.session_id());
    portal
        .start_email_change(&p2, "dara.new@example.org", &meta())
        .await
        .unwrap();
    let code = {
        let mail = portal.outbox(100).await.unwrap();
        let m = mail
            .iter()
            .rev()
            .find(|m| m.recipient == "dara.new@example.org")
            .unwrap();
        m.body
            .split_once("address: ")
            .unwrap()
            .1
            .chars()
            .take(6)
            .collect::<String>()
    };
    portal
        .confirm_email_change(&p2, &code, &meta())
        .await
        .unwrap();
    // The other session ended and the old address was told.
    assert_eq!(
        principal(&portal, &other.token).await,
        Principal::anonymous()
    );
    let mail = portal.outbox(100).await.unwrap();
    assert!(
        mail.iter()
            .any(|m| m.recipient == DARA_EMAIL && m.subject.contains("email address was changed"))
    );
    let user = portal.account_of(&p2).await.unwrap();
    assert_eq!(user.email, "dara.new@example.org");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let other = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = principal(&portal, &s.token).await;
    let new = "Copper-Kettle-Winter-8812";
    invalid(
        portal
            .change_password(&p, "Not-The-Password-1", new, &meta())
            .await,
    );
    let weak = invalid(
        portal
            .change_password(&p, DEMO_PASSWORD, "password1234", &meta())
            .await,
    );
    assert!(!weak.is_empty());
    let token = portal
        .change_password(&p, DEMO_PASSWORD, new, &meta())
        .await
        .unwrap();
    assert_eq!(
        principal(&portal, &other.token).await,
        Principal::anonymous()
    );
    assert_eq!(principal(&portal, &s.token).await, Principal::anonymous());
    assert_ne!(principal(&portal, &token).await, Principal::anonymous());
    sign_in(&portal, READY_USERNAME, new).await;
    let mail = portal.outbox(100).await.unwrap();
    assert!(
        mail.iter()
            .any(|m| m.recipient == DARA_EMAIL && m.subject.contains("password was changed"))
    );
}

#[tokio::test]
async fn removing_a_factor_needs_it_to_be_yours_and_tells_you() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (_, s, _) = dara_with_app(&portal, &clock).await;
    let p = principal(&portal, &s.token).await;
    let user = portal.account_of(&p).await.unwrap();
    let emet = activate_emet(&portal).await;
    let emet_user = portal
        .account_of(&principal(&portal, &emet.token).await)
        .await
        .unwrap();
    let dara_factor = portal.security_overview(&p).await.unwrap().factors[0]
        .id
        .clone();
    assert!(matches!(
        portal
            .remove_factor(&emet_user, &dara_factor, &meta())
            .await,
        Err(Error::NotFound)
    ));
    portal
        .remove_factor(&user, &dara_factor, &meta())
        .await
        .unwrap();
    let o = portal.security_overview(&p).await.unwrap();
    assert!(o.factors.is_empty());
    assert_eq!(
        o.backup_codes_left, 0,
        "the last factor takes the backup codes with it"
    );
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
}

#[tokio::test]
async fn suspension_and_a_staff_reset_of_factors_end_sessions_and_are_in_the_activity_list() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (_, s, _) = dara_with_app(&portal, &clock).await;
    let (name, n) = portal
        .reset_second_factors(READY_USERNAME, "front desk (riley)", &meta())
        .await
        .unwrap();
    assert_eq!((name.as_str(), n), (READY_USERNAME, 1));
    assert_eq!(principal(&portal, &s.token).await, Principal::anonymous());
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = principal(&portal, &s.token).await;
    let activity = portal.security_activity(&p).await.unwrap();
    let whats: Vec<_> = activity.iter().map(|a| a.what.as_str()).collect();
    assert!(
        whats.contains(&"Sign-in methods reset by the clinic"),
        "{whats:?}"
    );
    assert!(whats.contains(&"Sign-in method added"));
    assert!(whats.contains(&"Signed in"));

    portal.report_suspicious(&p, &meta()).await.unwrap();
    assert_eq!(principal(&portal, &s.token).await, Principal::anonymous());
    invalid(portal.sign_in(READY_USERNAME, DEMO_PASSWORD, &meta()).await);
    portal
        .restore_account(READY_USERNAME, "front desk", &meta())
        .await
        .unwrap();
    portal
        .suspend_account(READY_USERNAME, "front desk", &meta())
        .await
        .unwrap();
    invalid(portal.sign_in(READY_USERNAME, DEMO_PASSWORD, &meta()).await);
}
