//! Test results: the list (whole, or a page at a time) and one result in detail.

use super::{LAB, Window, sensitivity_ok};
use crate::access::PatientAccess;
use crate::audit::Outcome;
use crate::clock::{to_datetime, to_rfc3339};
use crate::storage::entity::{diagnostic_report, observation};
use crate::{Portal, Result};
use domain::page::{Before, Cut, Page, cut};
use domain::person::{format_iso_date, format_long_date};
use domain::records::{
    DateRange, Flag, ReportView, ResultDay, ResultDetail, ResultRow, Trend, TrendPoint,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn value_text(o: &observation::Model) -> String {
    match (o.value_num, &o.value_text) {
        (Some(v), _) => format_number(v),
        (None, Some(t)) => t.clone(),
        (None, None) => "—".into(),
    }
}

/// Numbers as labs print them: no trailing zeros, at most 3 decimals.
pub fn format_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn range_text(o: &observation::Model) -> Option<String> {
    if let Some(t) = &o.ref_text
        && !t.is_empty()
    {
        return Some(t.clone());
    }
    let unit = o
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    match (o.ref_low, o.ref_high) {
        (Some(l), Some(h)) => Some(format!("{}–{}{unit}", format_number(l), format_number(h))),
        (None, Some(h)) => Some(format!("≤ {}{unit}", format_number(h))),
        (Some(l), None) => Some(format!("≥ {}{unit}", format_number(l))),
        (None, None) => None,
    }
}

/// The flag: the lab's interpretation when given, else computed from the range.
fn flag(o: &observation::Model) -> Flag {
    if let Some(code) = &o.interpretation {
        return Flag::from_code(code);
    }
    match (o.value_num, o.ref_low, o.ref_high) {
        (Some(v), Some(l), _) if v < l => Flag::Low,
        (Some(v), _, Some(h)) if v > h => Flag::High,
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Flag::Normal,
        _ => Flag::None,
    }
}

fn row(o: &observation::Model) -> ResultRow {
    ResultRow {
        id: o.id.clone(),
        name: o.name.clone(),
        loinc: o.code.clone(),
        value: value_text(o),
        unit: o.unit.clone(),
        range: range_text(o),
        flag: flag(o),
    }
}

/// At most this many results on one page of the results list (a collection time is never
/// split, so a page can hold more when one collection has more).
pub const RESULTS_PAGE: usize = 100;

impl Portal {
    /// Every released lab result in the range, grouped by collection day (newest first) and
    /// report: for documents and exports, which hold the whole record.
    pub async fn list_results(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ResultDay>> {
        let mut obs = self
            .result_rows(access, range, Window::Before(None), None)
            .await?;
        if range.is_all() {
            obs.extend(
                self.result_rows(access, range, Window::Undated, None)
                    .await?,
            );
        }
        let out = self.group_results(access, obs).await?;
        access
            .audit(self, "record.view", "results", None, Outcome::Ok)
            .await?;
        Ok(out)
    }

    /// One page of the results list: the newest [`RESULTS_PAGE`] results in the range before
    /// `before`, keyset-paginated on the (patient, collection time) index, so its size and
    /// time do not grow with the record.
    pub async fn results_page(
        &self,
        access: &PatientAccess,
        range: &DateRange,
        before: Option<Before>,
    ) -> Result<Page<ResultDay>> {
        let window = Window::Before(before.map(Before::ms));
        let mut obs = self
            .result_rows(access, range, window, Some(RESULTS_PAGE as u64 + 1))
            .await?;
        let earlier = match cut(&mut obs, RESULTS_PAGE, |o| o.effective_at) {
            Cut::Last => {
                if range.is_all() {
                    obs.extend(
                        self.result_rows(access, range, Window::Undated, None)
                            .await?,
                    );
                }
                None
            }
            Cut::Earlier(b) => Some(b),
            Cut::Crowded(t) => {
                // One collection holds more than a page: it is shown whole.
                obs = self.result_rows(access, range, Window::At(t), None).await?;
                Some(Before::at_ms(t))
            }
        };
        let items = self.group_results(access, obs).await?;
        access
            .audit(self, "record.view", "results", None, Outcome::Ok)
            .await?;
        Ok(Page { items, earlier })
    }

    /// The released lab results of a window: filtered in the database (patient, release
    /// rules, holds, sensitivity, dates) and ordered by collection time.
    async fn result_rows(
        &self,
        access: &PatientAccess,
        range: &DateRange,
        window: Window,
        limit: Option<u64>,
    ) -> Result<Vec<observation::Model>> {
        let mut q = observation::Entity::find()
            .filter(observation::Column::Category.eq(LAB))
            .filter(self.visible_results(access).await?);
        let (lo, hi) = range.bounds_ms();
        if let Some(lo) = lo {
            q = q.filter(observation::Column::EffectiveAt.gte(lo));
        }
        if let Some(hi) = hi {
            q = q.filter(observation::Column::EffectiveAt.lt(hi));
        }
        Ok(window
            .select(q, observation::Column::EffectiveAt)
            .order_by_asc(observation::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|o| range.contains_ms(o.effective_at))
            .collect())
    }

    /// Results grouped by collection day (newest first) and report; within a report, in the
    /// order the lab listed them. Only the reports of these results are read.
    async fn group_results(
        &self,
        access: &PatientAccess,
        mut obs: Vec<observation::Model>,
    ) -> Result<Vec<ResultDay>> {
        let shown: BTreeSet<String> = obs.iter().filter_map(|o| o.report_id.clone()).collect();
        let reports: BTreeMap<String, diagnostic_report::Model> = if shown.is_empty() {
            BTreeMap::new()
        } else {
            diagnostic_report::Entity::find()
                .filter(diagnostic_report::Column::Id.is_in(shown))
                .filter(diagnostic_report::Column::PatientId.eq(access.patient_id()))
                .filter(diagnostic_report::Column::HeldAt.is_null())
                .filter(sensitivity_ok(
                    access,
                    diagnostic_report::Column::Sensitivity,
                ))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect()
        };
        obs.sort_by(|a, b| {
            let at = |o: &observation::Model| o.effective_at.unwrap_or(i64::MIN);
            at(b)
                .cmp(&at(a))
                .then_with(|| {
                    let p = |o: &observation::Model| o.report_position.unwrap_or(i32::MAX);
                    p(a).cmp(&p(b))
                })
                .then_with(|| a.fhir_id.cmp(&b.fhir_id))
        });

        // day → report key → (report view)
        let mut days: BTreeMap<String, BTreeMap<String, ReportView>> = BTreeMap::new();
        for o in &obs {
            let at = o.effective_at.unwrap_or(0);
            let day = format_iso_date(to_datetime(at).date());
            let (key, name, issued) = match o.report_id.as_ref().and_then(|id| reports.get(id)) {
                Some(r) => (r.id.clone(), r.name.clone(), r.issued_at),
                None => (format!("single:{}", o.id), o.name.clone(), None),
            };
            let view = days
                .entry(day)
                .or_default()
                .entry(key.clone())
                .or_insert_with(|| ReportView {
                    id: key,
                    name,
                    collected_at: to_rfc3339(at),
                    issued_at: issued.map(to_rfc3339),
                    rows: vec![],
                });
            view.rows.push(row(o));
        }
        Ok(days
            .into_iter()
            .rev()
            .map(|(date, reports)| {
                let label = domain::person::parse_iso_date(&date)
                    .map(format_long_date)
                    .unwrap_or_else(|| date.clone());
                let mut reports: Vec<ReportView> = reports.into_values().collect();
                reports.sort_by(|a, b| a.name.cmp(&b.name));
                ResultDay {
                    date,
                    label,
                    reports,
                }
            })
            .collect())
    }

    /// One released result of this patient, with the other values of the same test.
    /// Someone else's or a held result is "not found", like a missing one.
    pub async fn result_detail(&self, access: &PatientAccess, id: &str) -> Result<ResultDetail> {
        let o = observation::Entity::find_by_id(id.to_owned())
            .filter(observation::Column::Category.eq(LAB))
            .filter(self.visible_results(access).await?)
            .one(&self.db)
            .await?;
        let Some(o) = o else {
            return Err(access.not_found(self, "record.view", "results", id).await?);
        };
        let report = match &o.report_id {
            Some(rid) => {
                diagnostic_report::Entity::find_by_id(rid.clone())
                    .filter(diagnostic_report::Column::PatientId.eq(access.patient_id()))
                    .filter(diagnostic_report::Column::HeldAt.is_null())
                    .filter(sensitivity_ok(
                        access,
                        diagnostic_report::Column::Sensitivity,
                    ))
                    .one(&self.db)
                    .await?
            }
            None => None,
        };
        let mut history = vec![];
        let mut trend = Trend {
            name: o.name.clone(),
            unit: o.unit.clone(),
            low: o.ref_low,
            high: o.ref_high,
            points: vec![],
        };
        if let Some(code) = &o.code {
            let others = observation::Entity::find()
                .filter(observation::Column::Code.eq(code.clone()))
                .filter(observation::Column::Category.eq(LAB))
                .filter(observation::Column::Id.ne(o.id.clone()))
                .filter(self.visible_results(access).await?)
                .order_by_desc(observation::Column::EffectiveAt)
                .all(&self.db)
                .await?;
            // Points in the unit of this result only: a value in another unit is not comparable.
            let mut points: Vec<TrendPoint> = others
                .iter()
                .chain(std::iter::once(&o))
                .filter(|e| e.unit == o.unit)
                .filter_map(|e| {
                    Some(TrendPoint {
                        at: e.effective_at?,
                        date_label: format_long_date(to_datetime(e.effective_at?).date()),
                        value: e.value_num?,
                        flag: flag(e),
                    })
                })
                .collect();
            points.sort_by_key(|p| p.at);
            trend.points = points;
            history = others
                .iter()
                .map(|e| {
                    let unit = e
                        .unit
                        .as_deref()
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default();
                    (
                        format_long_date(to_datetime(e.effective_at.unwrap_or(0)).date()),
                        format!("{}{unit}", value_text(e)),
                        flag(e),
                    )
                })
                .collect();
        }
        access
            .audit(self, "record.view", "results", Some(&o.id), Outcome::Ok)
            .await?;
        let r = row(&o);
        Ok(ResultDetail {
            id: o.id.clone(),
            name: o.name.clone(),
            loinc: o.code.clone(),
            value: r.value,
            unit: r.unit,
            range: r.range,
            flag: r.flag,
            collected: format_long_date(to_datetime(o.effective_at.unwrap_or(0)).date()),
            released: o
                .released_at
                .or(report.as_ref().and_then(|r| r.issued_at))
                .map(|t| format_long_date(to_datetime(t).date())),
            report_name: report.map(|r| r.name),
            status: o.status.clone(),
            history,
            trend,
        })
    }
}

/// Gives results stored before `report_position` existed their place in their report, read
/// once from the report's stored FHIR. Runs once per database (a marker in `portal_meta`).
pub(crate) async fn fill_report_positions<C>(db: &C) -> Result<u64>
where
    C: sea_orm::ConnectionTrait + sea_orm::TransactionTrait,
{
    use sea_orm::{TransactionSession, sea_query::Expr};
    let txn = db.begin().await?;
    if !crate::storage::first_time(&txn, "report_positions_filled").await? {
        return Ok(0);
    }
    let waiting: BTreeSet<String> = observation::Entity::find()
        .filter(observation::Column::ReportId.is_not_null())
        .filter(observation::Column::ReportPosition.is_null())
        .all(&txn)
        .await?
        .into_iter()
        .filter_map(|o| o.report_id)
        .collect();
    let mut filled = 0;
    for report_id in waiting {
        let Some(report) = diagnostic_report::Entity::find_by_id(report_id.clone())
            .one(&txn)
            .await?
        else {
            continue;
        };
        let Some(json) = report
            .resource
            .as_deref()
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        else {
            continue;
        };
        let listed = json["result"].as_array().cloned().unwrap_or_default();
        for (i, x) in listed.iter().enumerate() {
            let Some(fhir_id) = x["reference"]
                .as_str()
                .and_then(|r| r.rsplit(['/', ':']).next())
            else {
                continue;
            };
            let done = observation::Entity::update_many()
                .col_expr(
                    observation::Column::ReportPosition,
                    Expr::value(i32::try_from(i).unwrap_or(i32::MAX)),
                )
                .filter(observation::Column::ReportId.eq(report_id.as_str()))
                .filter(observation::Column::FhirId.eq(fhir_id))
                .exec(&txn)
                .await?;
            filled += done.rows_affected;
        }
    }
    txn.commit().await?;
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_print_like_a_lab_report() {
        assert_eq!(format_number(146.0), "146");
        assert_eq!(format_number(7.25), "7.25");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
    }
}
