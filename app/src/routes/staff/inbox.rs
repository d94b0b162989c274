//! The team inbox (unassigned / mine / closed) and one thread with reply, assign and close.

use crate::api::staff::{AssignThread, CloseThread, MarkSensitivity, inbox, staff_thread};
use crate::components::care::{MessageFields, conversation, suspended, thread_list};
use crate::components::form::action_error;
use domain::care::ThreadView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn InboxPage() -> impl IntoView {
    let query = use_query_map();
    let view_key = move || query.with(|q| q.get("view").unwrap_or_else(|| "unassigned".into()));
    let rows = Resource::new(view_key, |v| inbox(Some(v)));
    let tab = move |key: &'static str, label: &'static str| {
        view! {
            <li>
                <a href=format!("/staff/messages?view={key}") aria-current=move || (view_key() == key).then_some("page")>{label}</a>
            </li>
        }
    };
    view! {
        <Title text="Team inbox" />
        <h1>"Team inbox"</h1>
        <nav aria-label="Inbox views" class="tabs">
            <ul>{tab("unassigned", "Unassigned")}{tab("mine", "Mine")}{tab("closed", "Closed")}</ul>
        </nav>
        {suspended(rows, |r| thread_list(r, "/staff/messages/", "Nothing here."))}
    }
    .into_any()
}

fn thread(
    t: ThreadView,
    assign: ServerAction<AssignThread>,
    close: ServerAction<CloseThread>,
    mark: ServerAction<MarkSensitivity>,
) -> AnyView {
    let id = t.row.id.clone();
    let marking = t.may_mark.then(|| {
        super::results::sensitivity_form(mark, "thread", id.clone(), t.sensitivity, "thread".into())
    });
    let (id1, id2) = (id.clone(), id.clone());
    let closed = t.row.closed;
    let assignable = t.assignable.clone();
    let talk = conversation(&t);
    view! {
        <Title text=t.row.subject.clone() />
        <h1>{t.row.subject.clone()}</h1>
        <p class="meta">
            {format!(
                "{} · {} · with {}{}",
                t.row.patient.clone().unwrap_or_default(),
                t.row.topic,
                t.row.with,
                t.row.assigned.clone().map(|a| format!(" · assigned to {a}")).unwrap_or_default()
            )}
        </p>
        {talk}
        {marking}
        {action_error(mark.value())}
        {move || mark.value().get().and_then(Result::ok).map(|m| view! { <p class="notice" role="status">{m}</p> })}
        {(!closed).then(move || view! {
            <form method="post" action="/staff/messages/send" enctype="multipart/form-data" class="message-form">
                <h2>"Reply"</h2>
                <input type="hidden" name="thread" value=id.clone() />
                <MessageFields />
                <button type="submit" class="button">"Send reply"</button>
            </form>
            <ActionForm action=assign attr:class="inline">
                <input type="hidden" name="id" value=id1.clone() />
                <div class="field inline">
                    <label for="assign-to">"Assign to"</label>
                    <select id="assign-to" name="to">
                        <option value="">"Nobody (unassigned)"</option>
                        {assignable.iter().map(|(uid, name)| view! { <option value=uid.clone()>{name.clone()}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="button secondary">"Assign"</button>
            </ActionForm>
            <ActionForm action=close attr:class="inline">
                <input type="hidden" name="id" value=id2.clone() />
                <button type="submit" class="button secondary">"Close the conversation"</button>
            </ActionForm>
        })}
        {action_error(assign.value())}
        {action_error(close.value())}
    }
    .into_any()
}

#[component]
pub fn StaffThreadPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let assign = ServerAction::<AssignThread>::new();
    let close = ServerAction::<CloseThread>::new();
    let mark = ServerAction::<MarkSensitivity>::new();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(
        move || (id(), assign.version().get(), close.version().get()),
        |(id, _, _)| staff_thread(id),
    );
    view! {
        <p><A href="/staff/messages">"Back to the inbox"</A></p>
        {move || query.with(|q| q.get("sent").is_some()).then(|| view! {
            <p class="notice" role="status">"Your reply was sent. The patient is told by email that a message is waiting."</p>
        })}
        {suspended(data, move |t| thread(t, assign, close, mark))}
    }
    .into_any()
}
