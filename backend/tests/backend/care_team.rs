//! Working with the care team, with an injected clock: message threads and the team inbox,
//! refill requests (approve, deny, duplicate, sent), booking with its cut-off, the waitlist's
//! offer and acceptance, reminders, and the double-booking race under many concurrent
//! requests (SQLite file and PostgreSQL).

use crate::common::*;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::messaging::Upload;
use backend::storage::entity::{
    appointment, medication, message, message_attachment, patient, refill_request, visit_type,
};
use backend::{Error, PatientAccess, Portal};
use domain::care::{InboxView, RefillStatus};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

async fn dara(portal: &Portal) -> PatientAccess {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    portal.own_record(&p, &meta()).await.unwrap()
}

async fn emet(portal: &Portal) -> PatientAccess {
    let e = activate_emet(portal).await;
    let p = portal.principal(Some(&e.token)).await.unwrap();
    portal.own_record(&p, &meta()).await.unwrap()
}

use domain::session::staff_roles::ANY_STAFF as ALL;

fn no_files() -> Vec<Upload> {
    vec![]
}

async fn team_of(portal: &Portal, a: &PatientAccess) -> String {
    portal.care_teams(a).await.unwrap()[0].id.clone()
}

#[tokio::test]
async fn a_patient_message_reaches_the_team_inbox_and_the_reply_comes_back_unread() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let team = team_of(&portal, &a).await;
    let id = portal
        .start_thread(
            &a,
            &team,
            None,
            "medication",
            "Metformin and nausea",
            "Since the dose went up I feel sick after breakfast.\nSee https://example.org/info.",
            vec![Upload {
                filename: "readings.pdf".into(),
                bytes: b"%PDF-1.7 readings".to_vec(),
            }],
        )
        .await
        .unwrap();
    // The team is told by email, without health information.
    let mails = portal.outbox(100).await.unwrap();
    let notice = mails
        .iter()
        .find(|m| m.recipient == "fen.mocklin@riverside.example.org")
        .expect("the clinician is told");
    assert!(!notice.body.contains("Metformin") && !notice.body.contains("Dara"));
    assert_eq!(count(&portal, message_attachment::Entity).await, 1);

    let fen = clinician(&portal).await;
    let unassigned = portal.inbox(&fen, InboxView::Unassigned).await.unwrap();
    assert_eq!(unassigned.len(), 1);
    // The inbox read is an entry on the record of each patient it showed.
    let listed = audit_rows(&portal, "message.inbox").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].patient_id.as_deref(), Some(a.patient_id()));
    assert_eq!(listed[0].detail.as_deref(), Some("inbox unassigned"));
    assert!(unassigned[0].unread);
    assert_eq!(unassigned[0].patient.as_deref(), Some("Dara Dummett"));
    clock.advance(HOUR);
    portal
        .staff_reply(
            &fen,
            &id,
            "Take it with food; we can lower the dose.",
            no_files(),
        )
        .await
        .unwrap();
    // Replying assigns the thread to the one who answered.
    assert!(
        portal
            .inbox(&fen, InboxView::Unassigned)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(portal.inbox(&fen, InboxView::Mine).await.unwrap().len(), 1);
    assert_eq!(portal.unread_threads(&a).await.unwrap(), 1);
    let mails = portal.outbox(100).await.unwrap();
    let told = mails
        .iter()
        .rev()
        .find(|m| m.recipient == "dara.dummett@example.org")
        .unwrap();
    assert!(told.body.contains("sent you a message") && !told.body.contains("dose"));

    let t = portal.patient_thread(&a, &id).await.unwrap();
    assert_eq!(t.messages.len(), 2);
    assert_eq!(t.messages[0].author, "You");
    assert_eq!(t.messages[1].author, "Dr Fen Mocklin");
    assert!(
        t.messages[0].body.iter().any(
            |s| matches!(s, domain::care::Segment::Link(u) if u == "https://example.org/info")
        )
    );
    assert_eq!(portal.unread_threads(&a).await.unwrap(), 0);
    assert!(!audit_rows(&portal, "message.read").await.is_empty());
    assert_eq!(audit_rows(&portal, "message.sent").await.len(), 2);

    portal.close_thread(&fen, &id).await.unwrap();
    let e = portal
        .patient_reply(&a, &id, "One more thing", no_files())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("closed"), "{e}");
    assert_eq!(
        portal.inbox(&fen, InboxView::Closed).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn patient_b_can_never_read_or_answer_patient_a_thread_or_its_files() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let team = team_of(&portal, &a).await;
    let id = portal
        .start_thread(
            &a,
            &team,
            None,
            "question",
            "Private",
            "Only for my team",
            vec![Upload {
                filename: "x.png".into(),
                bytes: vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2],
            }],
        )
        .await
        .unwrap();
    let file = message_attachment::Entity::find()
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let b = emet(&portal).await;
    assert!(matches!(
        portal.patient_thread(&b, &id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        portal.patient_reply(&b, &id, "hi", no_files()).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        portal.patient_attachment(&b, &file.id).await,
        Err(Error::NotFound)
    ));
    assert!(portal.patient_threads(&b).await.unwrap().is_empty());
    assert_eq!(count(&portal, message::Entity).await, 1);
    // The owner gets the file, typed from its content.
    let got = portal.patient_attachment(&a, &file.id).await.unwrap();
    assert_eq!(got.content_type, "image/png");
}

