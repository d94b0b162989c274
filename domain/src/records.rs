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
    /// Earlier values of the same test, newest first: (date label, value with unit, flag).
    pub history: Vec<(String, String, Flag)>,
}
