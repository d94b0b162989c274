//! Account and security: password, second factors, backup codes, recovery email and mobile
//! number, signed-in devices, and reporting suspicious activity.

use crate::api::security::{
    ChangePassword, EmailConfirm, EmailStart, EnableCodeFactor, NewBackupCodes, PasskeyRename,
    PhoneConfirm, PhoneRemove, Reauthenticate, RemoveFactor, ReportSuspicious, TotpBegin,
    TotpConfirm, get_security_overview,
};
use crate::api::sessions::{EndOtherSessions, EndSession, list_sessions};
use crate::components::factors::{backup_codes_view, totp_setup_view};
use crate::components::form::{Field, action_error};
use crate::components::passkey_flows;
use crate::components::strength::NewPassword;
use crate::error::AppError;
use domain::security::SecurityOverview;
use domain::session::SessionInfo;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

/// Every action on the page; the overview reloads after any of them.
#[derive(Clone, Copy)]
struct Actions {
    reauth: ServerAction<Reauthenticate>,
    password: ServerAction<ChangePassword>,
    totp_begin: ServerAction<TotpBegin>,
    totp_confirm: ServerAction<TotpConfirm>,
    code_factor: ServerAction<EnableCodeFactor>,
    remove: ServerAction<RemoveFactor>,
    backup: ServerAction<NewBackupCodes>,
    email_start: ServerAction<EmailStart>,
    email_confirm: ServerAction<EmailConfirm>,
    phone_start: ServerAction<PhoneStart>,
    phone_confirm: ServerAction<PhoneConfirm>,
    phone_remove: ServerAction<PhoneRemove>,
    report: ServerAction<ReportSuspicious>,
    rename: ServerAction<PasskeyRename>,
    /// Bumped when a passkey was added (that ceremony runs in the browser, not as an action).
    passkey_added: RwSignal<usize>,
    passkey_codes: RwSignal<Option<Vec<String>>>,
    passkey_error: RwSignal<Option<String>>,
}

use crate::api::security::PhoneStart;

impl Actions {
    fn new() -> Self {
        Self {
            reauth: ServerAction::new(),
            password: ServerAction::new(),
            totp_begin: ServerAction::new(),
            totp_confirm: ServerAction::new(),
            code_factor: ServerAction::new(),
            remove: ServerAction::new(),
            backup: ServerAction::new(),
            email_start: ServerAction::new(),
            email_confirm: ServerAction::new(),
            phone_start: ServerAction::new(),
            phone_confirm: ServerAction::new(),
            phone_remove: ServerAction::new(),
            report: ServerAction::new(),
            rename: ServerAction::new(),
            passkey_added: RwSignal::new(0),
            passkey_codes: RwSignal::new(None),
            passkey_error: RwSignal::new(None),
        }
    }
    fn version(&self) -> usize {
        self.reauth.version().get()
            + self.password.version().get()
            + self.totp_confirm.version().get()
            + self.code_factor.version().get()
            + self.remove.version().get()
            + self.backup.version().get()
            + self.email_confirm.version().get()
            + self.phone_start.version().get()
            + self.phone_confirm.version().get()
            + self.phone_remove.version().get()
            + self.rename.version().get()
            + self.passkey_added.get()
    }
}