#[tokio::test]
async fn attachments_over_the_limits_leave_nothing_behind() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let team = team_of(&portal, &a).await;
    let mut big = b"%PDF-".to_vec();
    big.resize(domain::care::ATTACHMENT_BYTES_MAX + 1, 0);
    let too_big = portal
        .start_thread(
            &a,
            &team,
            None,
            "question",
            "Scan",
            "attached",
            vec![Upload {
                filename: "scan.pdf".into(),
                bytes: big,
            }],
        )
        .await;
    assert!(invalid(too_big).contains("at most 5.0 MB"));
    let wrong = portal
        .start_thread(
            &a,
            &team,
            None,
            "question",
            "Scan",
            "attached",
            vec![Upload {
                filename: "scan.pdf".into(),
                bytes: b"MZ\x90\x00 not a pdf".to_vec(),
            }],
        )
        .await;
    assert!(invalid(wrong).contains("not a PDF, JPEG or PNG"));
    let empty = portal
        .start_thread(&a, &team, None, "question", " ", " ", no_files())
        .await;
    assert!(invalid(empty).contains("subject"));
    assert_eq!(count(&portal, message::Entity).await, 0);
}

#[tokio::test]
async fn front_desk_and_admin_roles_are_refused_clinical_work_by_the_backend() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let med = active_med(&portal, &a).await;
    let pharmacy = portal.pharmacies(&a).await.unwrap()[0].id.clone();
    let id = portal
        .request_refill(&a, &med, &pharmacy, "")
        .await
        .unwrap();
    let riley = front_desk(&portal).await;
    assert!(matches!(
        portal.approve_refill(&riley, &id, 30).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        portal.deny_refill(&riley, &id, "No, not today").await,
        Err(Error::Forbidden)
    ));
    let sam = staff(&portal, "sam.admin", ALL).await;
    assert!(matches!(
        portal.inbox(&sam, InboxView::Unassigned).await,
        Err(Error::Forbidden)
    ));
    // Patients are not staff at all, and the refusal is audited.
    let dara_p = portal
        .principal(Some(
            &sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await.token,
        ))
        .await
        .unwrap();
    assert!(matches!(
        portal.staff_access(&dara_p, ALL, "inbox", &meta()).await,
        Err(Error::Forbidden)
    ));
    assert!(!audit_rows(&portal, "access.denied").await.is_empty());
}

