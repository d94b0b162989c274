//! Appointments: upcoming and past visits, booking an open slot, rescheduling, cancelling,
//! the waitlist and its offers, and a request when no slot fits.

use crate::api::appointments::{
    AcceptOffer, Book, Cancel, JoinWaitlist, RequestVisit, Reschedule, load_appointments,
    open_slots,
};
use crate::components::care::{action_notice, suspended};
use crate::components::form::action_error;
use domain::care::{AppointmentView, AppointmentsPage, SlotView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[derive(Clone, Copy)]
struct Actions {
    cancel: ServerAction<Cancel>,
    waitlist: ServerAction<JoinWaitlist>,
    accept: ServerAction<AcceptOffer>,
    book: ServerAction<Book>,
    move_it: ServerAction<Reschedule>,
}

fn upcoming(a: AppointmentView, acts: Actions) -> impl IntoView {
    let id = a.id.clone();
    let id2 = a.id.clone();
    let changeable = a.changeable;
    view! {
        <article class="card appointment">
            <h3>{a.when.clone()}</h3>
            <p>{format!("{} with {}", a.visit_type, a.clinician)}</p>
            {a.by_caregiver.clone().map(|by| view! { <p>{format!("Booked by {by}")}</p> })}
            <p>{match &a.address { Some(ad) => format!("{}, {ad}", a.location), None => a.location.clone() }}</p>
            {a.instructions.clone().map(|i| view! { <p class="instructions"><strong>"Before your visit: "</strong>{i}</p> })}
            <p><a href=format!("/calendar/{}.ics", a.id) download rel="external">"Add to calendar (.ics)"</a></p>
            {changeable.then(|| view! {
                <div class="actions">
                    <a class="button secondary" href=format!("/appointments?type={}&reschedule={}", a.visit_type_id, id)>"Reschedule"</a>
                    <ActionForm action=acts.cancel attr:class="inline">
                        <input type="hidden" name="id" value=id.clone() />
                        <button type="submit" class="button secondary">"Cancel this visit"</button>
                    </ActionForm>
                    {(!a.waitlisted).then(|| view! {
                        <ActionForm action=acts.waitlist attr:class="inline">
                            <input type="hidden" name="visit_type" value=a.visit_type_id.clone() />
                            <input type="hidden" name="appointment" value=id2.clone() />
                            <button type="submit" class="button secondary">"Tell me if an earlier time opens"</button>
                        </ActionForm>
                    })}
                </div>
            })}
            {a.waitlisted.then(|| view! { <p class="meta">"On the waitlist for an earlier time."</p> })}
        </article>
    }
}

fn slots_form(slots: Vec<SlotView>, reschedule: Option<String>, acts: Actions) -> AnyView {
    if slots.is_empty() {
        return view! { <p class="empty">"No open times for this kind of visit in the next weeks. Join the waitlist or send a request below."</p> }.into_any();
    }
    let (book, move_it) = (acts.book, acts.move_it);
    let radios = move || {
        slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let id = format!("slot-{i}");
                view! {
                    <div class="field check">
                        <input type="radio" id=id.clone() name="slot" value=s.key.clone() required />
                        <label for=id>{format!("{}, {} with {} at {}", s.day, s.time, s.clinician, s.location)}</label>
                    </div>
                }
            })
            .collect_view()
    };
    match reschedule {
        Some(id) => view! {
            <ActionForm action=move_it>
                <fieldset class="slots"><legend>"Choose the new time"</legend>{radios()}</fieldset>
                <input type="hidden" name="id" value=id />
                {action_error(move_it.value())}
                {action_notice(move_it.value())}
                <button type="submit" class="button">"Move my visit to this time"</button>
            </ActionForm>
        }
        .into_any(),
        None => view! {
            <ActionForm action=book>
                <fieldset class="slots"><legend>"Choose a time"</legend>{radios()}</fieldset>
                <div class="field">
                    <label for="reason">"Reason for the visit (optional)"</label>
                    <input id="reason" name="reason" type="text" maxlength="500" autocomplete="off" />
                </div>
                {action_error(book.value())}
                {action_notice(book.value())}
                <button type="submit" class="button">"Book this time"</button>
            </ActionForm>
        }
        .into_any(),
    }
}

