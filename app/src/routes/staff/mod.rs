//! The staff console's pages, under `/staff`.
//!
//! Each page is a lazy route: its code is a wasm chunk of its own (`cargo leptos --split`),
//! fetched the first time a staff member opens it, so a patient never downloads the console.

pub mod home;
pub mod inbox;
pub mod patients;
pub mod refills;
pub mod results;
pub mod schedule;

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// `/staff`: what is waiting in each queue.
pub struct StaffHomeRoute;

#[lazy_route]
impl LazyRoute for StaffHomeRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        home::StaffHomePage().into_any()
    }
}

/// `/staff/messages`: the team inbox.
pub struct InboxRoute;

#[lazy_route]
impl LazyRoute for InboxRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        inbox::InboxPage().into_any()
    }
}

/// `/staff/messages/:id`: one thread, answered by the team.
pub struct StaffThreadRoute;

#[lazy_route]
impl LazyRoute for StaffThreadRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        inbox::StaffThreadPage().into_any()
    }
}

/// `/staff/refills`: the refill queue.
pub struct RefillQueueRoute;

#[lazy_route]
impl LazyRoute for RefillQueueRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        refills::RefillQueuePage().into_any()
    }
}

/// `/staff/schedule`: the day's visits, requests and templates.
pub struct ScheduleRoute;

#[lazy_route]
impl LazyRoute for ScheduleRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        schedule::SchedulePage().into_any()
    }
}

/// `/staff/patients`: search, registration, letters and guardian access.
pub struct PatientsRoute;

#[lazy_route]
impl LazyRoute for PatientsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        patients::PatientsPage().into_any()
    }
}

/// `/staff/results`: results waiting for a clinician's review.
pub struct ResultsReviewRoute;

#[lazy_route]
impl LazyRoute for ResultsReviewRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        results::ResultsReviewPage().into_any()
    }
}
