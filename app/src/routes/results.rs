//! Test results: the list grouped by day and report, and one result in detail.

use crate::api::results::{get_result, list_results};
use crate::error::AppError;
use domain::records::{Flag, ResultDay, ResultDetail};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::use_params_map,
};

fn flag_cell(flag: Flag) -> impl IntoView {
    let class = if flag.is_abnormal() {
        "flag abnormal"
    } else {
        "flag"
    };
    view! { <span class=class>{flag.label()}</span> }
}

fn error_view(e: AppError) -> AnyView {
    match e {
        AppError::Unauthorized(_) => view! { <Redirect path="/signin" /> }.into_any(),
        AppError::NotFound => view! {
            <Title text="Not found" />
            <h1>"Not found"</h1>
            <p>"We could not find that result. " <A href="/results">"Back to test results"</A></p>
        }
        .into_any(),
        e => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
    }
}

fn days_view(days: Vec<ResultDay>) -> AnyView {
    if days.is_empty() {
        return view! { <p class="empty">"You have no test results yet. They appear here once your clinic releases them."</p> }
            .into_any();
    }
    days.into_iter()
        .map(|day| {
            view! {
                <section class="day">
                    <h2>{day.label.clone()}</h2>
                    {day.reports.into_iter().map(|r| {
                        view! {
                            <div class="report">
                                <h3>{r.name.clone()}</h3>
                                <div class="table-wrap">
                                <table>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Test"</th>
                                            <th scope="col">"Result"</th>
                                            <th scope="col">"Reference range"</th>
                                            <th scope="col">"Flag"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {r.rows.into_iter().map(|row| {
                                            let href = format!("/results/{}", row.id);
                                            let value = match &row.unit {
                                                Some(u) => format!("{} {u}", row.value),
                                                None => row.value.clone(),
                                            };
                                            view! {
                                                <tr class:abnormal=row.flag.is_abnormal()>
                                                    <th scope="row"><A href=href>{row.name.clone()}</A></th>
                                                    <td>{value}</td>
                                                    <td>{row.range.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td>{flag_cell(row.flag)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            </div>
                        }
                        .into_any()
                    }).collect_view()}
                </section>
            }
        })
        .collect_view()
        .into_any()
}

#[component]
pub fn ResultsPage() -> impl IntoView {
    let results = Resource::new_blocking(|| (), |_| list_results());
    view! {
        <Title text="Test results" />
        <h1>"Test results"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading your results…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(days) => days_view(days),
                    Err(e) => error_view(e),
                }
            })}
        </Suspense>
    }
}

fn detail_view(d: ResultDetail) -> AnyView {
    let value = match &d.unit {
        Some(u) => format!("{} {u}", d.value),
        None => d.value.clone(),
    };
    view! {
        // A generic title: page titles stay in the browser's history after sign-out.
        <Title text="Test result" />
        <p><A href="/results">"← All test results"</A></p>
        <h1>{d.name.clone()}</h1>
        <dl class="detail">
            <dt>"Result"</dt><dd class="value">{value}</dd>
            <dt>"Reference range"</dt><dd>{d.range.clone().unwrap_or_else(|| "Not given by the lab".into())}</dd>
            <dt>"Flag"</dt><dd>{flag_cell(d.flag)}</dd>
            <dt>"Collected"</dt><dd>{d.collected.clone()}</dd>
            <dt>"Released to you"</dt><dd>{d.released.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Report"</dt><dd>{d.report_name.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Status"</dt><dd>{d.status.clone()}</dd>
            {d.loinc.clone().map(|c| view! { <dt>"LOINC code"</dt><dd>{c}</dd> })}
        </dl>
        <p class="hint">
            "A result outside the reference range is not always a problem. Your care team reviews every result; ask them if you have questions."
        </p>
        <h2>"Earlier results"</h2>
        {if d.history.is_empty() {
            view! { <p class="empty">"No earlier results for this test."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                <table>
                    <thead><tr><th scope="col">"Date"</th><th scope="col">"Result"</th><th scope="col">"Flag"</th></tr></thead>
                    <tbody>
                        {d.history.into_iter().map(|(date, v, f)| view! {
                            <tr><td>{date}</td><td>{v}</td><td>{flag_cell(f)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any()
        }}
    }
    .into_any()
}

#[component]
pub fn ResultPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let result = Resource::new_blocking(id, get_result);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(d) => detail_view(d),
                    Err(e) => error_view(e),
                }
            })}
        </Suspense>
    }
}
