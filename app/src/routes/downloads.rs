//! Downloads and sharing: the immunization record and health summary as PDF, and the whole
//! record as FHIR R4. Files come from `/download/…`, each audited as a download.

use crate::api::security::Reauthenticate;
use crate::components::form::{Field, action_error};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DownloadsPage() -> impl IntoView {
    let reauth = ServerAction::<Reauthenticate>::new();
    let confirmed = move || reauth.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Title text="Downloads and sharing" />
        <h1>"Downloads and sharing"</h1>
        <p>"Every download is listed in your Activity page. Files you save are yours to keep safe: a shared computer may keep them in its downloads folder."</p>

        <section aria-labelledby="dl-immunizations">
            <h2 id="dl-immunizations">"Immunization record"</h2>
            <p>"A PDF with every vaccine on your record, its date, dose, lot and who gave it: for school, camp or travel."</p>
            <a class="button" href="/download/immunizations.pdf" download rel="external">"Download the immunization record (PDF)"</a>
        </section>

        <section aria-labelledby="dl-summary">
            <h2 id="dl-summary">"Health summary"</h2>
            <p>"Problems, medications, allergies, visits, test results, vital signs and immunizations, as a PDF. Leave the dates empty for everything."</p>
            <form method="get" action="/download/summary.pdf" class="date-filter" rel="external">
                <fieldset>
                    <legend>"Dates to cover"</legend>
                    <div class="field inline">
                        <label for="summary-from">"From"</label>
                        <input id="summary-from" name="from" type="date" />
                    </div>
                    <div class="field inline">
                        <label for="summary-to">"To"</label>
                        <input id="summary-to" name="to" type="date" />
                    </div>
                    <button type="submit" class="button">"Download the health summary (PDF)"</button>
                </fieldset>
            </form>
        </section>

        <section aria-labelledby="dl-fhir">
            <h2 id="dl-fhir">"Your whole record (FHIR)"</h2>
            <p>"Everything the portal holds about you, as a FHIR R4 bundle (JSON) that other portals and health apps can read. Because it is your whole record, confirm your password first; the download works for 5 minutes after that."</p>
            <Show
                when=confirmed
                fallback=move || view! {
                    <ActionForm action=reauth>
                        <Field id="fhir_password" name="password" label="Your password" kind="password" autocomplete="current-password" />
                        {action_error(reauth.value())}
                        <button type="submit" class="button">"Confirm password"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">"Password confirmed."</p>
                <a class="button" href="/download/record.json" download rel="external">"Download the whole record (FHIR R4 JSON)"</a>
            </Show>
        </section>

        <section aria-labelledby="sharing">
            <h2 id="sharing">"Share links"</h2>
            <p>"Share links for another provider are not available yet in this version of the portal."</p>
        </section>
    }
}
