//! The refill queue: approve with a quantity, deny with a reason the patient reads, and
//! mark approved refills sent to the pharmacy.

use crate::api::staff::{ApproveRefill, DenyRefill, RefillSent, refill_queue};
use crate::components::care::suspended;
use crate::components::form::action_error;
use domain::care::{RefillStatus, RefillView};
use leptos::prelude::*;
use leptos_meta::Title;

#[derive(Clone, Copy)]
struct Acts {
    approve: ServerAction<ApproveRefill>,
    deny: ServerAction<DenyRefill>,
    sent: ServerAction<RefillSent>,
}

fn row(r: RefillView, i: usize, a: Acts) -> impl IntoView {
    let (id, id1, id2) = (r.id.clone(), r.id.clone(), r.id.clone());
    view! {
        <article class="card refill">
            <h2>{format!("{}: {}", r.patient.clone().unwrap_or_default(), r.medication)}</h2>
            <p>{format!("{} · to {} · requested {}", r.status.label(), r.pharmacy, r.requested)}</p>
            {r.by_caregiver.clone().map(|by| view! { <p>{format!("Asked for by {by}")}</p> })}
            {r.note.clone().map(|n| view! { <p>"Note: "{n}</p> })}
            {(r.status == RefillStatus::Requested).then(|| view! {
                <ActionForm action=a.approve attr:class="inline">
                    <input type="hidden" name="id" value=id.clone() />
                    <div class="field inline">
                        <label for=format!("qty-{i}")>"Quantity"</label>
                        <input id=format!("qty-{i}") name="quantity" type="number" min="1" max="365" required inputmode="numeric" />
                    </div>
                    <button type="submit" class="button">"Approve"</button>
                </ActionForm>
                <ActionForm action=a.deny attr:class="inline">
                    <input type="hidden" name="id" value=id1.clone() />
                    <div class="field inline">
                        <label for=format!("reason-{i}")>"Reason the patient will read"</label>
                        <input id=format!("reason-{i}") name="reason" type="text" minlength="5" maxlength="500" required autocomplete="off" />
                    </div>
                    <button type="submit" class="button secondary">"Deny"</button>
                </ActionForm>
            })}
            {(r.status == RefillStatus::Approved).then(|| view! {
                <ActionForm action=a.sent attr:class="inline">
                    <input type="hidden" name="id" value=id2.clone() />
                    <button type="submit" class="button">"Mark sent to the pharmacy"</button>
                </ActionForm>
            })}
        </article>
    }
}

#[component]
pub fn RefillQueuePage() -> impl IntoView {
    let a = Acts {
        approve: ServerAction::<ApproveRefill>::new(),
        deny: ServerAction::<DenyRefill>::new(),
        sent: ServerAction::<RefillSent>::new(),
    };
    let data = Resource::new(
        move || {
            (
                a.approve.version().get(),
                a.deny.version().get(),
                a.sent.version().get(),
            )
        },
        |_| refill_queue(),
    );
    view! {
        <Title text="Refill queue" />
        <h1>"Refill queue"</h1>
        {action_error(a.approve.value())}
        {action_error(a.deny.value())}
        {action_error(a.sent.value())}
        {suspended(data, move |rows| {
            if rows.is_empty() {
                view! { <p class="empty">"No open refill requests."</p> }.into_any()
            } else {
                rows.into_iter().enumerate().map(|(i, r)| row(r, i, a)).collect_view().into_any()
            }
        })}
    }
    .into_any()
}
