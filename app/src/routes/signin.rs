//! The sign-in page.

use crate::api::auth::SignIn as SignInFn;
use crate::components::form::{Field, action_error};
use crate::components::passkey_flows;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<SignInFn>::new();
    let query = use_query_map();
    let signed_out = move || query.with(|q| q.get("signed_out").is_some());
    let timed_out = move || query.with(|q| q.get("timed_out").is_some());
    let suspended = move || query.with(|q| q.get("suspended").is_some());
    let passkey_error = RwSignal::new(None::<String>);
    // Passkeys offered in the username field's autofill, where the browser can.
    #[cfg(feature = "hydrate")]
    let autofill = StoredValue::new_local(None::<leptos::web_sys::AbortController>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Ok(ctrl) = leptos::web_sys::AbortController::new() else {
            return;
        };
        let signal = ctrl.signal();
        autofill.set_value(Some(ctrl));
        // Leaving the page (a client-side navigation keeps the document) ends the request,
        // or the next passkey request would find it still pending.
        on_cleanup(move || {
            if let Some(c) = autofill.get_value() {
                c.abort();
            }
        });
        leptos::task::spawn_local(async move {
            match passkey_flows::autofill_passkey(&signal).await {
                Ok(true) => passkey_flows::go("/home"),
                Ok(false) => {}
                Err(e) => passkey_error.set(Some(e)),
            }
        });
    });
    let with_passkey = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(ctrl) = autofill.get_value() {
            ctrl.abort();
        }
        passkey_error.set(None);
        leptos::task::spawn_local(async move {
            match passkey_flows::sign_in_with_passkey().await {
                Ok(()) => passkey_flows::go("/home"),
                Err(e) => passkey_error.set(Some(e)),
            }
        });
    };
    view! {
        <Title text="Sign in" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Sign in"</h1>
            <Show when=signed_out>
                <p class="notice" role="status">"You have signed out."</p>
            </Show>
            <Show when=timed_out>
                <p class="notice" role="status">
                    "You were signed out because the portal was not used for a while."
                </p>
            </Show>
            <Show when=suspended>
                <p class="notice" role="status">
                    "Your account is suspended and every device was signed out. Call your clinic to restore access."
                </p>
            </Show>
            <ActionForm action=action>
                <Field id="login" label="Username or email" autocomplete="username webauthn" />
                <Field id="password" label="Password" kind="password" autocomplete="current-password" />
                {action_error(action.value())}
                <button type="submit" class="button">"Sign in"</button>
            </ActionForm>
            <div class="passkey-signin">
                <button type="button" class="button secondary" on:click=with_passkey>
                    "Sign in with a passkey"
                </button>
                {move || passkey_error.get().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            </div>
            <p><A href="/forgot-password">"Forgot your password?"</A> " · " <A href="/forgot-username">"Forgot your username?"</A></p>
            <p>"New to the portal? " <A href="/activate">"Activate your account"</A> " with the code from your clinic."</p>
        </main>
    }
}
