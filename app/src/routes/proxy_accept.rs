//! Accepting a caregiver invitation. The link's secret is in its fragment (`#…`), which the
//! browser never sends to a server, so it stays out of logs and Referer headers; the page reads
//! it and sends it in the body of each request.

use crate::api::auth::current_user;
use crate::api::proxy::{AcceptInvitation, DeclineInvitation, JoinAsCaregiver, load_invitation};
use crate::components::form::{Field, action_error};
use crate::components::strength::NewPassword;
use crate::error::AppError;
use crate::routes::proxy::scope_labels;
use domain::proxy::InvitationView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The token from the address's fragment, once the page runs in the browser.
fn fragment_token() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let hash = window().location().hash().ok()?;
        let t = hash.trim_start_matches('#').trim().to_owned();
        (!t.is_empty()).then_some(t)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

fn token_field(token: RwSignal<String>) -> impl IntoView {
    view! { <input type="hidden" name="token" prop:value=move || token.get() /> }
}

fn signed_in_view(
    inv: InvitationView,
    token: RwSignal<String>,
    accept: ServerAction<AcceptInvitation>,
) -> AnyView {
    view! {
        <section aria-labelledby="accept-title">
            <h2 id="accept-title">"Accept"</h2>
            <ActionForm action=accept>
                {token_field(token)}
                {dob_field("accept-dob", inv.patient_first_name.clone())}
                {action_error(accept.value())}
                <button type="submit" class="button">"Accept the invitation"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// The patient's date of birth, which the caregiver confirms to accept.
fn dob_field(id: &'static str, first: String) -> impl IntoView {
    let hint = format!("{id}-hint");
    view! {
        <div class="field">
            <label for=id>{format!("{first}'s date of birth")}</label>
            <p class="hint" id=hint.clone()>"To check that you know them. Five wrong tries end the invitation."</p>
            <input id=id name="date_of_birth" type="date" aria-describedby=hint required />
        </div>
    }
}

fn join_view(
    inv: InvitationView,
    token: RwSignal<String>,
    join: ServerAction<JoinAsCaregiver>,
) -> AnyView {
    view! {
        <section aria-labelledby="signin-title">
            <h2 id="signin-title">"Already have an account?"</h2>
            <p><A href="/signin">"Sign in"</A>", then open the link in the email again."</p>
        </section>
        <section aria-labelledby="join-title">
            <h2 id="join-title">"New here? Create a caregiver account"</h2>
            <p>"Your own account, with your own password: you do not need a record at this clinic. After creating it, sign in and set up a second step."</p>
            <ActionForm action=join>
                {token_field(token)}
                <Field id="join-first" name="first_name" label="Your first name" autocomplete="given-name" />
                <Field id="join-last" name="last_name" label="Your last name" autocomplete="family-name" />
                <Field id="join-username" name="username" label="Username" autocomplete="username"
                    hint="3 to 32 characters: letters, digits, dots, hyphens." />
                <NewPassword id="password" label="Password" />
                <Field id="join-confirm" name="confirm_password" label="Confirm password" kind="password" autocomplete="new-password" />
                {dob_field("join-dob", inv.patient_first_name.clone())}
                {action_error(join.value())}
                <button type="submit" class="button">"Create my account and accept"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
pub fn ProxyAcceptPage() -> impl IntoView {
    let token = RwSignal::new(String::new());
    let invitation = RwSignal::new(None::<Result<InvitationView, AppError>>);
    let accept = ServerAction::<AcceptInvitation>::new();
    let decline = ServerAction::<DeclineInvitation>::new();
    let join = ServerAction::<JoinAsCaregiver>::new();
    let who = Resource::new(|| (), |_| current_user());
    Effect::new(move |_| match fragment_token() {
        Some(t) => {
            token.set(t.clone());
            leptos::task::spawn_local(async move {
                invitation.set(Some(load_invitation(t).await));
            });
        }
        None => invitation.set(Some(Err(AppError::BadRequest(
            "This link is incomplete. Open the whole link from the invitation email.".into(),
        )))),
    });
    // Accepting changes what the header offers: load the portal afresh.
    Effect::new(move |_| {
        if accept.value().get().is_some_and(|r| r.is_ok()) {
            crate::components::passkey_flows::go("/proxy");
        }
    });
    // Memos: an error does not change them, so the forms (and what was typed) stay.
    let joined = Memo::new(move |_| join.value().get().is_some_and(|r| r.is_ok()));
    let declined = Memo::new(move |_| decline.value().get().is_some_and(|r| r.is_ok()));
    view! {
        <Title text="Caregiver invitation" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Caregiver invitation"</h1>
            <noscript><p class="alert">"This page needs JavaScript to read the invitation link."</p></noscript>
            <Show when=move || joined.get()>
                <p class="notice" role="status">"Your caregiver account is ready and the invitation is accepted. "<A href="/signin">"Sign in"</A>" to continue."</p>
            </Show>
            <Show when=move || declined.get()>
                <p class="notice" role="status">"You declined the invitation. Nobody was given access."</p>
            </Show>
            // Hidden, not removed, once done: the forms' actions finish on a live page.
            <div hidden=move || joined.get() || declined.get()>
            {move || {
                match invitation.get() {
                    None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                    Some(Ok(inv)) => {
                        let inv2 = inv.clone();
                        view! {
                            <p>{format!("{} invited you to help with their health record. You would see: {}. The access lasts until {}.", inv.patient_first_name, scope_labels(&inv.scopes), inv.expires)}</p>
                            <Transition fallback=|| ()>
                                {move || {
                                    let inv = inv2.clone();
                                    who.get().map(|w| match w {
                                        Ok(Some(_)) => signed_in_view(inv, token, accept),
                                        _ => join_view(inv, token, join),
                                    })
                                }}
                            </Transition>
                            <section aria-labelledby="decline-title">
                                <h2 id="decline-title">"Not expecting this?"</h2>
                                <ActionForm action=decline>
                                    {token_field(token)}
                                    {action_error(decline.value())}
                                    <button type="submit" class="button secondary">"Decline the invitation"</button>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                }
            }}
            </div>
        </main>
    }
}