async fn active_med(portal: &Portal, a: &PatientAccess) -> String {
    medication::Entity::find()
        .filter(medication::Column::PatientId.eq(a.patient_id()))
        .filter(medication::Column::Status.eq("active"))
        .one(&portal.db)
        .await
        .unwrap()
        .expect("Dara has an active medication")
        .id
}

#[tokio::test]
async fn a_refill_goes_requested_approved_sent_and_a_duplicate_open_request_is_refused() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let med = active_med(&portal, &a).await;
    let pharmacy = portal.pharmacies(&a).await.unwrap()[0].id.clone();
    let id = portal
        .request_refill(&a, &med, &pharmacy, "Running low")
        .await
        .unwrap();
    let dup = portal.request_refill(&a, &med, &pharmacy, "").await;
    match dup {
        Err(Error::Conflict(m)) => assert!(m.contains("already requested"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let fen = clinician(&portal).await;
    assert_eq!(portal.refill_queue(&fen).await.unwrap().len(), 1);
    let bad = portal.mark_refill_sent(&fen, &id).await;
    assert!(invalid(bad).contains("cannot become"));
    clock.advance(HOUR);
    portal.approve_refill(&fen, &id, 90).await.unwrap();
    // Approved is still open: no second request yet.
    assert!(matches!(
        portal.request_refill(&a, &med, &pharmacy, "").await,
        Err(Error::Conflict(_))
    ));
    let riley = front_desk(&portal).await;
    portal.mark_refill_sent(&riley, &id).await.unwrap();
    let r = portal.patient_refills(&a).await.unwrap();
    assert_eq!(r[0].status, RefillStatus::Sent);
    assert_eq!(r[0].quantity, Some(90));
    // Once sent, the medication can be requested again.
    portal
        .request_refill(&a, &med, &pharmacy, "")
        .await
        .unwrap();
    let mails = portal.outbox(100).await.unwrap();
    let to_dara: Vec<_> = mails
        .iter()
        .filter(|m| m.recipient == "dara.dummett@example.org")
        .collect();
    assert!(to_dara.iter().any(|m| m.subject.contains("approved")));
    assert!(
        to_dara
            .iter()
            .any(|m| m.subject.contains("sent to the pharmacy"))
    );
    assert_eq!(audit_rows(&portal, "refill.approved").await.len(), 1);
}

#[tokio::test]
async fn a_denied_refill_shows_its_reason_and_frees_the_medication() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let med = active_med(&portal, &a).await;
    let pharmacy = portal.pharmacies(&a).await.unwrap()[1].id.clone();
    let id = portal
        .request_refill(&a, &med, &pharmacy, "")
        .await
        .unwrap();
    let fen = clinician(&portal).await;
    assert!(invalid(portal.deny_refill(&fen, &id, "no").await).contains("reason"));
    portal
        .deny_refill(&fen, &id, "We need to see you first: book a follow-up.")
        .await
        .unwrap();
    let r = portal.patient_refills(&a).await.unwrap();
    assert_eq!(r[0].status, RefillStatus::Denied);
    assert_eq!(
        r[0].deny_reason.as_deref(),
        Some("We need to see you first: book a follow-up.")
    );
    assert!(matches!(
        portal.approve_refill(&fen, &id, 30).await,
        Err(Error::Invalid(_))
    ));
    portal
        .request_refill(&a, &med, &pharmacy, "")
        .await
        .unwrap();
    let open = refill_request::Entity::find()
        .filter(refill_request::Column::OpenKey.is_not_null())
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
}

async fn kind(portal: &Portal, name: &str) -> String {
    visit_type::Entity::find()
        .filter(visit_type::Column::Name.eq(name))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn booking_cancelling_before_the_cut_off_and_not_after() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let slots = portal
        .patient_slots(&a, &follow_up, None, None)
        .await
        .unwrap();
    // Wednesday 25 November 2026, 06:00 in Chicago: the first slot is that morning at 09:00.
    assert_eq!(slots[0].time, "09:00");
    assert_eq!(slots[0].day, "Wednesday 25 November 2026");
    assert_eq!(slots[1].time, "09:20");
    // A visit type the clinic books is refused for self-scheduling.
    let new_problem = kind(&portal, "New problem visit").await;
    assert!(
        invalid(portal.patient_slots(&a, &new_problem, None, None).await).contains("visit request")
    );

    // Book one a week ahead.
    let later = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    let id = portal
        .book_appointment(&a, &later[0].key, "Check-up")
        .await
        .unwrap();
    let page = portal.patient_appointments(&a).await.unwrap();
    assert_eq!(page.upcoming.len(), 1);
    assert!(page.upcoming[0].changeable);
    assert!(
        page.upcoming[0]
            .when
            .contains("Wednesday 2 December 2026, 09:00")
    );
    // The slot is gone for everyone.
    let again = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    assert_ne!(again[0].key, later[0].key);
    let ics = portal.appointment_ics(&a, &id).await.unwrap();
    assert!(ics.contains("DTSTART:20261202T150000Z"), "{ics}");

    portal.cancel_appointment(&a, &id).await.unwrap();
    let page = portal.patient_appointments(&a).await.unwrap();
    assert!(page.upcoming.iter().all(|u| u.status == "Cancelled"));
    // The cancelled slot is open again.
    let reopened = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    assert_eq!(reopened[0].key, later[0].key);
    // Inside 24 hours of the visit, online changes are closed.
    let again = portal
        .book_appointment(&a, &later[0].key, "")
        .await
        .unwrap();
    clock.advance(DAY * 6 + HOUR * 10);
    let late = portal.cancel_appointment(&a, &again).await;
    assert!(invalid(late).contains("too late"));
    assert!(
        !portal
            .patient_appointments(&a)
            .await
            .unwrap()
            .upcoming
            .iter()
            .any(|u| u.changeable)
    );
}

#[tokio::test]
async fn rescheduling_moves_the_visit_in_one_step_and_time_off_removes_slots() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let slots = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    let first = portal
        .book_appointment(&a, &slots[0].key, "")
        .await
        .unwrap();
    let moved = portal
        .reschedule_appointment(&a, &first, &slots[3].key)
        .await
        .unwrap();
    let rows = appointment::Entity::find().all(&portal.db).await.unwrap();
    let old = rows.iter().find(|r| r.id == first).unwrap();
    let new = rows.iter().find(|r| r.id == moved).unwrap();
    assert_eq!(old.status, "cancelled");
    assert_eq!(new.status, "booked");

    let riley = front_desk(&portal).await;
    let fen = clinician(&portal).await;
    portal
        .add_exception(
            &riley,
            fen.user_id(),
            "2026-12-03",
            None,
            None,
            "Training day",
        )
        .await
        .unwrap();
    let thursday = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-03"))
        .await
        .unwrap();
    assert!(thursday.iter().all(|s| !s.day.contains("3 December")));
    // Overlapping templates are refused.
    let setup = portal.schedule_setup(&riley).await.unwrap();
    let loc = &setup.locations[0].0;
    let e = portal
        .add_availability(&riley, fen.user_id(), loc, &follow_up, 1, 10 * 60, 11 * 60)
        .await;
    assert!(matches!(e, Err(Error::Conflict(_))));
}

