//! The second step of signing in, and the set-up of a second factor when one is required.

use crate::api::security::{
    SendSignInCode, SetupFinish, VerifySecondStep, second_step_choices, setup_begin,
};
use crate::components::factors::{backup_codes_view, totp_setup_view};
use crate::components::form::{Field, action_error};
use crate::components::passkey_flows;
use domain::security::{FactorChoice, Method};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

fn expired(e: crate::error::AppError) -> AnyView {
    view! {
        <p class="alert" role="alert">{e.to_string()}</p>
        <p><A href="/signin">"Back to sign-in"</A></p>
    }
    .into_any()
}

#[component]
pub fn SecondStep() -> impl IntoView {
    let verify = ServerAction::<VerifySecondStep>::new();
    let send = ServerAction::<SendSignInCode>::new();
    let choices = Resource::new_blocking(|| (), |_| second_step_choices());
    view! {
        <Title text="Confirm it is you" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Confirm it is you"</h1>
            <p>"Your password was right. Now use your second sign-in step."</p>
            {action_error(verify.value())}
            {action_error(send.value())}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match choices.await {
                        Ok(c) => choice_view(c, verify, send),
                        Err(e) => expired(e),
                    }
                })}
            </Suspense>
        </main>
    }
}

fn choice_view(
    c: FactorChoice,
    verify: ServerAction<VerifySecondStep>,
    send: ServerAction<SendSignInCode>,
) -> AnyView {
    let sent = move || send.value().get().is_some_and(|r| r.is_ok());
    let has = |m| c.methods.contains(&m);
    let passkey_error = RwSignal::new(None::<String>);
    let use_passkey = move |_| {
        passkey_error.set(None);
        leptos::task::spawn_local(async move {
            match passkey_flows::second_step_with_passkey().await {
                Ok(()) => passkey_flows::go("/home"),
                Err(e) => passkey_error.set(Some(e)),
            }
        });
    };
    let passkey = has(Method::Passkey).then(|| {
        view! {
            <section aria-labelledby="by-passkey">
                <h2 id="by-passkey">"Passkey"</h2>
                <p>"Use the passkey on this device or your security key."</p>
                <button type="button" class="button" on:click=use_passkey>"Use your passkey"</button>
                {move || passkey_error.get().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            </section>
        }
    });
    let app = has(Method::App).then(|| {
        view! {
            <section aria-labelledby="by-app">
                <h2 id="by-app">"Authenticator app"</h2>
                <ActionForm action=verify>
                    <input type="hidden" name="method" value="app" />
                    <Field id="app_code" name="code" label="6-digit code from your app" inputmode="numeric" autocomplete="one-time-code" />
                    <button type="submit" class="button">"Verify"</button>
                </ActionForm>
            </section>
        }
    });
    let coded = |m: Method, id: &'static str, title: &'static str, hint: Option<String>| {
        has(m).then(|| {
            let label: &'static str = if m == Method::Email { "Code from the email" } else { "Code from the text message" };
            let button = if m == Method::Email { "Email me a code" } else { "Text me a code" };
            view! {
                <section aria-labelledby=format!("by-{id}")>
                    <h2 id=format!("by-{id}")>{title}</h2>
                    <ActionForm action=send>
                        <input type="hidden" name="method" value=m.as_str() />
                        <button type="submit" class="button secondary">{button}</button>
                        {hint.map(|h| view! { <span class="hint">" to " {h}</span> })}
                    </ActionForm>
                    <Show when=sent>
                        <p class="notice" role="status">"A code is on its way. It works once, for 10 minutes."</p>
                    </Show>
                    <ActionForm action=verify>
                        <input type="hidden" name="method" value=m.as_str() />
                        <Field id=id name="code" label=label inputmode="numeric" autocomplete="one-time-code" />
                        <button type="submit" class="button">"Verify"</button>
                    </ActionForm>
                </section>
            }
        })
    };
    let email = coded(
        Method::Email,
        "email_code",
        "Code by email",
        c.email_hint.clone(),
    );
    let sms = coded(
        Method::Sms,
        "sms_code",
        "Code by text message",
        c.phone_hint.clone(),
    );
    let backup = has(Method::Backup).then(|| {
        view! {
            <section aria-labelledby="by-backup">
                <h2 id="by-backup">"Backup code"</h2>
                <ActionForm action=verify>
                    <input type="hidden" name="method" value="backup" />
                    <Field id="backup_code" name="code" label="One of your backup codes" hint="16 letters and digits; dashes are optional." />
                    <button type="submit" class="button secondary">"Use backup code"</button>
                </ActionForm>
            </section>
        }
    });
    view! {
        {passkey}
        {app}
        {email}
        {sms}
        {backup}
        <p>"Lost your phone and your backup codes? Call your clinic: after checking who you are, they can reset your second step."</p>
    }
    .into_any()
}

#[component]
pub fn SetupSecondStep() -> impl IntoView {
    let finish = ServerAction::<SetupFinish>::new();
    let setup = Resource::new_blocking(|| (), |_| setup_begin());
    let done = move || finish.value().get().and_then(Result::ok);
    view! {
        <Title text="Set up your second sign-in step" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Set up your second sign-in step"</h1>
            <Show when=move || done().is_some()>
                <p class="notice" role="status">"Your authenticator app is set up and you are signed in."</p>
                {move || done().map(backup_codes_view)}
                <p><a class="button" href="/home">"Continue to the portal"</a></p>
            </Show>
            <div hidden=move || done().is_some()>
                <p>"Your account needs a second step at sign-in: a code from an authenticator app on your phone."</p>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match setup.await {
                            Ok(s) => view! {
                                {totp_setup_view(s)}
                                <ActionForm action=finish>
                                    <Field id="code" label="6-digit code from the app" inputmode="numeric" autocomplete="one-time-code" />
                                    {action_error(finish.value())}
                                    <button type="submit" class="button">"Turn on and sign in"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            Err(e) => expired(e),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
