//! The access matrix: every registered server function, called by every kind of principal.
//! A server function without a declared policy, or without a sample request here, fails.

use crate::helpers::{TestApp, spawn_app};
use app::api::{POLICIES, Policy, policy_of};
use backend::demo::family::{CHILD_MRN, PARENT_USERNAME, TEEN_MRN, TEEN_USERNAME};
use backend::demo::{ACTIVATE_MRN, READY_MRN, READY_USERNAME};
use backend::storage::entity::user_account;
use domain::proxy::Scope;
use domain::session::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    PatientA,
    PatientB,
    Clinician,
    FrontDesk,
    Admin,
    Suspended,
    /// A caregiver acting for patient A with this one scope.
    CaregiverOfA(Scope),
    /// A caregiver whose session acts through a grant A revoked.
    Revoked,
    /// A caregiver whose session acts through a grant that has expired.
    Expired,
    /// A caregiver-only account not acting for anyone.
    CaregiverAlone,
    /// The demo parent acting for her 8-year-old (every scope, the whole record).
    ParentOfChild,
    /// The demo parent acting for her 14-year-old (every scope, sensitive rows hidden).
    ParentOfTeen,
    /// The 14-year-old on her own record.
    Teen,
    /// A clinician of a second clinic, which patient A does not belong to.
    OtherClinician,
    /// The front desk of that second clinic.
    OtherFrontDesk,
}

fn everyone() -> Vec<Who> {
    let mut all = vec![
        Who::Anonymous,
        Who::PatientA,
        Who::PatientB,
        Who::Clinician,
        Who::FrontDesk,
        Who::Admin,
        Who::Suspended,
        Who::Revoked,
        Who::Expired,
        Who::CaregiverAlone,
        Who::ParentOfChild,
        Who::ParentOfTeen,
        Who::Teen,
        Who::OtherClinician,
        Who::OtherFrontDesk,
    ];
    all.extend(Scope::ALL.map(Who::CaregiverOfA));
    all
}

/// A marker planted in patient A's data for each scope: a caller not entitled to a scope
/// must never get its marker back, from any function.
fn marker(scope: Scope) -> String {
    format!("MKR-{}", scope.as_str())
}

/// A marker planted in the teenager's confidential result: only she may get it back.
const TEEN_SECRET: &str = "MKR-teen-confidential";

/// Plants the markers in every category of A's record (the thread and the visit carry
/// theirs from when they were made).
async fn plant_markers(app: &TestApp, patient: &str) {
    use backend::storage::entity::{
        allergy, encounter, immunization, medication, observation, problem,
    };
    let db = &app.portal.db;
    observation::Entity::update_many()
        .col_expr(
            observation::Column::Name,
            Expr::value(marker(Scope::Results)),
        )
        .filter(observation::Column::PatientId.eq(patient))
        .filter(observation::Column::Category.eq("laboratory"))
        .exec(db)
        .await
        .unwrap();
    observation::Entity::update_many()
        .col_expr(
            observation::Column::Name,
            Expr::value(marker(Scope::Clinical)),
        )
        .filter(observation::Column::PatientId.eq(patient))
        .filter(observation::Column::Category.ne("laboratory"))
        .exec(db)
        .await
        .unwrap();
    medication::Entity::update_many()
        .col_expr(
            medication::Column::Name,
            Expr::value(marker(Scope::Medications)),
        )
        .filter(medication::Column::PatientId.eq(patient))
        .exec(db)
        .await
        .unwrap();
    allergy::Entity::update_many()
        .col_expr(allergy::Column::Name, Expr::value(marker(Scope::Clinical)))
        .filter(allergy::Column::PatientId.eq(patient))
        .exec(db)
        .await
        .unwrap();
    problem::Entity::update_many()
        .col_expr(problem::Column::Name, Expr::value(marker(Scope::Clinical)))
        .filter(problem::Column::PatientId.eq(patient))
        .exec(db)
        .await
        .unwrap();
    immunization::Entity::update_many()
        .col_expr(
            immunization::Column::Name,
            Expr::value(marker(Scope::Immunizations)),
        )
        .filter(immunization::Column::PatientId.eq(patient))
        .exec(db)
        .await
        .unwrap();
    encounter::Entity::update_many()
        .col_expr(
            encounter::Column::Reason,
            Expr::value(marker(Scope::Visits)),
        )
        .filter(encounter::Column::PatientId.eq(patient))
        .exec(db)
        .await
        .unwrap();
}

