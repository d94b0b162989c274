//! Medications: the active list first, then stopped and completed ones.

use crate::api::record::list_medications;
use crate::components::record::{DateFilter, empty, ranged_list};
use domain::records::MedicationView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(meds: Vec<MedicationView>, filtered: bool) -> AnyView {
    if meds.is_empty() {
        return empty(filtered, "No medications are on your record.");
    }
    view! {
        <div class="table-wrap">
            <table>
                <thead><tr>
                    <th scope="col">"Medication"</th>
                    <th scope="col">"How to take it"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Prescribed"</th>
                </tr></thead>
                <tbody>
                    {meds.into_iter().map(|m| view! {
                        <tr class:inactive=!m.active>
                            <th scope="row">{m.name}</th>
                            <td>{m.dosage.unwrap_or_else(|| "—".into())}</td>
                            <td>{m.status}</td>
                            <td>{m.prescribed.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn MedicationsPage() -> impl IntoView {
    view! {
        <Title text="Medications" />
        <h1>"Medications"</h1>
        <p>"The medicines your clinic has prescribed. Refill requests come with messaging."</p>
        <DateFilter what="prescribed" />
        {ranged_list(list_medications, list)}
    }
}
