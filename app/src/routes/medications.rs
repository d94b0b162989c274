//! Medications: the active list first, then stopped and completed ones.

use crate::api::record::list_medications;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::records::MedicationView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(meds: Vec<MedicationView>, filtered: bool) -> AnyView {
    if meds.is_empty() {
        return empty(filtered, "No medications are on your record.");
    }
    record_table(
        &["Medication", "How to take it", "Status", "Prescribed"],
        meds.into_iter()
            .map(|m| {
                view! {
                    <tr class:inactive=!m.active>
                        <th scope="row">{m.name}</th>
                        <td>{m.dosage.unwrap_or_else(|| "—".into())}</td>
                        <td>{m.status}</td>
                        <td>{m.prescribed.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
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
    .into_any()
}