/// Which of A's scopes a caller may see through patient-side functions.
fn entitled(who: Who, scope: Scope) -> bool {
    match who {
        Who::PatientA => true,
        Who::CaregiverOfA(granted) => granted == scope,
        _ => false,
    }
}

/// Ids of patient A's records (and of the clinic) that samples name.
struct Ids {
    result: String,
    session: String,
    factor: String,
    thread: String,
    appointment: String,
    medication: String,
    patient: String,
    follow_up: String,
    clinician: String,
}

/// A request body for each server function; record ids always point at patient A's data.
fn sample(path: &str, ids: &Ids) -> Option<String> {
    let (a_result, a_session, a_factor) = (&ids.result, &ids.session, &ids.factor);
    Some(match path {
        "/api/messages/teams" | "/api/messages/list" | "/api/messages/unread" => String::new(),
        "/api/messages/thread" | "/api/staff/thread" => format!("id={}", ids.thread),
        "/api/appointments/page" | "/api/refills/list" | "/api/refills/choices"
        | "/api/home/care" => String::new(),
        "/api/appointments/slots" | "/api/staff/slots" => format!("visit_type={}", ids.follow_up),
        "/api/appointments/book" => "slot=nope".into(),
        "/api/appointments/cancel" => format!("id={}", ids.appointment),
        "/api/appointments/reschedule" => format!("id={}&slot=nope", ids.appointment),
        "/api/appointments/request" => "visit_type=nope&preferred=x".into(),
        "/api/appointments/waitlist" => "visit_type=nope".into(),
        "/api/appointments/accept" => "offer=nope".into(),
        "/api/refills/request" => format!("medication={}&pharmacy=nope", ids.medication),
        "/api/staff/home" | "/api/staff/refills" | "/api/staff/setup" | "/api/staff/requests"
        | "/api/staff/results" | "/api/staff/reports" => String::new(),
        "/api/staff/sensitivity" => format!("what=result&id={a_result}&category=bogus"),
        "/api/staff/inbox" => "view=unassigned".into(),
        "/api/staff/assign" => format!("id={}&to=nobody", ids.thread),
        "/api/staff/close" | "/api/staff/sent" | "/api/staff/request_done"
        | "/api/staff/cancel" | "/api/staff/template_remove" => "id=nope".into(),
        "/api/staff/letter" => "patient=nope".into(),
        "/api/staff/patients" => "query=Dummett".into(),
        "/api/staff/register" => "first_name=&last_name=&date_of_birth=&mrn=".into(),
        "/api/staff/account" => format!("patient={}&action=explode", ids.patient),
        "/api/staff/approve" => "id=nope&quantity=0".into(),
        "/api/staff/deny" => "id=nope&reason=x".into(),
        "/api/staff/schedule" => "day=".into(),
        "/api/staff/template_add" => {
            "clinician=x&location=x&visit_type=x&weekday=9&start=09:00&end=10:00".into()
        }
        "/api/staff/exception_add" => {
            format!("clinician={}&day=2026-12-30&reason=x", ids.clinician)
        }
        "/api/staff/book" => format!("patient={}&slot=nope", ids.patient),
        "/api/staff/result" => format!("id={a_result}&action=fly"),
        "/api/auth/sign_in" => "login=nobody&password=wrong-password-123".into(),
        "/api/auth/sign_out" | "/api/auth/me" => String::new(),
        "/api/activation/start" => {
            "first_name=A&last_name=B&date_of_birth=1990-01-01&activation_code=ABCD-EFGH-JKMN"
                .into()
        }
        "/api/activation/account" => {
            "username=someone&email=a%40example.org&password=x&confirm_password=x".into()
        }
        "/api/activation/confirm" => "code=123456".into(),
        "/api/activation/resend" | "/api/activation/step" => String::new(),
        "/api/results/list" => "from=2025-01-01&to=".into(),
        "/api/record/medications"
        | "/api/record/allergies"
        | "/api/record/problems"
        | "/api/record/immunizations"
        | "/api/record/vitals"
        | "/api/record/visits" => "from=&to=2026-12-31".into(),
        "/api/record/highlights" | "/api/record/release_preferences" => String::new(),
        // Bad input on purpose: nothing is sent or changed by the matrix.
        "/api/record/transmit" => "email=not-an-address&format=pdf".into(),
        "/api/record/release_preference" => "category=laboratory&rule=sometime".into(),
        "/api/activity/log" => "sort=who&dir=asc&page=1".into(),
        "/api/results/get" => format!("id={a_result}"),
        "/api/sessions/list" | "/api/sessions/end_others" => String::new(),
        "/api/sessions/end" => format!("id={a_session}"),
        "/api/signin/choices" | "/api/signin/setup_begin" => String::new(),
        "/api/signin/send_code" => "method=email".into(),
        "/api/signin/verify" => "method=app&code=123456".into(),
        "/api/signin/setup_finish" => "code=123456".into(),
        "/api/security/overview"
        | "/api/security/totp_begin"
        | "/api/security/backup_codes"
        | "/api/security/phone_remove"
        | "/api/security/activity" => String::new(),
        "/api/security/reauth" => "password=not-the-password-1".into(),
        "/api/security/password" => {
            "current_password=x&new_password=Copper-Kettle-Winter-8812&confirm_password=other".into()
        }
        "/api/security/totp_confirm" => "code=12345".into(),
        "/api/security/code_factor" => "method=carrier-pigeon".into(),
        "/api/security/remove_factor" => format!("id={a_factor}"),
        "/api/security/email_start" => "email=not-an-address".into(),
        "/api/security/email_confirm"
        | "/api/security/phone_confirm" => "code=12".into(),
        "/api/security/phone_start" => "phone=call-me".into(),
        "/api/security/report" => "confirm=no".into(),
        "/api/security/passkey_begin" | "/api/signin/passkey_begin" => String::new(),
        "/api/signin/passkey_login_begin" => String::new(),
        "/api/security/passkey_finish" => "name=Phone&response=%7B%7D".into(),
        "/api/security/passkey_rename" => "id=x&name=".into(),
        "/api/signin/passkey_finish" | "/api/signin/passkey_login_finish" => {
            "response=%7B%7D".into()
        }
        "/api/proxy/page" => String::new(),
        // Bad input or unknown ids on purpose: nothing is sent or changed.
        "/api/proxy/invite" => "email=not-an-address&relationship=friend&months=12".into(),
        "/api/proxy/revoke" => "id=nope".into(),
        "/api/proxy/scopes" => "id=nope&scopes[]=results".into(),
        "/api/proxy/guardian" => {
            format!("patient={}&email=not-an-address&relationship=parent&identity_note=x", ids.patient)
        }
        "/api/proxy/switch" => "grant=nope".into(),
        "/api/proxy/invitation" | "/api/proxy/decline" => "token=nope".into(),
        "/api/proxy/accept" => "token=nope&date_of_birth=1990-01-01".into(),
        "/api/proxy/join" => {
            "token=nope&first_name=A&last_name=B&username=someone&password=x&confirm_password=x&date_of_birth=1990-01-01".into()
        }
        "/api/recovery/forgot_password" => "login=nobody.here".into(),
        "/api/recovery/forgot_username" => "email=nobody%40example.org".into(),
        "/api/recovery/reset_state" => "token=nope".into(),
        "/api/recovery/reset_send_code" => "token=nope&method=sms".into(),
        "/api/recovery/reset_factor" => "token=nope&method=app&code=123456".into(),
        "/api/recovery/reset" => {
            "token=nope&new_password=Copper-Kettle-Winter-8812&confirm_password=Copper-Kettle-Winter-8812".into()
        }
        _ => return None,
    })
}

