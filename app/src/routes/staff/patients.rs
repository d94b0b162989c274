//! Patients: search, registration with a printable activation letter, account unlock /
//! suspend / restore, and booking a visit for a patient.

use crate::api::proxy::GrantGuardian;
use crate::api::staff::{
    AccountAction, IssueLetter, RegisterPatient, SearchPatients, load_schedule_setup,
};
use crate::components::care::{action_notice, suspended};
use crate::components::form::action_error;
use domain::care::{ActivationLetter as Letter, PatientRow, Registration};
use leptos::prelude::*;
use leptos_meta::Title;

fn letter(l: Letter) -> impl IntoView {
    view! {
        <section class="letter" aria-labelledby="letter-title">
            <h2 id="letter-title">{format!("Your {} patient portal", l.clinic)}</h2>
            <p>{format!("Dear {},", l.patient)}</p>
            <p>{format!("you can now see your test results, message your care team and book visits online. Go to {} and enter your name, your date of birth ({}) and this activation code:", l.portal_url, l.birth_date)}</p>
            <p class="code"><strong>{l.code}</strong></p>
            <p>{format!("The code works once, until {}. Keep this letter private.", l.expires)}</p>
            <p class="print-hide">"Print this page with your browser's Print command (Ctrl+P) and hand the letter to the patient."</p>
        </section>
    }
}

/// What registration gave: the letter, or for a child under 12 the next step instead.
fn registered(r: Registration) -> AnyView {
    match r {
        Registration::Letter(l) => letter(l).into_any(),
        Registration::Child { patient } => view! {
            <section class="notice" role="status">
                <h2>{format!("{patient} is registered")}</h2>
                <p>"Children under 12 do not get a portal account of their own, so there is no activation letter. Search for the child above and use \"Give a parent or guardian access\" after checking the parent's identity."</p>
            </section>
        }
        .into_any(),
    }
}

/// Parent or guardian access to a child's record, after an identity check at the desk.
fn guardian_form(id: String, guardian: ServerAction<GrantGuardian>) -> impl IntoView {
    let (email, rel, note) = (
        format!("g-email-{id}"),
        format!("g-rel-{id}"),
        format!("g-note-{id}"),
    );
    view! {
        <details class="guardian">
            <summary>"Give a parent or guardian access"</summary>
            <p class="hint">"For a patient under 18. From the 12th birthday the parent no longer sees sensitive care; access ends by itself on the 18th."</p>
            <ActionForm action=guardian>
                <input type="hidden" name="patient" value=id.clone() />
                <div class="field"><label for=email.clone()>"Parent's email address"</label><input id=email name="email" type="email" required autocomplete="off" /></div>
                <div class="field">
                    <label for=rel.clone()>"Relationship"</label>
                    <select id=rel name="relationship">
                        <option value="parent">"Parent"</option>
                        <option value="guardian">"Legal guardian"</option>
                    </select>
                </div>
                <div class="field">
                    <label for=note.clone()>"How you checked their identity and relationship"</label>
                    <textarea id=note name="identity_note" required minlength="10" maxlength="500" rows="2"></textarea>
                </div>
                <button type="submit" class="button secondary">"Send the parent an invitation"</button>
            </ActionForm>
        </details>
    }
}

