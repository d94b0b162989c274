//! The access log a patient reads on the Activity page: every view, download and transmit
//! of their record and every sign-in and security event of their account, by whoever did it.

use crate::auth::account::SECURITY_ACTIONS;
use crate::auth::session::{describe_device, format_instant};
use crate::storage::entity::{audit_event, user_account};
use crate::{Error, Portal, Principal, Result};
use domain::records::{DateRange, LogPage, LogRow, LogSort};
use domain::session::Role;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Rows per page of the log.
pub const PAGE_SIZE: u32 = 25;
/// The log reads at most this many of the newest events in the chosen dates.
const MAX_ROWS: u64 = 5000;

/// Record actions and their words.
const RECORD_ACTIONS: &[(&str, &str)] = &[
    ("record.view", "Viewed"),
    ("record.download", "Downloaded"),
    ("record.transmit", "Sent"),
    (
        "record.release_preference",
        "Changed when results are shown",
    ),
    // Holds, releases and reviews are not listed: a held result does not exist for the
    // patient, and a review of one would tell of it.
    ("access.denied", "Access refused"),
    // The care team's side and the patient's: messages, visits, refills.
    ("message.sent", "Sent a message"),
    ("message.read", "Read a conversation"),
    ("message.attachment", "Opened an attachment"),
    ("appointment.booked", "Booked a visit"),
    ("appointment.cancelled", "Cancelled a visit"),
    ("appointment.rescheduled", "Moved a visit"),
    ("appointment.requested", "Asked for a visit"),
    ("appointment.waitlisted", "Joined a waitlist"),
    ("refill.requested", "Asked for a refill"),
    // The clinic's lists that showed the patient (one entry per patient shown).
    ("patient.search", "Found in a patient search"),
    ("message.inbox", "Listed in the care team's inbox"),
    ("refill.queue", "Listed in open refill requests"),
    ("appointment.requests", "Listed in visit requests"),
    ("appointment.schedule", "Listed on the day's schedule"),
    ("result.review_list", "Listed in results to review"),
    // Who can see the record.
    ("proxy.invite", "Invited a caregiver"),
    ("proxy.guardian", "Set up a parent's access"),
    ("proxy.accept", "Accepted access to the record"),
    ("proxy.switch", "Opened the record as a caregiver"),
    ("proxy.scopes", "Changed a caregiver's access"),
    ("proxy.revoke", "Revoked a caregiver's access"),
    ("proxy.ended", "Caregiver access ended"),
    ("account.reported", "Reported suspicious activity"),
];

/// What a category of data is called on the page.
fn data_label(category: Option<&str>) -> String {
    match category {
        Some("results") => "Test results",
        Some("medications") => "Medications",
        Some("allergies") => "Allergies",
        Some("problems") => "Problems",
        Some("immunizations") => "Immunizations",
        Some("vitals") => "Vital signs",
        Some("visits") => "Visit summaries",
        Some("summary") => "Health summary",
        Some("fhir") => "Whole record (FHIR)",
        Some("ccda") => "Health summary (C-CDA)",
        Some("messages") => "Messages",
        Some("appointments") => "Appointments",
        Some("proxy") => "Proxy access",
        Some(other) => return other.to_owned(),
        None => "—",
    }
    .into()
}

fn what_label(action: &str) -> String {
    RECORD_ACTIONS
        .iter()
        .chain(SECURITY_ACTIONS)
        .find(|(a, _)| *a == action)
        .map(|(_, w)| (*w).to_owned())
        .unwrap_or_else(|| action.to_owned())
}

fn role_label(role: &str) -> &'static str {
    match Role::parse(role) {
        Some(Role::Clinician) => "clinician",
        Some(Role::FrontDesk) => "front desk",
        Some(Role::Admin) => "clinic admin",
        Some(Role::Caregiver) => "caregiver",
        Some(Role::Patient) | None => "patient",
    }
}

