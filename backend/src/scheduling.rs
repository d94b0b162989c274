//! Appointments: visit types, weekly availability templates and exceptions that produce
//! slots, booking (a double booking is impossible: a unique index on the booked slot), cancel
//! and reschedule until a cut-off, visit requests, the waitlist, reminders and .ics files.

use crate::access::{PatientAccess, StaffAccess};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::clinic::{
    caregiver_names, clinic_of, clinic_patient_ids, clinic_staff, names, patient_names,
};
use crate::storage::entity::{
    appointment, availability, availability_exception, clinic, location, patient, user_account,
    visit_request, visit_type, waitlist_entry, waitlist_offer,
};
use crate::storage::is_unique_violation;
use crate::{Error, Portal, Result, new_id};
use domain::care::{
    AppointmentView, AppointmentsPage, AvailabilityView, ExceptionView, OfferView, ScheduleSetup,
    SlotView, VisitRequestView, VisitTypeView, WEEKDAYS, format_clock, short_text,
};
use domain::session::Role;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use std::collections::HashMap;

pub const BOOKED: &str = "booked";
pub const CANCELLED: &str = "cancelled";
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Who manages schedules: the front desk and admins for everyone, clinicians their own.
pub const SCHEDULE_ROLES: &[Role] = domain::session::staff_roles::SCHEDULE;
/// Who books and cancels visits for patients, and works the visit requests.
pub const BOOKING_ROLES: &[Role] = domain::session::staff_roles::FRONT_DESK;
/// The zone a clinic without one keeps its schedule in.
pub const DEFAULT_ZONE: &str = "America/New_York";
/// Most slots shown at once.
const SLOTS_MAX: usize = 60;

/// A clinic's wall clock.
#[derive(Clone, Debug)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

impl Zone {
    pub fn named(name: &str) -> Result<Self> {
        let tz = TimeZone::get(name)
            .map_err(|_| Error::Invalid(format!("{name} is not a known time zone.")))?;
        Ok(Self {
            tz,
            name: name.to_owned(),
        })
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    fn at(&self, ms: i64) -> Zoned {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
    }
    /// "Tuesday 8 December 2026, 09:00"
    pub fn format(&self, ms: i64) -> String {
        self.at(ms).strftime("%A %-d %B %Y, %H:%M").to_string()
    }
    pub fn day_label(&self, ms: i64) -> String {
        self.at(ms).strftime("%A %-d %B %Y").to_string()
    }
    pub fn clock(&self, ms: i64) -> String {
        self.at(ms).strftime("%H:%M").to_string()
    }
    pub fn date_of(&self, ms: i64) -> Date {
        self.at(ms).date()
    }
    /// The instant of `minute` after local midnight on `day` (the earlier one in a DST fold).
    pub(crate) fn instant(&self, day: Date, minute: i32) -> Option<i64> {
        let dt = day.to_datetime(jiff::civil::Time::midnight()) + (minute as i64).minutes();
        self.tz
            .to_ambiguous_zoned(dt)
            .compatible()
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    }
    /// Minutes after local midnight and the local date of an instant.
    fn local(&self, ms: i64) -> (Date, i32) {
        let z = self.at(ms);
        (z.date(), z.hour() as i32 * 60 + z.minute() as i32)
    }
}

fn weekday(d: Date) -> i32 {
    d.weekday().to_monday_one_offset() as i32
}

fn parse_day(s: &str, what: &str) -> Result<Date> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| Error::Invalid(format!("Enter {what} as a date like 2026-12-08.")))
}

/// A slot as the booking form names it: the template and the start.
fn slot_key(availability_id: &str, start_ms: i64) -> String {
    format!("{availability_id}.{start_ms}")
}

fn parse_slot(key: &str) -> Result<(String, i64)> {
    let bad = || Error::Invalid("Choose one of the open times.".into());
    let (a, s) = key.trim().rsplit_once('.').ok_or_else(bad)?;
    Ok((a.to_owned(), s.parse().map_err(|_| bad())?))
}

/// What the unique index holds while a visit is booked: one clinician, one start.
pub(crate) fn booked_key(clinician_id: &str, start_ms: i64) -> String {
    format!("{clinician_id}@{start_ms}")
}

fn taken() -> Error {
    Error::Conflict(
        "Someone booked that time a moment ago. Choose another of the open times.".into(),
    )
}

/// A slot checked against its template, exceptions and the booking window.
struct Slot {
    template: availability::Model,
    kind: visit_type::Model,
    start: i64,
    end: i64,
}

/// Who books or cancels: the patient themself (rules apply) or staff (no cut-off).
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Patient,
    Staff,
}

impl Portal {
    pub async fn clinic_zone(&self, clinic_id: &str) -> Result<Zone> {
        let c = clinic::Entity::find_by_id(clinic_id.to_owned())
            .one(&self.db)
            .await?;
        Zone::named(
            c.and_then(|c| c.time_zone)
                .as_deref()
                .unwrap_or(DEFAULT_ZONE),
        )
    }

    async fn clinic_phone(&self, clinic_id: &str) -> Result<String> {
        Ok(clinic::Entity::find_by_id(clinic_id.to_owned())
            .one(&self.db)
            .await?
            .and_then(|c| c.phone)
            .unwrap_or_else(|| "the clinic".into()))
    }

