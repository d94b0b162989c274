//! The signed-in frame: header with the patient's name, section navigation, sign-out.

use crate::api::auth::{current_user, sign_out};
use domain::proxy::Scope;
use domain::session::{Me, Role};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;
use std::time::Duration;

/// How long before the idle sign-out the warning appears.
const WARN_SECS: i64 = 60;

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        leptos::web_sys::js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// What the idle timer shows, `elapsed` seconds after the last activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    Active,
    Warn { seconds_left: i64 },
    Expired,
}

pub fn idle_state(elapsed_secs: i64, timeout_secs: i64) -> Idle {
    let left = timeout_secs - elapsed_secs;
    if left <= 0 {
        Idle::Expired
    } else if left <= WARN_SECS {
        Idle::Warn { seconds_left: left }
    } else {
        Idle::Active
    }
}

/// Warns a minute before the session's idle timeout and signs out when it passes, so a
/// shared computer left alone does not keep showing health information.
#[component]
fn IdleWatch(timeout_secs: u64) -> impl IntoView {
    let timeout = timeout_secs as i64;
    let last = RwSignal::new(now_ms());
    let state = RwSignal::new(Idle::Active);
    let stay_button = NodeRef::<leptos::html::Button>::new();
    let location = use_location();
    // Moving around the portal is activity; it also reaches the server, which keeps the
    // session alive there.
    Effect::new(move |_| {
        location.pathname.track();
        last.set(now_ms());
        state.set(Idle::Active);
    });
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || {
                let elapsed = ((now_ms() - last.get_untracked()) / 1000.0) as i64;
                let next = idle_state(elapsed, timeout);
                if next == Idle::Expired && state.get_untracked() != Idle::Expired {
                    leptos::task::spawn_local(async move {
                        let _ = sign_out().await;
                        let _ = window().location().replace("/signin?timed_out=1");
                    });
                }
                state.set(next);
            },
            Duration::from_secs(1),
        )
        .ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    });
    Effect::new(move |_| {
        if matches!(state.get(), Idle::Warn { .. })
            && let Some(b) = stay_button.get()
        {
            let _ = b.focus();
        }
    });
    let stay = move |_| {
        last.set(now_ms());
        state.set(Idle::Active);
        leptos::task::spawn_local(async move {
            let _ = current_user().await;
        });
    };
    view! {
        <Show when=move || matches!(state.get(), Idle::Warn { .. })>
            <div class="idle-backdrop">
                <div
                    class="idle-dialog"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="idle-title"
                    aria-describedby="idle-text"
                >
                    <h2 id="idle-title">"Are you still there?"</h2>
                    <p id="idle-text">
                        {move || match state.get() {
                            Idle::Warn { seconds_left } => format!(
                                "For your security, you will be signed out in {seconds_left} seconds."
                            ),
                            _ => String::new(),
                        }}
                    </p>
                    <button type="button" class="button" node_ref=stay_button on:click=stay>
                        "Stay signed in"
                    </button>
                    <form method="post" action="/api/auth/sign_out" class="inline">
                        <button type="submit" class="button secondary">"Sign out now"</button>
                    </form>
                </div>
            </div>
        </Show>
    }
}

/// What a section needs to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Shown to everyone signed in.
    Always,
    /// A part of the record: one's own, or granted to the caregiver acting now.
    Part(Scope),
    /// One's own record, not while acting for someone (downloads, transmit).
    Own,
}

/// Navigation entries: (path, label, what the section needs).
pub const SECTIONS: &[(&str, &str, Needs)] = &[
    ("/home", "Home", Needs::Always),
    ("/results", "Test results", Needs::Part(Scope::Results)),
    ("/visits", "Visit summaries", Needs::Part(Scope::Visits)),
    (
        "/medications",
        "Medications",
        Needs::Part(Scope::Medications),
    ),
    ("/allergies", "Allergies", Needs::Part(Scope::Clinical)),
    ("/problems", "Problems", Needs::Part(Scope::Clinical)),
    ("/vitals", "Vital signs", Needs::Part(Scope::Clinical)),
    (
        "/immunizations",
        "Immunizations",
        Needs::Part(Scope::Immunizations),
    ),
    ("/messages", "Messages", Needs::Part(Scope::Messages)),
    (
        "/appointments",
        "Appointments",
        Needs::Part(Scope::Appointments),
    ),
    ("/sharing", "Downloads and sharing", Needs::Own),
    ("/proxy", "Proxy access", Needs::Always),
    ("/account", "Account and security", Needs::Always),
    ("/activity", "Activity", Needs::Always),
];