#[tokio::test]
async fn a_cancelled_slot_is_offered_to_the_waitlist_and_the_first_to_accept_gets_it() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let b = emet(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let early = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    let late = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-16"))
        .await
        .unwrap();
    // Dara holds the early slot; Emet has a later visit and wants an earlier one.
    let dara_visit = portal
        .book_appointment(&a, &early[0].key, "")
        .await
        .unwrap();
    let emet_visit = portal.book_appointment(&b, &late[0].key, "").await.unwrap();
    portal
        .join_waitlist(&b, &follow_up, Some(&emet_visit))
        .await
        .unwrap();
    assert!(matches!(
        portal.join_waitlist(&b, &follow_up, None).await,
        Err(Error::Conflict(_))
    ));
    portal.cancel_appointment(&a, &dara_visit).await.unwrap();
    let offers = portal.patient_appointments(&b).await.unwrap().offers;
    assert_eq!(offers.len(), 1);
    assert!(offers[0].when.contains("2 December 2026, 09:00"));
    let mails = portal.outbox(200).await.unwrap();
    assert!(
        mails
            .iter()
            .any(|m| m.recipient == EMET_EMAIL && m.subject.contains("earlier appointment"))
    );

    // Dara takes the slot back first: the offer is then taken.
    let offer_id = offers[0].id.clone();
    portal
        .book_appointment(&a, &early[0].key, "")
        .await
        .unwrap();
    match portal.accept_offer(&b, &offer_id).await {
        Err(Error::Conflict(m)) => assert!(m.contains("first"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        portal
            .patient_appointments(&b)
            .await
            .unwrap()
            .offers
            .is_empty()
    );
    // Emet's own later visit is untouched.
    let still = appointment::Entity::find_by_id(emet_visit.clone())
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, "booked");
}

#[tokio::test]
async fn accepting_an_offer_books_the_earlier_slot_and_cancels_the_later_visit() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let b = emet(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let early = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    let late = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-16"))
        .await
        .unwrap();
    let dara_visit = portal
        .book_appointment(&a, &early[0].key, "")
        .await
        .unwrap();
    let emet_visit = portal.book_appointment(&b, &late[0].key, "").await.unwrap();
    portal
        .join_waitlist(&b, &follow_up, Some(&emet_visit))
        .await
        .unwrap();
    portal.cancel_appointment(&a, &dara_visit).await.unwrap();
    let offer = portal.patient_appointments(&b).await.unwrap().offers[0]
        .id
        .clone();
    let new = portal.accept_offer(&b, &offer).await.unwrap();
    let rows = appointment::Entity::find().all(&portal.db).await.unwrap();
    assert_eq!(rows.iter().find(|r| r.id == new).unwrap().status, "booked");
    assert_eq!(
        rows.iter().find(|r| r.id == emet_visit).unwrap().status,
        "cancelled"
    );
    assert!(matches!(
        portal.accept_offer(&b, &offer).await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn a_reminder_goes_once_a_configured_time_before_the_visit() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let slots = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap();
    portal
        .book_appointment(&a, &slots[0].key, "")
        .await
        .unwrap();
    assert_eq!(portal.send_due_reminders().await.unwrap(), 0);
    // 2 December 09:00 Chicago is 15:00 UTC; 24 hours before is 1 December 15:00 UTC.
    clock.advance(DAY * 6 + HOUR * 2);
    assert_eq!(portal.send_due_reminders().await.unwrap(), 0);
    clock.advance(HOUR * 2);
    assert_eq!(portal.send_due_reminders().await.unwrap(), 1);
    assert_eq!(portal.send_due_reminders().await.unwrap(), 0);
    let mails = portal.outbox(100).await.unwrap();
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("appointment reminder")
                && m.recipient == "dara.dummett@example.org")
    );
}

/// Extra patients of the demo clinic, for the race.
async fn more_patients(portal: &Portal, n: usize) -> Vec<String> {
    let clinic = patient::Entity::find()
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap()
        .clinic_id;
    let mut ids = Vec::new();
    for i in 0..n {
        let id = backend::new_id();
        patient::ActiveModel {
            id: Set(id.clone()),
            clinic_id: Set(clinic.clone()),
            mrn: Set(format!("RACE{i:04}")),
            mrn_system: Set(None),
            fhir_id: Set(None),
            given_name: Set(format!("Racer{i}")),
            family_name: Set("Test".into()),
            birth_date: Set("1980-01-01".into()),
            sex: Set(None),
            created_at: Set(portal.now()),
            updated_at: Set(portal.now()),
            resource: Set(None),
        }
        .insert(&portal.db)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_bookings_of_one_slot_make_exactly_one_appointment_on_a_sqlite_file() {
    let (portal, _clock, _dir) = sqlite_file_portal().await;
    race(portal).await;
}

/// On PostgreSQL when `TEST_DATABASE_URL` names one (CI does); in-memory SQLite otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_bookings_of_one_slot_make_exactly_one_appointment_on_the_test_database() {
    let (portal, _clock) = portal().await;
    race(portal).await;
}

async fn race(portal: Portal) {
    seed(&portal).await;
    let a = dara(&portal).await;
    let b = emet(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let slot = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-02"))
        .await
        .unwrap()[0]
        .key
        .clone();
    let others = more_patients(&portal, 14).await;
    let riley = front_desk(&portal).await;
    // Two instances of the portal share the database, as behind a load balancer.
    let second = crate::common::with_settings(&portal, backend::Settings::for_tests());
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in others.into_iter().enumerate() {
        let (portal, riley, slot) = (
            if i % 2 == 0 {
                portal.clone()
            } else {
                second.clone()
            },
            riley.clone(),
            slot.clone(),
        );
        tasks.spawn(async move { portal.staff_book(&riley, &p, &slot).await.map(|_| ()) });
    }
    for access in [a, b] {
        let (portal, slot) = (portal.clone(), slot.clone());
        tasks.spawn(async move {
            portal
                .book_appointment(&access, &slot, "")
                .await
                .map(|_| ())
        });
    }
    let (mut ok, mut taken) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::Conflict(_)) => taken += 1,
            Err(e) => panic!("a booking failed with something other than 'taken': {e:?}"),
        }
    }
    assert_eq!((ok, taken), (1, 15));
    let booked = appointment::Entity::find()
        .filter(appointment::Column::Status.eq("booked"))
        .all(&portal.db)
        .await
        .unwrap();
    assert_eq!(booked.len(), 1);
    assert_eq!(audit_rows(&portal, "appointment.booked").await.len(), 1);
}

