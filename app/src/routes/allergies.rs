//! Allergies and intolerances.

use crate::api::record::list_allergies;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::records::AllergyView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{LazyRoute, lazy_route};

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

/// The page, loaded on demand: its code is a separate wasm chunk (`cargo leptos --split`).
pub struct AllergiesPage;

#[lazy_route]
impl LazyRoute for AllergiesPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! {
            <Title text="Allergies" />
            <h1>"Allergies"</h1>
            <DateFilter what="recorded" />
            {ranged_list(list_allergies, list)}
        }
        .into_any()
    }
}
