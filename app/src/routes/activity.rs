//! Activity: the person's own security activity (sign-ins, changes, resets).

use crate::api::security::security_activity;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn ActivityPage() -> impl IntoView {
    let rows = Resource::new_blocking(|| (), |_| security_activity());
    view! {
        <Title text="Activity" />
        <h1>"Activity"</h1>
        <section aria-labelledby="security-activity">
            <h2 id="security-activity">"Security activity"</h2>
            <p>"Sign-ins and changes to how you sign in, newest first. If something here was not you, change your password and tell your clinic."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Ok(list) if list.is_empty() => view! { <p>"Nothing yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table>
                                    <thead>
                                        <tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"What"</th>
                                            <th scope="col">"Outcome"</th>
                                            <th scope="col">"Device"</th>
                                            <th scope="col">"Address"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().map(|r| view! {
                                            <tr>
                                                <td>{r.at}</td>
                                                <th scope="row">{r.what}</th>
                                                <td>{r.outcome}</td>
                                                <td>{r.device}</td>
                                                <td>{r.ip.unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(AppError::Unauthorized(_)) => view! { <Redirect path="/signin" /> }.into_any(),
                        Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p>"The log of who looked at your health record comes with the record views."</p>
        </section>
    }
}
