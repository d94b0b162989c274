//! Activation: three pages, one per step.

use crate::api::activation::{
    ChooseAccount, ConfirmEmail, ResendCode, StartActivation, activation_step,
};
use crate::components::form::{Field, action_error};
use crate::components::strength::NewPassword;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn ActivateStart() -> impl IntoView {
    let action = ServerAction::<StartActivation>::new();
    view! {
        <Title text="Activate your account" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Activate your account"</h1>
            <p>"Enter your details exactly as your clinic has them, and the activation code from the letter they gave you."</p>
            <ActionForm action=action>
                <Field id="first_name" label="First name" autocomplete="given-name" />
                <Field id="last_name" label="Last name" autocomplete="family-name" />
                <Field id="date_of_birth" label="Date of birth" kind="date" autocomplete="bday" />
                <Field
                    id="activation_code"
                    label="Activation code"
                    hint="12 letters and digits, for example ABCD-EFGH-JKMN."
                />
                {action_error(action.value())}
                <button type="submit" class="button">"Continue"</button>
            </ActionForm>
            <p>"Already have an account? " <A href="/signin">"Sign in"</A></p>
        </main>
    }
}

/// Shown when a step is opened without a live sign-up.
fn start_again() -> AnyView {
    view! {
        <p class="alert" role="alert">
            "This activation has expired or was not started on this device. "
            <A href="/activate">"Start again"</A> " with your activation code."
        </p>
    }
    .into_any()
}

#[component]
pub fn ActivateAccount() -> impl IntoView {
    let action = ServerAction::<ChooseAccount>::new();
    let step = Resource::new_blocking(|| (), |_| activation_step());
    view! {
        <Title text="Choose your sign-in details" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Choose your sign-in details"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match step.await {
                        Ok(Some(false)) => view! {
                            <ActionForm action=action>
                                <Field id="username" label="Username" autocomplete="username"
                                    hint="3 to 32 characters: letters, digits, dots, hyphens." />
                                <Field id="email" label="Email" kind="email" autocomplete="email" />
                                <NewPassword id="password" label="Password" />
                                <Field id="confirm_password" label="Confirm password" kind="password" autocomplete="new-password" />
                                {action_error(action.value())}
                                <button type="submit" class="button">"Create account"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(Some(true)) => view! {
                            <p>"Your account is created. " <A href="/activate/confirm">"Confirm your email"</A> " to finish."</p>
                        }.into_any(),
                        _ => start_again(),
                    }
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
pub fn ActivateConfirm() -> impl IntoView {
    let action = ServerAction::<ConfirmEmail>::new();
    let resend = ServerAction::<ResendCode>::new();
    let step = Resource::new_blocking(|| (), |_| activation_step());
    let query = use_query_map();
    let resent = move || {
        query.with(|q| q.get("resent").is_some()) || resend.value().get().is_some_and(|r| r.is_ok())
    };
    view! {
        <Title text="Confirm your email" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Confirm your email"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match step.await {
                        Ok(Some(true)) => view! {
                            <p>"We sent a 6-digit code to your email address. It expires in 10 minutes."</p>
                            <Show when=resent>
                                <p class="notice" role="status">"We sent a new code."</p>
                            </Show>
                            <ActionForm action=action>
                                <Field id="code" label="Confirmation code" autocomplete="one-time-code" inputmode="numeric" />
                                {action_error(action.value())}
                                <button type="submit" class="button">"Confirm"</button>
                            </ActionForm>
                            <ActionForm action=resend>
                                {action_error(resend.value())}
                                <button type="submit" class="button secondary">"Send a new code"</button>
                            </ActionForm>
                        }.into_any(),
                        _ => start_again(),
                    }
                })}
            </Suspense>
        </main>
    }
}