/// The newest backup codes any action on the page produced (shown once).
fn fresh_codes(a: Actions) -> Option<Vec<String>> {
    [
        a.totp_confirm.value().get(),
        a.code_factor.value().get(),
        a.backup.value().get(),
    ]
    .into_iter()
    .flatten()
    .filter_map(Result::ok)
    .find(|c| !c.is_empty())
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let a = Actions::new();
    let sessions = Resource::new_blocking(
        move || {
            (
                end_one.version().get(),
                end_others.version().get(),
                a.version(),
            )
        },
        |_| list_sessions(),
    );
    let overview = Resource::new_blocking(move || a.version(), |_| get_security_overview());
    let query = use_query_map();
    let ended = move || {
        query.with(|q| q.get("ended").is_some())
            || end_others.value().get().is_some_and(|r| r.is_ok())
    };
    view! {
        <Title text="Account and security" />
        <h1>"Account and security"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => security_view(o, a),
                    Err(AppError::Unauthorized(_)) => view! { <Redirect path="/signin" /> }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <section aria-labelledby="devices">
            <h2 id="devices">"Signed-in devices"</h2>
            <p>"These are the places where your account is signed in now. If you do not recognise one, sign it out and tell your clinic."</p>
            <Show when=ended>
                <p class="notice" role="status">"All your other sessions have been signed out."</p>
            </Show>
            {action_error(end_one.value())}
            {action_error(end_others.value())}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => sessions_view(list, end_one, end_others),
                        Err(AppError::Unauthorized(_)) => view! { <Redirect path="/signin" /> }.into_any(),
                        Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section aria-labelledby="suspicious">
            <h2 id="suspicious">"Report suspicious activity"</h2>
            <p>"If you think someone else is using your account, suspend it now. Every device is signed out at once, and your clinic restores access after checking who you are."</p>
            <ActionForm action=a.report>
                <div class="check">
                    <input type="checkbox" id="confirm-suspend" name="confirm" value="suspend" required />
                    <label for="confirm-suspend">"Yes, suspend my account and sign out everywhere"</label>
                </div>
                {action_error(a.report.value())}
                <button type="submit" class="button danger">"Suspend my account"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

fn security_view(o: SecurityOverview, a: Actions) -> AnyView {
    let fresh = o.reauth_secs_left > 0;
    let password_changed = move || a.password.value().get().is_some_and(|r| r.is_ok());
    let setup = move || a.totp_begin.value().get().and_then(Result::ok);
    let app_confirmed = move || a.totp_confirm.value().get().is_some_and(|r| r.is_ok());
    let has_app = o.factors.iter().any(|f| f.kind == "totp");
    let has_email = o.factors.iter().any(|f| f.kind == "email");
    let has_sms = o.factors.iter().any(|f| f.kind == "sms");
    let email_sent = move || a.email_start.value().get().is_some_and(|r| r.is_ok());
    let phone_sent = move || a.phone_start.value().get().is_some_and(|r| r.is_ok());
    let factors = o.factors.clone();
    let passkey_name: NodeRef<leptos::html::Input> = NodeRef::new();
    let add_passkey = move |_| {
        let name = passkey_name.get().map(|i| i.value()).unwrap_or_default();
        a.passkey_error.set(None);
        leptos::task::spawn_local(async move {
            match passkey_flows::add_passkey(name).await {
                Ok(codes) => {
                    a.passkey_codes.set(Some(codes));
                    a.passkey_added.update(|n| *n += 1);
                }
                Err(e) => a.passkey_error.set(Some(e)),
            }
        });
    };
    view! {
        <section aria-labelledby="confirm">
            <h2 id="confirm">"Confirm it is you"</h2>
            {if fresh {
                view! { <p class="notice" role="status">"Password confirmed: you can change your sign-in details for the next few minutes."</p> }.into_any()
            } else {
                view! {
                    <p>"To change your sign-in details, first confirm your password. It stays confirmed for 5 minutes."</p>
                    <ActionForm action=a.reauth>
                        <Field id="reauth_password" name="password" label="Current password" kind="password" autocomplete="current-password" />
                        {action_error(a.reauth.value())}
                        <button type="submit" class="button">"Confirm password"</button>
                    </ActionForm>
                }.into_any()
            }}
        </section>
        <section aria-labelledby="password">
            <h2 id="password">"Password"</h2>
            <Show when=password_changed>
                <p class="notice" role="status">"Your password is changed. Other devices were signed out."</p>
            </Show>
            <ActionForm action=a.password>
                <Field id="current_password" label="Current password" kind="password" autocomplete="current-password" />
                <NewPassword id="new_password" label="New password" />
                <Field id="confirm_password" label="New password again" kind="password" autocomplete="new-password" />
                {action_error(a.password.value())}
                <button type="submit" class="button">"Change password"</button>
            </ActionForm>
        </section>
        <section aria-labelledby="second-step">
            <h2 id="second-step">"Second sign-in step"</h2>
            {if o.second_factor_required {
                view! { <p>"Your clinic requires a second step for your account."</p> }.into_any()
            } else {
                view! { <p>"A second step after your password keeps others out even if they learn it."</p> }.into_any()
            }}
            {action_error(a.remove.value())}
            {action_error(a.code_factor.value())}
            {if factors.is_empty() {
                view! { <p>"No second step is set up yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="factors">
                        {factors.into_iter().map(|f| {
                            let label = format!("Remove {}", f.label);
                            let rename = (f.kind == "passkey").then(|| {
                                let input_id = format!("rename-{}", f.id);
                                let fid = f.id.clone();
                                let flabel = f.label.clone();
                                view! {
                                    <ActionForm action=a.rename attr:class="inline">
                                        <input type="hidden" name="id" value=fid />
                                        <label for=input_id.clone() class="visually-hidden">{format!("New name for {flabel}")}</label>
                                        <input id=input_id name="name" type="text" maxlength="60" required value=flabel.clone() />
                                        <button type="submit" class="button secondary">"Rename"</button>
                                    </ActionForm>
                                }
                            });
                            view! {
                                <li>
                                    <strong>{f.label.clone()}</strong>
                                    " · added " {f.added.clone()}
                                    {f.last_used.clone().map(|u| view! { " · last used " {u} })}
                                    {rename}
                                    <ActionForm action=a.remove attr:class="inline">
                                        <input type="hidden" name="id" value=f.id.clone() />
                                        <button type="submit" class="button secondary" aria-label=label>"Remove"</button>
                                    </ActionForm>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(!has_app).then(|| view! {
                <Show
                    when=move || setup().is_some() && !app_confirmed()
                    fallback=move || view! {
                        <ActionForm action=a.totp_begin>
                            {action_error(a.totp_begin.value())}
                            <button type="submit" class="button">"Set up an authenticator app"</button>
                        </ActionForm>
                    }
                >
                    {move || setup().map(totp_setup_view)}
                    <ActionForm action=a.totp_confirm>
                        <Field id="totp_code" name="code" label="6-digit code from the app" inputmode="numeric" autocomplete="one-time-code" />
                        {action_error(a.totp_confirm.value())}
                        <button type="submit" class="button">"Turn on the app"</button>
                    </ActionForm>
                </Show>
            })}
            {action_error(a.rename.value())}
            <h3>"Passkeys"</h3>
            <p>"A passkey signs you in with your phone's or computer's screen lock, or a security key. It cannot be phished."</p>
            <div class="field">
                <label for="passkey_name">"Name for a new passkey"</label>
                <p class="hint" id="passkey_name-hint">"For example \"Pixel 8\" or \"YubiKey\"."</p>
                <input id="passkey_name" type="text" maxlength="60" aria-describedby="passkey_name-hint" node_ref=passkey_name />
            </div>
            <button type="button" class="button" on:click=add_passkey>"Add a passkey"</button>
            {move || a.passkey_error.get().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            {(!has_email).then(|| view! {
                <ActionForm action=a.code_factor>
                    <input type="hidden" name="method" value="email" />
                    <button type="submit" class="button secondary">"Turn on codes by email"</button>
                </ActionForm>
            })}
            {(!has_sms && o.phone_verified).then(|| view! {
                <ActionForm action=a.code_factor>
                    <input type="hidden" name="method" value="sms" />
                    <button type="submit" class="button secondary">"Turn on codes by text message"</button>
                </ActionForm>
            })}
            <h3>"Backup codes"</h3>
            <p>{format!("{} unused backup codes left.", o.backup_codes_left)}</p>
            {move || fresh_codes(a).map(backup_codes_view)}
            {(!o.factors.is_empty()).then(|| view! {
                <ActionForm action=a.backup>
                    {action_error(a.backup.value())}
                    <button type="submit" class="button secondary">"Make new backup codes"</button>
                </ActionForm>
            })}
        </section>
        <section aria-labelledby="recovery">
            <h2 id="recovery">"Email and mobile number"</h2>
            <p>"Email: " <strong>{o.email.clone()}</strong></p>
            <ActionForm action=a.email_start>
                <Field id="email" label="New email address" kind="email" autocomplete="email" />
                {action_error(a.email_start.value())}
                <button type="submit" class="button secondary">"Send a code to the new address"</button>
            </ActionForm>
            <Show when=email_sent>
                <ActionForm action=a.email_confirm>
                    <Field id="email_code" name="code" label="Code from the email" inputmode="numeric" autocomplete="one-time-code" />
                    {action_error(a.email_confirm.value())}
                    <button type="submit" class="button">"Confirm the new address"</button>
                </ActionForm>
            </Show>
            {o.sms_available.then(|| view! {
            <p>
                "Mobile number: "
                <strong>{o.phone.clone().unwrap_or_else(|| "none".into())}</strong>
                {(o.phone.is_some() && !o.phone_verified).then_some(" (not confirmed)")}
            </p>
            <ActionForm action=a.phone_start>
                <Field id="phone" label="Mobile number" kind="tel" autocomplete="tel" hint="With the country code, for example +1 555 123 4567." />
                {action_error(a.phone_start.value())}
                <button type="submit" class="button secondary">"Text a code to this number"</button>
            </ActionForm>
            <Show when=phone_sent>
                <ActionForm action=a.phone_confirm>
                    <Field id="phone_code" name="code" label="Code from the text message" inputmode="numeric" autocomplete="one-time-code" />
                    {action_error(a.phone_confirm.value())}
                    <button type="submit" class="button">"Confirm the number"</button>
                </ActionForm>
            </Show>
            {o.phone.is_some().then(|| view! {
                <ActionForm action=a.phone_remove>
                    {action_error(a.phone_remove.value())}
                    <button type="submit" class="button secondary">"Remove the mobile number"</button>
                </ActionForm>
            })}
            })}
        </section>
    }
    .into_any()
}

fn sessions_view(
    list: Vec<SessionInfo>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
) -> AnyView {
    let others = list.iter().filter(|s| !s.current).count();
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Signed in"</th>
                        <th scope="col">"Last active"</th>
                        <th scope="col">"Action"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|s| {
                            let action = if s.current {
                                view! { <strong>"This device"</strong> }.into_any()
                            } else {
                                let label = format!("Sign out {}", s.device);
                                view! {
                                    <ActionForm action=end_one>
                                        <input type="hidden" name="id" value=s.id.clone() />
                                        <button type="submit" class="button secondary" aria-label=label>
                                            "Sign out"
                                        </button>
                                    </ActionForm>
                                }
                                    .into_any()
                            };
                            view! {
                                <tr>
                                    <th scope="row">{s.device.clone()}</th>
                                    <td>{s.ip.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td>{s.started.clone()}</td>
                                    <td>{s.last_active.clone()}</td>
                                    <td>{action}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        {(others > 0)
            .then(|| {
                view! {
                    <ActionForm action=end_others>
                        <button type="submit" class="button">"Sign out everywhere else"</button>
                    </ActionForm>
                }
            })}
    }
    .into_any()
}
