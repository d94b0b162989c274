//! Test results: the list grouped by day and report, and one result in detail.

use crate::api::record::{SetReleasePreference, release_preferences};
use crate::api::results::{get_result, list_results};
use crate::components::form::action_error;
use crate::components::record::{DateFilter, empty, paged_list};
use crate::error::AppError;
use domain::records::{Flag, ReleasePreferenceView, ReleaseRule, ResultDay, ResultDetail, Trend};
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

fn days_view(days: Vec<ResultDay>, filtered: bool) -> AnyView {
    if days.is_empty() {
        return empty(
            filtered,
            "You have no test results yet. They appear here once your clinic releases them.",
        );
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
    view! {
        <Title text="Test results" />
        <h1>"Test results"</h1>
        <DateFilter what="collected" />
        {paged_list(list_results, days_view)}
        <ReleasePreferences />
    }
    .into_any()
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
        {trend_view(&d.trend)}
        <h2>"Other results of this test"</h2>
        {if d.history.is_empty() {
            view! { <p class="empty">"No other results for this test."</p> }.into_any()
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

const CHART_W: f64 = 640.0;
const CHART_H: f64 = 260.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 24.0;
const PAD_T: f64 = 20.0;
const PAD_B: f64 = 48.0;

/// The chart's vertical extent: the values and the reference range, with some air.
fn y_bounds(t: &Trend) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in t.points.iter().map(|p| p.value).chain(t.low).chain(t.high) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let air = ((hi - lo) * 0.15).max(hi.abs() * 0.05).max(0.5);
    (
        (lo - air).max(if lo >= 0.0 { 0.0 } else { f64::MIN }),
        hi + air,
    )
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A trend line of the test's values, drawn as SVG on the server. Flags are written next to
/// each point and abnormal points are squares, so colour is never the only cue; the table
/// below the chart holds the same values.
fn trend_view(t: &Trend) -> Option<AnyView> {
    if t.points.len() < 2 {
        return None;
    }
    let (lo, hi) = y_bounds(t);
    let (t0, t1) = (
        t.points[0].at as f64,
        t.points[t.points.len() - 1].at as f64,
    );
    let span = (t1 - t0).max(1.0);
    let x = move |at: i64| PAD_L + (at as f64 - t0) / span * (CHART_W - PAD_L - PAD_R);
    let y = move |v: f64| PAD_T + (hi - v) / (hi - lo) * (CHART_H - PAD_T - PAD_B);
    let unit = t.unit.clone().unwrap_or_default();
    let line: String = t
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.at), y(p.value)))
        .collect::<Vec<_>>()
        .join(" ");
    let band = match (t.low, t.high) {
        (Some(l), Some(h)) => Some((y(h), y(l))),
        (Some(l), None) => Some((PAD_T, y(l))),
        (None, Some(h)) => Some((y(h), CHART_H - PAD_B)),
        (None, None) => None,
    };
    let summary = format!(
        "{} over time: {}.",
        t.name,
        t.points
            .iter()
            .map(|p| format!(
                "{} {} {unit} ({})",
                p.date_label,
                fmt_num(p.value),
                p.flag.label()
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let range_text = match (t.low, t.high) {
        (Some(l), Some(h)) => format!(
            "Shaded: the reference range, {}–{} {unit}",
            fmt_num(l),
            fmt_num(h)
        ),
        (Some(l), None) => format!(
            "Shaded: the reference range, at least {} {unit}",
            fmt_num(l)
        ),
        (None, Some(h)) => format!("Shaded: the reference range, at most {} {unit}", fmt_num(h)),
        (None, None) => "No reference range was given.".into(),
    };
    let ticks: Vec<f64> = (0..=4).map(|i| lo + (hi - lo) * i as f64 / 4.0).collect();
    let points = t.points.clone();
    let rows = t.points.clone();
    Some(
        view! {
            <section class="trend" aria-labelledby="trend-title">
                <h2 id="trend-title">"Trend"</h2>
                <figure>
                    <svg
                        class="chart"
                        viewBox=format!("0 0 {CHART_W} {CHART_H}")
                        role="img"
                        aria-label=summary
                    >
                        {band.map(|(top, bottom)| view! {
                            <rect class="band" x=PAD_L y=top width=CHART_W - PAD_L - PAD_R height=(bottom - top).max(0.0) />
                        })}
                        <line class="axis" x1=PAD_L y1=CHART_H - PAD_B x2=CHART_W - PAD_R y2=CHART_H - PAD_B />
                        <line class="axis" x1=PAD_L y1=PAD_T x2=PAD_L y2=CHART_H - PAD_B />
                        {ticks.into_iter().map(|v| view! {
                            <text class="tick" x=PAD_L - 6.0 y=y(v) + 4.0 text-anchor="end">{fmt_num(v)}</text>
                        }).collect_view()}
                        <polyline class="line" points=line fill="none" />
                        {points.into_iter().map(|p| {
                            let (px, py) = (x(p.at), y(p.value));
                            let label = format!("{} {}", fmt_num(p.value), if p.flag.is_abnormal() { p.flag.label() } else { "" });
                            view! {
                                {if p.flag.is_abnormal() {
                                    view! { <rect class="point abnormal" x=px - 5.0 y=py - 5.0 width="10" height="10" /> }.into_any()
                                } else {
                                    view! { <circle class="point" cx=px cy=py r="5" /> }.into_any()
                                }}
                                <text class="value" x=px y=py - 10.0 text-anchor="middle">{label.trim().to_owned()}</text>
                                <text class="tick" x=px y=CHART_H - PAD_B + 18.0 text-anchor="middle">{p.date_label.clone()}</text>
                            }
                        }).collect_view()}
                    </svg>
                    <figcaption>{format!("{} ({unit}). ", t.name)}{range_text}". Squares mark results outside the range."</figcaption>
                </figure>
                <div class="table-wrap">
                    <table>
                        <caption>"The values in the chart"</caption>
                        <thead><tr><th scope="col">"Date"</th><th scope="col">"Result"</th><th scope="col">"Flag"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|p| view! {
                                <tr>
                                    <td>{p.date_label}</td>
                                    <td>{format!("{} {}", fmt_num(p.value), t.unit.clone().unwrap_or_default()).trim().to_owned()}</td>
                                    <td>{flag_cell(p.flag)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
        }
        .into_any(),
    )
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
    .into_any()
}

fn preference_form(
    p: ReleasePreferenceView,
    action: ServerAction<SetReleasePreference>,
) -> impl IntoView {
    let cat = p.category.clone();
    let id = move |s: &str| format!("release-{cat}-{s}");
    let days = match p.rule {
        ReleaseRule::AfterDays(n) => n.to_string(),
        _ => "3".into(),
    };
    let rule = p.rule;
    let is = move |r: &str| rule.key() == r;
    view! {
        <ActionForm action=action>
            <input type="hidden" name="category" value=p.category.clone() />
            <fieldset>
                <legend>{p.label.clone()}</legend>
                <div class="field check">
                    <input type="radio" id=id("now") name="rule" value="immediately" checked=is("immediately") />
                    <label for=id("now")>"As soon as they are ready"</label>
                </div>
                <div class="field check">
                    <input type="radio" id=id("review") name="rule" value="after_review" checked=is("after_review") />
                    <label for=id("review")>"Only after my clinician has reviewed them"</label>
                </div>
                <div class="field check">
                    <input type="radio" id=id("days") name="rule" value="after_days" checked=is("after_days") />
                    <label for=id("days")>"A number of days after they are ready"</label>
                </div>
                <div class="field inline">
                    <label for=id("n")>"Days (1 to 30)"</label>
                    <input type="number" id=id("n") name="days" min="1" max="30" value=days inputmode="numeric" />
                </div>
                <button type="submit" class="button secondary">{format!("Save for {}", p.label.to_lowercase())}</button>
            </fieldset>
        </ActionForm>
    }
}

/// The patient's own choice of when new results appear (recorded as their request).
#[component]
fn ReleasePreferences() -> impl IntoView {
    let action = ServerAction::<SetReleasePreference>::new();
    let prefs = Resource::new_blocking(move || action.version().get(), |_| release_preferences());
    let saved = move || action.value().get().is_some_and(|r| r.is_ok());
    view! {
        <section aria-labelledby="release-prefs" class="prefs">
            <h2 id="release-prefs">"When to show new results"</h2>
            <p>"Some people prefer to hear about results from their clinician first. Your choice applies to results that arrive from now on and to those not shown yet."</p>
            <Show when=saved>
                <p class="notice" role="status">"Saved."</p>
            </Show>
            {action_error(action.value())}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match prefs.await {
                        Ok(list) => list.into_iter().map(|p| preference_form(p, action)).collect_view().into_any(),
                        Err(e) => error_view(e),
                    }
                })}
            </Suspense>
        </section>
    }
}
