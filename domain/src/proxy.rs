//! Proxy access: the scopes a patient can grant a caregiver, the sensitive categories hidden
//! from parents of teenagers, and what the Proxy access page shows.

use crate::DomainError;
use serde::{Deserialize, Serialize};

/// One part of a record that can be granted on its own. Every patient-side server function
/// names the scope it reads or changes; a caregiver needs that scope in their grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Test results.
    Results,
    /// Visit summaries and their notes.
    Visits,
    /// The medication list and refill requests.
    Medications,
    /// Allergies, problems and vital signs.
    Clinical,
    /// Immunizations and the immunization record.
    Immunizations,
    /// Message threads with the care team.
    Messages,
    /// Appointments: booking, cancelling, visit requests, the waitlist.
    Appointments,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::Results,
        Scope::Visits,
        Scope::Medications,
        Scope::Clinical,
        Scope::Immunizations,
        Scope::Messages,
        Scope::Appointments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Results => "results",
            Scope::Visits => "visits",
            Scope::Medications => "medications",
            Scope::Clinical => "clinical",
            Scope::Immunizations => "immunizations",
            Scope::Messages => "messages",
            Scope::Appointments => "appointments",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// How the Proxy access page names it.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Results => "Test results",
            Scope::Visits => "Visit summaries and notes",
            Scope::Medications => "Medications and refills",
            Scope::Clinical => "Allergies, problems and vital signs",
            Scope::Immunizations => "Immunizations",
            Scope::Messages => "Messages with the care team",
            Scope::Appointments => "Appointments",
        }
    }

    /// The stored form of a set of scopes: their names, comma-separated, in a fixed order.
    pub fn join(scopes: &[Scope]) -> String {
        let mut s: Vec<Scope> = scopes.to_vec();
        s.sort();
        s.dedup();
        s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(",")
    }

    /// The scopes of a stored list; unknown names are dropped (never widened).
    pub fn split(s: &str) -> Vec<Scope> {
        let mut out: Vec<Scope> = s.split(',').filter_map(Scope::parse).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The scopes ticked on a form (each box sends its name); at least one is needed.
    pub fn from_form(names: &[String]) -> Result<Vec<Scope>, DomainError> {
        let mut out = vec![];
        for n in names {
            match Scope::parse(n.trim()) {
                Some(s) => out.push(s),
                None => {
                    return Err(DomainError::new(format!(
                        "\"{n}\" is not a part of the record that can be shared."
                    )));
                }
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(DomainError::new(
                "Choose at least one part of the record to share.",
            ));
        }
        Ok(out)
    }
}

/// Categories of care that a teenager may keep from their parents (ages 12 to 17). A row
/// with any of these is hidden from a parent's grant at those ages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sensitivity {
    /// Sexual and reproductive health.
    Reproductive,
    Pregnancy,
    MentalHealth,
    SubstanceUse,
    /// HIV and sexually transmitted infections.
    HivSti,
    GenderIdentity,
}

impl Sensitivity {
    pub const ALL: [Sensitivity; 6] = [
        Sensitivity::Reproductive,
        Sensitivity::Pregnancy,
        Sensitivity::MentalHealth,
        Sensitivity::SubstanceUse,
        Sensitivity::HivSti,
        Sensitivity::GenderIdentity,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Reproductive => "reproductive",
            Sensitivity::Pregnancy => "pregnancy",
            Sensitivity::MentalHealth => "mental-health",
            Sensitivity::SubstanceUse => "substance-use",
            Sensitivity::HivSti => "hiv-sti",
            Sensitivity::GenderIdentity => "gender-identity",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Sensitivity::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Sensitivity::Reproductive => "Sexual and reproductive health",
            Sensitivity::Pregnancy => "Pregnancy",
            Sensitivity::MentalHealth => "Mental health",
            Sensitivity::SubstanceUse => "Substance use",
            Sensitivity::HivSti => "HIV and sexually transmitted infections",
            Sensitivity::GenderIdentity => "Gender identity",
        }
    }
}

/// How a caregiver is related to the patient, as the patient (or the front desk) recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relationship {
    Parent,
    Guardian,
    Child,
    Spouse,
    Sibling,
    Friend,
    Other,
}

