//! Immunizations, newest first, with the PDF record for school or travel.

use crate::api::record::list_immunizations;
use crate::components::record::{DateFilter, empty, ranged_list, record_table};
use domain::records::ImmunizationView;
use leptos::prelude::*;
use leptos_meta::Title;

fn list(rows: Vec<ImmunizationView>, filtered: bool) -> AnyView {
    if rows.is_empty() {
        return empty(filtered, "No immunizations are on your record.");
    }
    record_table(
        &["Date", "Vaccine", "Dose", "Lot", "Given by"],
        rows.into_iter()
            .map(|i| {
                let dose = match (i.dose, i.dose_number) {
                    (Some(d), Some(n)) => format!("{d} (dose {n})"),
                    (Some(d), None) => d,
                    (None, Some(n)) => format!("Dose {n}"),
                    (None, None) => "—".into(),
                };
                view! {
                    <tr>
                        <td>{i.date_label.unwrap_or_else(|| "—".into())}</td>
                        <th scope="row">{i.name}</th>
                        <td>{dose}</td>
                        <td>{i.lot.unwrap_or_else(|| "—".into())}</td>
                        <td>{i.performer.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            })
            .collect_view(),
    )
}

#[component]
pub fn ImmunizationsPage() -> impl IntoView {
    view! {
        <Title text="Immunizations" />
        <h1>"Immunizations"</h1>
        <p>
            <a class="button" href="/download/immunizations.pdf" download rel="external">
                "Download the immunization record (PDF)"
            </a>
            " For school, camp or travel: every vaccine with its date, dose, lot and who gave it."
        </p>
        <DateFilter what="given" />
        {ranged_list(list_immunizations, list)}
    }
    .into_any()
}