fn results(
    rows: Vec<PatientRow>,
    acct: ServerAction<AccountAction>,
    issue: ServerAction<IssueLetter>,
    guardian: ServerAction<GrantGuardian>,
    kinds: Vec<(String, String)>,
) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty">"No patient matches."</p> }.into_any();
    }
    view! {
        <ul class="patients">
            {rows.into_iter().map(|p| {
                let id = p.id.clone();
                let (i1, i2, i3, i4, i5) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
                view! {
                    <li>
                        <p><strong>{p.name.clone()}</strong>{format!(" · born {} · MRN {} · {}", p.birth_date, p.mrn, p.account)}</p>
                        <div class="actions">
                            {(p.account == "No account").then(|| view! {
                                <ActionForm action=issue attr:class="inline">
                                    <input type="hidden" name="patient" value=i1.clone() />
                                    <button type="submit" class="button secondary">"Issue an activation letter"</button>
                                </ActionForm>
                            })}
                            {(p.account == "Locked").then(|| view! {
                                <ActionForm action=acct attr:class="inline">
                                    <input type="hidden" name="patient" value=i2.clone() />
                                    <input type="hidden" name="action" value="unlock" />
                                    <button type="submit" class="button secondary">"Unlock (identity checked)"</button>
                                </ActionForm>
                            })}
                            {(p.account == "Suspended").then(|| view! {
                                <ActionForm action=acct attr:class="inline">
                                    <input type="hidden" name="patient" value=i3.clone() />
                                    <input type="hidden" name="action" value="restore" />
                                    <button type="submit" class="button secondary">"Restore (identity checked)"</button>
                                </ActionForm>
                            })}
                            {matches!(p.account.as_str(), "Active" | "Locked").then(|| view! {
                                <ActionForm action=acct attr:class="inline">
                                    <input type="hidden" name="patient" value=i4.clone() />
                                    <input type="hidden" name="action" value="suspend" />
                                    <button type="submit" class="button secondary">"Suspend the account"</button>
                                </ActionForm>
                            })}
                            <form method="get" action="/staff/schedule" class="inline">
                                <input type="hidden" name="patient" value=i5.clone() />
                                <label for=format!("k-{id}")>"Book a visit:"</label>
                                <select id=format!("k-{id}") name="type">
                                    {kinds.iter().map(|(k, n)| view! { <option value=k.clone()>{n.clone()}</option> }).collect_view()}
                                </select>
                                <button type="submit" class="button secondary">"Find a time"</button>
                            </form>
                        </div>
                        {guardian_form(id.clone(), guardian)}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn PatientsPage() -> impl IntoView {
    // The search goes in a POST body: names, MRNs and dates of birth stay out of URLs.
    let search = ServerAction::<SearchPatients>::new();
    let acct = ServerAction::<AccountAction>::new();
    let issue = ServerAction::<IssueLetter>::new();
    let guardian = ServerAction::<GrantGuardian>::new();
    let register = ServerAction::<RegisterPatient>::new();
    let kinds = Resource::new(
        || (),
        |_| async move {
            load_schedule_setup().await.map(|s| {
                s.visit_types
                    .into_iter()
                    .map(|k| (k.id, k.name))
                    .collect::<Vec<_>>()
            })
        },
    );
    // After an account action or a letter, the same search runs again to show the new state.
    let last = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(i) = search.input().get() {
            last.set(Some(i.query));
        }
    });
    Effect::new(move |prev: Option<()>| {
        acct.version().get();
        issue.version().get();
        if prev.is_some()
            && let Some(query) = last.get_untracked()
        {
            search.dispatch(SearchPatients { query });
        }
    });
    view! {
        <Title text="Patients" />
        <h1>"Patients"</h1>
        <ActionForm action=search attr:class="date-filter">
            <fieldset>
                <legend>"Find a patient"</legend>
                <div class="field inline">
                    <label for="q">"Name, MRN or date of birth"</label>
                    <input id="q" name="query" type="search" required autocomplete="off" />
                </div>
                <button type="submit" class="button">"Search"</button>
            </fieldset>
        </ActionForm>
        {action_error(search.value())}
        {action_error(acct.value())}
        {action_notice(acct.value())}
        {action_error(issue.value())}
        {action_error(guardian.value())}
        {action_notice(guardian.value())}
        {move || issue.value().get().and_then(Result::ok).map(letter)}
        {move || search.value().get().and_then(Result::ok).map(|rows| {
            suspended(kinds, move |k| results(rows.clone(), acct, issue, guardian, k))
        })}
        <section aria-labelledby="register-title">
            <h2 id="register-title">"Register a new patient"</h2>
            <ActionForm action=register>
                <div class="field"><label for="r-first">"First name"</label><input id="r-first" name="first_name" type="text" required autocomplete="off" /></div>
                <div class="field"><label for="r-last">"Last name"</label><input id="r-last" name="last_name" type="text" required autocomplete="off" /></div>
                <div class="field"><label for="r-dob">"Date of birth"</label><input id="r-dob" name="date_of_birth" type="date" required /></div>
                <div class="field"><label for="r-mrn">"MRN (from the record system)"</label><input id="r-mrn" name="mrn" type="text" required autocomplete="off" /></div>
                {action_error(register.value())}
                <button type="submit" class="button">"Register and issue the activation letter"</button>
            </ActionForm>
            {move || register.value().get().and_then(Result::ok).map(registered)}
        </section>
    }
    .into_any()
}
