//! Signing in and out: credentials, throttling, locking, audit and what is stored.

use crate::common::*;
use backend::auth::signin::Blocked;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::storage::entity::{user_account, user_session};
use backend::{Error, Principal, Settings};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use std::time::Duration;

async fn dara(portal: &backend::Portal) -> user_account::Model {
    user_account::Entity::find()
        .filter(user_account::Column::Username.eq(READY_USERNAME))
        .one(&portal.db)
        .await
        .unwrap()
        .expect("Dara has an account")
}

#[tokio::test]
async fn the_right_password_opens_a_session_for_the_patient() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let dara_patient = portal.patient_by_mrn(DARA_MRN).await.unwrap();
    let p = portal.principal(Some(&s.token)).await.unwrap();
    assert!(p.is_self(), "expected a patient, got {p:?}");
    assert_eq!(p.user_id(), Some(s.user_id.as_str()));
    assert_eq!(p.patient_id(), Some(dara_patient.id.clone()));
}

#[tokio::test]
async fn the_email_address_works_as_the_sign_in_name_in_any_case() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, " Dara.Dummett@Example.org ", DEMO_PASSWORD).await;
    assert!(portal.principal(Some(&s.token)).await.unwrap().is_self());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let wrong = sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
    let unknown = sign_in_error(&portal, "nobody.here", "Not-The-Password-1", &meta()).await;
    assert!(matches!(wrong, Error::InvalidCredentials), "{wrong:?}");
    assert!(matches!(unknown, Error::InvalidCredentials), "{unknown:?}");
    assert_eq!(wrong.to_string(), unknown.to_string());
}

#[tokio::test]
async fn each_sign_in_gets_a_new_session() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let b = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    assert_ne!(a.token, b.token);
    let (pa, pb) = (
        portal.principal(Some(&a.token)).await.unwrap(),
        portal.principal(Some(&b.token)).await.unwrap(),
    );
    assert_ne!(pa.session_id(), pb.session_id());
}

#[tokio::test]
async fn after_three_failures_the_next_try_waits_until_the_clock_has_passed() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    for _ in 0..3 {
        let e = sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
        assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    }
    // Even the right password waits.
    let e = sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &meta()).await;
    assert!(
        matches!(
            e,
            Error::Throttled {
                retry_after_secs: 1
            }
        ),
        "{e:?}"
    );
    clock.advance(Duration::from_secs(1));
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
}

#[tokio::test]
async fn the_wait_doubles_with_each_further_failure_up_to_the_maximum() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    for _ in 0..3 {
        sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
    }
    let mut waits = vec![];
    for _ in 0..6 {
        let Error::Throttled { retry_after_secs } =
            sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await
        else {
            panic!("expected a wait");
        };
        waits.push(retry_after_secs);
        clock.advance(Duration::from_secs(retry_after_secs));
        let e = sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
        assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 30]);
}

/// Ten wrong passwords in a row, waiting out each delay in between.
async fn fail_ten_times(
    portal: &backend::Portal,
    clock: &backend::TestClock,
    login: &str,
) -> Vec<Error> {
    let mut errors = vec![];
    for _ in 0..10 {
        errors.push(sign_in_error(portal, login, "Not-The-Password-1", &meta()).await);
        clock.advance(Duration::from_secs(31));
    }
    errors
}

#[tokio::test]
async fn ten_failures_in_a_row_lock_the_account_even_for_the_right_password() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let errors = fail_ten_times(&portal, &clock, READY_USERNAME).await;
    assert!(
        errors[..9]
            .iter()
            .all(|e| matches!(e, Error::InvalidCredentials)),
        "{errors:?}"
    );
    assert!(matches!(errors[9], Error::Locked), "{errors:?}");
    clock.advance(Duration::from_secs(3600));
    let e = sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &meta()).await;
    assert!(matches!(e, Error::Locked), "{e:?}");
    // The email address leads to the same locked account.
    let e = sign_in_error(&portal, "dara.dummett@example.org", DEMO_PASSWORD, &meta()).await;
    assert!(matches!(e, Error::Locked), "{e:?}");
    let u = dara(&portal).await;
    assert!(u.locked_at.is_some());
    assert_eq!(u.failed_logins, 10);
}

#[tokio::test]
async fn failures_by_username_and_by_email_count_together_towards_the_lock() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let mut errors = vec![];
    for i in 0..10 {
        let login = if i % 2 == 0 {
            READY_USERNAME
        } else {
            "dara.dummett@example.org"
        };
        errors.push(sign_in_error(&portal, login, "Not-The-Password-1", &meta()).await);
        clock.advance(Duration::from_secs(31));
    }
    // The answers follow each name's own count (so they do not tie the names together)…
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, Error::InvalidCredentials)),
        "{errors:?}"
    );
    // …but the account has locked after ten failures in all.
    for login in [READY_USERNAME, "dara.dummett@example.org"] {
        let e = sign_in_error(&portal, login, DEMO_PASSWORD, &meta()).await;
        assert!(matches!(e, Error::Locked), "{e:?}");
    }
    assert_eq!(dara(&portal).await.failed_logins, 10);
}

