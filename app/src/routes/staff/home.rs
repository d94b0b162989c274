//! The console's home: what is waiting in each queue the role works.

use crate::api::staff::load_staff_home;
use crate::components::care::suspended;
use domain::care::StaffHome;
use domain::session::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

fn card(title: &'static str, text: String, href: &'static str, link: &'static str) -> AnyView {
    view! {
        <article class="card">
            <h2>{title}</h2>
            <p>{text}</p>
            <A href=href>{link}</A>
        </article>
    }
    .into_any()
}

fn cards(h: StaffHome) -> AnyView {
    let mut out = Vec::new();
    if matches!(h.role, Role::Clinician | Role::FrontDesk) {
        out.push(card(
            "Team inbox",
            format!(
                "{} unassigned, {} assigned to you.",
                h.unassigned_messages, h.my_messages
            ),
            "/staff/messages",
            "Open the team inbox",
        ));
        out.push(card(
            "Refills",
            format!(
                "{} waiting for a decision, {} approved to send.",
                h.refills_waiting, h.refills_to_send
            ),
            "/staff/refills",
            "Open the refill queue",
        ));
    }
    out.push(card(
        "Today",
        format!("{} visits booked today.", h.appointments_today),
        "/staff/schedule",
        "Open the schedule",
    ));
    if matches!(h.role, Role::FrontDesk | Role::Admin) {
        out.push(card(
            "Visit requests",
            format!("{} waiting for the front desk.", h.visit_requests),
            "/staff/schedule",
            "Work the requests",
        ));
    }
    if h.role == Role::Clinician {
        out.push(card(
            "Results",
            format!("{} results not yet reviewed.", h.results_to_review),
            "/staff/results",
            "Review results",
        ));
    }
    view! {
        <h1>{format!("Welcome, {}", h.name)}</h1>
        <section class="cards" aria-label="Queues">{out}</section>
    }
    .into_any()
}

#[component]
pub fn StaffHomePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_staff_home());
    view! {
        <Title text="Staff console" />
        {suspended(data, cards)}
    }
    .into_any()
}
