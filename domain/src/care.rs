//! Working with the care team: messages, refill requests, appointments and the staff console's
//! views of them, with the rules for what people may type.

use crate::{DomainError, tidy};
use serde::{Deserialize, Serialize};

/// The most a message may hold; longer belongs in a visit.
pub const MESSAGE_MAX: usize = 5_000;
pub const SUBJECT_MAX: usize = 120;
pub const NOTE_MAX: usize = 500;
/// Attachments: at most this many per message, each at most this large.
pub const ATTACHMENTS_MAX: usize = 3;
pub const ATTACHMENT_BYTES_MAX: usize = 5 * 1024 * 1024;

/// What a message is about, so the team can route it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Topic {
    Question,
    Medication,
    TestResult,
    Appointment,
    Other,
}

pub const TOPICS: [Topic; 5] = [
    Topic::Question,
    Topic::Medication,
    Topic::TestResult,
    Topic::Appointment,
    Topic::Other,
];

impl Topic {
    pub fn key(self) -> &'static str {
        match self {
            Topic::Question => "question",
            Topic::Medication => "medication",
            Topic::TestResult => "test_result",
            Topic::Appointment => "appointment",
            Topic::Other => "other",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Topic::Question => "A medical question",
            Topic::Medication => "A medication",
            Topic::TestResult => "A test result",
            Topic::Appointment => "An appointment",
            Topic::Other => "Something else",
        }
    }
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        TOPICS
            .into_iter()
            .find(|t| t.key() == s)
            .ok_or_else(|| DomainError::new("Choose what your message is about."))
    }
}

/// Message text: plain text, kept as typed (line breaks too), 1 to 5,000 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        // Keep the writer's line breaks; drop other control characters and trailing space.
        let text: String = s
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
            .collect();
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(DomainError::new("Write your message before sending it."));
        }
        let n = text.chars().count();
        if n > MESSAGE_MAX {
            return Err(DomainError::new(format!(
                "Your message is {n} characters long; the most is {MESSAGE_MAX}. Shorten it, or send it in two parts."
            )));
        }
        Ok(Self(text))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for MessageText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageText(<{} chars>)", self.0.chars().count())
    }
}

/// A one-line text with limits: subjects, notes, reasons.
pub fn short_text(s: &str, what: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let t = tidy(s);
    let n = t.chars().count();
    if n < min {
        return Err(DomainError::new(if min <= 1 {
            format!("Write {what}.")
        } else {
            format!("Write {what} ({min} to {max} characters).")
        }));
    }
    if n > max {
        return Err(DomainError::new(format!(
            "Shorten {what} to {max} characters or fewer (it has {n})."
        )));
    }
    Ok(t)
}

/// A piece of message text as shown: plain text, or a web address made into a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    Text(String),
    Link(String),
}

/// Splits plain text into text and links. Only `https://` and `http://` addresses become
/// links, shown in full so the reader sees where they go; nothing else a person typed is
/// ever markup.
pub fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = find_link(rest) {
        if pos > 0 {
            out.push(Segment::Text(rest[..pos].to_owned()));
        }
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        let mut url = &tail[..end];
        // A sentence's full stop or closing bracket is not part of the address.
        while let Some(last) = url.chars().last()
            && matches!(last, '.' | ',' | ')' | ';' | ':' | '!' | '?' | '\'')
        {
            url = &url[..url.len() - last.len_utf8()];
        }
        let scheme_only = url == "https://" || url == "http://";
        if scheme_only {
            out.push(Segment::Text(url.to_owned()));
        } else {
            out.push(Segment::Link(url.to_owned()));
        }
        rest = &tail[url.len()..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_owned()));
    }
    out
}

