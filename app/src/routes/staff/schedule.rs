//! The schedule: a day's visits (cancel), visit requests, booking for a patient, and the
//! weekly templates and time off that make the slots.

use crate::api::staff::{
    AddException, AddTemplate, RemoveTemplate, RequestDone, StaffBook, StaffCancel, day_schedule,
    load_schedule_setup, staff_slots, visit_requests,
};
use crate::components::care::{action_notice, suspended};
use crate::components::form::action_error;
use domain::care::{ScheduleSetup, WEEKDAYS};
use domain::session::{Me, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

fn setup_view(
    s: ScheduleSetup,
    add: ServerAction<AddTemplate>,
    remove: ServerAction<RemoveTemplate>,
    off: ServerAction<AddException>,
) -> AnyView {
    let clinician_options = s
        .clinicians
        .iter()
        .map(|(id, n)| view! { <option value=id.clone()>{n.clone()}</option> })
        .collect_view();
    let clinician_options2 = s
        .clinicians
        .iter()
        .map(|(id, n)| view! { <option value=id.clone()>{n.clone()}</option> })
        .collect_view();
    view! {
        <section aria-labelledby="templates-title">
            <h2 id="templates-title">{format!("Weekly availability ({})", s.time_zone)}</h2>
            {if s.templates.is_empty() {
                view! { <p class="empty">"No availability yet: patients cannot book."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {s.templates.into_iter().map(|t| view! {
                            <li>
                                {format!("{} {}: {} with {} at {}", t.weekday, t.hours, t.visit_type, t.clinician, t.location)}
                                <ActionForm action=remove attr:class="inline">
                                    <input type="hidden" name="id" value=t.id />
                                    <button type="submit" class="button secondary">"Remove"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {action_error(remove.value())}
            <h3>"Add availability"</h3>
            <ActionForm action=add>
                <div class="field"><label for="t-clinician">"Clinician"</label><select id="t-clinician" name="clinician">{clinician_options}</select></div>
                <div class="field"><label for="t-location">"Location"</label><select id="t-location" name="location">
                    {s.locations.iter().map(|(id, n)| view! { <option value=id.clone()>{n.clone()}</option> }).collect_view()}
                </select></div>
                <div class="field"><label for="t-type">"Kind of visit"</label><select id="t-type" name="visit_type">
                    {s.visit_types.iter().map(|k| view! { <option value=k.id.clone()>{format!("{} ({} min)", k.name, k.minutes)}</option> }).collect_view()}
                </select></div>
                <div class="field"><label for="t-day">"Day of the week"</label><select id="t-day" name="weekday">
                    {WEEKDAYS.iter().enumerate().map(|(i, d)| view! { <option value=(i + 1).to_string()>{*d}</option> }).collect_view()}
                </select></div>
                <div class="field"><label for="t-start">"From"</label><input id="t-start" name="start" type="time" required /></div>
                <div class="field"><label for="t-end">"To"</label><input id="t-end" name="end" type="time" required /></div>
                {action_error(add.value())}
                <button type="submit" class="button">"Add availability"</button>
            </ActionForm>
        </section>
        <section aria-labelledby="off-title">
            <h2 id="off-title">"Time off"</h2>
            <ul>{s.exceptions.into_iter().map(|x| view! { <li>{format!("{} {}: {} ({})", x.day, x.hours, x.clinician, x.reason)}</li> }).collect_view()}</ul>
            <ActionForm action=off>
                <div class="field"><label for="x-clinician">"Clinician"</label><select id="x-clinician" name="clinician">{clinician_options2}</select></div>
                <div class="field"><label for="x-day">"Day"</label><input id="x-day" name="day" type="date" required /></div>
                <div class="field"><label for="x-start">"From (empty: all day)"</label><input id="x-start" name="start" type="time" /></div>
                <div class="field"><label for="x-end">"To (empty: all day)"</label><input id="x-end" name="end" type="time" /></div>
                <div class="field"><label for="x-reason">"Reason"</label><input id="x-reason" name="reason" type="text" maxlength="200" required autocomplete="off" /></div>
                {action_error(off.value())}
                <button type="submit" class="button">"Add time off"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
pub fn SchedulePage() -> impl IntoView {
    let query = use_query_map();
    let role = use_context::<Me>().map(|m| m.role);
    let front_desk = matches!(role, Some(Role::FrontDesk | Role::Admin));
    let day = move || query.with(|q| q.get("day").filter(|d| !d.is_empty()));
    let patient = move || query.with(|q| q.get("patient").filter(|d| !d.is_empty()));
    let kind = move || query.with(|q| q.get("type").filter(|d| !d.is_empty()));
    let cancel = ServerAction::<StaffCancel>::new();
    let book = ServerAction::<StaffBook>::new();
    let done = ServerAction::<RequestDone>::new();
    let add = ServerAction::<AddTemplate>::new();
    let remove = ServerAction::<RemoveTemplate>::new();
    let off = ServerAction::<AddException>::new();
    let visits = Resource::new(
        move || (day(), cancel.version().get(), book.version().get()),
        |(d, _, _)| day_schedule(d),
    );
    let setup = Resource::new(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                off.version().get(),
            )
        },
        |_| load_schedule_setup(),
    );
    let requests = Resource::new(
        move || done.version().get(),
        move |_| async move {
            if front_desk {
                visit_requests().await
            } else {
                Ok(vec![])
            }
        },
    );
    let slots = Resource::new(
        move || (kind(), book.version().get()),
        |(k, _)| async move {
            match k {
                Some(k) => staff_slots(k, None).await,
                None => Ok(vec![]),
            }
        },
    );
    view! {
        <Title text="Schedule" />
        <h1>"Schedule"</h1>
        <Form method="GET" action="/staff/schedule" attr:class="date-filter">
            <fieldset>
                <legend>"Day to show"</legend>
                <div class="field inline">
                    <label for="day">"Day"</label>
                    <input id="day" name="day" type="date" prop:value=move || day().unwrap_or_default() />
                </div>
                <button type="submit" class="button">"Show"</button>
            </fieldset>
        </Form>
        {action_error(cancel.value())}
        {action_notice(cancel.value())}
        {suspended(visits, move |(label, rows)| view! {
            <section aria-labelledby="day-title">
                <h2 id="day-title">{label}</h2>
                {if rows.is_empty() {
                    view! { <p class="empty">"No visits booked on this day."</p> }.into_any()
                } else {
                    view! {
                        <ul class="visits">
                            {rows.into_iter().map(|a| view! {
                                <li>
                                    {format!("{}: {}, {} with {} ({})", a.when, a.patient.clone().unwrap_or_default(), a.visit_type, a.clinician, a.status)}
                                    {a.by_caregiver.clone().map(|by| format!(", booked by {by}"))}
                                    {(front_desk && a.status == "Booked" && a.upcoming).then(|| view! {
                                        <ActionForm action=cancel attr:class="inline">
                                            <input type="hidden" name="id" value=a.id.clone() />
                                            <button type="submit" class="button secondary">"Cancel visit"</button>
                                        </ActionForm>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        }.into_any())}
        {front_desk.then(|| view! {
            <section aria-labelledby="requests-title">
                <h2 id="requests-title">"Visit requests"</h2>
                {action_error(done.value())}
                {suspended(requests, move |rows| if rows.is_empty() {
                    view! { <p class="empty">"No open visit requests."</p> }.into_any()
                } else {
                    view! {
                        <ul>{rows.into_iter().map(|r| view! {
                            <li>
                                {format!("{}: {} ({}){}, asked {}", r.patient.clone().unwrap_or_default(), r.visit_type, r.preferred, r.note.clone().map(|n| format!(": {n}")).unwrap_or_default(), r.requested)}
                                <ActionForm action=done attr:class="inline">
                                    <input type="hidden" name="id" value=r.id.clone() />
                                    <button type="submit" class="button secondary">"Mark handled"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}</ul>
                    }.into_any()
                })}
            </section>
            {move || patient().map(|p| view! {
                <section aria-labelledby="book-title">
                    <h2 id="book-title">"Book for the patient"</h2>
                    {action_error(book.value())}
                    {action_notice(book.value())}
                    {suspended(slots, move |rows| {
                        let p = p.clone();
                        if rows.is_empty() {
                            view! { <p class="empty">"Choose the kind of visit on the Patients page, or there are no open times."</p> }.into_any()
                        } else {
                            view! {
                                <ActionForm action=book>
                                    <input type="hidden" name="patient" value=p />
                                    <fieldset class="slots"><legend>"Open times"</legend>
                                        {rows.into_iter().enumerate().map(|(i, s)| view! {
                                            <div class="field check">
                                                <input type="radio" id=format!("s-{i}") name="slot" value=s.key required />
                                                <label for=format!("s-{i}")>{format!("{}, {} with {}", s.day, s.time, s.clinician)}</label>
                                            </div>
                                        }).collect_view()}
                                    </fieldset>
                                    <button type="submit" class="button">"Book"</button>
                                </ActionForm>
                            }.into_any()
                        }
                    })}
                </section>
            })}
        })}
        {suspended(setup, move |s| setup_view(s, add, remove, off))}
    }
    .into_any()
}
