//! Forgotten password and username, and the reset page the emailed link opens.

use crate::api::security::{
    ForgotPassword, ForgotUsername, ResetFactor, ResetInfo, ResetPassword, ResetSendCode,
    reset_state,
};
use crate::components::form::{Field, action_error};
use crate::components::strength::NewPassword;
use domain::security::Method;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let query = use_query_map();
    let sent = move || {
        query.with(|q| q.get("sent").is_some()) || action.value().get().is_some_and(|r| r.is_ok())
    };
    view! {
        <Title text="Forgot your password" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Forgot your password"</h1>
            <Show when=sent>
                <p class="notice" role="status">
                    "If that name belongs to an account, a link is on its way to its email address. Check your inbox (and spam folder) in a few minutes."
                </p>
            </Show>
            // Hidden, not removed: the form's own handlers may still be running.
            <div hidden=sent>
                <p>"Enter your username or email. If it belongs to an account, we email a link to choose a new password. The link works once, for one hour."</p>
                <ActionForm action=action>
                    <Field id="login" label="Username or email" autocomplete="username" />
                    {action_error(action.value())}
                    <button type="submit" class="button">"Email me a link"</button>
                </ActionForm>
            </div>
            <p><A href="/forgot-username">"Forgot your username?"</A> " · " <A href="/signin">"Back to sign-in"</A></p>
        </main>
    }
}

#[component]
pub fn ForgotUsernamePage() -> impl IntoView {
    let action = ServerAction::<ForgotUsername>::new();
    let query = use_query_map();
    let sent = move || {
        query.with(|q| q.get("sent").is_some()) || action.value().get().is_some_and(|r| r.is_ok())
    };
    view! {
        <Title text="Forgot your username" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Forgot your username"</h1>
            <Show when=sent>
                <p class="notice" role="status">
                    "If that address belongs to an account, its username is on its way there."
                </p>
            </Show>
            <div hidden=sent>
                <p>"Enter the email address of your account. If it belongs to one, we email the username to it."</p>
                <ActionForm action=action>
                    <Field id="email" label="Email" kind="email" autocomplete="email" />
                    {action_error(action.value())}
                    <button type="submit" class="button">"Email my username"</button>
                </ActionForm>
            </div>
            <p><A href="/signin">"Back to sign-in"</A></p>
        </main>
    }
}

/// The reset page. The token arrives in the URL fragment, which never reaches a server or
/// a log; the page reads it in the browser, drops it from the address bar and sends it in
/// POST bodies only.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = RwSignal::new(String::new());
    let verify = ServerAction::<ResetFactor>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let send = ServerAction::<ResetSendCode>::new();
    Effect::new(move |_| {
        // Effects run only in the browser.
        let w = window();
        let hash = w.location().hash().unwrap_or_default();
        let t = hash.trim_start_matches('#').to_owned();
        if !t.is_empty() {
            let _ = w.history().and_then(|h| {
                h.replace_state_with_url(
                    &leptos::wasm_bindgen::JsValue::NULL,
                    "",
                    Some("/reset-password"),
                )
            });
            token.set(t);
        }
    });
    let state = LocalResource::new(move || {
        let t = token.get();
        let _ = verify.version().get();
        async move {
            if t.is_empty() {
                None
            } else {
                Some(reset_state(t).await)
            }
        }
    });
    let done = move || reset.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Title text="Choose a new password" />
        <main id="main" class="narrow">
            <p class="brand">"My Health Connection"</p>
            <h1>"Choose a new password"</h1>
            <Show when=done>
                <p class="notice" role="status">"Your password is changed and every device was signed out."</p>
                <p><a class="button" href="/signin">"Sign in"</a></p>
            </Show>
            <div hidden=done>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match state.await {
                            None => view! {
                                <p>"Open this page from the link in your reset email."</p>
                                <p><A href="/forgot-password">"Ask for a new link"</A></p>
                            }.into_any(),
                            Some(Err(e)) => view! {
                                <p class="alert" role="alert">{e.to_string()}</p>
                                <p><A href="/forgot-password">"Ask for a new link"</A></p>
                            }.into_any(),
                            Some(Ok(info)) => reset_form(info, token, verify, send, reset),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
    .into_any()
}

fn reset_form(
    info: ResetInfo,
    token: RwSignal<String>,
    verify: ServerAction<ResetFactor>,
    send: ServerAction<ResetSendCode>,
    reset: ServerAction<ResetPassword>,
) -> AnyView {
    if !info.choice.methods.is_empty() && !info.factor_done {
        let app = info.choice.methods.contains(&Method::App);
        let backup = info.choice.methods.contains(&Method::Backup);
        let sent = move || send.value().get().is_some_and(|r| r.is_ok());
        let coded = |m: Method, id: &'static str, label: &'static str, button: &'static str| {
            info.choice.methods.contains(&m).then(|| view! {
                <ActionForm action=send>
                    <input type="hidden" name="token" prop:value=move || token.get() />
                    <input type="hidden" name="method" value=m.as_str() />
                    <button type="submit" class="button secondary">{button}</button>
                </ActionForm>
                <Show when=sent>
                    <p class="notice" role="status">"A code is on its way. It works once, for 10 minutes."</p>
                </Show>
                <ActionForm action=verify>
                    <input type="hidden" name="token" prop:value=move || token.get() />
                    <input type="hidden" name="method" value=m.as_str() />
                    <Field id=id name="code" label=label inputmode="numeric" autocomplete="one-time-code" />
                    <button type="submit" class="button">"Verify"</button>
                </ActionForm>
            })
        };
        let email = coded(
            Method::Email,
            "email_code",
            "Code from the email",
            "Email me a code",
        );
        let sms = coded(
            Method::Sms,
            "sms_code",
            "Code from the text message",
            "Text me a code",
        );
        return view! {
            <p>"First, confirm your second sign-in step."</p>
            {action_error(verify.value())}
            {action_error(send.value())}
            {email}
            {sms}
            {app.then(|| view! {
                <ActionForm action=verify>
                    <input type="hidden" name="token" prop:value=move || token.get() />
                    <input type="hidden" name="method" value="app" />
                    <Field id="app_code" name="code" label="6-digit code from your app" inputmode="numeric" autocomplete="one-time-code" />
                    <button type="submit" class="button">"Verify"</button>
                </ActionForm>
            })}
            {backup.then(|| view! {
                <ActionForm action=verify>
                    <input type="hidden" name="token" prop:value=move || token.get() />
                    <input type="hidden" name="method" value="backup" />
                    <Field id="backup_code" name="code" label="Or one of your backup codes" />
                    <button type="submit" class="button secondary">"Use backup code"</button>
                </ActionForm>
            })}
        }
        .into_any();
    }
    view! {
        <ActionForm action=reset>
            <input type="hidden" name="token" prop:value=move || token.get() />
            <NewPassword id="new_password" label="New password" />
            <Field id="confirm_password" label="New password again" kind="password" autocomplete="new-password" />
            {action_error(reset.value())}
            <button type="submit" class="button">"Save the new password"</button>
        </ActionForm>
    }
    .into_any()
}