fn find_link(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    match (lower.find("https://"), lower.find("http://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A care team a patient can write to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// "within 2 business days"
    pub response: String,
    /// The team's clinicians a message may be addressed to: (id, name).
    pub clinicians: Vec<(String, String)>,
}

/// One line of a thread list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadRow {
    pub id: String,
    pub subject: String,
    pub topic: String,
    /// The team, or "Dr Name (Team)".
    pub with: String,
    /// The patient's name (staff lists only).
    pub patient: Option<String>,
    pub assigned: Option<String>,
    pub last_at: String,
    pub unread: bool,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: String,
    pub filename: String,
    pub size: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    pub author: String,
    /// Written by the person reading (their side of the conversation).
    pub mine: bool,
    pub at: String,
    pub body: Vec<Segment>,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadView {
    pub row: ThreadRow,
    pub response: String,
    pub messages: Vec<MessageView>,
    /// Staff only: who the thread can be assigned to (id, name).
    pub assignable: Vec<(String, String)>,
    /// Staff only: the sensitive category the thread is marked with, if any.
    pub sensitivity: Option<crate::proxy::Sensitivity>,
    /// Whether the reader may change that (a clinician).
    pub may_mark: bool,
}

/// The staff inbox's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboxView {
    Unassigned,
    Mine,
    Closed,
}

impl InboxView {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "" | "unassigned" => Ok(Self::Unassigned),
            "mine" => Ok(Self::Mine),
            "closed" => Ok(Self::Closed),
            _ => Err(DomainError::new(
                "Choose the unassigned, mine or closed messages.",
            )),
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Self::Unassigned => "unassigned",
            Self::Mine => "mine",
            Self::Closed => "closed",
        }
    }
}

/// Refill request states: requested → approved / denied; approved → sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefillStatus {
    Requested,
    Approved,
    Denied,
    Sent,
}