impl Relationship {
    pub const ALL: [Relationship; 7] = [
        Relationship::Parent,
        Relationship::Guardian,
        Relationship::Child,
        Relationship::Spouse,
        Relationship::Sibling,
        Relationship::Friend,
        Relationship::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Parent => "parent",
            Relationship::Guardian => "guardian",
            Relationship::Child => "child",
            Relationship::Spouse => "spouse",
            Relationship::Sibling => "sibling",
            Relationship::Friend => "friend",
            Relationship::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Relationship::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| DomainError::new("Choose how this person is related to you."))
    }
    pub fn label(self) -> &'static str {
        match self {
            Relationship::Parent => "Parent",
            Relationship::Guardian => "Legal guardian",
            Relationship::Child => "Adult son or daughter",
            Relationship::Spouse => "Spouse or partner",
            Relationship::Sibling => "Brother or sister",
            Relationship::Friend => "Friend",
            Relationship::Other => "Other",
        }
    }
}

/// The longest a patient's grant can run, and the default the form offers.
pub const MAX_GRANT_MONTHS: u32 = 24;
pub const DEFAULT_GRANT_MONTHS: u32 = 12;

/// The months a grant runs for, from the form (1 to 24).
pub fn grant_months(s: &str) -> Result<u32, DomainError> {
    match s.trim().parse::<u32>() {
        Ok(m) if (1..=MAX_GRANT_MONTHS).contains(&m) => Ok(m),
        _ => Err(DomainError::new(format!(
            "Choose how long the access lasts: 1 to {MAX_GRANT_MONTHS} months."
        ))),
    }
}

/// Where a grant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantStatus {
    /// Invited, not yet accepted.
    Invited,
    Active,
    Revoked,
    Expired,
    /// Ended by the rules (the patient turned 18).
    Ended,
    Declined,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Invited => "invited",
            GrantStatus::Active => "active",
            GrantStatus::Revoked => "revoked",
            GrantStatus::Expired => "expired",
            GrantStatus::Ended => "ended",
            GrantStatus::Declined => "declined",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            GrantStatus::Invited,
            GrantStatus::Active,
            GrantStatus::Revoked,
            GrantStatus::Expired,
            GrantStatus::Ended,
            GrantStatus::Declined,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            GrantStatus::Invited => "Invitation sent",
            GrantStatus::Active => "Active",
            GrantStatus::Revoked => "Revoked",
            GrantStatus::Expired => "Expired",
            GrantStatus::Ended => "Ended",
            GrantStatus::Declined => "Declined",
        }
    }
}

/// One grant as the patient sees it on the Proxy access page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    /// The caregiver's name once accepted, else the address invited.
    pub who: String,
    pub relationship: Relationship,
    pub scopes: Vec<Scope>,
    pub status: GrantStatus,
    pub expires: String,
    /// `YYYY-MM-DD` of the expiry, for the edit form.
    pub expires_iso: String,
    /// Granted by the clinic (a parent of a child), not by the patient.
    pub by_clinic: bool,
}

/// A record the signed-in person may act for, for the switcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActingChoice {
    pub grant_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires: String,
}

/// The Proxy access page: who can see my record, and whose record I can see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyPage {
    /// Whether the person has a record of their own (so they can grant access to it).
    pub has_own_record: bool,
    pub granted: Vec<GrantView>,
    pub acting_for: Vec<ActingChoice>,
}

/// An invitation as the caregiver sees it before accepting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    /// The patient's first name only, until the date of birth is confirmed.
    pub patient_first_name: String,
    pub scopes: Vec<Scope>,
    pub expires: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scopes_round_trip_through_their_stored_form() {
        let s = vec![Scope::Messages, Scope::Results, Scope::Results];
        assert_eq!(Scope::join(&s), "results,messages");
        assert_eq!(
            Scope::split("results,messages"),
            vec![Scope::Results, Scope::Messages]
        );
    }

    #[test]
    fn an_unknown_stored_scope_is_dropped_not_widened() {
        assert_eq!(Scope::split("results,everything"), vec![Scope::Results]);
    }

    #[test]
    fn a_form_without_scopes_or_with_an_unknown_one_is_refused() {
        assert!(Scope::from_form(&[]).is_err());
        assert!(Scope::from_form(&["everything".into()]).is_err());
        assert_eq!(
            Scope::from_form(&["immunizations".into()]).unwrap(),
            vec![Scope::Immunizations]
        );
    }

    #[test]
    fn grants_run_one_to_twenty_four_months() {
        assert!(grant_months("0").is_err());
        assert!(grant_months("25").is_err());
        assert_eq!(grant_months("12").unwrap(), 12);
    }

    proptest! {
        #[test]
        fn split_never_yields_a_scope_not_named(s in ".{0,80}") {
            for x in Scope::split(&s) {
                prop_assert!(s.contains(x.as_str()));
            }
        }
    }
}
