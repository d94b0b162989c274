//! Medications: the active list first, then stopped and completed ones; refill requests
//! for active ones, and their status.

use crate::api::appointments::{RefillChoices, RequestRefill, list_refills, load_refill_choices};
use crate::api::record::list_medications;
use crate::components::care::{action_notice, suspended};
use crate::components::form::action_error;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::care::{RefillStatus, RefillView};
use domain::records::MedicationView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(meds: Vec<MedicationView>, filtered: bool) -> AnyView {
    if meds.is_empty() {
        return empty(filtered, "No medications are on your record.");
    }
    record_table(
        &["Medication", "How to take it", "Status", "Prescribed"],
        meds.into_iter()
            .map(|m| {
                view! {
                    <tr class:inactive=!m.active>
                        <th scope="row">{m.name}</th>
                        <td>{m.dosage.unwrap_or_else(|| "—".into())}</td>
                        <td>{m.status}</td>
                        <td>{m.prescribed.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
}

fn refills_table(rows: Vec<RefillView>) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty">"No refill requests yet."</p> }.into_any();
    }
    record_table(
        &["Medication", "Status", "Pharmacy", "Requested", "Answer"],
        rows.into_iter()
            .map(|r| {
                let answer = match r.status {
                    RefillStatus::Denied => {
                        format!("Denied: {}", r.deny_reason.clone().unwrap_or_default())
                    }
                    RefillStatus::Approved | RefillStatus::Sent => match r.quantity {
                        Some(q) => format!("Approved for {q}"),
                        None => "Approved".into(),
                    },
                    RefillStatus::Requested => "Waiting for your care team".into(),
                };
                view! {
                    <tr>
                        <th scope="row">{r.medication}</th>
                        <td>{r.status.label()}</td>
                        <td>{r.pharmacy}</td>
                        <td>{match r.by_caregiver { Some(by) => format!("{} by {by}", r.requested), None => r.requested }}</td>
                        <td>{match r.decided { Some(d) => format!("{answer} ({d})"), None => answer }}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
}

fn refill_form(choices: RefillChoices, act: ServerAction<RequestRefill>) -> AnyView {
    let RefillChoices {
        medications: active,
        pharmacies: places,
    } = choices;
    if active.is_empty() {
        return view! { <p class="empty">"You have no active medications to refill."</p> }
            .into_any();
    }
    view! {
        <ActionForm action=act>
            <div class="field">
                <label for="refill-med">"Medication"</label>
                <select id="refill-med" name="medication" required>
                    {active.into_iter().map(|m| view! { <option value=m.id>{m.name}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="refill-pharmacy">"Pharmacy"</label>
                <select id="refill-pharmacy" name="pharmacy" required>
                    {places.into_iter().map(|p| view! { <option value=p.id>{format!("{}, {}", p.name, p.address)}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="refill-note">"Note for your care team (optional)"</label>
                <input id="refill-note" name="note" type="text" maxlength="500" autocomplete="off" />
            </div>
            {action_error(act.value())}
            {action_notice(act.value())}
            <button type="submit" class="button">"Request a refill"</button>
        </ActionForm>
    }
    .into_any()
}

#[component]
pub fn MedicationsPage() -> impl IntoView {
    let act = ServerAction::<RequestRefill>::new();
    let refills = Resource::new(move || act.version().get(), |_| list_refills());
    let choices = Resource::new(|| (), |_| load_refill_choices());
    view! {
        <Title text="Medications" />
        <h1>"Medications"</h1>
        <p>"The medicines your clinic has prescribed."</p>
        <section aria-labelledby="med-list-title">
            <h2 id="med-list-title">"Your medications"</h2>
            <DateFilter what="prescribed" />
            {ranged_list(list_medications, list)}
        </section>
        <section aria-labelledby="refill-title">
            <h2 id="refill-title">"Request a refill"</h2>
            <p>"Your care team answers within 2 business days. Running out sooner? Call the clinic."</p>
            {suspended(choices, move |c| refill_form(c, act))}
            <h3>"Your refill requests"</h3>
            {suspended(refills, refills_table)}
        </section>
    }
    .into_any()
}
