//! The health-record views a patient sees, as sent to the browser.

use serde::{Deserialize, Serialize};

/// How a result compares with its reference range (FHIR v3 ObservationInterpretation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flag {
    Normal,
    High,
    Low,
    CriticalHigh,
    CriticalLow,
    Abnormal,
    /// No range or interpretation was given.
    None,
}

impl Flag {
    /// From a FHIR interpretation code (H, L, N, HH, LL, A, AA…).
    pub fn from_code(code: &str) -> Self {
        match code {
            "N" => Flag::Normal,
            "H" | "HU" => Flag::High,
            "L" | "LU" => Flag::Low,
            "HH" => Flag::CriticalHigh,
            "LL" => Flag::CriticalLow,
            "A" | "AA" => Flag::Abnormal,
            _ => Flag::None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Flag::Normal => "N",
            Flag::High => "H",
            Flag::Low => "L",
            Flag::CriticalHigh => "HH",
            Flag::CriticalLow => "LL",
            Flag::Abnormal => "A",
            Flag::None => "",
        }
    }
    /// The word shown to the patient; never colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Flag::Normal => "Normal",
            Flag::High => "High",
            Flag::Low => "Low",
            Flag::CriticalHigh => "Critically high",
            Flag::CriticalLow => "Critically low",
            Flag::Abnormal => "Abnormal",
            Flag::None => "—",
        }
    }
    pub fn is_abnormal(self) -> bool {
        !matches!(self, Flag::Normal | Flag::None)
    }
}

/// One value in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub id: String,
    pub name: String,
    /// LOINC code of the test, when the lab sent one.
    pub loinc: Option<String>,
    pub value: String,
    pub unit: Option<String>,
    pub range: Option<String>,
    pub flag: Flag,
}

/// A lab report (FHIR DiagnosticReport) and its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub id: String,
    pub name: String,
    pub collected_at: String,
    pub issued_at: Option<String>,
    pub rows: Vec<ResultRow>,
}

/// Reports collected on one calendar day (UTC), newest day first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultDay {
    /// `2026-09-15`
    pub date: String,
    /// `15 September 2026`
    pub label: String,
    pub reports: Vec<ReportView>,
}

/// One result with its context, for the detail page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultDetail {
    pub id: String,
    pub name: String,
    pub loinc: Option<String>,
    pub value: String,
    pub unit: Option<String>,
    pub range: Option<String>,
    pub flag: Flag,
    pub collected: String,
    pub released: Option<String>,
    pub report_name: Option<String>,
    pub status: String,
    /// The other values of the same test, newest first: (date label, value with unit, flag).
    pub history: Vec<(String, String, Flag)>,
    /// Every numeric value of this test in this unit, this one included, oldest first.
    pub trend: Trend,
}

/// The calendar days (UTC) a list is narrowed to, both ends included; either may be open.
/// Built only by [`DateRange::parse`], so `from` is never after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DateRange {
    from: Option<time::Date>,
    to: Option<time::Date>,
}

impl DateRange {
    /// Everything, whatever its date.
    pub fn all() -> Self {
        Self::default()
    }

    /// From the form's two fields (`YYYY-MM-DD`, or empty for an open end).
    pub fn parse(from: &str, to: &str) -> Result<Self, crate::DomainError> {
        let one = |raw: &str, which: &str| -> Result<Option<time::Date>, crate::DomainError> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            crate::person::parse_iso_date(raw).map(Some).ok_or_else(|| {
                crate::DomainError::new(format!("The {which} date must be a date like 2026-09-15."))
            })
        };
        let (from, to) = (one(from, "from")?, one(to, "to")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(crate::DomainError::new(
                "The from date must be on or before the to date.",
            ));
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> Option<time::Date> {
        self.from
    }
    pub fn to(&self) -> Option<time::Date> {
        self.to
    }
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether a dated item falls in the range. Undated items count only when the range is
    /// open at both ends (a filter by date cannot place them).
    pub fn contains(&self, d: Option<time::Date>) -> bool {
        match d {
            None => self.is_all(),
            Some(d) => self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t),
        }
    }

    /// The same, for Unix milliseconds.
    pub fn contains_ms(&self, ms: Option<i64>) -> bool {
        self.contains(ms.and_then(|ms| {
            time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
                .ok()
                .map(|t| t.date())
        }))
    }

    /// The range in Unix milliseconds for a database filter: from the first day's midnight
    /// (UTC, inclusive) to the midnight after the last day (exclusive); `None` for an open end.
    pub fn bounds_ms(&self) -> (Option<i64>, Option<i64>) {
        let midnight = |d: time::Date| d.midnight().assume_utc().unix_timestamp() * 1000;
        (
            self.from.map(midnight),
            self.to
                .map(|t| t.next_day().map(midnight).unwrap_or(i64::MAX)),
        )
    }

    /// The same, for a FHIR date or dateTime's text (its first ten characters).
    pub fn contains_text(&self, t: Option<&str>) -> bool {
        self.contains(
            t.and_then(|t| t.get(0..10))
                .and_then(crate::person::parse_iso_date),
        )
    }