#[tokio::test]
async fn an_unknown_name_locks_exactly_like_a_real_one() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let real = fail_ten_times(&portal, &clock, READY_USERNAME).await;
    let unknown = fail_ten_times(&portal, &clock, "nobody.here").await;
    let show = |v: &[Error]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(show(&real), show(&unknown));
    let e = sign_in_error(&portal, "nobody.here", DEMO_PASSWORD, &meta()).await;
    assert!(matches!(e, Error::Locked), "{e:?}");
}

#[tokio::test]
async fn staff_can_unlock_a_locked_account() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    fail_ten_times(&portal, &clock, READY_USERNAME).await;
    let name = portal
        .unlock_account(READY_USERNAME, "riley.frontdesk", &meta())
        .await
        .unwrap();
    assert_eq!(name, READY_USERNAME);
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let u = dara(&portal).await;
    assert!(u.locked_at.is_none());
    assert_eq!(u.failed_logins, 0);
    assert_eq!(audit_rows(&portal, "account.unlocked").await.len(), 1);
}

#[tokio::test]
async fn too_many_failures_from_one_address_hold_back_other_accounts_from_it() {
    let (portal, _) = portal_with(Settings {
        ip_failure_limit: 5,
        ..Settings::for_tests()
    })
    .await;
    seed(&portal).await;
    let attacker = meta_from("198.51.100.9");
    for i in 0..5 {
        let e = sign_in_error(
            &portal,
            &format!("guess{i}"),
            "Not-The-Password-1",
            &attacker,
        )
        .await;
        assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    }
    let e = sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &attacker).await;
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    // Somewhere else, the same account signs in.
    sign_in_from(
        &portal,
        READY_USERNAME,
        DEMO_PASSWORD,
        &meta_from("192.0.2.44"),
    )
    .await;
}

#[tokio::test]
async fn the_address_limit_lifts_when_its_window_has_passed() {
    let (portal, clock) = portal_with(Settings {
        ip_failure_limit: 5,
        ..Settings::for_tests()
    })
    .await;
    seed(&portal).await;
    let from = meta_from("198.51.100.9");
    for i in 0..5 {
        sign_in_error(&portal, &format!("guess{i}"), "Not-The-Password-1", &from).await;
    }
    let e = sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &from).await;
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    clock.advance(portal.settings.ip_window);
    sign_in_from(&portal, READY_USERNAME, DEMO_PASSWORD, &from).await;
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_failure_count() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    for _ in 0..2 {
        sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
    }
    assert_eq!(dara(&portal).await.failed_logins, 2);
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(dara(&portal).await.failed_logins, 0);
    // Two more failures are again free: without the reset this would be the fourth in a row.
    for _ in 0..2 {
        let e = sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
        assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    }
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
}

#[tokio::test]
async fn sign_ins_and_sign_outs_are_audited() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let u = dara(&portal).await;
    sign_in_error(&portal, READY_USERNAME, "Not-The-Password-1", &meta()).await;
    sign_in_error(&portal, "nobody.here", "Not-The-Password-1", &meta()).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    portal.sign_out(&p, &meta()).await.unwrap();

    let failed = audit_rows(&portal, "signin.failed").await;
    assert_eq!(failed.len(), 2);
    let known = failed.iter().find(|r| r.actor_user_id.is_some()).unwrap();
    assert_eq!(known.actor_user_id.as_deref(), Some(u.id.as_str()));
    assert_eq!(known.patient_id, u.patient_id);
    let unknown = failed.iter().find(|r| r.actor_user_id.is_none()).unwrap();
    assert_eq!(unknown.actor_label.as_deref(), Some("unknown account"));
    assert_eq!(unknown.patient_id, None);
    for row in &failed {
        assert_eq!(row.outcome, "failed");
        assert_eq!(row.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(row.user_agent.as_deref(), Some("integration test"));
        assert_eq!(row.at, start_ms());
    }
    let ok = audit_rows(&portal, "signin.ok").await;
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].actor_user_id.as_deref(), Some(u.id.as_str()));
    assert_eq!(ok[0].outcome, "ok");
    assert_eq!(ok[0].object_id.as_deref(), p.session_id());
    let out = audit_rows(&portal, "signout").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].actor_user_id.as_deref(), Some(u.id.as_str()));
    assert_eq!(out[0].patient_id, u.patient_id);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    portal.sign_out(&p, &meta()).await.unwrap();
    assert_eq!(
        portal.principal(Some(&s.token)).await.unwrap(),
        Principal::anonymous()
    );
    let row = user_session::Entity::find_by_id(p.session_id().unwrap().to_owned())
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.ended_at.is_some());
    assert_eq!(row.end_reason.as_deref(), Some("signed out"));
}