/// For staff of the second clinic, valid requests against patient A's records (so that only
/// the clinic check can refuse them): each must get 404, and would change A's record if the
/// check were missing.
fn other_clinic_sample(path: &str, ids: &Ids) -> Option<String> {
    Some(match path {
        "/api/staff/assign" => format!("id={}&to=", ids.thread),
        "/api/staff/close" => format!("id={}", ids.thread),
        "/api/staff/cancel" => format!("id={}", ids.appointment),
        "/api/staff/account" => format!("patient={}&action=suspend", ids.patient),
        "/api/staff/letter" => format!("patient={}", ids.patient),
        "/api/staff/result" => format!("id={}&action=review", ids.result),
        "/api/staff/sensitivity" => {
            format!("what=result&id={}&category=mental-health", ids.result)
        }
        "/api/proxy/guardian" => format!(
            "patient={}&email=parent%40example.org&relationship=parent&identity_note=Checked+a+passport",
            ids.patient
        ),
        _ => return None,
    })
}

/// Functions whose sample names a record of patient A: others must get 404, never the data.
fn targets_a_record(path: &str) -> bool {
    matches!(
        path,
        "/api/results/get"
            | "/api/sessions/end"
            | "/api/security/remove_factor"
            | "/api/messages/thread"
            | "/api/appointments/cancel"
            | "/api/appointments/reschedule"
            | "/api/refills/request"
    )
}

