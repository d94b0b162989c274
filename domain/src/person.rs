//! People's names and dates of birth, as entered by patients and staff.

use crate::{DomainError, tidy};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Date, Month, macros::format_description};

/// A given or family name: 1 to 100 characters, letters and the punctuation names use.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NamePart(String);

impl NamePart {
    pub fn parse(raw: &str, what: &str) -> Result<Self, DomainError> {
        let s = tidy(raw);
        if s.is_empty() {
            return Err(DomainError::new(format!("Enter your {what}.")));
        }
        if s.chars().count() > 100 {
            return Err(DomainError::new(format!(
                "The {what} can be at most 100 characters."
            )));
        }
        if !s
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.' | ','))
        {
            return Err(DomainError::new(format!(
                "The {what} can contain letters, spaces, hyphens and apostrophes only."
            )));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Case- and accent-insensitive comparison key used to match identity details.
    pub fn match_key(&self) -> String {
        self.0
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    }
}

impl TryFrom<String> for NamePart {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s, "name")
    }
}
impl From<NamePart> for String {
    fn from(n: NamePart) -> String {
        n.0
    }
}
impl fmt::Debug for NamePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NamePart(<redacted>)")
    }
}

/// A date of birth: a real calendar date, not in the future, not before 1900.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DateOfBirth(Date);

impl DateOfBirth {
    /// Parses `YYYY-MM-DD` (what `<input type="date">` sends). `today` bounds it.
    pub fn parse(raw: &str, today: Date) -> Result<Self, DomainError> {
        let d = parse_iso_date(raw.trim()).ok_or_else(|| {
            DomainError::new("Enter the date of birth as a full date, for example 1980-04-23.")
        })?;
        if d > today {
            return Err(DomainError::new(
                "The date of birth cannot be in the future.",
            ));
        }
        if d.year() < 1900 {
            return Err(DomainError::new("Check the year of the date of birth."));
        }
        Ok(Self(d))
    }
    pub fn date(&self) -> Date {
        self.0
    }
    pub fn iso(&self) -> String {
        format_iso_date(self.0)
    }
}

impl TryFrom<String> for DateOfBirth {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let d = parse_iso_date(s.trim()).ok_or_else(|| DomainError::new("Invalid date"))?;
        Ok(Self(d))
    }
}
impl From<DateOfBirth> for String {
    fn from(d: DateOfBirth) -> String {
        d.iso()
    }
}
impl fmt::Debug for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DateOfBirth(<redacted>)")
    }
}

/// Whole years from `birth` to `today`: a birthday counts from its first day (29 February
/// birthdays from 1 March in other years).
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

pub fn parse_iso_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

pub fn format_iso_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// "15 September 2026": the long form people read without ambiguity.
pub fn format_long_date(d: Date) -> String {
    let month = match d.month() {
        Month::January => "January",
        Month::February => "February",
        Month::March => "March",
        Month::April => "April",
        Month::May => "May",
        Month::June => "June",
        Month::July => "July",
        Month::August => "August",
        Month::September => "September",
        Month::October => "October",
        Month::November => "November",
        Month::December => "December",
    };
    format!("{} {} {}", d.day(), month, d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    #[test]
    fn age_turns_on_the_birthday_itself() {
        let born = parse_iso_date("2014-12-03").unwrap();
        assert_eq!(age_on(born, parse_iso_date("2026-12-02").unwrap()), 11);
        assert_eq!(age_on(born, parse_iso_date("2026-12-03").unwrap()), 12);
        let leap = parse_iso_date("2008-02-29").unwrap();
        assert_eq!(age_on(leap, parse_iso_date("2026-02-28").unwrap()), 17);
        assert_eq!(age_on(leap, parse_iso_date("2026-03-01").unwrap()), 18);
    }

    #[test]
    fn a_date_of_birth_in_the_future_is_refused() {
        assert!(DateOfBirth::parse("2030-01-01", TODAY).is_err());
        assert!(DateOfBirth::parse("1964-06-13", TODAY).is_ok());
        assert!(DateOfBirth::parse("13/06/1964", TODAY).is_err());
        assert!(DateOfBirth::parse("1899-12-31", TODAY).is_err());
    }

    #[test]
    fn names_are_tidied_and_compared_loosely() {
        let a = NamePart::parse("  O’Brien-  Smith ", "last name").unwrap();
        assert_eq!(a.as_str(), "O’Brien- Smith");
        let b = NamePart::parse("o'brien-smith", "last name").unwrap();
        assert_eq!(a.match_key(), b.match_key());
        assert!(NamePart::parse("", "first name").is_err());
        assert!(NamePart::parse("<script>", "first name").is_err());
    }

    #[test]
    fn long_dates_read_naturally() {
        assert_eq!(format_long_date(date!(2026 - 09 - 15)), "15 September 2026");
    }

    proptest! {
        #[test]
        fn date_parser_never_panics(s in "\\PC{0,20}") {
            let _ = DateOfBirth::parse(&s, TODAY);
        }

        #[test]
        fn valid_dates_round_trip(y in 1900i32..2026, m in 1u8..=12, d in 1u8..=28) {
            let s = format!("{y:04}-{m:02}-{d:02}");
            let dob = DateOfBirth::parse(&s, TODAY).unwrap();
            prop_assert_eq!(dob.iso(), s);
        }

        #[test]
        fn name_parser_never_panics_and_accepted_names_are_tidy(s in "\\PC{0,120}") {
            if let Ok(n) = NamePart::parse(&s, "name") {
                prop_assert_eq!(n.as_str().trim(), n.as_str());
                prop_assert!(!n.as_str().is_empty());
            }
        }
    }
}
