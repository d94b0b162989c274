//! The staff console's server functions. Each names the roles it is for (the policy) and the
//! backend checks the role again for the work itself.

use crate::error::AppError;
use domain::care::{
    ActivationLetter, AppointmentView, HoldableRow, PatientRow, RefillView, Registration,
    ResultToReview, ScheduleSetup, SlotView, StaffHome, ThreadRow, ThreadView, VisitRequestView,
};
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "staff/home")]
pub async fn load_staff_home() -> Result<StaffHome, AppError> {
    use super::{ANY_STAFF, Policy, ssr};
    ssr::run(Policy::Staff(ANY_STAFF), |c| async move {
        let s = ssr::staff(&c, ANY_STAFF, "staff home").await?;
        Ok(c.portal.staff_home(&s).await?)
    })
    .await
}

/// The team inbox: `view` is `unassigned`, `mine` or `closed`.
#[server(prefix = "/api", endpoint = "staff/inbox")]
pub async fn inbox(view: Option<String>) -> Result<Vec<ThreadRow>, AppError> {
    use super::{INBOX, Policy, ssr};
    ssr::run(Policy::Staff(INBOX), |c| async move {
        let view = domain::care::InboxView::parse(view.as_deref().unwrap_or(""))
            .map_err(|e| AppError::BadRequest(e.0))?;
        let s = ssr::staff(&c, INBOX, "team inbox").await?;
        Ok(c.portal.inbox(&s, view).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/thread")]
pub async fn staff_thread(id: String) -> Result<ThreadView, AppError> {
    use super::{INBOX, Policy, ssr};
    ssr::run(Policy::Staff(INBOX), |c| async move {
        let s = ssr::staff(&c, INBOX, "message thread").await?;
        Ok(c.portal.staff_thread(&s, &id).await?)
    })
    .await
}

/// Assigns a thread (`to` empty: back to unassigned).
#[server(prefix = "/api", endpoint = "staff/assign")]
pub async fn assign_thread(id: String, to: Option<String>) -> Result<(), AppError> {
    use super::{INBOX, Policy, ssr};
    ssr::run(Policy::Staff(INBOX), |c| async move {
        let s = ssr::staff(&c, INBOX, "assign a thread").await?;
        Ok(c.portal
            .assign_thread(&s, &id, to.as_deref().unwrap_or(""))
            .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/close")]
pub async fn close_thread(id: String) -> Result<(), AppError> {
    use super::{INBOX, Policy, ssr};
    ssr::run(Policy::Staff(INBOX), |c| async move {
        let s = ssr::staff(&c, INBOX, "close a thread").await?;
        Ok(c.portal.close_thread(&s, &id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/patients")]
pub async fn search_patients(query: String) -> Result<Vec<PatientRow>, AppError> {
    use super::{Policy, SCHEDULE, ssr};
    ssr::run(Policy::Staff(SCHEDULE), |c| async move {
        let s = ssr::staff(&c, SCHEDULE, "patient search").await?;
        Ok(c.portal.search_patients(&s, &query).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/register")]
pub async fn register_patient(
    first_name: String,
    last_name: String,
    date_of_birth: String,
    mrn: String,
) -> Result<Registration, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "register a patient").await?;
        Ok(c.portal
            .register_patient(&s, &first_name, &last_name, &date_of_birth, &mrn)
            .await?)
    })
    .await
}

/// A new activation letter for a patient without an account (earlier codes stop working).
#[server(prefix = "/api", endpoint = "staff/letter")]
pub async fn issue_letter(patient: String) -> Result<ActivationLetter, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "activation letter").await?;
        Ok(c.portal.activation_letter(&s, &patient).await?)
    })
    .await
}

/// `action`: `unlock`, `suspend` or `restore` a patient's account.
#[server(prefix = "/api", endpoint = "staff/account")]
pub async fn account_action(patient: String, action: String) -> Result<String, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "patient account").await?;
        Ok(c.portal.staff_account_action(&s, &patient, &action).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/refills")]
pub async fn refill_queue() -> Result<Vec<RefillView>, AppError> {
    use super::{Policy, REFILL_QUEUE, ssr};
    ssr::run(Policy::Staff(REFILL_QUEUE), |c| async move {
        let s = ssr::staff(&c, REFILL_QUEUE, "refill queue").await?;
        Ok(c.portal.refill_queue(&s).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/approve")]
pub async fn approve_refill(id: String, quantity: String) -> Result<(), AppError> {
    use super::{CLINICIAN, Policy, ssr};
    ssr::run(Policy::Staff(CLINICIAN), |c| async move {
        let q = domain::care::parse_quantity(&quantity).map_err(|e| AppError::BadRequest(e.0))?;
        let s = ssr::staff(&c, CLINICIAN, "approve a refill").await?;
        Ok(c.portal.approve_refill(&s, &id, q).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/deny")]
pub async fn deny_refill(id: String, reason: String) -> Result<(), AppError> {
    use super::{CLINICIAN, Policy, ssr};
    ssr::run(Policy::Staff(CLINICIAN), |c| async move {
        let s = ssr::staff(&c, CLINICIAN, "deny a refill").await?;
        Ok(c.portal.deny_refill(&s, &id, &reason).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/sent")]
pub async fn refill_sent(id: String) -> Result<(), AppError> {
    use super::{Policy, REFILL_QUEUE, ssr};
    ssr::run(Policy::Staff(REFILL_QUEUE), |c| async move {
        let s = ssr::staff(&c, REFILL_QUEUE, "send a refill").await?;
        Ok(c.portal.mark_refill_sent(&s, &id).await?)
    })
    .await
}

/// The booked and cancelled visits of one day (`YYYY-MM-DD`, empty: today).
#[server(prefix = "/api", endpoint = "staff/schedule")]
pub async fn day_schedule(day: Option<String>) -> Result<(String, Vec<AppointmentView>), AppError> {
    use super::{Policy, SCHEDULE, ssr};
    ssr::run(Policy::Staff(SCHEDULE), |c| async move {
        let s = ssr::staff(&c, SCHEDULE, "day schedule").await?;
        Ok(c.portal.day_schedule(&s, day.as_deref()).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/setup")]
pub async fn load_schedule_setup() -> Result<ScheduleSetup, AppError> {
    use super::{Policy, SCHEDULE, ssr};
    ssr::run(Policy::Staff(SCHEDULE), |c| async move {
        let s = ssr::staff(&c, SCHEDULE, "schedule set-up").await?;
        Ok(c.portal.schedule_setup(&s).await?)
    })
    .await
}

#[cfg(feature = "ssr")]
fn weekday(s: &str) -> Result<i32, AppError> {
    match s.trim().parse::<i32>() {
        Ok(n) if (1..=7).contains(&n) => Ok(n),
        _ => Err(AppError::BadRequest("Choose a day of the week.".into())),
    }
}

#[cfg(feature = "ssr")]
fn clock(s: &str, what: &str) -> Result<i32, AppError> {
    domain::care::parse_clock(s, what).map_err(|e| AppError::BadRequest(e.0))
}

#[server(prefix = "/api", endpoint = "staff/template_add")]
pub async fn add_template(
    clinician: String,
    location: String,
    visit_type: String,
    weekday: String,
    start: String,
    end: String,
) -> Result<(), AppError> {
    use super::{Policy, SCHEDULE, ssr};
    ssr::run(Policy::Staff(SCHEDULE), |c| async move {
        let day = self::weekday(&weekday)?;
        let (s_min, e_min) = (clock(&start, "start")?, clock(&end, "end")?);
        let s = ssr::staff(&c, SCHEDULE, "add availability").await?;
        c.portal
            .add_availability(&s, &clinician, &location, &visit_type, day, s_min, e_min)
            .await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/template_remove")]
pub async fn remove_template(id: String) -> Result<(), AppError> {
    use super::{Policy, SCHEDULE, ssr};
    ssr::run(Policy::Staff(SCHEDULE), |c| async move {
        let s = ssr::staff(&c, SCHEDULE, "remove availability").await?;
        Ok(c.portal.remove_availability(&s, &id).await?)
    })
    .await
}

/// Time off: a whole day (no times) or part of it.
#[server(prefix = "/api", endpoint = "staff/exception_add")]
pub async fn add_exception(
    clinician: String,
    day: String,
    start: Option<String>,
    end: Option<String>,
    reason: String,
) -> Result<(), AppError> {
    use super::{Policy, SCHEDULE, ssr};
    ssr::run(Policy::Staff(SCHEDULE), |c| async move {
        let opt = |v: Option<String>, what: &str| -> Result<Option<i32>, AppError> {
            match v.filter(|v| !v.trim().is_empty()) {
                Some(v) => Ok(Some(clock(&v, what)?)),
                None => Ok(None),
            }
        };
        let (s_min, e_min) = (opt(start, "start")?, opt(end, "end")?);
        let s = ssr::staff(&c, SCHEDULE, "add time off").await?;
        c.portal
            .add_exception(&s, &clinician, &day, s_min, e_min, &reason)
            .await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/requests")]
pub async fn visit_requests() -> Result<Vec<VisitRequestView>, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "visit requests").await?;
        Ok(c.portal.visit_requests(&s).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/request_done")]
pub async fn request_done(id: String) -> Result<(), AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "handle a visit request").await?;
        Ok(c.portal.handle_visit_request(&s, &id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/slots")]
pub async fn staff_slots(
    visit_type: String,
    from: Option<String>,
) -> Result<Vec<SlotView>, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "open slots").await?;
        Ok(c.portal
            .open_slots(s.clinic_id(), &visit_type, None, from.as_deref(), true)
            .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/book")]
pub async fn staff_book(patient: String, slot: String) -> Result<String, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "book for a patient").await?;
        c.portal.staff_book(&s, &patient, &slot).await?;
        Ok("Booked. The patient is told by email.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/cancel")]
pub async fn staff_cancel(id: String) -> Result<String, AppError> {
    use super::{FRONT_DESK, Policy, ssr};
    ssr::run(Policy::Staff(FRONT_DESK), |c| async move {
        let s = ssr::staff(&c, FRONT_DESK, "cancel a visit").await?;
        c.portal.staff_cancel(&s, &id).await?;
        Ok("Cancelled. The patient is told by email.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/results")]
pub async fn results_to_review() -> Result<Vec<ResultToReview>, AppError> {
    use super::{CLINICIAN, Policy, ssr};
    ssr::run(Policy::Staff(CLINICIAN), |c| async move {
        let s = ssr::staff(&c, CLINICIAN, "results to review").await?;
        Ok(c.portal.results_to_review(&s).await?)
    })
    .await
}

/// `action`: `review` (results only), `hold` (with `reason`) or `release`; `what`: `result`
/// (the default), `report` (with its results) or `note` (a visit note).
#[server(prefix = "/api", endpoint = "staff/result")]
pub async fn result_action(
    id: String,
    action: String,
    reason: Option<String>,
    what: Option<String>,
) -> Result<(), AppError> {
    use super::{CLINICIAN, Policy, ssr};
    ssr::run(Policy::Staff(CLINICIAN), |c| async move {
        use backend::release::ClinicActor;
        use domain::records::Holdable;
        let what = match what.as_deref() {
            None | Some("") => Holdable::Result,
            Some(w) => Holdable::parse(w).ok_or_else(|| {
                AppError::BadRequest("Choose a result, a report or a visit note.".into())
            })?,
        };
        let by = ClinicActor::Staff(&c.principal);
        match action.as_str() {
            "review" if what == Holdable::Result => {
                c.portal.review_result(by, &id, &c.meta).await?
            }
            "hold" => {
                c.portal
                    .hold(by, what, &id, reason.as_deref().unwrap_or(""), &c.meta)
                    .await?
            }
            "release" => c.portal.release(by, what, &id, &c.meta).await?,
            _ => {
                return Err(AppError::BadRequest(
                    "Choose to mark reviewed, hold or release.".into(),
                ));
            }
        }
        Ok(())
    })
    .await
}

/// Reports and visit notes of the last two weeks, and held ones, to hold or release.
#[server(prefix = "/api", endpoint = "staff/reports")]
pub async fn reports_and_notes() -> Result<Vec<HoldableRow>, AppError> {
    use super::{CLINICIAN, Policy, ssr};
    ssr::run(Policy::Staff(CLINICIAN), |c| async move {
        let s = ssr::staff(&c, CLINICIAN, "reports and notes").await?;
        Ok(c.portal.reports_and_notes(&s).await?)
    })
    .await
}

/// Marks a result or a message thread (`what`: `result` or `thread`) as being of a sensitive
/// `category` (a name from docs/ACCESS.md), or, with an empty one, as none.
#[server(prefix = "/api", endpoint = "staff/sensitivity")]
pub async fn mark_sensitivity(
    what: String,
    id: String,
    category: String,
) -> Result<String, AppError> {
    use super::{CLINICIAN, Policy, ssr};
    ssr::run(Policy::Staff(CLINICIAN), |c| async move {
        use domain::proxy::Sensitivity;
        let what = domain::records::Markable::parse(&what).ok_or_else(|| {
            AppError::BadRequest("Choose a result or a conversation to mark.".into())
        })?;
        let category = match category.trim() {
            "" => None,
            name => Some(Sensitivity::parse(name).ok_or_else(|| {
                AppError::BadRequest("Choose one of the listed categories, or none.".into())
            })?),
        };
        let s = ssr::staff(&c, CLINICIAN, "mark sensitivity").await?;
        c.portal.mark_sensitivity(&s, what, &id, category).await?;
        Ok(match category {
            Some(c) => format!(
                "Marked confidential ({}): a parent of a 12 to 17 year old no longer sees it.",
                c.label()
            ),
            None => "Marked as not sensitive.".into(),
        })
    })
    .await
}
