//! The Leptos application: pages (routes/), components and server functions (api/).
#![recursion_limit = "512"]

pub mod api;
pub mod components;
pub mod error;
pub mod routes;

use components::layout::{PortalLayout, StaffLayout};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};
use routes::{
    account::AccountPage,
    activate::{ActivateAccount, ActivateConfirm, ActivateStart},
    activity::ActivityPage,
    allergies::AllergiesPage,
    appointments::AppointmentsPage,
    downloads::DownloadsPage,
    home::Home,
    immunizations::ImmunizationsPage,
    medications::MedicationsPage,
    messages::{MessagesPage, ThreadPage},
    not_found::NotFound,
    problems::ProblemsPage,
    proxy::ProxyAccessPage,
    proxy_accept::ProxyAcceptPage,
    recovery::{ForgotPasswordPage, ForgotUsernamePage, ResetPasswordPage},
    results::{ResultPage, ResultsPage},
    second_step::{SecondStep, SetupSecondStep},
    signin::SignIn,
    staff::{
        InboxRoute, PatientsRoute, RefillQueueRoute, ResultsReviewRoute, ScheduleRoute,
        StaffHomeRoute, StaffThreadRoute,
    },
    visits::VisitsPage,
    vitals::VitalsPage,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="manifest" href="/manifest.webmanifest" />
        <Link rel="icon" href="/icon.svg" type_="image/svg+xml" />
        <Meta name="theme-color" content="#0b5c6b" />
        <Meta name="description" content="My Health Connection: your clinic's patient portal." />
        <Title formatter=|t: String| {
            if t.is_empty() { "My Health Connection".to_string() } else { format!("{t} · My Health Connection") }
        } />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/home" /> } ssr=SsrMode::Async />
                <Route path=path!("/signin") view=SignIn ssr=SsrMode::Async />
                <Route path=path!("/signin/verify") view=SecondStep ssr=SsrMode::Async />
                <Route path=path!("/signin/setup") view=SetupSecondStep ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-username") view=ForgotUsernamePage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/activate") view=ActivateStart ssr=SsrMode::Async />
                <Route path=path!("/activate/account") view=ActivateAccount ssr=SsrMode::Async />
                <Route path=path!("/activate/confirm") view=ActivateConfirm ssr=SsrMode::Async />
                <Route path=path!("/proxy/accept") view=ProxyAcceptPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=PortalLayout ssr=SsrMode::Async>
                    <Route path=path!("/home") view=Home ssr=SsrMode::Async />
                    <Route path=path!("/results") view=ResultsPage ssr=SsrMode::Async />
                    <Route path=path!("/results/:id") view=ResultPage ssr=SsrMode::Async />
                    <Route path=path!("/visits") view=VisitsPage ssr=SsrMode::Async />
                    <Route path=path!("/medications") view=MedicationsPage ssr=SsrMode::Async />
                    <Route path=path!("/allergies") view=AllergiesPage ssr=SsrMode::Async />
                    <Route path=path!("/problems") view=ProblemsPage ssr=SsrMode::Async />
                    <Route path=path!("/vitals") view=VitalsPage ssr=SsrMode::Async />
                    <Route path=path!("/immunizations") view=ImmunizationsPage ssr=SsrMode::Async />
                    <Route path=path!("/messages") view=MessagesPage ssr=SsrMode::Async />
                    <Route path=path!("/messages/:id") view=ThreadPage ssr=SsrMode::Async />
                    <Route path=path!("/appointments") view=AppointmentsPage ssr=SsrMode::Async />
                    <Route path=path!("/sharing") view=DownloadsPage ssr=SsrMode::Async />
                    <Route path=path!("/proxy") view=ProxyAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/activity") view=ActivityPage ssr=SsrMode::Async />
                </ParentRoute>
                <ParentRoute path=path!("/staff") view=StaffLayout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<StaffHomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/messages") view={Lazy::<InboxRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/messages/:id") view={Lazy::<StaffThreadRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/refills") view={Lazy::<RefillQueueRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/schedule") view={Lazy::<ScheduleRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/patients") view={Lazy::<PatientsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/results") view={Lazy::<ResultsReviewRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