/// What a signed-in caller allowed to call a function gets for its sample: samples that
/// carry bad input on purpose (so that nothing changes) get 400.
fn allowed_reply(path: &str) -> &'static [u16] {
    match path {
        "/api/security/reauth"
        | "/api/security/password"
        | "/api/security/totp_confirm"
        | "/api/security/code_factor"
        | "/api/security/email_start"
        | "/api/security/email_confirm"
        | "/api/security/phone_start"
        | "/api/security/phone_confirm"
        | "/api/security/report"
        | "/api/security/passkey_finish"
        | "/api/security/passkey_rename"
        | "/api/record/transmit"
        | "/api/record/release_preference"
        | "/api/proxy/invite"
        | "/api/proxy/guardian"
        | "/api/appointments/book"
        | "/api/appointments/reschedule"
        | "/api/appointments/request"
        | "/api/appointments/waitlist"
        | "/api/refills/request"
        | "/api/staff/assign"
        | "/api/staff/register"
        | "/api/staff/account"
        | "/api/staff/approve"
        | "/api/staff/deny"
        | "/api/staff/template_add"
        | "/api/staff/exception_add"
        | "/api/staff/book"
        | "/api/staff/result"
        | "/api/staff/sensitivity" => &[400],
        // Unknown ids on purpose: nothing is changed.
        "/api/appointments/accept"
        | "/api/staff/close"
        | "/api/staff/sent"
        | "/api/staff/request_done"
        | "/api/staff/cancel"
        | "/api/staff/template_remove"
        | "/api/staff/letter"
        | "/api/proxy/revoke"
        | "/api/proxy/scopes"
        | "/api/proxy/switch"
        | "/api/proxy/accept" => &[404],
        // The first call cancels A's visit; later ones find it cancelled.
        "/api/appointments/cancel" => &[200, 400],
        // New backup codes need a factor, which patient A's may be gone by then.
        "/api/security/backup_codes" => &[200, 400],
        _ => &[200],
    }
}

