//! A day of work waiting in the demo clinic, dated from the day the demo is seeded: unread
//! threads in the team inbox, an open refill request, a visit today and more this week, a
//! visit request, and results to review (the teenager's, imported unreviewed). The demo's
//! caregivers did part of it, so the labels for their work show too. Dara Dummett, whom the
//! end-to-end tests follow, is left as she is.

use super::family::{CHILD_MRN, DAUGHTER_USERNAME, FATHER_MRN, PARENT_USERNAME, TEEN_USERNAME};
use super::user_id;
use crate::access::PatientAccess;
use crate::scheduling::{BOOKED, booked_key};
use crate::storage::entity::{appointment, availability, medication, pharmacy, visit_type};
use crate::{Error, Portal, Result, new_id};
use domain::proxy::Scope;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

async fn visit_kind(portal: &Portal, clinic_id: &str, name: &str) -> Result<visit_type::Model> {
    visit_type::Entity::find()
        .filter(visit_type::Column::ClinicId.eq(clinic_id))
        .filter(visit_type::Column::Name.eq(name))
        .one(&portal.db)
        .await?
        .ok_or(Error::NotFound)
}

/// A visit at 08:00 today in the clinic's time zone (before the bookable hours, so it never
/// takes a slot), booked by the front desk.
async fn visit_today(portal: &Portal, clinic_id: &str, patient_id: &str) -> Result<()> {
    let kind = visit_kind(portal, clinic_id, "Follow-up visit").await?;
    let template = availability::Entity::find()
        .filter(availability::Column::VisitTypeId.eq(kind.id.clone()))
        .one(&portal.db)
        .await?
        .ok_or(Error::NotFound)?;
    let zone = portal.clinic_zone(clinic_id).await?;
    let now = portal.now();
    let start = zone
        .instant(zone.date_of(now), 8 * 60)
        .ok_or_else(|| Error::Unexpected("no 08:00 today".into()))?;
    let desk = user_id(portal, super::STAFF[1].0).await?;
    appointment::ActiveModel {
        id: Set(new_id()),
        patient_id: Set(patient_id.to_owned()),
        clinician_id: Set(template.clinician_id.clone()),
        location_id: Set(template.location_id),
        visit_type_id: Set(kind.id),
        start_at: Set(start),
        end_at: Set(start + i64::from(kind.minutes) * 60_000),
        status: Set(BOOKED.into()),
        reason: Set(Some("Ear check after the infection".into())),
        booked_by: Set(desk),
        booked_at: Set(now),
        cancelled_at: Set(None),
        cancelled_by: Set(None),
        // No reminder for a visit booked on its own day.
        reminder_sent_at: Set(Some(now)),
        slot_key: Set(Some(booked_key(&template.clinician_id, start))),
    }
    .insert(&portal.db)
    .await?;
    Ok(())
}

/// Books the first open follow-up from tomorrow on.
async fn book_this_week(
    portal: &Portal,
    clinic_id: &str,
    access: &PatientAccess,
    skip: usize,
) -> Result<()> {
    let kind = visit_kind(portal, clinic_id, "Follow-up visit").await?;
    let zone = portal.clinic_zone(clinic_id).await?;
    let tomorrow = zone
        .date_of(portal.now())
        .tomorrow()
        .map_err(|e| Error::Unexpected(e.to_string()))?;
    let slots = portal
        .open_slots(
            clinic_id,
            &kind.id,
            None,
            Some(&tomorrow.to_string()),
            false,
        )
        .await?;
    if let Some(slot) = slots.get(skip) {
        portal
            .book_appointment(access, &slot.key, "Blood pressure check")
            .await?;
    }
    Ok(())
}

pub async fn seed_clinic_day(portal: &Portal, clinic_id: &str) -> Result<()> {
    let father = portal.patient_by_mrn(FATHER_MRN).await?;
    let child = portal.patient_by_mrn(CHILD_MRN).await?;
    let teen = portal.patient_by_mrn(super::family::TEEN_MRN).await?;
    let jo = user_id(portal, DAUGHTER_USERNAME).await?;
    let kim = user_id(portal, PARENT_USERNAME).await?;
    let robin = user_id(portal, TEEN_USERNAME).await?;

    // Two unread threads: the teenager's own, and one the daughter wrote for her father.
    let own = |scope| PatientAccess::for_seed(&teen.id, &robin, false, scope);
    let team = portal.care_teams(&own(Scope::Messages)).await?[0]
        .id
        .clone();
    portal
        .start_thread(
            &own(Scope::Messages),
            &team,
            None,
            "question",
            "Sports form for school",
            "Hi, I need the sports physical form signed before the season starts. Can I bring it to a visit?",
            vec![],
        )
        .await?;
    let for_father = |scope| PatientAccess::for_seed(&father.id, &jo, true, scope);
    portal
        .start_thread(
            &for_father(Scope::Messages),
            &team,
            None,
            "medication",
            "Dad's blood pressure readings",
            "Dad's readings this week were 150/95 in the mornings. Should he change anything before his visit?",
            vec![],
        )
        .await?;

    // An open refill request, asked for by the daughter.
    let med = medication::Entity::find()
        .filter(medication::Column::PatientId.eq(father.id.clone()))
        .filter(medication::Column::Status.eq("active"))
        .one(&portal.db)
        .await?;
    let store = pharmacy::Entity::find()
        .filter(pharmacy::Column::ClinicId.eq(clinic_id))
        .one(&portal.db)
        .await?;
    if let (Some(med), Some(store)) = (med, store) {
        portal
            .request_refill(
                &for_father(Scope::Medications),
                &med.id,
                &store.id,
                "About a week of tablets left.",
            )
            .await?;
    }

    // A visit today, and two this week.
    visit_today(portal, clinic_id, &child.id).await?;
    book_this_week(portal, clinic_id, &for_father(Scope::Appointments), 0).await?;
    let for_child = PatientAccess::for_seed(&child.id, &kim, true, Scope::Appointments);
    book_this_week(portal, clinic_id, &for_child, 2).await?;

    // A visit request the front desk still has to book.
    let new_problem = visit_kind(portal, clinic_id, "New problem visit").await?;
    portal
        .request_visit(
            &own(Scope::Appointments),
            &new_problem.id,
            "After school, any weekday",
            "My knee hurts after running.",
        )
        .await?;
    Ok(())
}
