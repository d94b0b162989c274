//! Results to review: mark reviewed, hold with a documented reason, or release a hold.

use crate::api::staff::{ResultAction, results_to_review};
use crate::components::care::suspended;
use crate::components::form::action_error;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ResultsReviewPage() -> impl IntoView {
    let act = ServerAction::<ResultAction>::new();
    let data = Resource::new(move || act.version().get(), |_| results_to_review());
    view! {
        <Title text="Results to review" />
        <h1>"Results to review"</h1>
        <p>"A held result is hidden from its patient until you release it; the reason is kept in the audit log."</p>
        {action_error(act.value())}
        {suspended(data, move |rows| if rows.is_empty() {
            view! { <p class="empty">"Nothing to review."</p> }.into_any()
        } else {
            view! {
                <ul class="results-review">
                    {rows.into_iter().enumerate().map(|(i, r)| { let rid = r.id.clone(); view! {
                        <li>
                            <p><strong>{format!("{}: {}", r.patient, r.name)}</strong>
                                {format!(
                                    " {} {} · {}{}",
                                    r.value,
                                    r.flag.clone().map(|f| format!("({f})")).unwrap_or_default(),
                                    r.date,
                                    r.held.clone().map(|h| format!(" · held: {h}")).unwrap_or_default()
                                )}
                            </p>
                            {(!r.reviewed).then(|| view! {
                                <ActionForm action=act attr:class="inline">
                                    <input type="hidden" name="id" value=rid.clone() />
                                    <input type="hidden" name="action" value="review" />
                                    <button type="submit" class="button secondary">"Mark reviewed"</button>
                                </ActionForm>
                            })}
                            {if r.held.is_some() {
                                view! {
                                    <ActionForm action=act attr:class="inline">
                                        <input type="hidden" name="id" value=r.id.clone() />
                                        <input type="hidden" name="action" value="release" />
                                        <button type="submit" class="button secondary">"Release to the patient"</button>
                                    </ActionForm>
                                }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=act attr:class="inline">
                                        <input type="hidden" name="id" value=r.id.clone() />
                                        <input type="hidden" name="action" value="hold" />
                                        <label for=format!("hold-{i}")>"Reason to hold"</label>
                                        <input id=format!("hold-{i}") name="reason" type="text" minlength="10" maxlength="500" required autocomplete="off" />
                                        <button type="submit" class="button secondary">"Hold"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                        </li>
                    }}).collect_view()}
                </ul>
            }.into_any()
        })}
    }
    .into_any()
}
