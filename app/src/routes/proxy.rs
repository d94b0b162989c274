//! Proxy access: who can see my record (invite, change what they see, revoke), and the
//! records I can open as a caregiver.

use crate::api::proxy::{InviteCaregiver, RevokeGrant, SetGrantScopes, load_proxy_page};
use crate::api::security::Reauthenticate;
use crate::components::care::{action_notice, suspended};
use crate::components::form::{Field, action_error};
use domain::proxy::{
    ActingChoice, DEFAULT_GRANT_MONTHS, GrantStatus, GrantView, MAX_GRANT_MONTHS, ProxyPage,
    Relationship, Scope,
};
use domain::session::Me;
use leptos::prelude::*;
use leptos_meta::Title;

/// Every action on the page; the lists reload after any of them.
#[derive(Clone, Copy)]
struct Actions {
    reauth: ServerAction<Reauthenticate>,
    invite: ServerAction<InviteCaregiver>,
    revoke: ServerAction<RevokeGrant>,
    scopes: ServerAction<SetGrantScopes>,
}

/// The names of the scopes, as the parts one can share.
pub fn scope_labels(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One checkbox per part of the record, in a fieldset. Each box sends its scope's name.
fn scope_boxes(prefix: String, legend: &'static str, ticked: Vec<Scope>) -> impl IntoView {
    view! {
        <fieldset class="scopes">
            <legend>{legend}</legend>
            {Scope::ALL.into_iter().map(|s| {
                let id = format!("{prefix}-{}", s.as_str());
                view! {
                    <div class="check">
                        <input type="checkbox" id=id.clone() name="scopes[]" value=s.as_str() checked=ticked.contains(&s) />
                        <label for=id>{s.label()}</label>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// The records the person may open, each with a plain form: the switch reloads the page,
/// so the banner and sections follow the record.
fn records_view(list: Vec<ActingChoice>) -> impl IntoView {
    view! {
        <section aria-labelledby="acting-title">
            <h2 id="acting-title">"Records you can open"</h2>
            <ul class="grants">
                {list.into_iter().map(|r| view! {
                    <li>
                        <p><strong>{r.name.clone()}</strong></p>
                        <p>{format!("You can see: {}.", scope_labels(&r.scopes))}</p>
                        <p>{format!("Until {}.", r.expires)}</p>
                        <form method="post" action="/api/proxy/switch" class="inline">
                            <input type="hidden" name="grant" value=r.grant_id.clone() />
                            <button type="submit" class="button">{format!("Open {}'s record", r.name)}</button>
                        </form>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

fn grant_item(g: GrantView, a: Actions) -> impl IntoView {
    let open = matches!(g.status, GrantStatus::Active | GrantStatus::Invited);
    let who = g.who.clone();
    let id = g.id.clone();
    let (id1, id2) = (id.clone(), id.clone());
    view! {
        <li>
            <p><strong>{g.who.clone()}</strong>{format!(" · {} · {}", g.relationship.label(), g.status.label())}</p>
            <p>{format!("Can see: {}.", scope_labels(&g.scopes))}</p>
            {open.then(|| view! { <p>{format!("Until {}.", g.expires)}</p> })}
            {g.by_clinic.then(|| view! { <p class="hint">"Set up by your clinic for a parent or guardian."</p> })}
            {(open && !g.by_clinic).then(|| {
                let scopes = g.scopes.clone();
                view! {
                    <details>
                        <summary>{format!("Change what {who} can see")}</summary>
                        <ActionForm action=a.scopes>
                            <input type="hidden" name="id" value=id1.clone() />
                            {scope_boxes(format!("edit-{id1}"), "Parts of your record", scopes)}
                            <button type="submit" class="button secondary">"Save"</button>
                        </ActionForm>
                    </details>
                }
            })}
            {open.then(|| view! {
                <ActionForm action=a.revoke attr:class="inline">
                    <input type="hidden" name="id" value=id2.clone() />
                    <button type="submit" class="button danger">{format!("Revoke access for {}", g.who)}</button>
                </ActionForm>
            })}
        </li>
    }
}

fn invite_form(a: Actions) -> impl IntoView {
    let sent = move || a.invite.value().get().is_some_and(|r| r.is_ok());
    view! {
        <section aria-labelledby="invite-title">
            <h2 id="invite-title">"Invite a caregiver"</h2>
            <p>"They get an email with a link that works once, for 7 days. They sign in or create their own account and confirm your date of birth. Share only what they need."</p>
            <ActionForm action=a.invite>
                <Field id="invite-email" name="email" label="Their email address" kind="email" autocomplete="off" />
                <div class="field">
                    <label for="invite-relationship">"How they are related to you"</label>
                    <select id="invite-relationship" name="relationship" required>
                        <option value="">"Choose…"</option>
                        {Relationship::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str()>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                {scope_boxes("invite".into(), "What they can see and do", vec![])}
                <div class="field">
                    <label for="invite-months">"How long the access lasts"</label>
                    <select id="invite-months" name="months">
                        {(1..=MAX_GRANT_MONTHS).map(|m| {
                            let text = if m == 1 { "1 month".to_owned() } else { format!("{m} months") };
                            view! { <option value=m.to_string() selected=m == DEFAULT_GRANT_MONTHS>{text}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {action_error(a.invite.value())}
                <Show when=sent>{action_notice(a.invite.value())}</Show>
                <button type="submit" class="button">"Send the invitation"</button>
            </ActionForm>
        </section>
    }
}

fn own_view(granted: Vec<GrantView>, a: Actions) -> impl IntoView {
    let confirmed = move || a.reauth.value().get().is_some_and(|r| r.is_ok());
    view! {
        <section aria-labelledby="granted-title">
            <h2 id="granted-title">"Who can see your record"</h2>
            {action_error(a.revoke.value())}
            {action_error(a.scopes.value())}
            {move || a.revoke.value().get().is_some_and(|r| r.is_ok()).then(|| view! {
                <p class="notice" role="status">"Access revoked. It stops at their very next click."</p>
            })}
            {move || a.scopes.value().get().is_some_and(|r| r.is_ok()).then(|| view! {
                <p class="notice" role="status">"Saved. The change applies at their next click."</p>
            })}
            {if granted.is_empty() {
                view! { <p class="empty">"Nobody else can see your record."</p> }.into_any()
            } else {
                view! { <ul class="grants">{granted.into_iter().map(|g| grant_item(g, a)).collect_view()}</ul> }.into_any()
            }}
        </section>
        <section aria-labelledby="confirm-title">
            <h2 id="confirm-title">"Confirm it is you"</h2>
            <p>"Inviting, changing and revoking access need your password, confirmed in the last 5 minutes."</p>
            <Show
                when=confirmed
                fallback=move || view! {
                    <ActionForm action=a.reauth>
                        <Field id="proxy-reauth" name="password" label="Current password" kind="password" autocomplete="current-password" />
                        {action_error(a.reauth.value())}
                        <button type="submit" class="button secondary">"Confirm password"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">"Password confirmed for the next 5 minutes."</p>
            </Show>
        </section>
        {invite_form(a)}
    }
}

fn page_view(p: ProxyPage, a: Actions, acting: bool) -> AnyView {
    let nothing = !p.has_own_record && p.acting_for.is_empty();
    view! {
        {(!p.acting_for.is_empty()).then(|| records_view(p.acting_for.clone()))}
        {(p.has_own_record && acting).then(|| view! {
            <p class="notice">"To manage who can see your own record, go back to your record first."</p>
        })}
        {(p.has_own_record && !acting).then(|| own_view(p.granted.clone(), a))}
        {nothing.then(|| view! {
            <p class="empty">"You cannot open anyone's record yet. When someone invites you, open the link in their email while signed in."</p>
        })}
    }
    .into_any()
}

#[component]
pub fn ProxyAccessPage() -> impl IntoView {
    let a = Actions {
        reauth: ServerAction::new(),
        invite: ServerAction::new(),
        revoke: ServerAction::new(),
        scopes: ServerAction::new(),
    };
    let acting = use_context::<Me>().is_some_and(|m| m.acting_for.is_some());
    // The lists reload after a change went through; an error leaves the forms as typed.
    let changes = RwSignal::new(0usize);
    let bump = move |ok: bool| {
        if ok {
            changes.update(|n| *n += 1);
        }
    };
    Effect::new(move |_| bump(a.invite.value().get().is_some_and(|r| r.is_ok())));
    Effect::new(move |_| bump(a.revoke.value().get().is_some_and(|r| r.is_ok())));
    Effect::new(move |_| bump(a.scopes.value().get().is_some_and(|r| r.is_ok())));
    let page = Resource::new_blocking(move || changes.get(), |_| load_proxy_page());
    view! {
        <Title text="Proxy access" />
        <h1>"Proxy access"</h1>
        <p>"A family member or friend can help with your care: read results, message your care team or book visits for you. You choose what each person sees and for how long, and the Activity page shows everything they do."</p>
        {suspended(page, move |p| page_view(p, a, acting))}
    }
}