    /// "from 1 March 2026 to 15 September 2026", for headings and documents.
    pub fn describe(&self) -> String {
        use crate::person::format_long_date as l;
        match (self.from, self.to) {
            (None, None) => "all dates".into(),
            (Some(f), None) => format!("from {}", l(f)),
            (None, Some(t)) => format!("up to {}", l(t)),
            (Some(f), Some(t)) => format!("from {} to {}", l(f), l(t)),
        }
    }

    /// The two ends as form values (`YYYY-MM-DD` or empty).
    pub fn fields(&self) -> (String, String) {
        let f = |d: Option<time::Date>| d.map(crate::person::format_iso_date).unwrap_or_default();
        (f(self.from), f(self.to))
    }
}

/// One medication on the patient's list (FHIR MedicationRequest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicationView {
    pub id: String,
    pub name: String,
    /// RxNorm code, when given.
    pub rxnorm: Option<String>,
    /// "Active", "Stopped", "Completed"…
    pub status: String,
    pub active: bool,
    pub dosage: Option<String>,
    /// When it was prescribed, as a long date, and as `YYYY-MM-DD`.
    pub prescribed: Option<String>,
    pub prescribed_date: Option<String>,
}

/// One allergy or intolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllergyView {
    pub id: String,
    pub name: String,
    /// The substance's code (RxNorm or SNOMED CT), when given.
    pub code: Option<String>,
    pub status: String,
    /// "High risk" / "Low risk" / "Risk not known".
    pub criticality: String,
    pub reaction: Option<String>,
    pub recorded: Option<String>,
    pub recorded_date: Option<String>,
}

/// One problem (FHIR Condition) on the problem list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemView {
    pub id: String,
    pub name: String,
    /// The condition's code and its system URI (SNOMED CT, ICD-10-CM…), when given.
    pub code: Option<String>,
    pub code_system: Option<String>,
    pub status: String,
    pub onset: Option<String>,
    pub onset_date: Option<String>,
}

/// One vaccine given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImmunizationView {
    pub id: String,
    pub name: String,
    pub cvx: Option<String>,
    /// `2026-09-15`
    pub date: Option<String>,
    /// `15 September 2026`
    pub date_label: Option<String>,
    pub dose: Option<String>,
    /// "2 of 3"
    pub dose_number: Option<String>,
    pub lot: Option<String>,
    pub site: Option<String>,
    pub performer: Option<String>,
    pub status: String,
}

/// A vital sign measured on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitalView {
    pub id: String,
    pub name: String,
    pub loinc: Option<String>,
    /// Value with its unit ("124/78 mm[Hg]").
    pub value: String,
    pub date_label: String,
    /// `2026-09-15`
    pub date: Option<String>,
}

/// A note attached to a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteView {
    pub title: String,
    pub author: Option<String>,
    pub date_label: Option<String>,
    /// Plain text, shown as text (never as HTML).
    pub body: Option<String>,
}

/// A visit summary (FHIR Encounter with what was decided at it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitView {
    pub id: String,
    pub date_label: Option<String>,
    /// `2026-09-15`
    pub date: Option<String>,
    pub kind: String,
    pub status: String,
    pub clinician: Option<String>,
    pub location: Option<String>,
    pub reason: Option<String>,
    pub diagnoses: Vec<String>,
    pub medications_started: Vec<String>,
    pub medications_stopped: Vec<String>,
    pub instructions: Vec<String>,
    pub notes: Vec<NoteView>,
}

/// One point of a result's trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// Unix milliseconds of the collection.
    pub at: i64,
    pub date_label: String,
    pub value: f64,
    pub flag: Flag,
}

/// The values of one test (one LOINC code) across time, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub name: String,
    pub unit: Option<String>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub points: Vec<TrendPoint>,
}

/// What the Home page shows from the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordHighlights {
    /// Results released since the person's previous sign-in.
    pub new_results: u32,
    pub latest_result_day: Option<String>,
    pub active_medications: u32,
    pub last_visit: Option<String>,
    /// Vaccines whose next dose the record says is due (from ImmunizationRecommendation,
    /// when the clinic sends it); empty when nothing is known.
    pub immunizations_due: Vec<String>,
    /// The parts these cards cover: a caregiver sees only the cards of their grant.
    pub covers: Vec<crate::proxy::Scope>,
}

/// The columns the access log can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogSort {
    When,
    Who,
    What,
    Data,
    Device,
}

