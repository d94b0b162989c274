//! Appointments and refill requests, the patient's side, and the Home page's care cards.

use crate::error::AppError;
use domain::care::{AppointmentsPage, PharmacyView, RefillView, SlotView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[server(prefix = "/api", endpoint = "appointments/page")]
pub async fn load_appointments() -> Result<AppointmentsPage, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        Ok(c.portal.patient_appointments(&access).await?)
    })
    .await
}

/// Open slots of a visit type, optionally from a day (`YYYY-MM-DD`).
#[server(prefix = "/api", endpoint = "appointments/slots")]
pub async fn open_slots(
    visit_type: String,
    from: Option<String>,
) -> Result<Vec<SlotView>, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        Ok(c.portal
            .patient_slots(&access, &visit_type, None, from.as_deref())
            .await?)
    })
    .await
}

/// Books a slot; returns the sentence to show.
#[server(prefix = "/api", endpoint = "appointments/book")]
pub async fn book(slot: String, reason: Option<String>) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        c.portal
            .book_appointment(&access, &slot, reason.as_deref().unwrap_or(""))
            .await?;
        Ok("Your appointment is booked. It is listed under Upcoming visits.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "appointments/cancel")]
pub async fn cancel(id: String) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        c.portal.cancel_appointment(&access, &id).await?;
        Ok("Your appointment is cancelled.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "appointments/reschedule")]
pub async fn reschedule(id: String, slot: String) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        c.portal.reschedule_appointment(&access, &id, &slot).await?;
        Ok("Your appointment is moved to the new time.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "appointments/request")]
pub async fn request_visit(
    visit_type: String,
    preferred: String,
    note: Option<String>,
) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        c.portal
            .request_visit(
                &access,
                &visit_type,
                &preferred,
                note.as_deref().unwrap_or(""),
            )
            .await?;
        Ok("Your request went to the front desk. They will contact you to find a time.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "appointments/waitlist")]
pub async fn join_waitlist(
    visit_type: String,
    appointment: Option<String>,
) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        c.portal
            .join_waitlist(&access, &visit_type, appointment.as_deref())
            .await?;
        Ok("You are on the waitlist. We email you when an earlier time opens.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "appointments/accept")]
pub async fn accept_offer(offer: String) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Appointments, |c, access| async move {
        c.portal.accept_offer(&access, &offer).await?;
        Ok("The earlier time is yours. It is listed under Upcoming visits.".into())
    })
    .await
}

#[server(prefix = "/api", endpoint = "refills/list")]
pub async fn list_refills() -> Result<Vec<RefillView>, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Medications, |c, access| async move {
        Ok(c.portal.patient_refills(&access).await?)
    })
    .await
}

/// What the refill form offers: the active medications and the pharmacies. One call, so a
/// page's resource never chains two server functions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefillChoices {
    pub medications: Vec<domain::records::MedicationView>,
    pub pharmacies: Vec<PharmacyView>,
}

#[server(prefix = "/api", endpoint = "refills/choices")]
pub async fn load_refill_choices() -> Result<RefillChoices, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Medications, |c, access| async move {
        let medications = c
            .portal
            .list_medications(&access, &domain::records::DateRange::all())
            .await?
            .into_iter()
            .filter(|m| m.active)
            .collect();
        let pharmacies = c.portal.pharmacies(&access).await?;
        Ok(RefillChoices {
            medications,
            pharmacies,
        })
    })
    .await
}

#[server(prefix = "/api", endpoint = "refills/request")]
pub async fn request_refill(
    medication: String,
    pharmacy: String,
    note: Option<String>,
) -> Result<String, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Medications, |c, access| async move {
        c.portal
            .request_refill(
                &access,
                &medication,
                &pharmacy,
                note.as_deref().unwrap_or(""),
            )
            .await?;
        Ok("Your refill request went to your care team. Follow its status below.".into())
    })
    .await
}

/// The Home page's cards about the care team.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CareCards {
    pub upcoming: Vec<domain::care::AppointmentView>,
    pub unread: u64,
    pub open_refills: Vec<RefillView>,
    pub offers: usize,
}

#[server(prefix = "/api", endpoint = "home/care")]
pub async fn home_care() -> Result<CareCards, AppError> {
    use super::{Policy, ssr};
    use domain::proxy::Scope;
    // Each card asks for its own part of the record: a caregiver sees only the cards
    // their grant covers.
    ssr::run(Policy::AnyRecord, |c| async move {
        let mut cards = CareCards::default();
        if let Some(access) = c.part(Scope::Appointments).await? {
            let page = c.portal.patient_appointments(&access).await?;
            cards.offers = page.offers.len();
            cards.upcoming = page
                .upcoming
                .into_iter()
                .filter(|a| a.status == "Booked")
                .take(3)
                .collect();
        }
        if let Some(access) = c.part(Scope::Medications).await? {
            let refills = c.portal.patient_refills(&access).await?;
            cards.open_refills = refills.into_iter().take(3).collect();
        }
        if let Some(access) = c.part(Scope::Messages).await? {
            cards.unread = c.portal.unread_threads(&access).await?;
        }
        Ok(cards)
    })
    .await
}