#[tokio::test]
async fn a_second_open_visit_request_or_waitlist_place_for_the_same_kind_is_refused() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let new_problem = kind(&portal, "New problem visit").await;
    portal
        .request_visit(&a, &new_problem, "Mornings next week", "Knee pain")
        .await
        .unwrap();
    assert!(matches!(
        portal
            .request_visit(&a, &new_problem, "Any afternoon", "")
            .await,
        Err(Error::Conflict(_))
    ));
    let riley = front_desk(&portal).await;
    let open = portal.visit_requests(&riley).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        audit_rows(&portal, "appointment.requests").await[0]
            .patient_id
            .as_deref(),
        Some(a.patient_id())
    );
    portal
        .handle_visit_request(&riley, &open[0].id)
        .await
        .unwrap();
    // Handled: a new request is possible again.
    portal
        .request_visit(&a, &new_problem, "Any afternoon", "")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_waitlist_follows_a_rescheduled_visit_and_ends_with_a_cancelled_one() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let a = dara(&portal).await;
    let follow_up = kind(&portal, "Follow-up visit").await;
    let slots = portal
        .patient_slots(&a, &follow_up, None, Some("2026-12-09"))
        .await
        .unwrap();
    let first = portal
        .book_appointment(&a, &slots[0].key, "")
        .await
        .unwrap();
    portal
        .join_waitlist(&a, &follow_up, Some(&first))
        .await
        .unwrap();
    let moved = portal
        .reschedule_appointment(&a, &first, &slots[2].key)
        .await
        .unwrap();
    let entry = backend::storage::entity::waitlist_entry::Entity::find()
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.appointment_id.as_deref(), Some(moved.as_str()));
    assert_eq!(entry.status, "waiting");
    portal.cancel_appointment(&a, &moved).await.unwrap();
    let entry = backend::storage::entity::waitlist_entry::Entity::find()
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.status, "ended");
    // With the old place ended, the patient may join again.
    portal.join_waitlist(&a, &follow_up, None).await.unwrap();
}
