//! Account and security: the signed-in devices now; password and second factors to come.

use crate::api::sessions::{EndOtherSessions, EndSession, list_sessions};
use crate::components::form::action_error;
use domain::session::SessionInfo;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn AccountPage() -> impl IntoView {
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let sessions = Resource::new_blocking(
        move || (end_one.version().get(), end_others.version().get()),
        |_| list_sessions(),
    );
    let query = use_query_map();
    let ended = move || {
        query.with(|q| q.get("ended").is_some())
            || end_others.value().get().is_some_and(|r| r.is_ok())
    };
    view! {
        <Title text="Account and security" />
        <h1>"Account and security"</h1>
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
                        Err(crate::error::AppError::Unauthorized(_)) => view! { <Redirect path="/signin" /> }.into_any(),
                        Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section aria-labelledby="security">
            <h2 id="security">"Password and second factors"</h2>
            <p>"Changing your password, an authenticator app, passkeys and backup codes: not available yet in this version of the portal."</p>
        </section>
    }
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
