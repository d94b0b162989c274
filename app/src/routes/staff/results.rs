//! Results to review: mark reviewed, hold with a documented reason, release a hold, or mark
//! one confidential; and the reports and visit notes a clinician may hold or release.

use crate::api::staff::{MarkSensitivity, ResultAction, reports_and_notes, results_to_review};
use crate::components::care::suspended;
use crate::components::form::action_error;
use domain::care::HoldableRow;
use domain::proxy::Sensitivity;
use leptos::prelude::*;
use leptos_meta::Title;

/// A clinician's choice of sensitive category for a result or a conversation (`what`:
/// `result` or `thread`); `key` keeps the control's id unique on the page.
pub fn sensitivity_form(
    act: ServerAction<MarkSensitivity>,
    what: &'static str,
    id: String,
    current: Option<Sensitivity>,
    key: String,
) -> impl IntoView {
    let field = format!("sensitivity-{key}");
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="what" value=what />
            <input type="hidden" name="id" value=id />
            <div class="field inline">
                <label for=field.clone()>"Confidential from a teen's parents"</label>
                <select id=field name="category">
                    <option value="" selected=current.is_none()>"Not confidential"</option>
                    {Sensitivity::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=current == Some(s)>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class="button secondary">"Save"</button>
        </ActionForm>
    }
}

/// The hold or release form of one row (`what`: `result`, `report` or `note`).
fn hold_form(
    act: ServerAction<ResultAction>,
    what: &'static str,
    id: String,
    held: bool,
    key: String,
) -> AnyView {
    if held {
        view! {
            <ActionForm action=act attr:class="inline">
                <input type="hidden" name="what" value=what />
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="action" value="release" />
                <button type="submit" class="button secondary">"Release to the patient"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        let field = format!("hold-{key}");
        view! {
            <ActionForm action=act attr:class="inline">
                <input type="hidden" name="what" value=what />
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="action" value="hold" />
                <label for=field.clone()>"Reason to hold"</label>
                <input id=field name="reason" type="text" minlength="10" maxlength="500" required autocomplete="off" />
                <button type="submit" class="button secondary">"Hold"</button>
            </ActionForm>
        }
        .into_any()
    }
}

fn documents_list(rows: Vec<HoldableRow>, act: ServerAction<ResultAction>) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty">"No reports or visit notes in the last two weeks."</p> }
            .into_any();
    }
    view! {
        <ul class="results-review">
            {rows.into_iter().enumerate().map(|(i, r)| {
                let (kind, what) = match r.what {
                    domain::records::Holdable::Report => ("Report", "report"),
                    domain::records::Holdable::Note => ("Visit note", "note"),
                    domain::records::Holdable::Result => ("Result", "result"),
                };
                view! {
                    <li>
                        <p><strong>{format!("{}: {}", r.patient, r.title)}</strong>
                            {format!(
                                " {kind} · {}{}",
                                r.date,
                                r.held.clone().map(|h| format!(" · held: {h}")).unwrap_or_default()
                            )}
                        </p>
                        {hold_form(act, what, r.id.clone(), r.held.is_some(), format!("doc-{i}"))}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn ResultsReviewPage() -> impl IntoView {
    let act = ServerAction::<ResultAction>::new();
    let mark = ServerAction::<MarkSensitivity>::new();
    let data = Resource::new(
        move || (act.version().get(), mark.version().get()),
        |_| results_to_review(),
    );
    let documents = Resource::new(move || act.version().get(), |_| reports_and_notes());
    view! {
        <Title text="Results to review" />
        <h1>"Results to review"</h1>
        <p>"A held result, report or visit note is hidden from its patient until you release it; the reason is kept in the audit log. A result marked confidential is hidden from the parents of a patient aged 12 to 17."</p>
        {action_error(act.value())}
        {action_error(mark.value())}
        {move || mark.value().get().and_then(Result::ok).map(|m| view! { <p class="notice" role="status">{m}</p> })}
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
                            {hold_form(act, "result", r.id.clone(), r.held.is_some(), i.to_string())}
                            {sensitivity_form(mark, "result", r.id.clone(), r.sensitivity, i.to_string())}
                        </li>
                    }}).collect_view()}
                </ul>
            }.into_any()
        })}
        <h2>"Reports and visit notes"</h2>
        {suspended(documents, move |rows| documents_list(rows, act))}
    }
    .into_any()
}
