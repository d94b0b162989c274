//! The signed-in frame: header with the patient's name, section navigation, sign-out.

use crate::api::auth::current_user;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

/// Navigation entries: (path, label).
pub const SECTIONS: &[(&str, &str)] = &[
    ("/home", "Home"),
    ("/results", "Test results"),
    ("/visits", "Visit summaries"),
    ("/medications", "Medications"),
    ("/allergies", "Allergies"),
    ("/problems", "Problems"),
    ("/immunizations", "Immunizations"),
    ("/messages", "Messages"),
    ("/appointments", "Appointments"),
    ("/sharing", "Downloads and sharing"),
    ("/proxy", "Proxy access"),
    ("/account", "Account and security"),
    ("/activity", "Activity"),
];

#[component]
pub fn PortalLayout() -> impl IntoView {
    let who = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match who.await {
                    Ok(Some(me)) => {
                        provide_context(me.clone());
                        let me = StoredValue::new(me);
                        view! {
                            <a class="skip" href="#main">"Skip to main content"</a>
                            <header class="top">
                                <p class="brand">"My Health Connection"</p>
                                <p class="who">
                                    <span class="sr-only">"Signed in as "</span>
                                    {me.with_value(|m| m.display_name.clone())}
                                </p>
                                <form method="post" action="/api/auth/sign_out" class="signout">
                                    <button type="submit" class="button secondary">"Sign out"</button>
                                </form>
                            </header>
                            <nav aria-label="Portal sections" class="sections">
                                <ul>
                                    {SECTIONS
                                        .iter()
                                        .map(|(href, label)| view! {
                                            <li><A href=*href>{*label}</A></li>
                                        })
                                        .collect_view()}
                                </ul>
                            </nav>
                            <main id="main" tabindex="-1">
                                <Outlet />
                            </main>
                        }
                            .into_any()
                    }
                    _ => view! { <Redirect path="/signin" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
