//! Second factors, recovery and security activity, as the browser sees them.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A 6-digit one-time code from an authenticator app, an email or a text message.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if s.len() != 6 || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::new(
                "Enter the 6-digit code: digits only, spaces are fine.",
            ));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

/// A mobile number in E.164 form (`+15551234567`); spaces, dots, dashes and brackets are
/// dropped, and a 10-digit number is read as North American.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneE164(String);

impl PhoneE164 {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let t = raw.trim();
        let plus = t.starts_with('+');
        let digits: String = t
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '+'))
            .collect();
        let bad = || {
            DomainError::new(
                "Enter a mobile number with its country code, for example +1 555 123 4567.",
            )
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let full = if plus {
            digits
        } else if digits.len() == 10 {
            format!("1{digits}")
        } else {
            return Err(bad());
        };
        if !(8..=15).contains(&full.len()) || full.starts_with('0') {
            return Err(bad());
        }
        Ok(Self(format!("+{full}")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `+1 ••• ••• 4567`: enough to recognise, not enough to read out.
    pub fn masked(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("••• {tail}")
    }
}

impl fmt::Debug for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneE164(<redacted>)")
    }
}

/// A second-factor method, as offered at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// A code from an authenticator app.
    App,
    /// A code sent by email.
    Email,
    /// A code sent by text message.
    Sms,
    /// One of the printed backup codes.
    Backup,
    /// A passkey (WebAuthn) on this device or a security key.
    Passkey,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::App => "app",
            Method::Email => "email",
            Method::Sms => "sms",
            Method::Backup => "backup",
            Method::Passkey => "passkey",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "app" => Some(Method::App),
            "email" => Some(Method::Email),
            "sms" => Some(Method::Sms),
            "backup" => Some(Method::Backup),
            "passkey" => Some(Method::Passkey),
            _ => None,
        }
    }
}

/// What a sign-in (or a reset) may use as its second factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FactorChoice {
    pub methods: Vec<Method>,
    /// Where an email code would go, masked (`d•••@example.org`).
    pub email_hint: Option<String>,
    pub phone_hint: Option<String>,
}

/// An enrolled factor on the Account page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorInfo {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub added: String,
    pub last_used: Option<String>,
}

/// Everything the Account and security page shows about signing in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SecurityOverview {
    pub factors: Vec<FactorInfo>,
    pub backup_codes_left: u32,
    pub email: String,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// Seconds the last password confirmation still covers changes; 0 means ask again.
    pub reauth_secs_left: u64,
    /// Whether the clinic requires a second factor for this person.
    pub second_factor_required: bool,
    /// Whether the clinic sends text messages (a mobile number can be added).
    pub sms_available: bool,
}

/// A new authenticator-app enrolment, before its first code is proven.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// The key in groups of four, for typing into an app by hand.
    pub key_groups: String,
    pub otpauth_uri: String,
    /// The QR code of the URI, as an SVG document.
    pub qr_svg: String,
}

/// The answer to a step that enrols or confirms a factor: fresh backup codes when this was
/// the first factor (shown once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Enrolled {
    pub backup_codes: Vec<String>,
}

/// One line of the security activity on the Activity page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub at: String,
    pub what: String,
    pub outcome: String,
    pub device: String,
    pub ip: Option<String>,
}

/// Masks an address for display: `d•••@example.org`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_spaces_allowed() {
        assert_eq!(OneTimeCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert!(OneTimeCode::parse("12345").is_err());
        assert!(OneTimeCode::parse("12345a").is_err());
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            PhoneE164::parse("(555) 123-4567").unwrap().as_str(),
            "+15551234567"
        );
        assert_eq!(
            PhoneE164::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        assert!(PhoneE164::parse("12345").is_err());
        assert!(PhoneE164::parse("call me").is_err());
        assert_eq!(
            PhoneE164::parse("+15551234567").unwrap().masked(),
            "••• 4567"
        );
    }

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("dara@example.org"), "d•••@example.org");
    }
}
