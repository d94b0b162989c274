//! Messages: the patient's threads with the care team, a new message, and one thread.

use crate::api::messages::{care_teams, get_thread, list_threads};
use crate::components::care::{MessageFields, conversation, suspended, thread_list};
use domain::care::{TOPICS, TeamView, ThreadView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Messages are not for emergencies: said on every message page.
#[component]
pub fn NonUrgent(#[prop(optional)] response: Option<String>) -> impl IntoView {
    view! {
        <div class="banner" role="note">
            <p><strong>"Messages are for questions that can wait."</strong>" In an emergency, call 911. If you feel unwell and it cannot wait, call the clinic."</p>
            {response.map(|r| view! { <p>{format!("Your care team answers {r}.")}</p> })}
        </div>
    }
}

fn new_message(teams: Vec<TeamView>) -> AnyView {
    let Some(first) = teams.first().cloned() else {
        return view! { <p class="empty">"Your clinic has no care team taking messages yet."</p> }
            .into_any();
    };
    view! {
        <NonUrgent response=first.response.clone() />
        <form method="post" action="/messages/send" enctype="multipart/form-data" class="message-form">
            <div class="field">
                <label for="team">"To"</label>
                <select id="team" name="team" required>
                    {teams.iter().map(|t| view! { <option value=t.id.clone()>{t.name.clone()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="clinician">"A clinician of the team (optional)"</label>
                <select id="clinician" name="clinician">
                    <option value="">"Anyone on the team"</option>
                    {first.clinicians.iter().map(|(id, name)| view! { <option value=id.clone()>{name.clone()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="topic">"What is it about?"</label>
                <select id="topic" name="topic" required>
                    {TOPICS.iter().map(|t| view! { <option value=t.key()>{t.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="subject">"Subject"</label>
                <input id="subject" name="subject" type="text" maxlength="120" required autocomplete="off" />
            </div>
            <MessageFields />
            <button type="submit" class="button">"Send message"</button>
        </form>
    }
    .into_any()
}

#[component]
pub fn MessagesPage() -> impl IntoView {
    let threads = Resource::new(|| (), |_| list_threads());
    let teams = Resource::new(|| (), |_| care_teams());
    view! {
        <Title text="Messages" />
        <h1>"Messages"</h1>
        <section aria-labelledby="threads-title">
            <h2 id="threads-title">"Your conversations"</h2>
            {suspended(threads, |rows| thread_list(rows, "/messages/", "No messages yet. Write to your care team below."))}
        </section>
        <section aria-labelledby="new-title">
            <h2 id="new-title">"Write a new message"</h2>
            {suspended(teams, new_message)}
        </section>
    }
    .into_any()
}

fn thread_page(t: ThreadView) -> AnyView {
    let closed = t.row.closed;
    let id = t.row.id.clone();
    view! {
        <Title text=t.row.subject.clone() />
        <h1>{t.row.subject.clone()}</h1>
        <p class="meta">{format!("{} · with {}", t.row.topic, t.row.with)}</p>
        <NonUrgent response=t.response.clone() />
        {conversation(&t)}
        {if closed {
            view! { <p class="notice">"Your care team closed this conversation. " <A href="/messages">"Write a new message"</A>" if you need more help."</p> }.into_any()
        } else {
            view! {
                <form method="post" action="/messages/send" enctype="multipart/form-data" class="message-form">
                    <h2>"Reply"</h2>
                    <input type="hidden" name="thread" value=id />
                    <MessageFields />
                    <button type="submit" class="button">"Send reply"</button>
                </form>
            }.into_any()
        }}
    }
    .into_any()
}

#[component]
pub fn ThreadPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let thread = Resource::new(id, get_thread);
    view! {
        <p><A href="/messages">"All messages"</A></p>
        {move || query.with(|q| q.get("sent").is_some()).then(|| view! {
            <p class="notice" role="status">"Your message was sent."</p>
        })}
        {suspended(thread, thread_page)}
    }
    .into_any()
}
