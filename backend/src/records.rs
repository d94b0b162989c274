//! The health record as the patient reads it. Every function takes a [`PatientAccess`].

use crate::access::PatientAccess;
use crate::audit::Outcome;
use crate::clock::{to_datetime, to_rfc3339};
use crate::storage::entity::{diagnostic_report, observation};
use crate::{Error, Portal, Result};
use domain::person::{format_iso_date, format_long_date};
use domain::records::{Flag, ReportView, ResultDay, ResultDetail, ResultRow};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use std::collections::BTreeMap;

const LAB: &str = "laboratory";

/// Released to the patient at `now`.
fn released(now: i64) -> Condition {
    Condition::any()
        .add(observation::Column::ReleasedAt.is_null())
        .add(observation::Column::ReleasedAt.lte(now))
}

fn value_text(o: &observation::Model) -> String {
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
        value: value_text(o),
        unit: o.unit.clone(),
        range: range_text(o),
        flag: flag(o),
    }
}

impl Portal {
    /// Released lab results, grouped by collection day (newest first) and report.
    pub async fn list_results(&self, access: &PatientAccess) -> Result<Vec<ResultDay>> {
        let now = self.now();
        let obs = observation::Entity::find()
            .filter(observation::Column::PatientId.eq(access.patient_id()))
            .filter(observation::Column::Category.eq(LAB))
            .filter(released(now))
            .order_by_desc(observation::Column::EffectiveAt)
            .order_by_asc(observation::Column::Id)
            .all(&self.db)
            .await?;
        let reports: BTreeMap<String, diagnostic_report::Model> = diagnostic_report::Entity::find()
            .filter(diagnostic_report::Column::PatientId.eq(access.patient_id()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();

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
        let out = days
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
            .collect();
        access
            .audit(self, "record.view", "results", None, Outcome::Ok)
            .await?;
        Ok(out)
    }

    /// One released result of this patient, with earlier values of the same test.
    /// Someone else's or a held result is "not found", like a missing one.
    pub async fn result_detail(&self, access: &PatientAccess, id: &str) -> Result<ResultDetail> {
        let now = self.now();
        let o = observation::Entity::find_by_id(id.to_owned())
            .filter(observation::Column::PatientId.eq(access.patient_id()))
            .filter(observation::Column::Category.eq(LAB))
            .filter(released(now))
            .one(&self.db)
            .await?;
        let Some(o) = o else {
            access
                .audit(self, "record.view", "results", Some(id), Outcome::Denied)
                .await?;
            return Err(Error::NotFound);
        };
        let report = match &o.report_id {
            Some(rid) => {
                diagnostic_report::Entity::find_by_id(rid.clone())
                    .filter(diagnostic_report::Column::PatientId.eq(access.patient_id()))
                    .one(&self.db)
                    .await?
            }
            None => None,
        };
        let mut history = vec![];
        if let Some(code) = &o.code {
            let earlier = observation::Entity::find()
                .filter(observation::Column::PatientId.eq(access.patient_id()))
                .filter(observation::Column::Code.eq(code.clone()))
                .filter(observation::Column::Category.eq(LAB))
                .filter(observation::Column::Id.ne(o.id.clone()))
                .filter(released(now))
                .order_by_desc(observation::Column::EffectiveAt)
                .all(&self.db)
                .await?;
            history = earlier
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
        })
    }
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