/// Whether the signed-in person sees a section in the navigation (the server refuses the
/// others whatever is shown).
pub fn section_shown(me: &Me, needs: Needs) -> bool {
    match needs {
        Needs::Always => true,
        Needs::Part(scope) => me.shows(scope),
        Needs::Own => me.acting_for.is_none() && me.has_own_record,
    }
}

/// The record switcher ("Me" / the people one acts for). A plain form: it works before the
/// page's script has loaded, and the server sends the browser to Home after the switch.
#[component]
fn RecordSwitcher() -> impl IntoView {
    let me = use_context::<Me>();
    me.filter(|m| !m.records.is_empty()).map(|m| {
        let current = m.acting_grant.clone();
        view! {
            <form method="post" action="/api/proxy/switch" class="switcher">
                <label for="switch-record">"Record"</label>
                <select id="switch-record" name="grant">
                    {m.has_own_record.then(|| view! {
                        <option value="" selected=current.is_none()>"Me"</option>
                    })}
                    {m.records.iter().map(|r| {
                        let on = current.as_deref() == Some(r.grant_id.as_str());
                        view! { <option value=r.grant_id.clone() selected=on>{r.name.clone()}</option> }
                    }).collect_view()}
                </select>
                <button type="submit" class="button secondary">"Open"</button>
            </form>
        }
    })
}

/// Says on every page whose record is open when it is not one's own.
#[component]
fn ActingBanner() -> impl IntoView {
    let me = use_context::<Me>();
    me.and_then(|m| {
        let name = m.acting_for.clone()?;
        let parts = m
            .acting_scopes
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(", ");
        Some(view! {
            <div class="banner acting" role="region" aria-label="Whose record this is">
                <p><strong>{format!("You are viewing {name}'s record as a caregiver.")}</strong></p>
                <p>{format!("You can see: {parts}. Everything you do here is shown to {name}.")}</p>
                {m.has_own_record.then(|| view! {
                    <form method="post" action="/api/proxy/switch" class="inline">
                        <input type="hidden" name="grant" value="" />
                        <button type="submit" class="button secondary">"Back to my record"</button>
                    </form>
                })}
            </div>
        })
    })
}

/// How many conversations have an unread reply, next to "Messages"; checked again on every
/// move within the portal.
#[component]
fn UnreadBadge() -> impl IntoView {
    let location = use_location();
    let count = Resource::new(
        move || location.pathname.get(),
        |_| crate::api::messages::unread_count(),
    );
    view! {
        <Transition fallback=|| ()>
            {move || count.get().and_then(Result::ok).filter(|n| *n > 0).map(|n| view! {
                <span class="badge">{format!(" ({n} unread)")}</span>
            })}
        </Transition>
    }
}

