//! The health record as the patient reads it. Every function takes a [`PatientAccess`].

use crate::access::PatientAccess;
use crate::audit::Outcome;
use crate::clock::to_datetime;
use crate::storage::entity::{allergy, encounter, immunization, medication, observation, problem};
use crate::{Portal, Result};
use domain::person::{format_iso_date, format_long_date, parse_iso_date};
use domain::proxy::Scope;
use domain::records::{
    AllergyView, DateRange, ImmunizationView, MedicationView, ProblemView, RecordHighlights,
    VitalView,
};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

const LAB: &str = "laboratory";
const VITALS: &str = "vital-signs";
/// Records entered by mistake are never shown.
pub(crate) const ERROR_STATUS: &str = "entered-in-error";

mod results;
mod visits;

/// Which dated rows of a list a query reads, newest first.
#[derive(Clone, Copy)]
pub(super) enum Window {
    /// Dated ones before an instant (or from the newest).
    Before(Option<i64>),
    /// The ones at exactly this instant.
    At(i64),
    /// The ones without a date (shown last, only when no date filter is on).
    Undated,
}

impl Window {
    /// The query narrowed to the window on its date column, newest first.
    pub(super) fn select<E: EntityTrait>(
        self,
        q: sea_orm::Select<E>,
        at: impl ColumnTrait,
    ) -> sea_orm::Select<E> {
        match self {
            Window::Before(None) => q.filter(at.is_not_null()),
            Window::Before(Some(b)) => q.filter(at.lt(b)),
            Window::At(t) => q.filter(at.eq(t)),
            Window::Undated => q.filter(at.is_null()),
        }
        .order_by_desc(at)
    }
}

pub(crate) use results::fill_report_positions;
use results::value_text;
pub use results::{RESULTS_PAGE, format_number};
pub use visits::VISITS_PAGE;

/// "active" → "Active", "on-hold" → "On hold".
pub fn status_label(s: &str) -> String {
    let s = s.replace('-', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A FHIR date or dateTime's day, as a long date.
fn long_date_text(t: Option<&str>) -> Option<String> {
    t.and_then(|t| t.get(0..10))
        .and_then(parse_iso_date)
        .map(format_long_date)
}

fn long_date_ms(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| format_long_date(to_datetime(ms).date()))
}

/// A FHIR date or dateTime's day as `YYYY-MM-DD`.
fn iso_date_text(t: Option<&str>) -> Option<String> {
    t.and_then(|t| t.get(0..10))
        .filter(|d| parse_iso_date(d).is_some())
        .map(str::to_owned)
}

fn iso_date_ms(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| format_iso_date(to_datetime(ms).date()))
}

