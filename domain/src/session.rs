//! Who is signed in, as the browser needs to know it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Patient,
    Clinician,
    FrontDesk,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::FrontDesk => "front_desk",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "patient" => Some(Role::Patient),
            "clinician" => Some(Role::Clinician),
            "front_desk" | "front-desk" => Some(Role::FrontDesk),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Patient)
    }
}

/// The signed-in person, for the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub display_name: String,
    pub first_name: String,
    pub role: Role,
    /// Seconds of inactivity after which the session ends.
    pub idle_timeout_secs: u64,
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