    async fn visit_types_of(&self, clinic_id: &str) -> Result<Vec<visit_type::Model>> {
        Ok(visit_type::Entity::find()
            .filter(visit_type::Column::ClinicId.eq(clinic_id))
            .order_by_asc(visit_type::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// Checks that `key` is a real, open-for-booking slot of the clinic right now.
    async fn check_slot(&self, clinic_id: &str, key: &str, by: By) -> Result<Slot> {
        let (template_id, start) = parse_slot(key)?;
        let gone = || Error::Conflict("That time is no longer offered. Choose another.".into());
        let template = availability::Entity::find_by_id(template_id)
            .one(&self.db)
            .await?
            .filter(|t| t.clinic_id == clinic_id && t.removed_at.is_none())
            .ok_or_else(gone)?;
        let kind = visit_type::Entity::find_by_id(template.visit_type_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(gone)?;
        if by == By::Patient && kind.self_schedule == 0 {
            return Err(Error::Invalid(format!(
                "A {} visit is booked by the clinic. Send a visit request instead.",
                kind.name
            )));
        }
        let zone = self.clinic_zone(clinic_id).await?;
        let (day, minute) = zone.local(start);
        let fits = weekday(day) == template.weekday
            && minute >= template.start_minute
            && minute + kind.minutes <= template.end_minute
            && (minute - template.start_minute) % kind.minutes == 0
            && zone.instant(day, minute) == Some(start);
        if !fits {
            return Err(gone());
        }
        let now = self.now();
        let notice = if by == By::Patient {
            self.settings.booking_notice.as_millis() as i64
        } else {
            0
        };
        if start < now + notice {
            return Err(Error::Conflict(
                "That time is too soon to book online. Choose a later time, or call the clinic."
                    .into(),
            ));
        }
        if start > now + self.settings.booking_horizon.as_millis() as i64 {
            return Err(gone());
        }
        let end = start + kind.minutes as i64 * MINUTE_MS;
        let blocked = availability_exception::Entity::find()
            .filter(availability_exception::Column::ClinicianId.eq(template.clinician_id.clone()))
            .filter(availability_exception::Column::Day.eq(day.to_string()))
            .filter(availability_exception::Column::StartMinute.lt(minute + kind.minutes))
            .filter(availability_exception::Column::EndMinute.gt(minute))
            .count(&self.db)
            .await?
            > 0;
        if blocked {
            return Err(gone());
        }
        Ok(Slot {
            template,
            kind,
            start,
            end,
        })
    }

    /// Open slots of a visit type (optionally with one clinician) from `from` on, at most 60.
    pub async fn open_slots(
        &self,
        clinic_id: &str,
        visit_type_id: &str,
        clinician_id: Option<&str>,
        from: Option<&str>,
        by_staff: bool,
    ) -> Result<Vec<SlotView>> {
        let zone = self.clinic_zone(clinic_id).await?;
        let now = self.now();
        let kind = visit_type::Entity::find_by_id(visit_type_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|k| k.clinic_id == clinic_id)
            .ok_or_else(|| Error::Invalid("Choose a kind of visit.".into()))?;
        if !by_staff && kind.self_schedule == 0 {
            return Err(Error::Invalid(format!(
                "A {} visit is booked by the clinic. Send a visit request instead.",
                kind.name
            )));
        }
        let earliest = now
            + if by_staff {
                0
            } else {
                self.settings.booking_notice.as_millis() as i64
            };
        let horizon = now + self.settings.booking_horizon.as_millis() as i64;
        let first_day = match from.filter(|f| !f.trim().is_empty()) {
            Some(f) => parse_day(f, "the first day")?.max(zone.date_of(now)),
            None => zone.date_of(now),
        };
        let mut q = availability::Entity::find()
            .filter(availability::Column::ClinicId.eq(clinic_id))
            .filter(availability::Column::VisitTypeId.eq(visit_type_id))
            .filter(availability::Column::RemovedAt.is_null());
        if let Some(c) = clinician_id.filter(|c| !c.is_empty()) {
            q = q.filter(availability::Column::ClinicianId.eq(c));
        }
        let templates = q.all(&self.db).await?;
        if templates.is_empty() {
            return Ok(vec![]);
        }
        let clinicians: Vec<String> = templates.iter().map(|t| t.clinician_id.clone()).collect();
        let range_start = zone.instant(first_day, 0).unwrap_or(now);
        let booked = appointment::Entity::find()
            .filter(appointment::Column::Status.eq(BOOKED))
            .filter(appointment::Column::ClinicianId.is_in(clinicians.clone()))
            .filter(appointment::Column::EndAt.gt(range_start))
            .all(&self.db)
            .await?;
        let exceptions = availability_exception::Entity::find()
            .filter(availability_exception::Column::ClinicianId.is_in(clinicians.clone()))
            .filter(availability_exception::Column::Day.gte(first_day.to_string()))
            .all(&self.db)
            .await?;
        let people = names(&self.db, clinicians).await?;
        let places = self.location_names(clinic_id).await?;
        let mut out = Vec::new();
        let mut day = first_day;
        while out.len() < SLOTS_MAX {
            let Some(day_start) = zone.instant(day, 0) else {
                break;
            };
            if day_start > horizon {
                break;
            }
            let mut todays: Vec<(i64, &availability::Model)> = Vec::new();
            for t in templates.iter().filter(|t| t.weekday == weekday(day)) {
                let mut m = t.start_minute;
                while m + kind.minutes <= t.end_minute {
                    let (start, end_m) = (m, m + kind.minutes);
                    m += kind.minutes;
                    let Some(s) = zone.instant(day, start) else {
                        continue;
                    };
                    let e = s + kind.minutes as i64 * MINUTE_MS;
                    let free = s >= earliest
                        && s <= horizon
                        && !exceptions.iter().any(|x| {
                            x.clinician_id == t.clinician_id
                                && x.day == day.to_string()
                                && x.start_minute < end_m
                                && x.end_minute > start
                        })
                        && !booked.iter().any(|b| {
                            b.clinician_id == t.clinician_id && b.start_at < e && b.end_at > s
                        });
                    if free {
                        todays.push((s, t));
                    }
                }
            }
            todays.sort_by_key(|(s, _)| *s);
            for (s, t) in todays {
                out.push(SlotView {
                    key: slot_key(&t.id, s),
                    day: zone.day_label(s),
                    time: zone.clock(s),
                    clinician: people.get(&t.clinician_id).cloned().unwrap_or_default(),
                    location: places
                        .get(&t.location_id)
                        .map(|l| l.0.clone())
                        .unwrap_or_default(),
                    visit_type: kind.name.clone(),
                });
                if out.len() >= SLOTS_MAX {
                    break;
                }
            }
            day = day
                .tomorrow()
                .map_err(|e| Error::Unexpected(e.to_string()))?;
        }
        Ok(out)
    }

    /// The clinic's own locations: names and addresses by id.
    async fn location_names(
        &self,
        clinic_id: &str,
    ) -> Result<HashMap<String, (String, Option<String>)>> {
        Ok(location::Entity::find()
            .filter(location::Column::ClinicId.eq(clinic_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|l| (l.id, (l.name, l.address)))
            .collect())
    }

    /// Open slots for the signed-in patient.
    pub async fn patient_slots(
        &self,
        access: &PatientAccess,
        visit_type_id: &str,
        clinician_id: Option<&str>,
        from: Option<&str>,
    ) -> Result<Vec<SlotView>> {
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        self.open_slots(&clinic, visit_type_id, clinician_id, from, false)
            .await
    }

    /// Books a slot. The insert goes first in its transaction (it takes the write lock on
    /// SQLite), and the unique index on the booked slot turns a race into one booking and
    /// a clear "someone was faster" for everyone else.
    async fn book_slot<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient_id: &str,
        slot: &Slot,
        booked_by: &str,
        reason: Option<String>,
    ) -> Result<String> {
        // One booking at a time per clinician and per patient: the no-op updates take their
        // row locks (PostgreSQL; SQLite has one writer anyway) until the transaction ends,
        // so the overlap check below sees every visit committed before it.
        lock_account(txn, &slot.template.clinician_id).await?;
        lock_patient(txn, patient_id).await?;
        let id = new_id();
        let row = appointment::ActiveModel {
            id: Set(id.clone()),
            patient_id: Set(patient_id.to_owned()),
            clinician_id: Set(slot.template.clinician_id.clone()),
            location_id: Set(slot.template.location_id.clone()),
            visit_type_id: Set(slot.kind.id.clone()),
            start_at: Set(slot.start),
            end_at: Set(slot.end),
            status: Set(BOOKED.into()),
            reason: Set(reason),
            booked_by: Set(booked_by.to_owned()),
            booked_at: Set(self.now()),
            cancelled_at: Set(None),
            cancelled_by: Set(None),
            reminder_sent_at: Set(None),
            slot_key: Set(Some(booked_key(&slot.template.clinician_id, slot.start))),
        };
        match row.insert(txn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(taken()),
            Err(e) => return Err(e.into()),
        }
        // Another visit of the same clinician overlapping this one (a template changed after
        // it was booked) also makes the slot taken.
        let overlapping = appointment::Entity::find()
            .filter(appointment::Column::Status.eq(BOOKED))
            .filter(appointment::Column::Id.ne(id.clone()))
            .filter(appointment::Column::StartAt.lt(slot.end))
            .filter(appointment::Column::EndAt.gt(slot.start))
            .filter(
                sea_orm::Condition::any()
                    .add(appointment::Column::ClinicianId.eq(slot.template.clinician_id.clone()))
                    .add(appointment::Column::PatientId.eq(patient_id)),
            )
            .all(txn)
            .await?;
        if let Some(o) = overlapping.first() {
            return Err(if o.patient_id == patient_id {
                Error::Invalid("You already have a visit at that time. Choose another time.".into())
            } else {
                taken()
            });
        }
        Ok(id)
    }

    /// The patient books an open slot of a visit type they may book themself.
    pub async fn book_appointment(
        &self,
        access: &PatientAccess,
        key: &str,
        reason: &str,
    ) -> Result<String> {
        let reason = optional_note(reason, "the reason for the visit")?;
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let slot = self.check_slot(&clinic, key, By::Patient).await?;
        let txn = self.db.begin().await?;
        let id = self
            .book_slot(&txn, access.patient_id(), &slot, access.actor(), reason)
            .await?;
        audit::record(
            &txn,
            self.now(),
            access.meta(),
            access
                .entry("appointment.booked", "appointments")
                .object(id.clone()),
        )
        .await?;
        txn.commit().await?;
        self.tell_patient(
            access.patient_id(),
            "your appointment is booked",
            "Your appointment is booked. Sign in to the portal to see when and where, and how to prepare.",
        )
        .await;
        Ok(id)
    }

    /// Staff book a slot for a patient of their clinic (no notice period, any visit type).
    pub async fn staff_book(
        &self,
        staff: &StaffAccess,
        patient_id: &str,
        key: &str,
    ) -> Result<String> {
        staff.require(BOOKING_ROLES)?;
        let p = self.clinic_patient(staff, patient_id).await?;
        let slot = self.check_slot(staff.clinic_id(), key, By::Staff).await?;
        let txn = self.db.begin().await?;
        let id = self
            .book_slot(&txn, &p.id, &slot, staff.user_id(), None)
            .await?;
        audit::record(
            &txn,
            self.now(),
            staff.meta(),
            staff
                .entry("appointment.booked")
                .patient(p.id.clone())
                .category("appointments")
                .object(id.clone()),
        )
        .await?;
        txn.commit().await?;
        self.tell_patient(
            &p.id,
            "your clinic booked an appointment",
            "Your clinic booked an appointment for you. Sign in to the portal to see the details.",
        )
        .await;
        Ok(id)
    }

    pub(crate) async fn clinic_patient(
        &self,
        staff: &StaffAccess,
        patient_id: &str,
    ) -> Result<patient::Model> {
        patient::Entity::find_by_id(patient_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|p| p.clinic_id == staff.clinic_id())
            .ok_or(Error::NotFound)
    }

    /// Emails the patient's account, if they have one (no health information).
    pub(crate) async fn tell_patient(&self, patient_id: &str, subject: &str, body: &str) {
        match user_account::Entity::find()
            .filter(user_account::Column::PatientId.eq(patient_id))
            .one(&self.db)
            .await
        {
            Ok(Some(u)) => self.notify(&u, subject, body).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "patient notice: account lookup failed"),
        }
    }

    async fn own_appointment(
        &self,
        access: &PatientAccess,
        id: &str,
    ) -> Result<appointment::Model> {
        let a = appointment::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|a| a.patient_id == access.patient_id());
        match a {
            Some(a) => Ok(a),
            None => Err(access
                .not_found(self, "appointment.view", "appointments", id)
                .await?),
        }
    }

    fn before_cutoff(&self, a: &appointment::Model) -> bool {
        a.start_at - self.now() > self.settings.cancel_cutoff.as_millis() as i64
    }

    fn cutoff_text(&self, phone: &str) -> String {
        let h = self.settings.cancel_cutoff.as_secs() / 3600;
        format!(
            "You can cancel or reschedule online until {h} hours before the visit; after that, call {phone}."
        )
    }

    /// Cancels a booked visit inside `txn`. `end_waitlist`: a waitlist place to move this
    /// visit earlier ends with it (not when the visit is being replaced by another).
    async fn cancel_in<C: ConnectionTrait>(
        &self,
        txn: &C,
        a: &appointment::Model,
        by: &str,
        end_waitlist: bool,
    ) -> Result<()> {
        let n = appointment::Entity::update_many()
            .col_expr(appointment::Column::Status, Expr::value(CANCELLED))
            .col_expr(appointment::Column::CancelledAt, Expr::value(self.now()))
            .col_expr(appointment::Column::CancelledBy, Expr::value(by.to_owned()))
            .col_expr(
                appointment::Column::SlotKey,
                Expr::value(Option::<String>::None),
            )
            .filter(appointment::Column::Id.eq(a.id.clone()))
            .filter(appointment::Column::Status.eq(BOOKED))
            .exec(txn)
            .await?
            .rows_affected;
        if n == 0 {
            return Err(Error::Invalid(
                "This appointment is already cancelled.".into(),
            ));
        }
        if end_waitlist {
            // Waiting to move a cancelled visit earlier has no point any more.
            waitlist_entry::Entity::update_many()
                .col_expr(waitlist_entry::Column::Status, Expr::value("ended"))
                .col_expr(waitlist_entry::Column::EndedAt, Expr::value(self.now()))
                .col_expr(
                    waitlist_entry::Column::OpenKey,
                    Expr::value(Option::<String>::None),
                )
                .filter(waitlist_entry::Column::AppointmentId.eq(a.id.clone()))
                .filter(waitlist_entry::Column::Status.eq("waiting"))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    /// The patient cancels a booked visit, until the cut-off. The freed slot is offered to
    /// the waitlist.
    pub async fn cancel_appointment(&self, access: &PatientAccess, id: &str) -> Result<()> {
        let a = self.own_appointment(access, id).await?;
        self.check_changeable(&a).await?;
        let txn = self.db.begin().await?;
        self.cancel_in(&txn, &a, access.actor(), true).await?;
        audit::record(
            &txn,
            self.now(),
            access.meta(),
            access
                .entry("appointment.cancelled", "appointments")
                .object(a.id.clone()),
        )
        .await?;
        txn.commit().await?;
        self.offer_freed_logged(&a).await;
        Ok(())
    }

    async fn check_changeable(&self, a: &appointment::Model) -> Result<()> {
        if a.status != BOOKED {
            return Err(Error::Invalid(
                "This appointment is already cancelled.".into(),
            ));
        }
        if !self.before_cutoff(a) {
            let clinic = clinic_of(&self.db, &a.patient_id).await?;
            let phone = self.clinic_phone(&clinic).await?;
            return Err(Error::Invalid(format!(
                "It is too late to change this appointment online. {}",
                self.cutoff_text(&phone)
            )));
        }
        Ok(())
    }

    /// Moves a booked visit to another open slot in one step: the new slot is booked and the
    /// old one cancelled together, or neither.
    pub async fn reschedule_appointment(
        &self,
        access: &PatientAccess,
        id: &str,
        key: &str,
    ) -> Result<String> {
        let old = self.own_appointment(access, id).await?;
        self.check_changeable(&old).await?;
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let slot = self.check_slot(&clinic, key, By::Patient).await?;
        let txn = self.db.begin().await?;
        self.cancel_in(&txn, &old, access.actor(), false).await?;
        let new = self
            .book_slot(
                &txn,
                access.patient_id(),
                &slot,
                access.actor(),
                old.reason.clone(),
            )
            .await?;
        // A waitlist place to move the old visit earlier now moves the new one.
        waitlist_entry::Entity::update_many()
            .col_expr(
                waitlist_entry::Column::AppointmentId,
                Expr::value(new.clone()),
            )
            .filter(waitlist_entry::Column::AppointmentId.eq(old.id.clone()))
            .filter(waitlist_entry::Column::Status.eq("waiting"))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            self.now(),
            access.meta(),
            access
                .entry("appointment.rescheduled", "appointments")
                .object(new.clone())
                .detail(format!("from {}", old.id)),
        )
        .await?;
        txn.commit().await?;
        self.offer_freed_logged(&old).await;
        Ok(new)
    }

    /// Staff cancel any booked visit of their clinic (no cut-off); the patient is told.
    pub async fn staff_cancel(&self, staff: &StaffAccess, id: &str) -> Result<()> {
        staff.require(BOOKING_ROLES)?;
        let a = appointment::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        self.clinic_patient(staff, &a.patient_id).await?;
        let txn = self.db.begin().await?;
        self.cancel_in(&txn, &a, staff.user_id(), true).await?;
        audit::record(
            &txn,
            self.now(),
            staff.meta(),
            staff
                .entry("appointment.cancelled")
                .patient(a.patient_id.clone())
                .category("appointments")
                .object(a.id.clone()),
        )
        .await?;
        txn.commit().await?;
        self.tell_patient(
            &a.patient_id,
            "an appointment was cancelled",
            "Your clinic cancelled one of your appointments. Sign in to the portal to see which, and to book another time.",
        )
        .await;
        self.offer_freed_logged(&a).await;
        Ok(())
    }

    /// The patient's visits: upcoming (soonest first) and past, with what they can do.
    pub async fn patient_appointments(&self, access: &PatientAccess) -> Result<AppointmentsPage> {
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let rows = appointment::Entity::find()
            .filter(appointment::Column::PatientId.eq(access.patient_id()))
            .order_by_asc(appointment::Column::StartAt)
            .all(&self.db)
            .await?;
        let waiting: Vec<String> = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::PatientId.eq(access.patient_id()))
            .filter(waitlist_entry::Column::Status.eq("waiting"))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|w| w.appointment_id)
            .collect();
        let views = self
            .appointment_views(&clinic, rows, false, &waiting)
            .await?;
        let now = self.now();
        let (upcoming, past): (Vec<_>, Vec<_>) = views.into_iter().partition(|a| a.upcoming);
        let mut past = past;
        past.reverse();
        let kinds = self.visit_types_of(&clinic).await?;
        let phone = self.clinic_phone(&clinic).await?;
        let page = AppointmentsPage {
            upcoming,
            past,
            visit_types: kinds.iter().map(visit_type_view).collect(),
            offers: self.open_offers(access, &clinic, now).await?,
            requests: self
                .request_views(
                    visit_request::Entity::find()
                        .filter(visit_request::Column::PatientId.eq(access.patient_id()))
                        .order_by_desc(visit_request::Column::RequestedAt)
                        .all(&self.db)
                        .await?,
                    &clinic,
                    false,
                )
                .await?,
            cutoff: self.cutoff_text(&phone),
        };
        access
            .audit(self, "appointment.list", "appointments", None, Outcome::Ok)
            .await?;
        Ok(page)
    }

    async fn appointment_views(
        &self,
        clinic: &str,
        rows: Vec<appointment::Model>,
        with_patient: bool,
        waitlisted: &[String],
    ) -> Result<Vec<AppointmentView>> {
        let zone = self.clinic_zone(clinic).await?;
        let now = self.now();
        let kinds: HashMap<String, visit_type::Model> = self
            .visit_types_of(clinic)
            .await?
            .into_iter()
            .map(|k| (k.id.clone(), k))
            .collect();
        let people = names(
            &self.db,
            rows.iter().map(|a| a.clinician_id.clone()).collect(),
        )
        .await?;
        let places = self.location_names(clinic).await?;
        let acts: Vec<(String, String)> = rows
            .iter()
            .map(|a| (a.patient_id.clone(), a.booked_by.clone()))
            .collect();
        let carers = caregiver_names(&self.db, &acts).await?;
        let patients = if with_patient {
            patient_names(
                &self.db,
                rows.iter().map(|a| a.patient_id.clone()).collect(),
            )
            .await?
        } else {
            HashMap::new()
        };
        Ok(rows
            .into_iter()
            .map(|a| {
                let kind = kinds.get(&a.visit_type_id);
                let place = places.get(&a.location_id);
                let booked = a.status == BOOKED;
                AppointmentView {
                    when: format!("{} ({})", zone.format(a.start_at), zone.name()),
                    visit_type: kind.map(|k| k.name.clone()).unwrap_or_default(),
                    visit_type_id: a.visit_type_id.clone(),
                    clinician: people.get(&a.clinician_id).cloned().unwrap_or_default(),
                    location: place.map(|p| p.0.clone()).unwrap_or_default(),
                    address: place.and_then(|p| p.1.clone()),
                    instructions: kind.and_then(|k| k.instructions.clone()),
                    status: if booked {
                        "Booked".into()
                    } else {
                        "Cancelled".into()
                    },
                    upcoming: a.end_at > now,
                    changeable: booked && self.before_cutoff(&a),
                    patient: patients.get(&a.patient_id).cloned(),
                    waitlisted: waitlisted.contains(&a.id),
                    by_caregiver: carers
                        .get(&(a.patient_id.clone(), a.booked_by.clone()))
                        .cloned(),
                    id: a.id,
                }
            })
            .collect())
    }

    /// A calendar file for one of the patient's visits (audited as a download).
    pub async fn appointment_ics(&self, access: &PatientAccess, id: &str) -> Result<String> {
        let a = self.own_appointment(access, id).await?;
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let kind = visit_type::Entity::find_by_id(a.visit_type_id.clone())
            .one(&self.db)
            .await?;
        let place = location::Entity::find_by_id(a.location_id.clone())
            .one(&self.db)
            .await?;
        let clinic_name = clinic::Entity::find_by_id(clinic)
            .one(&self.db)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        access
            .audit(
                self,
                "appointment.download",
                "appointments",
                Some(&a.id),
                Outcome::Ok,
            )
            .await?;
        let stamp = |ms: i64| {
            Timestamp::from_millisecond(ms)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .strftime("%Y%m%dT%H%M%SZ")
                .to_string()
        };
        let summary = format!(
            "{} at {}",
            kind.map(|k| k.name).unwrap_or_else(|| "Visit".into()),
            clinic_name
        );
        let loc = place
            .map(|p| match p.address {
                Some(addr) => format!("{}, {addr}", p.name),
                None => p.name,
            })
            .unwrap_or_default();
        let mut ics = String::new();
        for line in [
            "BEGIN:VCALENDAR".to_owned(),
            "VERSION:2.0".into(),
            "PRODID:-//My Health Connection//Appointments//EN".into(),
            "CALSCALE:GREGORIAN".into(),
            "METHOD:PUBLISH".into(),
            "BEGIN:VEVENT".into(),
            format!("UID:{}@my-health-connection", a.id),
            format!("DTSTAMP:{}", stamp(self.now())),
            format!("DTSTART:{}", stamp(a.start_at)),
            format!("DTEND:{}", stamp(a.end_at)),
            format!("SUMMARY:{}", ics_text(&summary)),
            format!("LOCATION:{}", ics_text(&loc)),
            format!(
                "STATUS:{}",
                if a.status == BOOKED {
                    "CONFIRMED"
                } else {
                    "CANCELLED"
                }
            ),
            "END:VEVENT".into(),
            "END:VCALENDAR".into(),
        ] {
            ics.push_str(&fold(&line));
        }
        Ok(ics)
    }

    /// A request for a visit when no slot fits; it goes to the front desk's queue.
    pub async fn request_visit(
        &self,
        access: &PatientAccess,
        visit_type_id: &str,
        preferred: &str,
        note: &str,
    ) -> Result<String> {
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let kind = visit_type::Entity::find_by_id(visit_type_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|k| k.clinic_id == clinic)
            .ok_or_else(|| Error::Invalid("Choose the kind of visit you need.".into()))?;
        let preferred = short_text(preferred, "the days and times that suit you", 3, 200)?;
        let note = optional_note(note, "your note")?;
        let open = visit_request::Entity::find()
            .filter(visit_request::Column::PatientId.eq(access.patient_id()))
            .filter(visit_request::Column::VisitTypeId.eq(kind.id.clone()))
            .filter(visit_request::Column::Status.eq("open"))
            .count(&self.db)
            .await?;
        if open > 0 {
            return Err(Error::Conflict(format!(
                "You already asked for a {} visit; the front desk will contact you about it.",
                kind.name
            )));
        }
        let id = new_id();
        let now = self.now();
        let txn = self.db.begin().await?;
        visit_request::ActiveModel {
            id: Set(id.clone()),
            patient_id: Set(access.patient_id().to_owned()),
            visit_type_id: Set(kind.id.clone()),
            preferred: Set(preferred),
            note: Set(note),
            status: Set("open".into()),
            requested_by: Set(access.actor().to_owned()),
            requested_at: Set(now),
            handled_by: Set(None),
            handled_at: Set(None),
            open_key: Set(Some(format!("{}:{}", access.patient_id(), kind.id))),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!(
                    "You already asked for a {} visit; the front desk will contact you about it.",
                    kind.name
                ))
            } else {
                e.into()
            }
        })?;
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("appointment.requested", "appointments")
                .object(id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    async fn request_views(
        &self,
        rows: Vec<visit_request::Model>,
        clinic: &str,
        with_patient: bool,
    ) -> Result<Vec<VisitRequestView>> {
        let zone = self.clinic_zone(clinic).await?;
        let kinds: HashMap<String, String> = self
            .visit_types_of(clinic)
            .await?
            .into_iter()
            .map(|k| (k.id, k.name))
            .collect();
        let patients = if with_patient {
            patient_names(
                &self.db,
                rows.iter().map(|r| r.patient_id.clone()).collect(),
            )
            .await?
        } else {
            HashMap::new()
        };
        Ok(rows
            .into_iter()
            .map(|r| VisitRequestView {
                visit_type: kinds.get(&r.visit_type_id).cloned().unwrap_or_default(),
                preferred: r.preferred,
                note: r.note,
                status: match r.status.as_str() {
                    "open" => "Waiting for the front desk".into(),
                    _ => "Handled".into(),
                },
                requested: zone.format(r.requested_at),
                patient: patients.get(&r.patient_id).cloned(),
                id: r.id,
            })
            .collect())
    }

    /// Open visit requests of the clinic, oldest first (front desk).
    pub async fn visit_requests(&self, staff: &StaffAccess) -> Result<Vec<VisitRequestView>> {
        staff.require(BOOKING_ROLES)?;
        let mine = visit_request::Entity::find()
            .filter(visit_request::Column::Status.eq("open"))
            .filter(
                visit_request::Column::PatientId
                    .is_in(clinic_patient_ids(&self.db, staff.clinic_id()).await?),
            )
            .order_by_asc(visit_request::Column::RequestedAt)
            .all(&self.db)
            .await?;
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("appointment.requests").category("appointments"),
            "open visit requests",
            mine.iter().map(|x| x.patient_id.as_str()),
        )
        .await?;
        self.request_views(mine, staff.clinic_id(), true).await
    }

    /// Marks a visit request handled (the front desk booked or called back).
    pub async fn handle_visit_request(&self, staff: &StaffAccess, id: &str) -> Result<()> {
        staff.require(BOOKING_ROLES)?;
        let r = visit_request::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        self.clinic_patient(staff, &r.patient_id).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        let n = visit_request::Entity::update_many()
            .col_expr(visit_request::Column::Status, Expr::value("handled"))
            .col_expr(
                visit_request::Column::HandledBy,
                Expr::value(staff.user_id().to_owned()),
            )
            .col_expr(visit_request::Column::HandledAt, Expr::value(now))
            .col_expr(
                visit_request::Column::OpenKey,
                Expr::value(Option::<String>::None),
            )
            .filter(visit_request::Column::Id.eq(r.id.clone()))
            .filter(visit_request::Column::Status.eq("open"))
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            return Err(Error::Invalid("This request was already handled.".into()));
        }
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("appointment.request_handled")
                .patient(r.patient_id.clone())
                .category("appointments")
                .object(r.id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The patient joins the waitlist of a visit type, optionally to move `appointment_id`
    /// (one of theirs) earlier.
    pub async fn join_waitlist(
        &self,
        access: &PatientAccess,
        visit_type_id: &str,
        appointment_id: Option<&str>,
    ) -> Result<()> {
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let kind = visit_type::Entity::find_by_id(visit_type_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|k| k.clinic_id == clinic && k.self_schedule != 0)
            .ok_or_else(|| Error::Invalid("Choose a kind of visit you can book online.".into()))?;
        let appt = match appointment_id.filter(|a| !a.is_empty()) {
            Some(a) => {
                let a = self.own_appointment(access, a).await?;
                if a.status != BOOKED || a.visit_type_id != kind.id {
                    return Err(Error::Invalid(
                        "Choose one of your booked visits of this kind.".into(),
                    ));
                }
                Some(a.id)
            }
            None => None,
        };
        let already = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::PatientId.eq(access.patient_id()))
            .filter(waitlist_entry::Column::VisitTypeId.eq(kind.id.clone()))
            .filter(waitlist_entry::Column::Status.eq("waiting"))
            .count(&self.db)
            .await?;
        if already > 0 {
            return Err(Error::Conflict(format!(
                "You are already on the waitlist for a {} visit.",
                kind.name
            )));
        }
        let now = self.now();
        let txn = self.db.begin().await?;
        let id = new_id();
        let open_key = format!("{}:{}", access.patient_id(), kind.id);
        waitlist_entry::ActiveModel {
            id: Set(id.clone()),
            open_key: Set(Some(open_key)),
            patient_id: Set(access.patient_id().to_owned()),
            visit_type_id: Set(kind.id),
            clinician_id: Set(None),
            appointment_id: Set(appt),
            status: Set("waiting".into()),
            created_at: Set(now),
            offered_at: Set(None),
            ended_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!(
                    "You are already on the waitlist for a {} visit.",
                    kind.name
                ))
            } else {
                e.into()
            }
        })?;
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("appointment.waitlisted", "appointments")
                .object(id),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Offers a freed slot after its cancel committed: a failure here is logged, and the
    /// cancel the person asked for still stands.
    async fn offer_freed_logged(&self, freed: &appointment::Model) {
        if let Err(e) = self.offer_freed(freed).await {
            tracing::warn!(error = %e, "a freed slot could not be offered to the waitlist");
        }
    }

    /// A freed slot goes to everyone waiting for that kind of visit (whose own visit, if
    /// any, is later). Each is emailed; the first to accept gets it.
    async fn offer_freed(&self, freed: &appointment::Model) -> Result<()> {
        let now = self.now();
        if freed.start_at <= now {
            return Ok(());
        }
        let clinic = clinic_of(&self.db, &freed.patient_id).await?;
        let templates = availability::Entity::find()
            .filter(availability::Column::ClinicianId.eq(freed.clinician_id.clone()))
            .filter(availability::Column::VisitTypeId.eq(freed.visit_type_id.clone()))
            .filter(availability::Column::RemovedAt.is_null())
            .all(&self.db)
            .await?;
        // The slot is offered only if patients could book it now (its template still
        // makes it, and it is not too soon).
        let mut offered = None;
        for t in templates {
            let key = slot_key(&t.id, freed.start_at);
            if self.check_slot(&clinic, &key, By::Patient).await.is_ok() {
                offered = Some(key);
                break;
            }
        }
        let Some(offered) = offered else {
            return Ok(());
        };
        let waiting = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::VisitTypeId.eq(freed.visit_type_id.clone()))
            .filter(waitlist_entry::Column::Status.eq("waiting"))
            .filter(waitlist_entry::Column::PatientId.ne(freed.patient_id.clone()))
            .order_by_asc(waitlist_entry::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let expires = (now + self.settings.offer_ttl.as_millis() as i64).min(freed.start_at);
        for w in waiting {
            if w.clinician_id
                .as_ref()
                .is_some_and(|c| *c != freed.clinician_id)
            {
                continue;
            }
            if let Some(aid) = &w.appointment_id {
                let later = appointment::Entity::find_by_id(aid.clone())
                    .one(&self.db)
                    .await?
                    .is_some_and(|a| a.status == BOOKED && a.start_at > freed.start_at);
                if !later {
                    continue;
                }
            }
            let txn = self.db.begin().await?;
            waitlist_offer::ActiveModel {
                id: Set(new_id()),
                entry_id: Set(w.id.clone()),
                slot: Set(offered.clone()),
                start_at: Set(freed.start_at),
                created_at: Set(now),
                expires_at: Set(expires),
                status: Set("open".into()),
            }
            .insert(&txn)
            .await?;
            waitlist_entry::Entity::update_many()
                .col_expr(waitlist_entry::Column::OfferedAt, Expr::value(now))
                .filter(waitlist_entry::Column::Id.eq(w.id.clone()))
                .exec(&txn)
                .await?;
            audit::record(
                &txn,
                now,
                &RequestMeta::default(),
                Entry::new("appointment.offered", Outcome::Ok)
                    .label("waitlist")
                    .patient(w.patient_id.clone())
                    .category("appointments")
                    .object(w.id.clone()),
            )
            .await?;
            txn.commit().await?;
            self.tell_patient(
                &w.patient_id,
                "an earlier appointment opened",
                "An earlier appointment time opened for the visit you are waiting for. Sign in to accept it: the first to accept gets it.",
            )
            .await;
        }
        Ok(())
    }

    async fn open_offers(
        &self,
        access: &PatientAccess,
        clinic: &str,
        now: i64,
    ) -> Result<Vec<OfferView>> {
        let entries: Vec<waitlist_entry::Model> = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::PatientId.eq(access.patient_id()))
            .filter(waitlist_entry::Column::Status.eq("waiting"))
            .all(&self.db)
            .await?;
        let offers = waitlist_offer::Entity::find()
            .filter(waitlist_offer::Column::EntryId.is_in(entries.iter().map(|e| e.id.clone())))
            .filter(waitlist_offer::Column::Status.eq("open"))
            .filter(waitlist_offer::Column::ExpiresAt.gt(now))
            .order_by_asc(waitlist_offer::Column::StartAt)
            .all(&self.db)
            .await?;
        let zone = self.clinic_zone(clinic).await?;
        let mut out = Vec::new();
        for o in offers {
            let Ok(slot) = self.check_slot(clinic, &o.slot, By::Patient).await else {
                continue;
            };
            let still_free = appointment::Entity::find()
                .filter(
                    appointment::Column::SlotKey
                        .eq(booked_key(&slot.template.clinician_id, slot.start)),
                )
                .count(&self.db)
                .await?
                == 0;
            if !still_free {
                continue;
            }
            let who = names(&self.db, vec![slot.template.clinician_id.clone()]).await?;
            out.push(OfferView {
                id: o.id,
                when: format!("{} ({})", zone.format(slot.start), zone.name()),
                clinician: who.into_values().next().unwrap_or_default(),
                visit_type: slot.kind.name,
            });
        }
        Ok(out)
    }

    /// Accepts a waitlist offer: books the slot if nobody was faster, and cancels the later
    /// visit it replaces, in one transaction.
    pub async fn accept_offer(&self, access: &PatientAccess, offer_id: &str) -> Result<String> {
        let now = self.now();
        let offer = waitlist_offer::Entity::find_by_id(offer_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        let entry = waitlist_entry::Entity::find_by_id(offer.entry_id.clone())
            .one(&self.db)
            .await?
            .filter(|e| e.patient_id == access.patient_id());
        let Some(entry) = entry else {
            return Err(access
                .not_found(self, "appointment.offer", "appointments", offer_id)
                .await?);
        };
        if offer.status != "open" || offer.expires_at <= now || entry.status != "waiting" {
            return Err(Error::Conflict(
                "This offer has ended. You are still on the waitlist if you did not leave it."
                    .into(),
            ));
        }
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let slot = self.check_slot(&clinic, &offer.slot, By::Patient).await?;
        let txn = self.db.begin().await?;
        let booked = self
            .book_slot(&txn, access.patient_id(), &slot, access.actor(), None)
            .await;
        let id = match booked {
            Ok(id) => id,
            Err(Error::Conflict(_)) => {
                drop(txn);
                waitlist_offer::Entity::update_many()
                    .col_expr(waitlist_offer::Column::Status, Expr::value("taken"))
                    .filter(waitlist_offer::Column::Id.eq(offer.id.clone()))
                    .exec(&self.db)
                    .await?;
                return Err(Error::Conflict(
                    "Someone else accepted this time first. You are still on the waitlist.".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        let mut replaced = None;
        if let Some(old) = &entry.appointment_id
            && let Some(a) = appointment::Entity::find_by_id(old.clone())
                .one(&txn)
                .await?
            && a.status == BOOKED
        {
            // The entry ends as booked below, not as "ended" by this cancel.
            self.cancel_in(&txn, &a, access.actor(), false).await?;
            audit::record(
                &txn,
                now,
                access.meta(),
                access
                    .entry("appointment.cancelled", "appointments")
                    .object(a.id.clone())
                    .detail("replaced by an earlier slot from the waitlist"),
            )
            .await?;
            replaced = Some(a);
        }
        waitlist_offer::Entity::update_many()
            .col_expr(waitlist_offer::Column::Status, Expr::value("accepted"))
            .filter(waitlist_offer::Column::Id.eq(offer.id.clone()))
            .exec(&txn)
            .await?;
        waitlist_entry::Entity::update_many()
            .col_expr(waitlist_entry::Column::Status, Expr::value("booked"))
            .col_expr(waitlist_entry::Column::EndedAt, Expr::value(now))
            .col_expr(
                waitlist_entry::Column::OpenKey,
                Expr::value(Option::<String>::None),
            )
            .filter(waitlist_entry::Column::Id.eq(entry.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("appointment.booked", "appointments")
                .object(id.clone())
                .detail("from the waitlist"),
        )
        .await?;
        txn.commit().await?;
        if let Some(a) = replaced {
            self.offer_freed_logged(&a).await;
        }
        Ok(id)
    }

    /// Sends the reminder of every booked visit that starts within the reminder time and has
    /// none yet. Each visit's reminder is claimed by one update first, so two instances never
    /// send it twice. Returns how many were sent.
    pub async fn send_due_reminders(&self) -> Result<usize> {
        let now = self.now();
        let until = now + self.settings.reminder_before.as_millis() as i64;
        let due = appointment::Entity::find()
            .filter(appointment::Column::Status.eq(BOOKED))
            .filter(appointment::Column::ReminderSentAt.is_null())
            .filter(appointment::Column::StartAt.gt(now))
            .filter(appointment::Column::StartAt.lte(until))
            .all(&self.db)
            .await?;
        let mut sent = 0;
        for a in due {
            let claimed = appointment::Entity::update_many()
                .col_expr(appointment::Column::ReminderSentAt, Expr::value(now))
                .filter(appointment::Column::Id.eq(a.id.clone()))
                .filter(appointment::Column::ReminderSentAt.is_null())
                .exec(&self.db)
                .await?
                .rows_affected;
            if claimed == 0 {
                continue;
            }
            self.tell_patient(
                &a.patient_id,
                "appointment reminder",
                "You have an appointment coming up soon. Sign in to the portal to see when and where, how to prepare, or to cancel.",
            )
            .await;
            sent += 1;
        }
        Ok(sent)
    }

    // ---- Schedule management ----

    /// Clinicians may manage only their own schedule.
    fn may_manage(&self, staff: &StaffAccess, clinician_id: &str) -> Result<()> {
        staff.require(SCHEDULE_ROLES)?;
        if staff.role() == Role::Clinician && staff.user_id() != clinician_id {
            return Err(Error::Forbidden);
        }
        Ok(())
    }

    pub async fn schedule_setup(&self, staff: &StaffAccess) -> Result<ScheduleSetup> {
        staff.require(SCHEDULE_ROLES)?;
        let zone = self.clinic_zone(staff.clinic_id()).await?;
        let clinicians = clinic_staff(&self.db, staff.clinic_id(), &[Role::Clinician]).await?;
        let people = names(&self.db, clinicians.iter().map(|c| c.id.clone()).collect()).await?;
        let kinds = self.visit_types_of(staff.clinic_id()).await?;
        let places = self.location_names(staff.clinic_id()).await?;
        let templates = availability::Entity::find()
            .filter(availability::Column::ClinicId.eq(staff.clinic_id()))
            .filter(availability::Column::RemovedAt.is_null())
            .order_by_asc(availability::Column::Weekday)
            .order_by_asc(availability::Column::StartMinute)
            .all(&self.db)
            .await?;
        let today = zone.date_of(self.now()).to_string();
        let exceptions = availability_exception::Entity::find()
            .filter(
                availability_exception::Column::ClinicianId
                    .is_in(clinicians.iter().map(|c| c.id.clone())),
            )
            .filter(availability_exception::Column::Day.gte(today))
            .order_by_asc(availability_exception::Column::Day)
            .all(&self.db)
            .await?;
        let kind_name = |id: &str| {
            kinds
                .iter()
                .find(|k| k.id == id)
                .map(|k| k.name.clone())
                .unwrap_or_default()
        };
        let clinic_locations: Vec<(String, String)> = {
            let mut used: Vec<(String, String)> = places
                .iter()
                .map(|(id, (name, _))| (id.clone(), name.clone()))
                .collect();
            used.sort_by(|a, b| a.1.cmp(&b.1));
            used
        };
        Ok(ScheduleSetup {
            clinicians: clinicians
                .iter()
                .map(|c| (c.id.clone(), people[&c.id].clone()))
                .collect(),
            locations: clinic_locations,
            visit_types: kinds.iter().map(visit_type_view).collect(),
            templates: templates
                .into_iter()
                .map(|t| AvailabilityView {
                    clinician: people.get(&t.clinician_id).cloned().unwrap_or_default(),
                    weekday: WEEKDAYS[(t.weekday - 1).clamp(0, 6) as usize].into(),
                    hours: format!(
                        "{}–{}",
                        format_clock(t.start_minute),
                        format_clock(t.end_minute)
                    ),
                    visit_type: kind_name(&t.visit_type_id),
                    location: places
                        .get(&t.location_id)
                        .map(|p| p.0.clone())
                        .unwrap_or_default(),
                    id: t.id,
                })
                .collect(),
            exceptions: exceptions
                .into_iter()
                .map(|x| ExceptionView {
                    clinician: people.get(&x.clinician_id).cloned().unwrap_or_default(),
                    hours: if x.start_minute == 0 && x.end_minute >= 1440 {
                        "All day".into()
                    } else {
                        format!(
                            "{}–{}",
                            format_clock(x.start_minute),
                            format_clock(x.end_minute)
                        )
                    },
                    day: x.day,
                    reason: x.reason,
                    id: x.id,
                })
                .collect(),
            time_zone: zone.name().to_owned(),
        })
    }

    /// Adds a weekly availability template. Templates of one clinician never overlap.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_availability(
        &self,
        staff: &StaffAccess,
        clinician_id: &str,
        location_id: &str,
        visit_type_id: &str,
        weekday: i32,
        start_minute: i32,
        end_minute: i32,
    ) -> Result<String> {
        self.may_manage(staff, clinician_id)?;
        clinic_staff(&self.db, staff.clinic_id(), &[Role::Clinician])
            .await?
            .into_iter()
            .find(|c| c.id == clinician_id)
            .ok_or_else(|| Error::Invalid("Choose a clinician of this clinic.".into()))?;
        location::Entity::find_by_id(location_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|l| l.clinic_id == staff.clinic_id())
            .ok_or_else(|| Error::Invalid("Choose a location of this clinic.".into()))?;
        let kind = visit_type::Entity::find_by_id(visit_type_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|k| k.clinic_id == staff.clinic_id())
            .ok_or_else(|| Error::Invalid("Choose a kind of visit.".into()))?;
        if !(1..=7).contains(&weekday) {
            return Err(Error::Invalid("Choose a day of the week.".into()));
        }
        if end_minute <= start_minute || end_minute - start_minute < kind.minutes {
            return Err(Error::Invalid(format!(
                "The end must be at least {} minutes after the start (one {} visit).",
                kind.minutes, kind.name
            )));
        }
        let id = new_id();
        let now = self.now();
        let txn = self.db.begin().await?;
        lock_account(&txn, clinician_id).await?;
        let overlap = availability::Entity::find()
            .filter(availability::Column::ClinicianId.eq(clinician_id))
            .filter(availability::Column::Weekday.eq(weekday))
            .filter(availability::Column::RemovedAt.is_null())
            .filter(availability::Column::StartMinute.lt(end_minute))
            .filter(availability::Column::EndMinute.gt(start_minute))
            .count(&txn)
            .await?;
        if overlap > 0 {
            return Err(Error::Conflict(
                "These hours overlap another template of this clinician on that day. Remove that one first, or choose other hours.".into(),
            ));
        }
        availability::ActiveModel {
            id: Set(id.clone()),
            clinic_id: Set(staff.clinic_id().to_owned()),
            clinician_id: Set(clinician_id.to_owned()),
            location_id: Set(location_id.to_owned()),
            visit_type_id: Set(kind.id),
            weekday: Set(weekday),
            start_minute: Set(start_minute),
            end_minute: Set(end_minute),
            created_by: Set(staff.user_id().to_owned()),
            created_at: Set(now),
            removed_at: Set(None),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("schedule.template_added")
                .object(id.clone())
                .detail(format!(
                    "{} {}–{}",
                    WEEKDAYS[(weekday - 1) as usize],
                    format_clock(start_minute),
                    format_clock(end_minute)
                )),
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Removes a template: no new slots come from it; booked visits stay booked.
    pub async fn remove_availability(&self, staff: &StaffAccess, id: &str) -> Result<()> {
        let t = availability::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|t| t.clinic_id == staff.clinic_id() && t.removed_at.is_none())
            .ok_or(Error::NotFound)?;
        self.may_manage(staff, &t.clinician_id)?;
        let now = self.now();
        let txn = self.db.begin().await?;
        availability::Entity::update_many()
            .col_expr(availability::Column::RemovedAt, Expr::value(now))
            .filter(availability::Column::Id.eq(t.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff.entry("schedule.template_removed").object(t.id),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Blocks a day, or hours of it, for a clinician (leave, training). Visits already booked
    /// then are not cancelled by this; the schedule lists them to call the patients.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_exception(
        &self,
        staff: &StaffAccess,
        clinician_id: &str,
        day: &str,
        start_minute: Option<i32>,
        end_minute: Option<i32>,
        reason: &str,
    ) -> Result<String> {
        self.may_manage(staff, clinician_id)?;
        clinic_staff(&self.db, staff.clinic_id(), &[Role::Clinician])
            .await?
            .into_iter()
            .find(|c| c.id == clinician_id)
            .ok_or_else(|| Error::Invalid("Choose a clinician of this clinic.".into()))?;
        let day = parse_day(day, "the day")?;
        let (s, e) = (start_minute.unwrap_or(0), end_minute.unwrap_or(1440));
        if e <= s {
            return Err(Error::Invalid(
                "The end of the time off must be after its start.".into(),
            ));
        }
        let reason = short_text(reason, "a reason (for example: leave, training)", 2, 200)?;
        let id = new_id();
        let now = self.now();
        let txn = self.db.begin().await?;
        availability_exception::ActiveModel {
            id: Set(id.clone()),
            clinician_id: Set(clinician_id.to_owned()),
            day: Set(day.to_string()),
            start_minute: Set(s),
            end_minute: Set(e),
            reason: Set(reason),
            created_by: Set(staff.user_id().to_owned()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("schedule.exception_added")
                .object(id.clone())
                .detail(day.to_string()),
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// The clinic's booked visits on one local day (clinicians: their own), with patients.
    pub async fn day_schedule(
        &self,
        staff: &StaffAccess,
        day: Option<&str>,
    ) -> Result<(String, Vec<AppointmentView>)> {
        staff.require(SCHEDULE_ROLES)?;
        let zone = self.clinic_zone(staff.clinic_id()).await?;
        let day = match day.filter(|d| !d.trim().is_empty()) {
            Some(d) => parse_day(d, "the day")?,
            None => zone.date_of(self.now()),
        };
        let start = zone.instant(day, 0).unwrap_or(0);
        let end = start + DAY_MS + 2 * 3_600_000;
        let clinicians: Vec<String> = clinic_staff(&self.db, staff.clinic_id(), &[Role::Clinician])
            .await?
            .into_iter()
            .map(|c| c.id)
            .filter(|c| staff.role() != Role::Clinician || c == staff.user_id())
            .collect();
        let rows: Vec<appointment::Model> = appointment::Entity::find()
            .filter(appointment::Column::ClinicianId.is_in(clinicians))
            .filter(appointment::Column::StartAt.gte(start))
            .filter(appointment::Column::StartAt.lt(end))
            .order_by_asc(appointment::Column::StartAt)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|a| zone.date_of(a.start_at) == day)
            .collect();
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("appointment.schedule").category("appointments"),
            &format!("visits on {day}"),
            rows.iter().map(|x| x.patient_id.as_str()),
        )
        .await?;
        let views = self
            .appointment_views(staff.clinic_id(), rows, true, &[])
            .await?;
        Ok((zone.day_label(start), views))
    }

    /// Counts for the console's home.
    pub async fn schedule_counts(&self, staff: &StaffAccess) -> Result<(u64, u64)> {
        let zone = self.clinic_zone(staff.clinic_id()).await?;
        let today = zone.date_of(self.now());
        let start = zone.instant(today, 0).unwrap_or(0);
        let clinic_patients = clinic_patient_ids(&self.db, staff.clinic_id()).await?;
        let mut today_q = appointment::Entity::find()
            .filter(appointment::Column::Status.eq(BOOKED))
            .filter(appointment::Column::PatientId.is_in(clinic_patients.clone()))
            .filter(appointment::Column::StartAt.gte(start))
            .filter(appointment::Column::StartAt.lt(start + DAY_MS));
        if staff.role() == Role::Clinician {
            today_q = today_q.filter(appointment::Column::ClinicianId.eq(staff.user_id()));
        }
        let requests = visit_request::Entity::find()
            .filter(visit_request::Column::Status.eq("open"))
            .filter(visit_request::Column::PatientId.is_in(clinic_patients))
            .count(&self.db)
            .await?;
        Ok((today_q.count(&self.db).await?, requests))
    }
}

/// Takes the row lock of a clinician's (or another account's) row for the rest of the
/// transaction, by a write that changes nothing.
async fn lock_account<C: ConnectionTrait>(txn: &C, id: &str) -> Result<()> {
    user_account::Entity::update_many()
        .col_expr(
            user_account::Column::UpdatedAt,
            Expr::col(user_account::Column::UpdatedAt),
        )
        .filter(user_account::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The same for a patient's row.
async fn lock_patient<C: ConnectionTrait>(txn: &C, id: &str) -> Result<()> {
    patient::Entity::update_many()
        .col_expr(
            patient::Column::UpdatedAt,
            Expr::col(patient::Column::UpdatedAt),
        )
        .filter(patient::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

fn visit_type_view(k: &visit_type::Model) -> VisitTypeView {
    VisitTypeView {
        id: k.id.clone(),
        name: k.name.clone(),
        minutes: k.minutes,
        self_schedule: k.self_schedule != 0,
    }
}

pub(crate) fn optional_note(s: &str, what: &str) -> Result<Option<String>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(short_text(s, what, 1, domain::care::NOTE_MAX)?))
}

/// RFC 5545 text: backslash, semicolon, comma and newline escaped.
fn ics_text(s: &str) -> String {
    s.replace('\r', "")
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// RFC 5545 line folding at 75 octets, CRLF line ends.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for c in line.chars() {
        if len + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_lines_are_escaped_and_folded() {
        assert_eq!(ics_text("a,b;c\nd"), "a\\,b\\;c\\nd");
        let long = "X".repeat(100);
        let f = fold(&long);
        assert!(f.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(f.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn wall_clock_times_follow_daylight_saving() {
        let z = Zone::named("America/Chicago").unwrap();
        let winter = z.instant(Date::constant(2026, 12, 8), 9 * 60).unwrap();
        let summer = z.instant(Date::constant(2026, 7, 7), 9 * 60).unwrap();
        assert_eq!(z.clock(winter), "09:00");
        assert_eq!(z.clock(summer), "09:00");
        // 09:00 in Chicago is 15:00 UTC in winter and 14:00 UTC in summer.
        assert_eq!(winter % DAY_MS, 15 * 3_600_000);
        assert_eq!(summer % DAY_MS, 14 * 3_600_000);
        assert!(Zone::named("Mars/Olympus").is_err());
    }
}
