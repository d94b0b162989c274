//! Downloads and sharing: the immunization record and health summary as PDF, and the whole
//! record as FHIR R4. Files come from `/download/…`, each audited as a download.

use crate::api::record::TransmitSummary;
use crate::api::security::Reauthenticate;
use crate::components::form::{Field, action_error};
use crate::components::record::DateFields;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DownloadsPage() -> impl IntoView {
    let reauth = ServerAction::<Reauthenticate>::new();
    let confirmed = move || reauth.value().get().is_some_and(|r| r.is_ok());
    let transmit = ServerAction::<TransmitSummary>::new();
    let sent = move || transmit.value().get().and_then(Result::ok);
    view! {
        <Title text="Downloads and sharing" />
        <h1>"Downloads and sharing"</h1>
        <p>"Every download is listed in your Activity page. Files you save are yours to keep safe: a shared computer may keep them in its downloads folder."</p>

        <section aria-labelledby="confirm-it">
            <h2 id="confirm-it">"Confirm it is you"</h2>
            <Show
                when=confirmed
                fallback=move || view! {
                    <p>"Sending your summary and downloading your whole record take your health information out of the portal, so they need your password from the last 5 minutes (signing in counts)."</p>
                    <ActionForm action=reauth>
                        <Field id="fhir_password" name="password" label="Your password" kind="password" autocomplete="current-password" />
                        {action_error(reauth.value())}
                        <button type="submit" class="button">"Confirm password"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">"Password confirmed: for the next 5 minutes you can send your summary and download your whole record."</p>
            </Show>
        </section>

        <section aria-labelledby="dl-immunizations">
            <h2 id="dl-immunizations">"Immunization record"</h2>
            <p>"A PDF with every vaccine on your record, its date, dose, lot and who gave it: for school, camp or travel."</p>
            <a class="button" href="/download/immunizations.pdf" download rel="external">"Download the immunization record (PDF)"</a>
        </section>

        <section aria-labelledby="dl-summary">
            <h2 id="dl-summary">"Health summary"</h2>
            <p>"Problems, medications, allergies, visits, test results, vital signs and immunizations. As a PDF to read and print, or as a C-CDA document (XML) that another clinic's record system can import. Leave the dates empty for everything."</p>
            <form method="get" action="/download/summary.pdf" class="date-filter">
                <fieldset>
                    <DateFields prefix="summary" legend="Dates to cover" />
                    <button type="submit" class="button">"Download the health summary (PDF)"</button>
                    <button type="submit" class="button secondary" formaction="/download/summary.xml">"Download as C-CDA (XML)"</button>
                </fieldset>
            </form>
        </section>

        <section aria-labelledby="transmit">
            <h2 id="transmit">"Send your health summary"</h2>
            <p>"Send the summary by email to another doctor, a hospital or yourself (up to 10 a day). Check the address: once sent, it cannot be taken back. The email says only that a summary is attached, and we tell you by email that it went."</p>
            <Show when=move || sent().is_some()>
                <p class="notice" role="status">{move || sent().unwrap_or_default()}</p>
            </Show>
            <ActionForm action=transmit>
                <Field id="transmit_email" name="email" label="Send to (email address)" kind="email" autocomplete="off" />
                <div class="field">
                    <label for="transmit_format">"Format"</label>
                    <select id="transmit_format" name="format">
                        <option value="pdf">"PDF (to read and print)"</option>
                        <option value="ccda">"C-CDA (for a record system)"</option>
                    </select>
                </div>
                <fieldset class="date-filter">
                    <DateFields prefix="transmit" legend="Dates to cover (empty: everything)" />
                </fieldset>
                <div class="field check">
                    <input id="transmit-confirm" name="confirm" type="checkbox" value="send" required />
                    <label for="transmit-confirm">"Yes, send my health summary to this address"</label>
                </div>
                {action_error(transmit.value())}
                <button type="submit" class="button">"Send the summary"</button>
            </ActionForm>
        </section>

        <section aria-labelledby="dl-fhir">
            <h2 id="dl-fhir">"Your whole record (FHIR)"</h2>
            <p>"Everything the portal holds about you, as a FHIR R4 bundle (JSON) that other portals and health apps can read."</p>
            <a class="button" href="/download/record.json" download rel="external">"Download the whole record (FHIR R4 JSON)"</a>
        </section>

        <section aria-labelledby="sharing">
            <h2 id="sharing">"Share links"</h2>
            <p>"Share links for another provider are not available yet in this version of the portal."</p>
        </section>
    }
    .into_any()
}