impl LogSort {
    pub const ALL: [LogSort; 5] = [
        LogSort::When,
        LogSort::Who,
        LogSort::What,
        LogSort::Data,
        LogSort::Device,
    ];
    /// From the address's `sort=` value; anything else is refused with the choices.
    pub fn parse(s: &str) -> Result<Self, crate::DomainError> {
        Self::ALL.into_iter().find(|c| c.key() == s).ok_or_else(|| {
            crate::DomainError::new("Sort by one of: when, who, what, data, device.")
        })
    }
    pub fn key(self) -> &'static str {
        match self {
            LogSort::When => "when",
            LogSort::Who => "who",
            LogSort::What => "what",
            LogSort::Data => "data",
            LogSort::Device => "device",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            LogSort::When => "When",
            LogSort::Who => "Who",
            LogSort::What => "What",
            LogSort::Data => "Which data",
            LogSort::Device => "Device",
        }
    }
}

/// One event on the person's record or account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// "15 September 2026, 09:30 UTC"
    pub at: String,
    /// "You", "Fen Mocklin (clinician)", "The clinic"
    pub who: String,
    /// "Viewed", "Downloaded", "Sent", "Signed in"…
    pub what: String,
    /// "Test results", "Immunizations"… or "—" for account events.
    pub data: String,
    /// "Succeeded", "Failed", "Refused"
    pub outcome: String,
    pub device: String,
    pub address: Option<String>,
    /// What was downloaded or where it was sent.
    pub detail: Option<String>,
}

/// One page of the access log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub rows: Vec<LogRow>,
    /// From 1.
    pub page: u32,
    pub pages: u32,
    pub total: u32,
    pub sort: LogSort,
    pub descending: bool,
}

/// Categories of results a patient can set a release rule for.
pub const RELEASE_CATEGORIES: [(&str, &str); 2] = [
    ("laboratory", "Laboratory results"),
    ("imaging", "Imaging results"),
];

/// What a clinician can hold from its patient with a documented reason: one result, a whole
/// report (its results with it), or a visit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Holdable {
    Result,
    Report,
    Note,
}

impl Holdable {
    pub const ALL: [Holdable; 3] = [Holdable::Result, Holdable::Report, Holdable::Note];

    pub fn as_str(self) -> &'static str {
        match self {
            Holdable::Result => "result",
            Holdable::Report => "report",
            Holdable::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == s)
    }

    /// How a message names it: "This visit note is already held."
    pub fn noun(self) -> &'static str {
        match self {
            Holdable::Result => "result",
            Holdable::Report => "report",
            Holdable::Note => "visit note",
        }
    }
}

/// What a clinician can mark as being of a sensitive category by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Markable {
    Result,
    Thread,
}

impl Markable {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "result" => Some(Markable::Result),
            "thread" => Some(Markable::Thread),
            _ => None,
        }
    }
}

/// When the patient wants to see new results of a category (their own request; the default
/// is as soon as they are released).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleaseRule {
    Immediately,
    AfterReview,
    AfterDays(u16),
}

impl ReleaseRule {
    pub const MAX_DAYS: u16 = 30;

    /// From the form: `rule` is `immediately`, `after_review` or `after_days` (with `days`).
    pub fn parse(rule: &str, days: &str) -> Result<Self, crate::DomainError> {
        match rule {
            "immediately" => Ok(Self::Immediately),
            "after_review" => Ok(Self::AfterReview),
            "after_days" => days
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|d| (1..=Self::MAX_DAYS).contains(d))
                .map(Self::AfterDays)
                .ok_or_else(|| {
                    crate::DomainError::new(format!(
                        "Choose a number of days from 1 to {}.",
                        Self::MAX_DAYS
                    ))
                }),
            _ => Err(crate::DomainError::new(
                "Choose when to see new results: immediately, after review, or after some days.",
            )),
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Self::Immediately => "immediately",
            Self::AfterReview => "after_review",
            Self::AfterDays(_) => "after_days",
        }
    }
    pub fn describe(self) -> String {
        match self {
            Self::Immediately => "as soon as they are ready".into(),
            Self::AfterReview => "after my clinician has reviewed them".into(),
            Self::AfterDays(1) => "1 day after they are ready".into(),
            Self::AfterDays(n) => format!("{n} days after they are ready"),
        }
    }
}

/// A category's rule, for the preferences form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasePreferenceView {
    pub category: String,
    pub label: String,
    pub rule: ReleaseRule,
}

#[cfg(test)]
mod tests {
    use super::DateRange;

    #[test]
    fn bounds_cover_whole_days_and_agree_with_contains() {
        let r = DateRange::parse("2026-09-15", "2026-09-16").unwrap();
        let (lo, hi) = r.bounds_ms();
        let (lo, hi) = (lo.unwrap(), hi.unwrap());
        assert_eq!(lo, 1_789_430_400_000, "2026-09-15T00:00Z");
        assert_eq!(
            hi - lo,
            2 * 86_400_000,
            "up to the midnight after the last day"
        );
        for ms in [lo - 1, lo, hi - 1, hi] {
            assert_eq!(r.contains_ms(Some(ms)), ms >= lo && ms < hi, "{ms}");
        }
        assert_eq!(DateRange::all().bounds_ms(), (None, None));
        let open = DateRange::parse("", "2026-09-15").unwrap().bounds_ms();
        assert_eq!((open.0, open.1), (None, Some(lo + 86_400_000)));
    }
}