impl RefillStatus {
    pub fn key(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Sent => "sent",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Requested, Self::Approved, Self::Denied, Self::Sent]
            .into_iter()
            .find(|r| r.key() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Requested => "Requested",
            Self::Approved => "Approved",
            Self::Denied => "Denied",
            Self::Sent => "Sent to the pharmacy",
        }
    }
    /// Whether `self → next` is a step the workflow allows.
    pub fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Requested, Self::Approved)
                | (Self::Requested, Self::Denied)
                | (Self::Approved, Self::Sent)
        )
    }
    pub fn is_open(self) -> bool {
        matches!(self, Self::Requested | Self::Approved)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PharmacyView {
    pub id: String,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefillView {
    pub id: String,
    pub medication: String,
    pub medication_id: String,
    pub pharmacy: String,
    pub status: RefillStatus,
    pub note: Option<String>,
    pub quantity: Option<i32>,
    pub deny_reason: Option<String>,
    pub requested: String,
    pub decided: Option<String>,
    /// Staff queue only.
    pub patient: Option<String>,
    /// "Kim Dummett (caregiver)" when a caregiver asked for it on the patient's behalf.
    pub by_caregiver: Option<String>,
}

/// A refill's quantity: 1 to 365 units.
pub fn parse_quantity(s: &str) -> Result<i32, DomainError> {
    match s.trim().parse::<i32>() {
        Ok(n) if (1..=365).contains(&n) => Ok(n),
        _ => Err(DomainError::new(
            "Enter the quantity to approve as a whole number from 1 to 365.",
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitTypeView {
    pub id: String,
    pub name: String,
    pub minutes: i32,
    pub self_schedule: bool,
}

/// An open slot, as offered to a person. `key` names it when booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotView {
    pub key: String,
    pub day: String,
    pub time: String,
    pub clinician: String,
    pub location: String,
    pub visit_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentView {
    pub id: String,
    /// "Tuesday 8 December 2026, 09:00 (America/Chicago)"
    pub when: String,
    pub visit_type: String,
    pub visit_type_id: String,
    pub clinician: String,
    pub location: String,
    pub address: Option<String>,
    pub instructions: Option<String>,
    pub status: String,
    pub upcoming: bool,
    /// Before the cut-off: the patient may still cancel or reschedule online.
    pub changeable: bool,
    /// Staff views only.
    pub patient: Option<String>,
    pub waitlisted: bool,
    /// "Kim Dummett (caregiver)" when a caregiver booked it on the patient's behalf.
    pub by_caregiver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentsPage {
    pub upcoming: Vec<AppointmentView>,
    pub past: Vec<AppointmentView>,
    pub visit_types: Vec<VisitTypeView>,
    pub offers: Vec<OfferView>,
    pub requests: Vec<VisitRequestView>,
    /// "Online changes close 24 hours before the visit; call +1 555 0100 after that."
    pub cutoff: String,
}

/// An earlier slot offered to a waiting patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferView {
    pub id: String,
    pub when: String,
    pub clinician: String,
    pub visit_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitRequestView {
    pub id: String,
    pub visit_type: String,
    pub preferred: String,
    pub note: Option<String>,
    pub status: String,
    pub requested: String,
    pub patient: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityView {
    pub id: String,
    pub clinician: String,
    pub weekday: String,
    pub hours: String,
    pub visit_type: String,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionView {
    pub id: String,
    pub clinician: String,
    pub day: String,
    pub hours: String,
    pub reason: String,
}

/// What the staff schedule page needs besides the day's appointments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSetup {
    pub clinicians: Vec<(String, String)>,
    pub locations: Vec<(String, String)>,
    pub visit_types: Vec<VisitTypeView>,
    pub templates: Vec<AvailabilityView>,
    pub exceptions: Vec<ExceptionView>,
    pub time_zone: String,
}

/// `HH:MM` as minutes after midnight.
pub fn parse_clock(s: &str, what: &str) -> Result<i32, DomainError> {
    let bad = || DomainError::new(format!("Enter the {what} as a time like 09:00 or 13:30."));
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

pub fn format_clock(minutes: i32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The staff console's home: what is waiting, per queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffHome {
    pub name: String,
    pub role: crate::session::Role,
    pub unassigned_messages: u64,
    pub my_messages: u64,
    pub refills_waiting: u64,
    pub refills_to_send: u64,
    pub visit_requests: u64,
    pub appointments_today: u64,
    pub results_to_review: u64,
}

/// A patient found by the staff search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientRow {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub mrn: String,
    /// "No account", "Active", "Locked", "Suspended"
    pub account: String,
    pub username: Option<String>,
}

/// What registering a patient gives the front desk: the activation letter to print, or, for
/// a child under 12 (who has no account of their own), the patient's name and the reminder
/// that a parent or guardian sees the record through guardian access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Registration {
    Letter(ActivationLetter),
    Child { patient: String },
}

/// What the front desk prints for a new patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationLetter {
    pub patient: String,
    pub birth_date: String,
    pub code: String,
    pub expires: String,
    pub clinic: String,
    pub portal_url: String,
}

/// A result on the clinician's release list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultToReview {
    pub id: String,
    pub patient: String,
    pub name: String,
    pub value: String,
    pub flag: Option<String>,
    pub date: String,
    pub held: Option<String>,
    pub reviewed: bool,
    /// The sensitive category the result is marked with, if any (from its codes or by hand).
    pub sensitivity: Option<crate::proxy::Sensitivity>,
}

/// A report or visit note on the clinician's side: recently issued, or held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldableRow {
    pub what: crate::records::Holdable,
    pub id: String,
    pub patient: String,
    pub title: String,
    pub date: String,
    /// The hold's reason, while held.
    pub held: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_keeps_line_breaks_and_drops_control_characters() {
        let t = MessageText::parse("  Hello\r\nsecond line\u{7}  ").unwrap();
        assert_eq!(t.as_str(), "Hello\nsecond line");
        assert!(MessageText::parse(" \n ").is_err());
        assert!(MessageText::parse(&"a".repeat(MESSAGE_MAX + 1)).is_err());
        assert!(MessageText::parse(&"a".repeat(MESSAGE_MAX)).is_ok());
    }

    #[test]
    fn only_web_addresses_become_links_and_a_full_stop_stays_text() {
        let s = segments("See https://example.org/a?b=1. Or javascript:alert(1) <b>x</b>");
        assert_eq!(
            s,
            vec![
                Segment::Text("See ".into()),
                Segment::Link("https://example.org/a?b=1".into()),
                Segment::Text(". Or javascript:alert(1) <b>x</b>".into()),
            ]
        );
        assert_eq!(segments("no links"), vec![Segment::Text("no links".into())]);
        assert_eq!(segments("http://"), vec![Segment::Text("http://".into())]);
    }

    #[test]
    fn refills_move_only_forward() {
        use RefillStatus::*;
        assert!(Requested.can_become(Approved));
        assert!(Requested.can_become(Denied));
        assert!(Approved.can_become(Sent));
        assert!(!Denied.can_become(Approved));
        assert!(!Sent.can_become(Requested));
        assert!(!Requested.can_become(Sent));
    }

    #[test]
    fn clock_times_parse_and_print() {
        assert_eq!(parse_clock("09:30", "start").unwrap(), 570);
        assert_eq!(parse_clock("24:00", "end").unwrap(), 1440);
        assert!(parse_clock("25:00", "end").is_err());
        assert!(parse_clock("9", "end").is_err());
        assert_eq!(format_clock(570), "09:30");
    }

    proptest::proptest! {
        #[test]
        fn segments_join_back_to_the_text(s in "\\PC{0,80}") {
            let joined: String = segments(&s).into_iter().map(|p| match p {
                Segment::Text(t) | Segment::Link(t) => t,
            }).collect();
            proptest::prop_assert_eq!(joined, s);
        }
    }
}
