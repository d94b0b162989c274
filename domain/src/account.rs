//! Sign-in identifiers, codes and password rules that need no data to check.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// A username: 3–32 characters, lowercase letters, digits, dot, hyphen, underscore;
/// starts with a letter or digit. Stored lowercased.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        let n = s.chars().count();
        if !(3..=32).contains(&n) {
            return Err(DomainError::new("Choose a username of 3 to 32 characters."));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        {
            return Err(DomainError::new(
                "A username can contain letters a–z, digits, dots, hyphens and underscores.",
            ));
        }
        if !s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Err(DomainError::new(
                "A username must start with a letter or a digit.",
            ));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Username {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}
impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

/// An email address: one `@`, a non-empty local part, a dotted domain, no spaces,
/// at most 254 characters. Stored with the domain lowercased.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let bad = || DomainError::new("Enter an email address like name@example.org.");
        if s.is_empty() || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(bad());
        }
        if s.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"']) {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Lowercased form used for uniqueness and look-ups.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}
impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// What a person types to sign in: a username or an email address, normalised.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginId(String);

impl LoginId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(DomainError::new("Enter your username or email."));
        }
        if s.chars().count() > 254 {
            return Err(DomainError::new("That username or email is too long."));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_email(&self) -> bool {
        self.0.contains('@')
    }
}
impl fmt::Debug for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginId(<redacted>)")
    }
}

/// Crockford base32 alphabet: no I, L, O, U, so codes read aloud and typed from paper survive.
pub const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in an activation code: 12 × 5 bits = 60 bits of randomness.
pub const ACTIVATION_CODE_LEN: usize = 12;

/// A clinic-issued activation code, normalised to 12 Crockford base32 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(String);

impl ActivationCode {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let mut out = String::with_capacity(ACTIVATION_CODE_LEN);
        for c in raw.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !CROCKFORD.contains(&(c as u8)) || !c.is_ascii() {
                return Err(DomainError::new(
                    "The activation code has letters and digits only, as printed on your letter.",
                ));
            }
            out.push(c);
        }
        if out.len() != ACTIVATION_CODE_LEN {
            return Err(DomainError::new(
                "The activation code has 12 letters and digits, like ABCD-EFGH-JKMN.",
            ));
        }
        Ok(Self(out))
    }
    /// Builds a code from 12 indexes into the alphabet (the generator lives server-side).
    pub fn from_indexes(ix: &[u8; ACTIVATION_CODE_LEN]) -> Self {
        Self(
            ix.iter()
                .map(|i| CROCKFORD[(*i & 31) as usize] as char)
                .collect(),
        )
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Grouped for printing: ABCD-EFGH-JKMN.
    pub fn display(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..8], &self.0[8..12])
    }
}
impl fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivationCode(<redacted>)")
    }
}

/// A 6-digit one-time code sent by email.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailCode(String);

impl EmailCode {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if s.len() != 6 || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::new("Enter the 6-digit code from the email."));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for EmailCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailCode(<redacted>)")
    }
}

pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 128;

/// A password as typed, NFC-normalised, with the length rules applied. The blocklist and
/// the strength estimate are checked server-side, where the lists live.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Length rules only: used when checking a sign-in (any stored password may be tried).
    pub fn for_sign_in(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() {
            return Err(DomainError::new("Enter your password."));
        }
        if raw.chars().count() > PASSWORD_MAX * 4 {
            return Err(DomainError::new("That password is too long."));
        }
        Ok(Self(raw.nfc().collect()))
    }
    /// A new password: 12 to 128 characters (any characters, spaces included), and not
    /// containing the person's own identifiers.
    pub fn new_password(raw: &str, personal: &[&str]) -> Result<Self, DomainError> {
        let s: String = raw.nfc().collect();
        let n = s.chars().count();
        if n < PASSWORD_MIN {
            return Err(DomainError::new(format!(
                "Use at least {PASSWORD_MIN} characters: a few unrelated words make a strong password."
            )));
        }
        if n > PASSWORD_MAX {
            return Err(DomainError::new(format!(
                "Use at most {PASSWORD_MAX} characters."
            )));
        }
        let lower = s.to_lowercase();
        for p in personal {
            let p = p.trim().to_lowercase();
            let p = p.split('@').next().unwrap_or_default();
            if p.chars().count() >= 3 && lower.contains(p) {
                return Err(DomainError::new(
                    "The password must not contain your name, username or email address.",
                ));
            }
        }
        Ok(Self(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(
            Username::parse(" Dara.Dummett ").unwrap().as_str(),
            "dara.dummett"
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(".dara").is_err());
        assert!(Username::parse("dara dummett").is_err());
        assert!(Username::parse("dara@x").is_err());
    }

    #[test]
    fn emails_need_a_dotted_domain() {
        assert_eq!(
            Email::parse("Dara@Example.ORG").unwrap().as_str(),
            "Dara@example.org"
        );
        for bad in [
            "",
            "dara",
            "dara@",
            "@example.org",
            "dara@example",
            "da ra@example.org",
            "a@b..c",
            "<a>@b.co",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn activation_codes_forgive_dashes_case_and_lookalikes() {
        let a = ActivationCode::parse("abcd-efgh-jkmn").unwrap();
        assert_eq!(a.display(), "ABCD-EFGH-JKMN");
        let b = ActivationCode::parse("0O1I L000 0000").unwrap();
        assert_eq!(b.as_str(), "001110000000");
        assert!(ActivationCode::parse("ABCD-EFGH-JKM").is_err());
        assert!(ActivationCode::parse("ABCD-EFGH-JKMU").is_err());
    }

    #[test]
    fn email_codes_are_six_digits() {
        assert!(EmailCode::parse("123 456").is_ok());
        assert!(EmailCode::parse("12345").is_err());
        assert!(EmailCode::parse("12345a").is_err());
    }

    #[test]
    fn new_passwords_follow_the_length_and_personal_rules() {
        assert!(Password::new_password("short", &[]).is_err());
        assert!(Password::new_password(&"x".repeat(129), &[]).is_err());
        assert!(Password::new_password("Quiet otter meadow", &[]).is_ok());
        // Unicode counts code points, after NFC.
        assert!(Password::new_password("ééééééééééé", &[]).is_err());
        assert!(Password::new_password("éééééééééééé", &[]).is_ok());
        let err = Password::new_password("stubfield-is-my-name", &["Stubfield"]).unwrap_err();
        assert!(err.0.contains("must not contain"));
        assert!(
            Password::new_password("quiet-otter-dara.dummett", &["dara.dummett@example.org"])
                .is_err()
        );
    }

    #[test]
    fn debug_output_redacts_secrets_and_phi() {
        let p = Password::for_sign_in("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        let e = Email::parse("dara@example.org").unwrap();
        assert!(!format!("{e:?}").contains("dara"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = Username::parse(&s);
            let _ = Email::parse(&s);
            let _ = LoginId::parse(&s);
            let _ = ActivationCode::parse(&s);
            let _ = EmailCode::parse(&s);
            let _ = Password::new_password(&s, &["someone"]);
        }

        #[test]
        fn accepted_usernames_reparse_to_themselves(s in "[a-z0-9][a-z0-9._-]{2,31}") {
            let u = Username::parse(&s).unwrap();
            prop_assert_eq!(Username::parse(u.as_str()).unwrap(), u);
        }

        #[test]
        fn generated_activation_codes_parse(ix in proptest::array::uniform12(0u8..32)) {
            let c = ActivationCode::from_indexes(&ix);
            prop_assert_eq!(ActivationCode::parse(&c.display()).unwrap(), c);
        }
    }
}
