//! Vital signs: blood pressure, weight, height and the like, newest first.

use crate::api::record::list_vitals;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::records::VitalView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(rows: Vec<VitalView>, filtered: bool) -> AnyView {
    if rows.is_empty() {
        return empty(filtered, "No vital signs are on your record yet.");
    }
    record_table(
        &["Date", "Measurement", "Value"],
        rows.into_iter()
            .map(|v| {
                view! {
                    <tr>
                        <td>{v.date_label}</td>
                        <th scope="row">{v.name}</th>
                        <td>{v.value}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
}

#[component]
pub fn VitalsPage() -> impl IntoView {
    view! {
        <Title text="Vital signs" />
        <h1>"Vital signs"</h1>
        <DateFilter what="measured" />
        {ranged_list(list_vitals, list)}
    }
    .into_any()
}
