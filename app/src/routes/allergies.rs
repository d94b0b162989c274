//! Allergies and intolerances.

use crate::api::record::list_allergies;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::records::AllergyView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(rows: Vec<AllergyView>, filtered: bool) -> AnyView {
    if rows.is_empty() {
        return empty(
            filtered,
            "No allergies are on your record. Tell your care team about any you have.",
        );
    }
    record_table(
        &["Allergy", "Reaction", "Risk", "Status", "Recorded"],
        rows.into_iter()
            .map(|a| {
                view! {
                    <tr>
                        <th scope="row">{a.name}</th>
                        <td>{a.reaction.unwrap_or_else(|| "—".into())}</td>
                        <td>{a.criticality}</td>
                        <td>{a.status}</td>
                        <td>{a.recorded.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
}

#[component]
pub fn AllergiesPage() -> impl IntoView {
    view! {
        <Title text="Allergies" />
        <h1>"Allergies"</h1>
        <DateFilter what="recorded" />
        {ranged_list(list_allergies, list)}
    }
    .into_any()
}
