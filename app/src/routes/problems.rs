//! The problem list (conditions), active ones first.

use crate::api::record::list_problems;
use crate::components::record::{DateFilter, empty, ranged_list};
use domain::records::ProblemView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(rows: Vec<ProblemView>, filtered: bool) -> AnyView {
    if rows.is_empty() {
        return empty(filtered, "No problems are on your record.");
    }
    view! {
        <div class="table-wrap">
            <table>
                <thead><tr>
                    <th scope="col">"Problem"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Since"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|p| view! {
                        <tr>
                            <th scope="row">{p.name}</th>
                            <td>{p.status}</td>
                            <td>{p.onset.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn ProblemsPage() -> impl IntoView {
    view! {
        <Title text="Problems" />
        <h1>"Problems"</h1>
        <DateFilter what="first noted" />
        {ranged_list(list_problems, list)}
    }
}