impl Portal {
    /// A page of the caller's access log: events on their record (by anyone) and on their
    /// account, in `range`, sorted by a column, `PAGE_SIZE` to a page.
    pub async fn access_log(
        &self,
        p: &Principal,
        range: &DateRange,
        sort: LogSort,
        descending: bool,
        page: u32,
    ) -> Result<LogPage> {
        let uid = p.user_id().ok_or(Error::Unauthenticated)?;
        let security: Vec<&str> = SECURITY_ACTIONS.iter().map(|(a, _)| *a).collect();
        // What the clinic did to the account names it as the object; only those actions
        // count by object, so an id someone typed into a request cannot put a row here.
        let mut mine = Condition::any()
            .add(audit_event::Column::ActorUserId.eq(uid))
            .add(
                Condition::all()
                    .add(audit_event::Column::ObjectId.eq(uid))
                    .add(audit_event::Column::Action.is_in(security)),
            );
        if let Some(pid) = p.patient_id() {
            mine = mine.add(audit_event::Column::PatientId.eq(pid));
        }
        let mut q = audit_event::Entity::find().filter(mine);
        if let Some(f) = range.from() {
            q = q.filter(audit_event::Column::At.gte(day_start(f)));
        }
        if let Some(t) = range.to() {
            q = q.filter(audit_event::Column::At.lt(day_start(t) + 86_400_000));
        }
        let known: Vec<&str> = RECORD_ACTIONS
            .iter()
            .chain(SECURITY_ACTIONS)
            .map(|(a, _)| *a)
            .collect();
        let events = q
            .filter(audit_event::Column::Action.is_in(known))
            .order_by_desc(audit_event::Column::At)
            .order_by_desc(audit_event::Column::Seq)
            .limit(MAX_ROWS)
            .all(&self.db)
            .await?;
        // Who the other actors are: staff names with their role.
        let others: Vec<String> = events
            .iter()
            .filter_map(|e| e.actor_user_id.clone())
            .filter(|a| a != uid)
            .collect();
        let people: HashMap<String, (String, &str)> = user_account::Entity::find()
            .filter(user_account::Column::Id.is_in(others))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| {
                let name = format!("{} {}", u.given_name, u.family_name);
                (u.id, (name, role_label(&u.role)))
            })
            .collect();
        let mut rows: Vec<((i64, i64), LogRow)> = events
            .into_iter()
            .map(|e| {
                let who = match e.actor_user_id.as_deref() {
                    Some(a) if a == uid => "You".to_owned(),
                    // Someone acting for the patient, whatever their own account is.
                    Some(a) if e.on_behalf_of.is_some() => people
                        .get(a)
                        .map(|(name, _)| format!("{name} (caregiver)"))
                        .unwrap_or_else(|| "A caregiver".into()),
                    Some(a) => people
                        .get(a)
                        .map(|(name, role)| format!("{name} ({role})"))
                        .unwrap_or_else(|| "Someone else".into()),
                    None => match e.actor_label.as_deref() {
                        Some(_) => "The clinic".into(),
                        None => "Someone not signed in".into(),
                    },
                };
                let detail = match e.action.as_str() {
                    "record.download" | "record.transmit" | "record.release_preference" => {
                        e.detail.clone()
                    }
                    _ => None,
                };
                let row = LogRow {
                    at: format_instant(e.at),
                    who,
                    what: what_label(&e.action),
                    data: data_label(e.category.as_deref()),
                    outcome: match e.outcome.as_str() {
                        "ok" => "Succeeded".into(),
                        "failed" => "Failed".into(),
                        _ => "Refused".into(),
                    },
                    device: describe_device(e.user_agent.as_deref()),
                    address: e.ip,
                    detail,
                };
                ((e.at, e.seq.unwrap_or_default()), row)
            })
            .collect();
        // Newest first within equal keys, whatever the column.
        rows.sort_by(|(at_a, a), (at_b, b)| {
            let key = match sort {
                LogSort::When => at_a.cmp(at_b),
                LogSort::Who => a.who.cmp(&b.who),
                LogSort::What => a.what.cmp(&b.what),
                LogSort::Data => a.data.cmp(&b.data),
                LogSort::Device => a.device.cmp(&b.device),
            };
            let key = if descending { key.reverse() } else { key };
            key.then(at_b.cmp(at_a))
        });
        let total = rows.len() as u32;
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        let rows = rows
            .into_iter()
            .skip(((page - 1) * PAGE_SIZE) as usize)
            .take(PAGE_SIZE as usize)
            .map(|(_, r)| r)
            .collect();
        Ok(LogPage {
            rows,
            page,
            pages,
            total,
            sort,
            descending,
        })
    }
}

fn day_start(d: time::Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1000
}