/// What anyone gets from a public function's sample, signed in or not: a public function
/// answers from what the request carries (a cookie of its own flow, a token, a login), never
/// from the caller's session, so every principal gets the same one status.
fn public_reply(path: &str) -> &'static [u16] {
    match path {
        // What a page asks before anything: who is signed in, and where an activation stands.
        "/api/auth/me" | "/api/activation/step" => &[200],
        // Signing out always succeeds (a session that was there is ended).
        "/api/auth/sign_out" => &[200],
        // Never says whether the account exists: the same answer for anyone.
        "/api/recovery/forgot_password" | "/api/recovery/forgot_username" => &[200],
        // Starting a passkey sign-in needs nothing yet.
        "/api/signin/passkey_login_begin" => &[200],
        // Wrong password for an unknown login.
        "/api/auth/sign_in" => &[401],
        // An invitation token that is not one.
        "/api/proxy/invitation" | "/api/proxy/decline" | "/api/proxy/join" => &[404],
        // Bad input on purpose, or a step whose flow cookie or token the request lacks.
        "/api/activation/start"
        | "/api/activation/account"
        | "/api/activation/confirm"
        | "/api/activation/resend"
        | "/api/recovery/reset_state"
        | "/api/recovery/reset_send_code"
        | "/api/recovery/reset_factor"
        | "/api/recovery/reset"
        | "/api/signin/choices"
        | "/api/signin/send_code"
        | "/api/signin/verify"
        | "/api/signin/setup_begin"
        | "/api/signin/setup_finish"
        | "/api/signin/passkey_begin"
        | "/api/signin/passkey_finish"
        | "/api/signin/passkey_login_finish" => &[400],
        other => panic!("{other} is public but the matrix has no expected reply for it"),
    }
}

/// The caregivers' grants, by who uses them.
struct Grants {
    by_scope: Vec<(Scope, String)>,
    revoked: String,
    expired: String,
    /// The demo parent's grants for her child and her teenager.
    child: String,
    teen: String,
}

async fn session(app: &TestApp, who: Who, grants: &Grants) -> Option<String> {
    let name = match who {
        Who::CaregiverOfA(scope) => {
            let grant = &grants.by_scope.iter().find(|(s, _)| *s == scope).unwrap().1;
            return Some(
                app.acting_session(&format!("kim.{}", scope.as_str()), grant)
                    .await,
            );
        }
        Who::Revoked => return Some(app.acting_session("kim.revoked", &grants.revoked).await),
        Who::Expired => return Some(app.acting_session("kim.expired", &grants.expired).await),
        Who::ParentOfChild => {
            return Some(app.acting_session(PARENT_USERNAME, &grants.child).await);
        }
        Who::ParentOfTeen => return Some(app.acting_session(PARENT_USERNAME, &grants.teen).await),
        Who::Teen => TEEN_USERNAME,
        Who::CaregiverAlone => "kim.results",
        Who::Anonymous => return None,
        Who::PatientA => READY_USERNAME,
        Who::PatientB => "emet.stubfield",
        Who::Clinician => "fen.mocklin",
        Who::FrontDesk => "riley.frontdesk",
        Who::Admin => "sam.admin",
        Who::Suspended => "kim.suspended",
        Who::OtherClinician => "ola.otherclinic",
        Who::OtherFrontDesk => "ari.otherdesk",
    };
    Some(app.session_for(name).await)
}

fn is_staff(who: Who) -> bool {
    matches!(
        who,
        Who::Clinician | Who::FrontDesk | Who::Admin | Who::OtherClinician | Who::OtherFrontDesk
    )
}

fn other_clinic(who: Who) -> bool {
    matches!(who, Who::OtherClinician | Who::OtherFrontDesk)
}

/// What staff of the second clinic get for a staff function whose sample names patient A,
/// her thread, her result or clinic 1's clinician and visit type: never the record. Samples
/// that carry bad input on purpose may be refused for it first.
fn other_clinic_reply(path: &str) -> Option<&'static [u16]> {
    match path {
        "/api/staff/thread"
        | "/api/staff/assign"
        | "/api/staff/close"
        | "/api/staff/cancel"
        | "/api/staff/account"
        | "/api/staff/letter"
        | "/api/staff/result"
        | "/api/staff/sensitivity"
        | "/api/proxy/guardian" => Some(&[404]),
        // Another clinic's visit type is not one of theirs to choose; the slot is made up.
        "/api/staff/slots" | "/api/staff/book" => Some(&[400, 404]),
        // A clinician may add time off only to their own schedule.
        "/api/staff/exception_add" => Some(&[400, 403, 404]),
        _ => None,
    }
}

