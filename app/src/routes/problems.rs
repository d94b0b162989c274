//! The problem list (conditions), active ones first.

use crate::api::record::list_problems;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::records::ProblemView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(rows: Vec<ProblemView>, filtered: bool) -> AnyView {
    if rows.is_empty() {
        return empty(filtered, "No problems are on your record.");
    }
    record_table(
        &["Problem", "Status", "Since"],
        rows.into_iter()
            .map(|p| {
                view! {
                    <tr>
                        <th scope="row">{p.name}</th>
                        <td>{p.status}</td>
                        <td>{p.onset.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
}

#[component]
pub fn ProblemsPage() -> impl IntoView {
    view! {
        <Title text="Problems" />
        <h1>"Problems"</h1>
        <DateFilter what="first noted" />
        {ranged_list(list_problems, list)}
    }
    .into_any()
}
