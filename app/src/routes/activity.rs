//! Activity: the access log of the person's record and account: who did what, to which
//! data, when and from which device, with a date filter, sortable columns and pages.

use crate::api::activity::access_log;
use crate::api::security::ReportSuspicious;
use crate::components::form::action_error;
use crate::components::record::{DateFilter, record_error, use_range};
use domain::records::{LogPage, LogSort};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// The address of this page with the same filter and another sort or page.
fn href(
    from: &Option<String>,
    to: &Option<String>,
    sort: LogSort,
    desc: bool,
    page: u32,
) -> String {
    let mut q = vec![
        format!("sort={}", sort.key()),
        format!("dir={}", if desc { "desc" } else { "asc" }),
    ];
    if let Some(f) = from {
        q.push(format!("from={f}"));
    }
    if let Some(t) = to {
        q.push(format!("to={t}"));
    }
    if page > 1 {
        q.push(format!("page={page}"));
    }
    format!("/activity?{}", q.join("&"))
}

fn log_view(log: LogPage, from: Option<String>, to: Option<String>) -> AnyView {
    let filtered = from.is_some() || to.is_some();
    if log.rows.is_empty() {
        return crate::components::record::empty(filtered, "Nothing yet.");
    }
    let headers = LogSort::ALL
        .into_iter()
        .map(|col| {
            let current = col == log.sort;
            // A click on the sorted column flips it; another column starts newest/Z first
            // for "when", A first otherwise.
            let desc = if current {
                !log.descending
            } else {
                col == LogSort::When
            };
            let aria = current.then_some(if log.descending {
                "descending"
            } else {
                "ascending"
            });
            let arrow = if current {
                if log.descending { " ↓" } else { " ↑" }
            } else {
                ""
            };
            view! {
                <th scope="col" aria-sort=aria>
                    <A href=href(&from, &to, col, desc, 1)>{col.label()}{arrow}</A>
                </th>
            }
        })
        .collect_view();
    let (page, pages) = (log.page, log.pages);
    let prev = (page > 1).then(|| href(&from, &to, log.sort, log.descending, page - 1));
    let next = (page < pages).then(|| href(&from, &to, log.sort, log.descending, page + 1));
    view! {
        <div class="table-wrap">
            <table class="log">
                <caption>{format!("{} events", log.total)}</caption>
                <thead><tr>{headers}<th scope="col">"Outcome"</th><th scope="col">"Address"</th></tr></thead>
                <tbody>
                    {log.rows.into_iter().map(|r| view! {
                        <tr>
                            <td>{r.at}</td>
                            <td>{r.who}</td>
                            <th scope="row">{r.what}{r.detail.map(|d| view! { <span class="hint">{format!(" ({d})")}</span> })}</th>
                            <td>{r.data}</td>
                            <td>{r.device}</td>
                            <td>{r.outcome}</td>
                            <td>{r.address.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pages" aria-label="Pages of the activity log">
            {prev.map(|h| view! { <A href=h attr:rel="prev">"Previous page"</A> })}
            <span>{format!("Page {page} of {pages}")}</span>
            {next.map(|h| view! { <A href=h attr:rel="next">"Next page"</A> })}
        </nav>
    }
    .into_any()
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let (from, to) = use_range();
    let q = use_query_map();
    let arg = move |k: &'static str| q.with(|q| q.get(k));
    let log = Resource::new_blocking(
        move || (from.get(), to.get(), arg("sort"), arg("dir"), arg("page")),
        |(f, t, s, d, p)| access_log(f, t, s, d, p),
    );
    let report = ServerAction::<ReportSuspicious>::new();
    view! {
        <Title text="Activity" />
        <h1>"Activity"</h1>
        <p>"Everything that happened to your record and your account: who looked at or downloaded your health information (you, your clinic's staff), what was sent and to whom, sign-ins and security changes, with the device and address."</p>
        <DateFilter what="done" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (f, t) = (from.get_untracked(), to.get_untracked());
                match log.await {
                    Ok(page) => log_view(page, f, t),
                    Err(e) => record_error(e),
                }
            })}
        </Suspense>
        <section aria-labelledby="not-me" class="danger-zone">
            <h2 id="not-me">"Something here wasn't you?"</h2>
            <p>"This locks your account at once: every device is signed out and your clinic is told. The clinic restores access after checking who you are."</p>
            <ActionForm action=report>
                <div class="field check">
                    <input id="not-me-confirm" name="confirm" type="checkbox" value="suspend" required />
                    <label for="not-me-confirm">"Yes, lock my account and tell my clinic"</label>
                </div>
                {action_error(report.value())}
                <button type="submit" class="button danger">"This wasn't me"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
