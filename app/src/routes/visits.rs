//! Visit summaries: when, with whom, where, why, what was found and decided, and the notes.

use crate::api::record::list_visits;
use crate::components::record::{DateFilter, empty, paged_list};
use domain::records::VisitView;
use leptos::prelude::*;
use leptos_meta::Title;

fn items(title: &'static str, list: Vec<String>) -> Option<impl IntoView> {
    (!list.is_empty()).then(|| {
        view! {
            <h3>{title}</h3>
            <ul>{list.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
        }
    })
}

fn visit(v: VisitView) -> impl IntoView {
    let heading = format!(
        "{}: {}",
        v.date_label
            .clone()
            .unwrap_or_else(|| "Date not given".into()),
        v.kind
    );
    view! {
        <article class="visit">
            <h2>{heading}</h2>
            <dl class="detail">
                <dt>"Clinician"</dt><dd>{v.clinician.unwrap_or_else(|| "Not recorded".into())}</dd>
                <dt>"Location"</dt><dd>{v.location.unwrap_or_else(|| "Not recorded".into())}</dd>
                <dt>"Reason"</dt><dd>{v.reason.unwrap_or_else(|| "Not recorded".into())}</dd>
                <dt>"Status"</dt><dd>{v.status}</dd>
            </dl>
            {items("Diagnoses", v.diagnoses)}
            {items("Medications started", v.medications_started)}
            {items("Medications stopped", v.medications_stopped)}
            {(!v.instructions.is_empty()).then(|| view! {
                <h3>"Instructions"</h3>
                {v.instructions.into_iter().map(|i| view! { <p class="note">{i}</p> }).collect_view()}
            })}
            {(!v.notes.is_empty()).then(|| view! {
                <h3>"Notes"</h3>
                {v.notes.into_iter().map(|n| {
                    let by = match (n.author, n.date_label) {
                        (Some(a), Some(d)) => format!("{a}, {d}"),
                        (Some(a), None) => a,
                        (None, Some(d)) => d,
                        (None, None) => String::new(),
                    };
                    view! {
                        <details class="note">
                            <summary>{n.title}" "<span class="hint">{by}</span></summary>
                            <p class="note">{n.body.unwrap_or_else(|| "This note is not in a form the portal can show.".into())}</p>
                        </details>
                    }
                }).collect_view()}
            })}
        </article>
    }
}

fn list(rows: Vec<VisitView>, filtered: bool) -> AnyView {
    if rows.is_empty() {
        return empty(
            filtered,
            "No visit summaries yet. They appear here after your visits.",
        );
    }
    rows.into_iter().map(visit).collect_view().into_any()
}

#[component]
pub fn VisitsPage() -> impl IntoView {
    view! {
        <Title text="Visit summaries" />
        <h1>"Visit summaries"</h1>
        <DateFilter what="seen" />
        {paged_list(list_visits, list)}
    }
    .into_any()
}
