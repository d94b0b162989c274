//! Home: what needs attention.

use crate::api::appointments::{CareCards, home_care};
use crate::api::record::home_highlights;
use crate::error::AppError;
use domain::proxy::Scope;
use domain::records::RecordHighlights;
use domain::session::Me;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

fn care(c: CareCards, me: Option<Me>) -> AnyView {
    let shows = |scope| me.as_ref().is_some_and(|m| m.shows(scope));
    let unread = match c.unread {
        0 => "No unread messages.".to_owned(),
        1 => "1 conversation has a new reply.".to_owned(),
        n => format!("{n} conversations have new replies."),
    };
    view! {
        {shows(Scope::Appointments).then(|| view! {
        <article class="card">
            <h2>"Upcoming visits"</h2>
            {if c.upcoming.is_empty() {
                view! { <p>"No upcoming visits."</p> }.into_any()
            } else {
                view! {
                    <ul>{c.upcoming.into_iter().map(|a| view! {
                        <li>
                            {format!("{}: {} with {}", a.when, a.visit_type, a.clinician)}
                            {a.instructions.map(|i| view! { <p class="instructions"><strong>"Before your visit: "</strong>{i}</p> })}
                        </li>
                    }).collect_view()}</ul>
                }.into_any()
            }}
            {(c.offers > 0).then(|| view! { <p><strong>"An earlier time opened for a visit you are waiting for."</strong></p> })}
            <A href="/appointments">"Go to appointments"</A>
        </article>
        })}
        {shows(Scope::Messages).then(|| view! {
        <article class="card">
            <h2>"Messages"</h2>
            <p>{unread}</p>
            <A href="/messages">"Go to messages"</A>
        </article>
        })}
        {shows(Scope::Medications).then(|| view! {
        <article class="card">
            <h2>"Refill requests"</h2>
            {if c.open_refills.is_empty() {
                view! { <p>"No refill requests."</p> }.into_any()
            } else {
                view! {
                    <ul>{c.open_refills.into_iter().map(|r| view! {
                        <li>{format!("{}: {}", r.medication, r.status.label())}</li>
                    }).collect_view()}</ul>
                }.into_any()
            }}
            <A href="/medications">"Go to medications"</A>
        </article>
        })}
    }
    .into_any()
}

fn cards(h: RecordHighlights) -> AnyView {
    let results = match (h.new_results, h.latest_result_day) {
        (0, Some(day)) => {
            format!("No new results since you last signed in. The latest are from {day}.")
        }
        (0, None) => "No results yet. They appear here once your clinic releases them.".into(),
        (1, _) => "1 new result since you last signed in.".into(),
        (n, _) => format!("{n} new results since you last signed in."),
    };
    let meds = match h.active_medications {
        0 => "No active medications on your record.".to_owned(),
        1 => "1 active medication.".to_owned(),
        n => format!("{n} active medications."),
    };
    let covers = |scope| h.covers.contains(&scope);
    view! {
        {covers(Scope::Results).then(|| view! {
        <article class="card">
            <h2>"Test results"</h2>
            <p>{results}</p>
            <A href="/results">"View test results"</A>
        </article>
        })}
        {covers(Scope::Visits).then(|| view! {
        <article class="card">
            <h2>"Visits"</h2>
            <p>{match h.last_visit {
                Some(d) => format!("Your last visit was on {d}."),
                None => "No visits on your record yet.".into(),
            }}</p>
            <A href="/visits">"View visit summaries"</A>
        </article>
        })}
        {covers(Scope::Medications).then(|| view! {
        <article class="card">
            <h2>"Medications"</h2>
            <p>{meds}</p>
            <A href="/medications">"View medications"</A>
        </article>
        })}
        {(!h.immunizations_due.is_empty()).then(|| view! {
            <article class="card">
                <h2>"Immunizations due"</h2>
                <ul>{h.immunizations_due.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                <A href="/immunizations">"View immunizations"</A>
            </article>
        })}
    }
    .into_any()
}

#[component]
pub fn Home() -> impl IntoView {
    let me = use_context::<Me>();
    let first = me
        .as_ref()
        .map(|m| m.first_name.clone())
        .unwrap_or_default();
    // Staff, and caregivers with no record open, have no record here: no cards (and no
    // refused call) for them.
    let patient = me
        .as_ref()
        .is_some_and(|m| !m.role.is_staff() && m.has_record());
    let staff = me.as_ref().is_some_and(|m| m.role.is_staff());
    let choose = me
        .as_ref()
        .is_some_and(|m| !m.role.is_staff() && !m.has_record());
    let me = StoredValue::new(me);
    view! {
        <Title text="Home" />
        <h1>{format!("Welcome, {first}")}</h1>
        <section class="cards" aria-label="Your health at a glance">
            {patient.then(|| {
                let highlights = Resource::new_blocking(|| (), |_| home_highlights());
                view! {
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match highlights.await {
                            Ok(h) => cards(h),
                            Err(AppError::Forbidden) => ().into_any(),
                            Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                }
            })}
            {choose.then(|| view! {
                <article class="card">
                    <h2>"Records you help with"</h2>
                    <p>"Choose whose record to open from the Record menu at the top of the page, or see your invitations on the Proxy access page."</p>
                    <A href="/proxy">"Go to proxy access"</A>
                </article>
            })}
            {staff.then(|| view! {
                <article class="card">
                    <h2>"Staff console"</h2>
                    <p>"Your queues: the team inbox, refills, the schedule, patients and results."</p>
                    <A href="/staff">"Open the staff console"</A>
                </article>
            })}
            {patient.then(|| {
                let cards = Resource::new_blocking(|| (), |_| home_care());
                view! {
                    <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match cards.await {
                                Ok(c) => care(c, me.get_value()),
                                Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                }
            })}
            <article class="card">
                <h2>"Emergencies"</h2>
                <p>"This portal is not for emergencies. If you need urgent help, call 911."</p>
            </article>
        </section>
    }
    .into_any()
}