fn expected(policy: Policy, who: Who, path: &str) -> &'static [u16] {
    match (policy, who) {
        (Policy::Public, _) => public_reply(path),
        (_, Who::Anonymous | Who::Suspended) => &[401],
        (Policy::SignedIn, Who::PatientA) => allowed_reply(path),
        (Policy::SignedIn, _) if targets_a_record(path) => &[404],
        (Policy::SignedIn, _) => allowed_reply(path),
        (Policy::Person | Policy::AnyRecord | Policy::SelfOnly, w) if is_staff(w) => &[403],
        (Policy::Person, _) => allowed_reply(path),
        (Policy::AnyRecord, Who::Revoked | Who::Expired | Who::CaregiverAlone) => &[403],
        (Policy::AnyRecord, _) => allowed_reply(path),
        (Policy::SelfOnly, Who::PatientA | Who::PatientB | Who::Teen) => allowed_reply(path),
        (Policy::SelfOnly, _) => &[403],
        (Policy::Record(_), w) if is_staff(w) => &[403],
        // Someone else's whole record: A's ids are not found there.
        (Policy::Record(_), Who::PatientB | Who::Teen | Who::ParentOfChild | Who::ParentOfTeen)
            if targets_a_record(path) =>
        {
            &[404]
        }
        (
            Policy::Record(_),
            Who::PatientA | Who::PatientB | Who::Teen | Who::ParentOfChild | Who::ParentOfTeen,
        ) => allowed_reply(path),
        (Policy::Record(scope), Who::CaregiverOfA(granted)) if scope == granted => {
            allowed_reply(path)
        }
        (Policy::Record(_), _) => &[403],
        (Policy::Staff(_), w) if !is_staff(w) => &[403],
        (Policy::Staff(roles), staff) => {
            let role = match staff {
                Who::Clinician | Who::OtherClinician => Role::Clinician,
                Who::FrontDesk | Who::OtherFrontDesk => Role::FrontDesk,
                _ => Role::Admin,
            };
            if !roles.contains(&role) {
                &[403]
            } else if let Some(reply) = other_clinic_reply(path).filter(|_| other_clinic(staff)) {
                reply
            } else {
                allowed_reply(path)
            }
        }
    }
}