#[component]
pub fn PortalLayout() -> impl IntoView {
    let who = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match who.await {
                    Ok(Some(me)) => {
                        provide_context(me.clone());
                        let timeout = me.idle_timeout_secs;
                        let role = me.role;
                        let me = StoredValue::new(me);
                        view! {
                            <a class="skip" href="#main">"Skip to main content"</a>
                            <header class="top">
                                <p class="brand">"My Health Connection"</p>
                                <p class="who">
                                    <span class="sr-only">"Signed in as "</span>
                                    {me.with_value(|m| m.display_name.clone())}
                                </p>
                                <RecordSwitcher />
                                <form method="post" action="/api/auth/sign_out" class="signout">
                                    <button type="submit" class="button secondary">"Sign out"</button>
                                </form>
                            </header>
                            <ActingBanner />
                            <nav aria-label="Portal sections" class="sections">
                                <ul>
                                    {if role.is_staff() {
                                        STAFF_SECTIONS
                                            .iter()
                                            .filter(|(_, _, roles)| roles.contains(&role))
                                            .map(|(href, label, _)| view! {
                                                <li><A href=*href exact=true>{*label}</A></li>
                                            }.into_any())
                                            .collect_view()
                                    } else {
                                        SECTIONS
                                            .iter()
                                            .filter(|(_, _, needs)| me.with_value(|m| section_shown(m, *needs)))
                                            .map(|(href, label, _)| {
                                                if *href == "/messages" {
                                                    view! { <li><A href=*href>{*label}<UnreadBadge /></A></li> }.into_any()
                                                } else {
                                                    view! { <li><A href=*href>{*label}</A></li> }.into_any()
                                                }
                                            })
                                            .collect_view()
                                    }}
                                </ul>
                            </nav>
                            <main id="main" tabindex="-1">
                                <Outlet />
                            </main>
                            <IdleWatch timeout_secs=timeout />
                        }
                            .into_any()
                    }
                    _ => view! { <Redirect path="/signin" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The staff console's sections: (path, label, roles that work there). The backend refuses
/// the others whatever links are shown.
pub const STAFF_SECTIONS: &[(&str, &str, &[Role])] = &[
    ("/staff", "Console home", crate::api::ANY_STAFF),
    ("/staff/messages", "Team inbox", crate::api::INBOX),
    ("/staff/refills", "Refill queue", crate::api::REFILL_QUEUE),
    ("/staff/schedule", "Schedule", crate::api::SCHEDULE),
    ("/staff/patients", "Patients", crate::api::SCHEDULE),
    ("/staff/results", "Results to review", crate::api::CLINICIAN),
    ("/account", "Account and security", crate::api::ANY_STAFF),
    ("/activity", "Activity", crate::api::ANY_STAFF),
];

/// The staff console's frame: the same header and idle sign-out, the console's sections.
#[component]
pub fn StaffLayout() -> impl IntoView {
    let who = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match who.await {
                    Ok(Some(me)) if me.role.is_staff() => {
                        provide_context(me.clone());
                        let timeout = me.idle_timeout_secs;
                        let role = me.role;
                        view! {
                            <a class="skip" href="#main">"Skip to main content"</a>
                            <header class="top staff">
                                <p class="brand">"My Health Connection · Staff console"</p>
                                <p class="who">
                                    <span class="sr-only">"Signed in as "</span>
                                    {me.display_name.clone()}
                                </p>
                                <form method="post" action="/api/auth/sign_out" class="signout">
                                    <button type="submit" class="button secondary">"Sign out"</button>
                                </form>
                            </header>
                            <nav aria-label="Console sections" class="sections">
                                <ul>
                                    {STAFF_SECTIONS
                                        .iter()
                                        .filter(|(_, _, roles)| roles.contains(&role))
                                        .map(|(href, label, _)| view! {
                                            <li><A href=*href exact=true>{*label}</A></li>
                                        })
                                        .collect_view()}
                                </ul>
                            </nav>
                            <main id="main" tabindex="-1">
                                <Outlet />
                            </main>
                            <IdleWatch timeout_secs=timeout />
                        }
                            .into_any()
                    }
                    Ok(Some(_)) => view! { <Redirect path="/home" /> }.into_any(),
                    _ => view! { <Redirect path="/signin" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::{Idle, idle_state};

    #[test]
    fn the_warning_comes_a_minute_before_the_idle_sign_out() {
        let t = 15 * 60;
        assert_eq!(idle_state(0, t), Idle::Active);
        assert_eq!(idle_state(t - 61, t), Idle::Active);
        assert_eq!(idle_state(t - 60, t), Idle::Warn { seconds_left: 60 });
        assert_eq!(idle_state(t - 1, t), Idle::Warn { seconds_left: 1 });
        assert_eq!(idle_state(t, t), Idle::Expired);
        assert_eq!(idle_state(t + 500, t), Idle::Expired);
    }
}
