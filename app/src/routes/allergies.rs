//! Allergies and intolerances.

use crate::api::record::list_allergies;
use crate::components::record::{DateFilter, empty, ranged_list};
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
    view! {
        <div class="table-wrap">
            <table>
                <thead><tr>
                    <th scope="col">"Allergy"</th>
                    <th scope="col">"Reaction"</th>
                    <th scope="col">"Risk"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Recorded"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|a| view! {
                        <tr>
                            <th scope="row">{a.name}</th>
                            <td>{a.reaction.unwrap_or_else(|| "—".into())}</td>
                            <td>{a.criticality}</td>
                            <td>{a.status}</td>
                            <td>{a.recorded.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn AllergiesPage() -> impl IntoView {
    view! {
        <Title text="Allergies" />
        <h1>"Allergies"</h1>
        <DateFilter what="recorded" />
        {ranged_list(list_allergies, list)}
    }
}