impl Portal {
    /// The medication list: active ones first, then the rest, newest prescription first.
    pub async fn list_medications(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<MedicationView>> {
        let mut rows: Vec<medication::Model> = medication::Entity::find()
            .filter(medication::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, medication::Column::Sensitivity))
            .filter(medication::Column::Status.ne(ERROR_STATUS))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|m| range.contains_text(m.authored_on.as_deref()))
            .collect();
        rows.sort_by(|a, b| {
            (b.status == "active")
                .cmp(&(a.status == "active"))
                .then(b.authored_on.cmp(&a.authored_on))
                .then(a.name.cmp(&b.name))
        });
        access
            .audit(self, "record.view", "medications", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| MedicationView {
                active: m.status == "active",
                status: status_label(&m.status),
                prescribed: long_date_text(m.authored_on.as_deref()),
                prescribed_date: iso_date_text(m.authored_on.as_deref()),
                id: m.id,
                name: m.name,
                rxnorm: m.code,
                dosage: m.dosage,
            })
            .collect())
    }

    pub async fn list_allergies(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<AllergyView>> {
        let rows = allergy::Entity::find()
            .filter(allergy::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, allergy::Column::Sensitivity))
            .order_by_asc(allergy::Column::Name)
            .all(&self.db)
            .await?;
        access
            .audit(self, "record.view", "allergies", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|a| range.contains_text(a.recorded.as_deref()))
            .map(|a| AllergyView {
                status: a
                    .clinical_status
                    .as_deref()
                    .map(status_label)
                    .unwrap_or_else(|| "Status not given".into()),
                criticality: match a.criticality.as_deref() {
                    Some("high") => "High risk",
                    Some("low") => "Low risk",
                    _ => "Risk not known",
                }
                .into(),
                recorded: long_date_text(a.recorded.as_deref()),
                recorded_date: iso_date_text(a.recorded.as_deref()),
                id: a.id,
                name: a.name,
                code: a.code,
                reaction: a.reaction,
            })
            .collect())
    }

    pub async fn list_problems(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ProblemView>> {
        let mut rows: Vec<problem::Model> = problem::Entity::find()
            .filter(problem::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, problem::Column::Sensitivity))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|p| range.contains_text(p.onset.as_deref()))
            .collect();
        rows.sort_by(|a, b| {
            let active = |p: &problem::Model| p.clinical_status.as_deref() == Some("active");
            active(b)
                .cmp(&active(a))
                .then(b.onset.cmp(&a.onset))
                .then(a.name.cmp(&b.name))
        });
        access
            .audit(self, "record.view", "problems", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| ProblemView {
                status: p
                    .clinical_status
                    .as_deref()
                    .map(status_label)
                    .unwrap_or_else(|| "Status not given".into()),
                onset: long_date_text(p.onset.as_deref()),
                onset_date: iso_date_text(p.onset.as_deref()),
                id: p.id,
                name: p.name,
                code: p.code,
                code_system: p.code_system,
            })
            .collect())
    }

    /// Vaccines given, newest first.
    pub async fn list_immunizations(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ImmunizationView>> {
        let out = self.immunizations(access, range).await?;
        access
            .audit(self, "record.view", "immunizations", None, Outcome::Ok)
            .await?;
        Ok(out)
    }

    /// The same without an audit entry, for callers that audit their own use (downloads).
    pub(crate) async fn immunizations(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<ImmunizationView>> {
        let mut rows: Vec<immunization::Model> = immunization::Entity::find()
            .filter(immunization::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, immunization::Column::Sensitivity))
            .filter(immunization::Column::Status.ne(ERROR_STATUS))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|i| range.contains_text(i.occurred.as_deref()))
            .collect();
        rows.sort_by(|a, b| b.occurred.cmp(&a.occurred).then(a.name.cmp(&b.name)));
        Ok(rows
            .into_iter()
            .map(|i| ImmunizationView {
                date: i
                    .occurred
                    .as_deref()
                    .and_then(|t| t.get(0..10))
                    .map(str::to_owned),
                date_label: long_date_text(i.occurred.as_deref()),
                status: status_label(&i.status),
                id: i.id,
                name: i.name,
                cvx: i.cvx,
                dose: i.dose,
                dose_number: i.dose_number,
                lot: i.lot,
                site: i.site,
                performer: i.performer,
            })
            .collect())
    }

    /// Vital signs, newest first.
    pub async fn list_vitals(
        &self,
        access: &PatientAccess,
        range: &DateRange,
    ) -> Result<Vec<VitalView>> {
        let rows = observation::Entity::find()
            .filter(observation::Column::Category.eq(VITALS))
            .filter(self.visible_results(access).await?)
            .order_by_desc(observation::Column::EffectiveAt)
            .order_by_asc(observation::Column::Name)
            .all(&self.db)
            .await?;
        access
            .audit(self, "record.view", "vitals", None, Outcome::Ok)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|o| range.contains_ms(o.effective_at))
            .map(|o| VitalView {
                value: match &o.unit {
                    Some(u) => format!("{} {u}", value_text(&o)),
                    None => value_text(&o),
                },
                date_label: long_date_ms(o.effective_at).unwrap_or_else(|| "—".into()),
                date: iso_date_ms(o.effective_at),
                id: o.id,
                name: o.name,
                loinc: o.code,
            })
            .collect())
    }

    /// The Home page's cards: new results since `since` (the previous sign-in), the active
    /// medications, the last visit, and vaccines due by the two rules the record can tell.
    pub async fn record_highlights(
        &self,
        parts: HighlightParts<'_>,
        since: Option<i64>,
    ) -> Result<RecordHighlights> {
        let now = self.now();
        let mut h = RecordHighlights {
            new_results: 0,
            latest_result_day: None,
            active_medications: 0,
            last_visit: None,
            immunizations_due: vec![],
            covers: vec![],
        };
        if let Some(access) = parts.results {
            // Counted and found in the database: the card costs the same for any record.
            let visible = observation::Entity::find()
                .filter(observation::Column::Category.eq(LAB))
                .filter(self.visible_results(access).await?);
            let new = match since {
                Some(t) => visible
                    .clone()
                    .filter(observation::Column::ReleasedAt.gt(t)),
                None => visible.clone(),
            };
            h.new_results = u32::try_from(new.count(&self.db).await?).unwrap_or(u32::MAX);
            h.latest_result_day = visible
                .filter(observation::Column::EffectiveAt.is_not_null())
                .order_by_desc(observation::Column::EffectiveAt)
                .one(&self.db)
                .await?
                .and_then(|o| long_date_ms(o.effective_at));
            h.covers.push(Scope::Results);
            access
                .audit(self, "record.view", "summary", None, Outcome::Ok)
                .await?;
        }
        if let Some(access) = parts.medications {
            let active = medication::Entity::find()
                .filter(medication::Column::PatientId.eq(access.patient_id()))
                .filter(sensitivity_ok(access, medication::Column::Sensitivity))
                .filter(medication::Column::Status.eq("active"))
                .count(&self.db)
                .await?;
            h.active_medications = u32::try_from(active).unwrap_or(u32::MAX);
            h.covers.push(Scope::Medications);
        }
        if let Some(access) = parts.visits {
            h.last_visit = encounter::Entity::find()
                .filter(encounter::Column::PatientId.eq(access.patient_id()))
                .filter(sensitivity_ok(access, encounter::Column::Sensitivity))
                .filter(encounter::Column::StartAt.lte(now))
                .filter(encounter::Column::Status.ne(ERROR_STATUS))
                .order_by_desc(encounter::Column::StartAt)
                .one(&self.db)
                .await?
                .and_then(|e| long_date_ms(e.start_at));
            h.covers.push(Scope::Visits);
        }
        if let Some(access) = parts.immunizations {
            let shots = self.immunizations(access, &DateRange::all()).await?;
            h.immunizations_due = vaccines_due(&shots, to_datetime(now).date());
            h.covers.push(Scope::Immunizations);
        }
        Ok(h)
    }
}

