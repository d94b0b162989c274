//! Pieces shared by the health-record pages: the date-range filter and error views.

use crate::error::AppError;
use domain::page::Page;
use leptos::prelude::*;
use leptos_router::components::{A, Form, Redirect};
use leptos_router::hooks::{use_location, use_query_map};

/// The page's date range from its address (`?from=2026-01-01&to=2026-09-30`); empty ends
/// are open. Dates are not health information, so they may travel in the URL.
pub fn use_range() -> (Memo<Option<String>>, Memo<Option<String>>) {
    let q = use_query_map();
    let get =
        move |k: &'static str| Memo::new(move |_| q.with(|q| q.get(k).filter(|v| !v.is_empty())));
    (get("from"), get("to"))
}

/// A GET form that narrows the list to a date range; works without JavaScript too.
#[component]
pub fn DateFilter(
    /// What the dates are of ("collected", "given"…), for the legend.
    what: &'static str,
) -> impl IntoView {
    let (from, to) = use_range();
    let path = use_location().pathname;
    view! {
        <Form method="GET" action=move || path.get() attr:class="date-filter">
            <fieldset>
                <legend>{format!("Show only what was {what} between")}</legend>
                <div class="field inline">
                    <label for="from">"From"</label>
                    <input id="from" name="from" type="date" prop:value=move || from.get().unwrap_or_default() />
                </div>
                <div class="field inline">
                    <label for="to">"To"</label>
                    <input id="to" name="to" type="date" prop:value=move || to.get().unwrap_or_default() />
                </div>
                <button type="submit" class="button">"Filter"</button>
                <a class="button secondary" href=move || path.get()>"Show all"</a>
            </fieldset>
        </Form>
    }
}

/// What a record page shows when its data could not be read.
pub fn record_error(e: AppError) -> AnyView {
    match e {
        AppError::Unauthorized(_) => view! { <Redirect path="/signin" /> }.into_any(),
        e => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
    }
}

/// The empty state of a list: different when a filter is on.
pub fn empty(filtered: bool, none: &'static str) -> AnyView {
    let text = if filtered {
        "Nothing in these dates. Choose other dates, or show all."
    } else {
        none
    };
    view! { <p class="empty">{text}</p> }.into_any()
}

/// A record list narrowed by the page's date range: fetched on the server for the first
/// render, again in the browser when the range changes.
pub fn ranged_list<T, Fut, F, R>(fetch: F, render: R) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>, AppError>> + Send + 'static,
    F: Fn(Option<String>, Option<String>) -> Fut + Copy + Send + Sync + 'static,
    R: Fn(Vec<T>, bool) -> AnyView + Copy + Send + Sync + 'static,
{
    let (from, to) = use_range();
    let data = Resource::new_blocking(move || (from.get(), to.get()), move |(f, t)| fetch(f, t));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let filtered = from.get_untracked().is_some() || to.get_untracked().is_some();
                match data.await {
                    Ok(v) => render(v, filtered),
                    Err(e) => record_error(e),
                }
            })}
        </Suspense>
    }
}

/// A record list shown a page at a time, newest first, narrowed by the page's date range;
/// "Show earlier" is a plain link (`before=`), so it works without JavaScript too.
pub fn paged_list<T, Fut, F, R>(fetch: F, render: R) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, AppError>> + Send + 'static,
    F: Fn(Option<String>, Option<String>, Option<String>) -> Fut + Copy + Send + Sync + 'static,
    R: Fn(Vec<T>, bool) -> AnyView + Copy + Send + Sync + 'static,
{
    let (from, to) = use_range();
    let q = use_query_map();
    let before = Memo::new(move |_| q.with(|q| q.get("before").filter(|v| !v.is_empty())));
    let data = Resource::new_blocking(
        move || (from.get(), to.get(), before.get()),
        move |(f, t, b)| fetch(f, t, b),
    );
    let path = use_location().pathname;
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let filtered = from.get_untracked().is_some() || to.get_untracked().is_some();
                let older = before.get_untracked().is_some();
                match data.await {
                    Ok(page) => {
                        let list = if page.items.is_empty() && older {
                            view! { <p class="empty">"There is nothing earlier."</p> }.into_any()
                        } else {
                            render(page.items, filtered)
                        };
                        let range = range_query(from.get_untracked(), to.get_untracked());
                        let base = path.get_untracked();
                        let newest = older.then(|| {
                            let href = if range.is_empty() {
                                base.clone()
                            } else {
                                format!("{base}?{range}")
                            };
                            view! { <A href=href>"Back to the newest"</A> }
                        });
                        let earlier = page.earlier.map(|b| {
                            let sep = if range.is_empty() { "" } else { "&" };
                            let href = format!("{base}?{range}{sep}before={}", b.param());
                            view! { <A href=href attr:class="button secondary">"Show earlier"</A> }
                        });
                        let nav = (newest.is_some() || earlier.is_some()).then(|| {
                            view! { <nav class="pager" aria-label="Earlier and newer">{earlier}" "{newest}</nav> }
                        });
                        view! { {list}{nav} }.into_any()
                    }
                    Err(e) => record_error(e),
                }
            })}
        </Suspense>
    }
}

/// `from=…&to=…` for the ends of the range that are set; only date characters pass, so the
/// value needs no escaping (the server refuses anything that is not a date anyway).
fn range_query(from: Option<String>, to: Option<String>) -> String {
    let ok = |v: &String| v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    [("from", from), ("to", to)]
        .into_iter()
        .filter_map(|(k, v)| v.filter(ok).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join("&")
}

/// The two date fields of a form (`from`, `to`), in a fieldset with `legend`; `prefix` keeps
/// their ids apart when a page has several such forms.
#[component]
pub fn DateFields(prefix: &'static str, legend: &'static str) -> impl IntoView {
    let (from, to) = (format!("{prefix}-from"), format!("{prefix}-to"));
    view! {
        <legend>{legend}</legend>
        <div class="field inline">
            <label for=from.clone()>"From"</label>
            <input id=from name="from" type="date" />
        </div>
        <div class="field inline">
            <label for=to.clone()>"To"</label>
            <input id=to name="to" type="date" />
        </div>
    }
}

/// A table of record rows with the given column headers.
pub fn record_table(headers: &'static [&'static str], rows: impl IntoView) -> AnyView {
    view! {
        <div class="table-wrap">
            <table>
                <thead><tr>
                    {headers.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