fn page(p: AppointmentsPage, acts: Actions, request: ServerAction<RequestVisit>) -> AnyView {
    let query = use_query_map();
    let chosen = move || query.with(|q| q.get("type").filter(|t| !t.is_empty()));
    let from = move || query.with(|q| q.get("from").filter(|t| !t.is_empty()));
    let reschedule = move || query.with(|q| q.get("reschedule").filter(|t| !t.is_empty()));
    let bookable: Vec<_> = p
        .visit_types
        .iter()
        .filter(|k| k.self_schedule)
        .cloned()
        .collect();
    let slots = Resource::new(
        move || {
            (
                chosen(),
                from(),
                acts.book.version().get(),
                acts.move_it.version().get(),
            )
        },
        |(t, f, _, _)| async move {
            match t {
                Some(t) => open_slots(t, f).await,
                None => Ok(vec![]),
            }
        },
    );
    let kinds = p.visit_types.clone();
    let offers = p.offers.clone();
    view! {
        {(!offers.is_empty()).then(move || view! {
            <section aria-labelledby="offers-title" class="offers">
                <h2 id="offers-title">"Earlier times for you"</h2>
                <p>"A time opened for a visit you are waiting for. The first to accept it gets it."</p>
                {offers.into_iter().map(|o| view! {
                    <ActionForm action=acts.accept attr:class="inline">
                        <input type="hidden" name="offer" value=o.id.clone() />
                        <p>{format!("{}: {} with {}", o.when, o.visit_type, o.clinician)}</p>
                        <button type="submit" class="button">"Accept this time"</button>
                    </ActionForm>
                }).collect_view()}
            </section>
        })}
        {action_error(acts.accept.value())}
        {action_notice(acts.accept.value())}
        {action_error(acts.cancel.value())}
        {action_notice(acts.cancel.value())}
        {action_error(acts.waitlist.value())}
        {action_notice(acts.waitlist.value())}
        <section aria-labelledby="upcoming-title">
            <h2 id="upcoming-title">"Upcoming visits"</h2>
            <p class="hint">{p.cutoff.clone()}</p>
            {if p.upcoming.iter().any(|a| a.status == "Booked") {
                p.upcoming.clone().into_iter().filter(|a| a.status == "Booked").map(|a| upcoming(a, acts)).collect_view().into_any()
            } else {
                view! { <p class="empty">"No upcoming visits."</p> }.into_any()
            }}
        </section>
        <section aria-labelledby="book-title">
            <h2 id="book-title">{move || if reschedule().is_some() { "Choose a new time" } else { "Book a visit" }}</h2>
            <Form method="GET" action="/appointments" attr:class="date-filter">
                <fieldset>
                    <legend>"Kind of visit and first day"</legend>
                    <div class="field inline">
                        <label for="type">"Kind of visit"</label>
                        <select id="type" name="type" required>
                            {bookable.iter().map(|k| {
                                let id = k.id.clone();
                                view! { <option value=id.clone() selected=move || chosen().as_deref() == Some(id.as_str())>{format!("{} ({} minutes)", k.name, k.minutes)}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field inline">
                        <label for="from">"From"</label>
                        <input id="from" name="from" type="date" prop:value=move || from().unwrap_or_default() />
                    </div>
                    {move || reschedule().map(|r| view! { <input type="hidden" name="reschedule" value=r /> })}
                    <button type="submit" class="button">"Show open times"</button>
                </fieldset>
            </Form>
            {move || chosen().map(|_| suspended(slots, move |s| slots_form(s, reschedule(), acts)))}
        </section>
        <section aria-labelledby="request-title">
            <h2 id="request-title">"Ask for a visit"</h2>
            <p>"No time fits, or the visit is one the clinic books? Tell the front desk what suits you and they will contact you."</p>
            <ActionForm action=request>
                <div class="field">
                    <label for="req-type">"Kind of visit"</label>
                    <select id="req-type" name="visit_type" required>
                        {kinds.iter().map(|k| view! { <option value=k.id.clone()>{k.name.clone()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="preferred">"Days and times that suit you"</label>
                    <input id="preferred" name="preferred" type="text" maxlength="200" required autocomplete="off" />
                </div>
                <div class="field">
                    <label for="req-note">"Anything else (optional)"</label>
                    <input id="req-note" name="note" type="text" maxlength="500" autocomplete="off" />
                </div>
                {action_error(request.value())}
                {action_notice(request.value())}
                <button type="submit" class="button">"Send the request"</button>
            </ActionForm>
            {(!p.requests.is_empty()).then(|| view! {
                <h3>"Your requests"</h3>
                <ul>{p.requests.into_iter().map(|r| view! { <li>{format!("{} ({}): {}, asked {}", r.visit_type, r.preferred, r.status, r.requested)}</li> }).collect_view()}</ul>
            })}
        </section>
        <section aria-labelledby="past-title">
            <h2 id="past-title">"Past and cancelled visits"</h2>
            {if p.past.is_empty() && !p.upcoming.is_empty() {
                view! { <p class="empty">"None yet."</p> }.into_any()
            } else {
                view! {
                    <ul>{p.past.into_iter().map(|a| view! { <li>{format!("{}: {} with {}, {} ({})", a.when, a.visit_type, a.clinician, a.location, a.status)}</li> }).collect_view()}</ul>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
pub fn AppointmentsPage() -> impl IntoView {
    let acts = Actions {
        cancel: ServerAction::<Cancel>::new(),
        waitlist: ServerAction::<JoinWaitlist>::new(),
        accept: ServerAction::<AcceptOffer>::new(),
        book: ServerAction::<Book>::new(),
        move_it: ServerAction::<Reschedule>::new(),
    };
    let request = ServerAction::<RequestVisit>::new();
    let data = Resource::new(
        move || {
            (
                acts.cancel.version().get(),
                acts.waitlist.version().get(),
                acts.accept.version().get(),
                acts.book.version().get(),
                acts.move_it.version().get(),
                request.version().get(),
            )
        },
        |_| load_appointments(),
    );
    view! {
        <Title text="Appointments" />
        <h1>"Appointments"</h1>
        {suspended(data, move |p| page(p, acts, request))}
    }
    .into_any()
}