#[tokio::test]
async fn staff_without_a_second_factor_are_sent_to_set_one_up() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    for (username, ..) in backend::demo::STAFF {
        let b = sign_in_blocked(&portal, username, DEMO_PASSWORD).await;
        assert!(matches!(b, Blocked::MustEnrol { .. }), "{b:?}");
    }
    assert_eq!(count(&portal, user_session::Entity).await, 0);
}

#[tokio::test]
async fn a_suspended_account_cannot_sign_in() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let mut u: user_account::ActiveModel = dara(&portal).await.into();
    u.suspended_at = Set(Some(start_ms()));
    u.update(&portal.db).await.unwrap();
    let e = sign_in_error(&portal, READY_USERNAME, DEMO_PASSWORD, &meta()).await;
    assert!(
        matches!(&e, Error::Invalid(m) if m.contains("suspended")),
        "{e:?}"
    );
    assert_eq!(count(&portal, user_session::Entity).await, 0);
}

#[tokio::test]
async fn the_session_token_is_not_stored_in_clear() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let s = sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    // 32 random bytes, URL-safe base64.
    assert!(s.token.len() >= 43, "{}", s.token);
    let rows = user_session::Entity::find().all(&portal.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    let columns = [
        Some(r.id.as_str()),
        Some(r.token_hash.as_str()),
        Some(r.user_id.as_str()),
        r.end_reason.as_deref(),
        r.ip.as_deref(),
        r.user_agent.as_deref(),
    ];
    for c in columns.into_iter().flatten() {
        assert!(!c.contains(&s.token), "the token is stored in clear");
    }
    assert_eq!(r.token_hash.len(), 64, "a SHA-256 hash in hex");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    for u in user_account::Entity::find().all(&portal.db).await.unwrap() {
        assert!(
            u.password_hash.starts_with("$argon2id$v=19$"),
            "{}",
            u.password_hash
        );
        assert!(!u.password_hash.contains(DEMO_PASSWORD));
    }
}

#[tokio::test]
async fn a_hash_made_under_a_weaker_policy_is_replaced_at_sign_in() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let before = dara(&portal).await.password_hash;
    assert!(before.contains("m=64,t=1,p=1"), "{before}");

    let stricter = with_settings(
        &portal,
        Settings {
            argon2_m_kib: 256,
            argon2_t: 2,
            ..Settings::for_tests()
        },
    );
    sign_in(&stricter, READY_USERNAME, DEMO_PASSWORD).await;
    let after = dara(&portal).await.password_hash;
    assert!(after.starts_with("$argon2id$"), "{after}");
    assert!(after.contains("m=256,t=2,p=1"), "{after}");

    // The new hash still takes the same password, and a later sign-in leaves it alone.
    sign_in(&stricter, READY_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(dara(&portal).await.password_hash, after);
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_no_more_tries_than_one_at_a_time() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let portal = portal.clone();
        tasks.push(tokio::spawn(async move {
            portal
                .sign_in(READY_USERNAME, &format!("wrong-guess-number-{i}"), &meta())
                .await
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(Error::InvalidCredentials) => checked += 1,
            Err(Error::Throttled { .. }) => {}
            other => panic!("unexpected: {:?}", other.map(|_| ())),
        }
    }
    // Only the free tries were checked; everything else waited its turn.
    assert!((1..=3).contains(&checked), "{checked} guesses were checked");
}

#[tokio::test]
async fn a_locked_name_answers_locked_but_another_name_of_the_account_says_nothing() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    for i in 0..10 {
        clock.advance(Duration::from_secs(60));
        let _ = portal
            .sign_in(READY_USERNAME, &format!("wrong-{i}-password"), &meta())
            .await;
    }
    assert!(matches!(
        portal.sign_in(READY_USERNAME, DEMO_PASSWORD, &meta()).await,
        Err(Error::Locked)
    ));
    clock.advance(Duration::from_secs(60));
    // A wrong password under the email address gets the ordinary answer: no link between
    // the two names is revealed to someone who does not know the password.
    assert!(matches!(
        portal
            .sign_in(
                "dara.dummett@example.org",
                "another-wrong-password",
                &meta()
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
    // The account itself is locked, whichever name is used with the right password.
    clock.advance(Duration::from_secs(60));
    assert!(matches!(
        portal
            .sign_in("dara.dummett@example.org", DEMO_PASSWORD, &meta())
            .await,
        Err(Error::Locked)
    ));
}
