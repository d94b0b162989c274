//! Who is signed in, as the browser needs to know it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Patient,
    /// An account with no record of its own, only grants to act for others.
    Caregiver,
    Clinician,
    FrontDesk,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Caregiver => "caregiver",
            Role::Clinician => "clinician",
            Role::FrontDesk => "front_desk",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "patient" => Some(Role::Patient),
            "caregiver" => Some(Role::Caregiver),
            "clinician" => Some(Role::Clinician),
            "front_desk" | "front-desk" => Some(Role::FrontDesk),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Patient | Role::Caregiver)
    }
}

/// Which staff roles do what on the clinic's side. The server functions' policies and the
/// backend's own checks use these same lists.
pub mod staff_roles {
    use super::Role;

    /// Answer the team inbox.
    pub const INBOX: &[Role] = &[Role::Clinician, Role::FrontDesk];
    /// Decide refills and review results.
    pub const CLINICIAN: &[Role] = &[Role::Clinician];
    /// See the refill queue and mark approved refills sent.
    pub const REFILL_QUEUE: &[Role] = &[Role::Clinician, Role::FrontDesk];
    /// Book and cancel for patients, work visit requests, register patients and manage their
    /// accounts.
    pub const FRONT_DESK: &[Role] = &[Role::FrontDesk, Role::Admin];
    /// Manage schedules (clinicians their own) and look patients up.
    pub const SCHEDULE: &[Role] = &[Role::FrontDesk, Role::Admin, Role::Clinician];
    /// Every staff role.
    pub const ANY_STAFF: &[Role] = &[Role::Clinician, Role::FrontDesk, Role::Admin];
}

/// The signed-in person, for the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub display_name: String,
    pub first_name: String,
    pub role: Role,
    /// Seconds of inactivity after which the session ends.
    pub idle_timeout_secs: u64,
    /// The patient whose record this session is on, when acting for someone (the banner).
    pub acting_for: Option<String>,
    /// What the caregiver may see there; empty on one's own record.
    pub acting_scopes: Vec<crate::proxy::Scope>,
    /// The grant the session acts through (selects it in the switcher).
    pub acting_grant: Option<String>,
    /// Whether the person has a record of their own (a caregiver may have none).
    pub has_own_record: bool,
    /// The records the person may open as a caregiver, for the switcher.
    pub records: Vec<crate::proxy::ActingChoice>,
}

impl Me {
    /// Whether the record the session is on shows this part: all of one's own record, the
    /// granted parts of someone else's, nothing when there is no record open.
    pub fn shows(&self, scope: crate::proxy::Scope) -> bool {
        if self.acting_for.is_some() {
            self.acting_scopes.contains(&scope)
        } else {
            self.has_own_record
        }
    }
    /// Whether a record is open at all (one's own, or someone's as a caregiver).
    pub fn has_record(&self) -> bool {
        self.acting_for.is_some() || self.has_own_record
    }
}

/// One signed-in session of the person, for the devices list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    /// "Chrome on Android", from the browser's user agent.
    pub device: String,
    pub ip: Option<String>,
    pub started: String,
    pub last_active: String,
    /// The session this request came from.
    pub current: bool,
}