/// The Home cards' parts, each opened for its own scope (absent when not granted).
#[derive(Default)]
pub struct HighlightParts<'a> {
    pub results: Option<&'a PatientAccess>,
    pub medications: Option<&'a PatientAccess>,
    pub visits: Option<&'a PatientAccess>,
    pub immunizations: Option<&'a PatientAccess>,
}

impl<'a> HighlightParts<'a> {
    /// Every part through one handle (the patient's own record).
    pub fn all(access: &'a PatientAccess) -> Self {
        Self {
            results: Some(access),
            medications: Some(access),
            visits: Some(access),
            immunizations: Some(access),
        }
    }
}

/// Rows marked sensitive are left out when the handle hides them.
pub(crate) fn sensitivity_ok(access: &PatientAccess, column: impl ColumnTrait) -> Condition {
    if access.hides_sensitive() {
        Condition::all().add(column.is_null())
    } else {
        Condition::all()
    }
}

impl Portal {
    /// When the caller's previous session began (the last sign-in before this one).
    pub async fn previous_sign_in(&self, p: &crate::Principal) -> Result<Option<i64>> {
        use crate::storage::entity::user_session;
        let (Some(uid), Some(sid)) = (p.user_id(), p.session_id()) else {
            return Ok(None);
        };
        Ok(user_session::Entity::find()
            .filter(user_session::Column::UserId.eq(uid))
            .filter(user_session::Column::Id.ne(sid))
            .order_by_desc(user_session::Column::CreatedAt)
            .one(&self.db)
            .await?
            .map(|s| s.created_at))
    }
}

/// CVX codes of influenza vaccines and of tetanus-diphtheria boosters (Td / Tdap).
const FLU_CVX: [&str; 10] = [
    "88", "135", "140", "141", "150", "153", "155", "158", "161", "171",
];
const TD_CVX: [&str; 4] = ["09", "113", "115", "139"];

/// The two schedule rules that hold for everyone the record shows a history for: one
/// influenza dose each season (from 1 August), and a Td/Tdap booster every 10 years. Only
/// applied when the record already has that vaccine, so a record that starts late does not
/// call everything due.
pub fn vaccines_due(shots: &[ImmunizationView], today: time::Date) -> Vec<String> {
    let mut due = vec![];
    let last = |codes: &[&str]| {
        shots
            .iter()
            .filter(|s| s.cvx.as_deref().is_some_and(|c| codes.contains(&c)))
            .filter_map(|s| s.date.as_deref().and_then(parse_iso_date))
            .max()
    };
    let season_start = {
        let year = if today.month() as u8 >= 8 {
            today.year()
        } else {
            today.year() - 1
        };
        time::Date::from_calendar_date(year, time::Month::August, 1).ok()
    };
    if let (Some(flu), Some(start)) = (last(&FLU_CVX), season_start)
        && flu < start
    {
        due.push(format!(
            "Influenza (flu) vaccine for the {}–{} season",
            start.year(),
            start.year() + 1
        ));
    }
    if let Some(td) = last(&TD_CVX)
        && let Ok(ten_years_on) = td.replace_year(td.year() + 10)
        && ten_years_on <= today
    {
        due.push("Tetanus and diphtheria (Td or Tdap) booster".into());
    }
    due
}
