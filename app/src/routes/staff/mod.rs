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

/// A lazy route that shows one page component. The chunk is named after the route type, so
/// each route gets a chunk of its own.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:path) => {
        $(#[$doc])*
        pub struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> leptos::prelude::AnyView {
                use leptos::prelude::IntoAny;
                $page().into_any()
            }
        }
    };
}

lazy_page!(
    /// `/staff`: what is waiting in each queue.
    StaffHomeRoute => home::StaffHomePage
);
lazy_page!(
    /// `/staff/messages`: the team inbox.
    InboxRoute => inbox::InboxPage
);
lazy_page!(
    /// `/staff/messages/:id`: one thread, answered by the team.
    StaffThreadRoute => inbox::StaffThreadPage
);
lazy_page!(
    /// `/staff/refills`: the refill queue.
    RefillQueueRoute => refills::RefillQueuePage
);
lazy_page!(
    /// `/staff/schedule`: the day's visits, requests and templates.
    ScheduleRoute => schedule::SchedulePage
);
lazy_page!(
    /// `/staff/patients`: search, registration, letters and guardian access.
    PatientsRoute => patients::PatientsPage
);
lazy_page!(
    /// `/staff/results`: results waiting for a clinician's review.
    ResultsReviewRoute => results::ResultsReviewPage
);
