//! Form helpers: labelled fields and the error/status messages under a form.

use crate::error::AppError;
use leptos::prelude::*;

/// A labelled input. `id` doubles as the field name the server function expects.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    /// The field name, when several forms on one page send the same name.
    #[prop(optional)]
    name: Option<&'static str>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let described = hint.map(|_| hint_id.clone());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name.unwrap_or(id)
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                aria-describedby=described
                required
            />
        </div>
    }
}

/// Shows the last error of an action as an alert (also after a no-JavaScript round trip).
pub fn action_error<T, V>(value: V) -> impl IntoView
where
    T: Send + Sync + Clone + 'static,
    V: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        value.get().and_then(Result::err).map(|e| {
            view! {
                <p class="alert" role="alert">
                    {e.to_string()}
                </p>
            }
        })
    }
}
