//! The sign-in page.

use crate::api::auth::SignIn as SignInFn;
use crate::components::form::{Field, action_error};
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
                <Field id="login" label="Username or email" autocomplete="username" />
                <Field id="password" label="Password" kind="password" autocomplete="current-password" />
                {action_error(action.value())}
                <button type="submit" class="button">"Sign in"</button>
            </ActionForm>
            <p><A href="/forgot-password">"Forgot your password?"</A> " · " <A href="/forgot-username">"Forgot your username?"</A></p>
            <p>"New to the portal? " <A href="/activate">"Activate your account"</A> " with the code from your clinic."</p>
        </main>
    }
}