#[tokio::test]
async fn every_server_function_has_a_policy_and_the_policy_holds_for_every_principal() {
    let app = spawn_app().await;
    app.activate(ACTIVATE_MRN, "emet.stubfield").await;
    // A suspended account: a caregiver of A's whose account the clinic suspended.
    app.caregiver(READY_USERNAME, "kim.suspended", &[Scope::Results])
        .await;
    user_account::Entity::update_many()
        .col_expr(user_account::Column::SuspendedAt, Expr::value(1i64))
        .filter(user_account::Column::Username.eq("kim.suspended"))
        .exec(&app.portal.db)
        .await
        .unwrap();
    app.second_clinic().await;
    let a_result = app.a_result_of(READY_MRN).await;
    let a_patient = app.portal.patient_by_mrn(READY_MRN).await.unwrap();
    let a_user = app.user_id(READY_USERNAME).await;
    let a_account = user_account::Entity::find_by_id(a_user.clone())
        .one(&app.portal.db)
        .await
        .unwrap()
        .unwrap();
    app.portal
        .enable_code_factor(
            &a_account,
            domain::security::Method::Email,
            &Default::default(),
        )
        .await
        .unwrap();
    let a_factor = backend::auth::factors::confirmed_factors(&app.portal.db, &a_user)
        .await
        .unwrap()[0]
        .id
        .clone();

    let a_token = app.session_for(READY_USERNAME).await;
    let a_principal = app.portal.principal(Some(&a_token)).await.unwrap();
    let a_access = app
        .portal
        .own_record(&a_principal, &Default::default())
        .await
        .unwrap();
    let team = app.portal.care_teams(&a_access).await.unwrap()[0]
        .id
        .clone();
    let thread = app
        .portal
        .start_thread(
            &a_access,
            &team,
            None,
            "question",
            &marker(Scope::Messages),
            "For my team only",
            vec![],
        )
        .await
        .unwrap();
    let follow_up = backend::storage::entity::visit_type::Entity::find()
        .filter(backend::storage::entity::visit_type::Column::Name.eq("Follow-up visit"))
        .one(&app.portal.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let slot = app
        .portal
        .patient_slots(&a_access, &follow_up, None, Some("2030-01-07"))
        .await
        .unwrap_or_default();
    let later = match slot.first() {
        Some(s) => s.key.clone(),
        None => app
            .portal
            .patient_slots(&a_access, &follow_up, None, None)
            .await
            .unwrap()
            .last()
            .unwrap()
            .key
            .clone(),
    };
    let appointment = app
        .portal
        .book_appointment(&a_access, &later, &marker(Scope::Appointments))
        .await
        .unwrap();
    let medication = backend::storage::entity::medication::Entity::find()
        .filter(backend::storage::entity::medication::Column::PatientId.eq(a_access.patient_id()))
        .filter(backend::storage::entity::medication::Column::Status.eq("active"))
        .one(&app.portal.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let clinician = app.user_id("fen.mocklin").await;
    plant_markers(&app, a_access.patient_id()).await;
    let mut by_scope = vec![];
    for scope in Scope::ALL {
        let grant = app
            .caregiver(READY_USERNAME, &format!("kim.{}", scope.as_str()), &[scope])
            .await;
        by_scope.push((scope, grant));
    }
    let revoked = app
        .caregiver(READY_USERNAME, "kim.revoked", &Scope::ALL)
        .await;
    let a_principal = app
        .portal
        .principal(Some(&app.session_for(READY_USERNAME).await))
        .await
        .unwrap();
    app.portal
        .revoke_grant(&a_principal, &revoked, &Default::default())
        .await
        .unwrap();
    let expired = app
        .caregiver(READY_USERNAME, "kim.expired", &Scope::ALL)
        .await;
    backend::storage::entity::proxy_grant::Entity::update_many()
        .col_expr(
            backend::storage::entity::proxy_grant::Column::ExpiresAt,
            Expr::value(app.portal.now() - 1),
        )
        .filter(backend::storage::entity::proxy_grant::Column::Id.eq(expired.clone()))
        .exec(&app.portal.db)
        .await
        .unwrap();
    let parent = app.user_id(PARENT_USERNAME).await;
    let parent_grant = |mrn: &'static str| {
        let app = &app;
        let parent = parent.clone();
        async move {
            let child = app.portal.patient_by_mrn(mrn).await.unwrap();
            backend::storage::entity::proxy_grant::Entity::find()
                .filter(backend::storage::entity::proxy_grant::Column::PatientId.eq(child.id))
                .filter(backend::storage::entity::proxy_grant::Column::CaregiverUserId.eq(parent))
                .one(&app.portal.db)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let grants = Grants {
        by_scope,
        revoked,
        expired,
        child: parent_grant(CHILD_MRN).await,
        teen: parent_grant(TEEN_MRN).await,
    };
    // The teenager's confidential result carries a marker of its own.
    let teen = app.portal.patient_by_mrn(TEEN_MRN).await.unwrap();
    let marked = backend::storage::entity::observation::Entity::update_many()
        .col_expr(
            backend::storage::entity::observation::Column::Name,
            Expr::value(TEEN_SECRET),
        )
        .filter(backend::storage::entity::observation::Column::PatientId.eq(teen.id))
        .filter(backend::storage::entity::observation::Column::Sensitivity.is_not_null())
        .exec(&app.portal.db)
        .await
        .unwrap()
        .rows_affected;
    assert_eq!(marked, 1, "the teenager has one confidential result");
    let registered: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert!(
        registered.len() >= POLICIES.len(),
        "registered: {registered:?}"
    );
    for (path, _) in POLICIES {
        assert!(
            registered.iter().any(|(p, _)| p == path),
            "{path} is declared in POLICIES but no such server function is registered"
        );
    }
    let mut checked = 0;
    for (path, method) in &registered {
        assert_eq!(method, "POST", "{path}: every server function is POST-only");
        let policy = policy_of(path).unwrap_or_else(|| {
            panic!("{path} has no entry in app::api::POLICIES: declare who may call it")
        });
        for who in everyone() {
            // A fresh other session of patient A's for every call (only A may end it), so
            // the outcome does not depend on the order the functions are listed in.
            let a_session =
                backend::auth::session::create(&app.portal.db, &app.portal, &a_user, None, None)
                    .await
                    .unwrap()
                    .id;
            let ids = Ids {
                result: a_result.clone(),
                session: a_session,
                factor: a_factor.clone(),
                thread: thread.clone(),
                appointment: appointment.clone(),
                medication: medication.clone(),
                patient: a_access.patient_id().to_owned(),
                follow_up: follow_up.clone(),
                clinician: clinician.clone(),
            };
            let body = other_clinic_sample(path, &ids)
                .filter(|_| other_clinic(who))
                .or_else(|| sample(path, &ids))
                .unwrap_or_else(|| {
                    panic!("{path} has no sample request in the access-matrix test")
                });
            let token = session(&app, who, &grants).await;
            if matches!(policy, Policy::Public) {
                // Public functions count tries per address and per name: every caller starts
                // from none, so a reply does not depend on how many callers came before.
                backend::storage::entity::throttle::Entity::delete_many()
                    .exec(&app.portal.db)
                    .await
                    .unwrap();
            }
            let reply = app.call(path, &body, token.as_deref()).await;
            let ok = expected(policy, who, path);
            assert!(
                ok.contains(&reply.status),
                "{path} as {who:?}: got {} (expected one of {ok:?}): {}",
                reply.status,
                reply.body
            );
            // Staff read their own clinic's patients through their own functions, by role.
            let staff_reading =
                is_staff(who) && !other_clinic(who) && matches!(policy, Policy::Staff(_));
            if other_clinic(who) {
                for who_a in [&a_patient.family_name, &a_patient.mrn] {
                    assert!(
                        !reply.body.contains(who_a.as_str()),
                        "{path} as {who:?} named patient A of the other clinic: {}",
                        reply.body
                    );
                }
            }
            if !staff_reading {
                for scope in Scope::ALL {
                    assert!(
                        entitled(who, scope) || !reply.body.contains(&marker(scope)),
                        "{path} as {who:?} leaked {}: {}",
                        marker(scope),
                        reply.body
                    );
                }
                assert!(
                    who == Who::Teen || !reply.body.contains(TEEN_SECRET),
                    "{path} as {who:?} leaked the teenager's confidential result: {}",
                    reply.body
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= POLICIES.len() * everyone().len());
}

#[tokio::test]
async fn patient_b_asking_for_patient_a_result_gets_404_and_the_attempt_is_audited() {
    use backend::storage::entity::audit_event;
    let app = spawn_app().await;
    app.activate(ACTIVATE_MRN, "emet.stubfield").await;
    let a_result = app.a_result_of(READY_MRN).await;
    let b = app.session_for("emet.stubfield").await;
    let reply = app
        .call("/api/results/get", &format!("id={a_result}"), Some(&b))
        .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    let a = app.session_for(READY_USERNAME).await;
    let reply = app
        .call("/api/results/get", &format!("id={a_result}"), Some(&a))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let denied = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("record.view"))
        .filter(audit_event::Column::Outcome.eq("denied"))
        .filter(audit_event::Column::ObjectId.eq(a_result.clone()))
        .all(&app.portal.db)
        .await
        .unwrap();
    assert_eq!(denied.len(), 1);
}
