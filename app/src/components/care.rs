//! Pieces shared by the care-team pages (messages, appointments, refills, staff console).

use crate::components::record::record_error;
use crate::error::AppError;
use domain::care::{MessageView, Segment, ThreadRow, ThreadView};
use leptos::prelude::*;
use leptos_router::components::A;

/// Renders a resource's value once it is there, or its error.
pub fn suspended<T, R>(res: Resource<Result<T, AppError>>, render: R) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    R: Fn(T) -> AnyView + Clone + Send + Sync + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match res.await {
                        Ok(v) => render(v),
                        Err(e) => record_error(e),
                    }
                })
            }}
        </Suspense>
    }
}

/// The success sentence of an action, as a status message.
pub fn action_notice<V>(value: V) -> impl IntoView
where
    V: Get<Value = Option<Result<String, AppError>>> + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(Result::ok)
            .map(|m| view! { <p class="notice" role="status">{m}</p> })
    }
}

/// Message text as typed: plain text, web addresses as links that open elsewhere without
/// telling the other site where they came from.
fn body(segments: Vec<Segment>) -> impl IntoView {
    segments
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) => view! { <span>{t}</span> }.into_any(),
            Segment::Link(url) => view! {
                <a href=url.clone() rel="noopener noreferrer nofollow ugc" target="_blank">{url.clone()}</a>
            }
            .into_any(),
        })
        .collect_view()
}

fn message(m: MessageView, attachment_base: &'static str) -> impl IntoView {
    view! {
        <li class="message" class:mine=m.mine>
            <p class="meta"><strong>{m.author}</strong>" · "<time>{m.at}</time></p>
            <p class="body">{body(m.body)}</p>
            {(!m.attachments.is_empty()).then(|| view! {
                <ul class="attachments" aria-label="Attachments">
                    {m.attachments.into_iter().map(|a| view! {
                        <li><a href=format!("{attachment_base}{}", a.id) download rel="external">
                            {format!("{} ({})", a.filename, a.size)}
                        </a></li>
                    }).collect_view()}
                </ul>
            })}
        </li>
    }
}

/// A thread's messages, oldest first.
pub fn conversation(t: &ThreadView) -> impl IntoView {
    view! {
        <ol class="conversation" aria-label="Messages in this conversation">
            {t.messages.clone().into_iter().map(|m| message(m, "/messages/attachment/")).collect_view()}
        </ol>
    }
}

/// The fields of a message and its attachments (inside a multipart form).
#[component]
pub fn MessageFields() -> impl IntoView {
    view! {
        <div class="field">
            <label for="body">"Message"</label>
            <p class="hint" id="body-hint">"Plain text, up to 5,000 characters."</p>
            <textarea id="body" name="body" rows="6" maxlength="5000" required aria-describedby="body-hint"></textarea>
        </div>
        <div class="field">
            <label for="file">"Attachments (optional)"</label>
            <p class="hint" id="file-hint">"Up to 3 files: PDF, JPEG or PNG, at most 5 MB each."</p>
            <input id="file" name="file" type="file" multiple accept="application/pdf,image/jpeg,image/png" aria-describedby="file-hint" />
        </div>
    }
}

/// One line about a thread: who, what, when, who has it (one text, so it hydrates as one).
fn meta_line(t: &ThreadRow) -> String {
    let mut line = String::new();
    if let Some(p) = &t.patient {
        line.push_str(&format!("{p} · "));
    }
    line.push_str(&format!("{} · with {} · {}", t.topic, t.with, t.last_at));
    if let Some(a) = &t.assigned {
        line.push_str(&format!(" · assigned to {a}"));
    }
    if t.closed {
        line.push_str(" · closed");
    }
    line
}

/// A list of threads linking to `base` + id.
pub fn thread_list(rows: Vec<ThreadRow>, base: &'static str, empty: &'static str) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="threads">
            {rows.into_iter().map(|t| {
                let label = if t.unread { format!("{} (unread)", t.subject) } else { t.subject.clone() };
                view! {
                    <li class:unread=t.unread>
                        <A href=format!("{base}{}", t.id)>{label}</A>
                        <p class="meta">{meta_line(&t)}</p>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
