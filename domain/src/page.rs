//! Bounded lists: one page of the newest items, and where the next, older page starts.

use serde::{Deserialize, Serialize};

/// Where an older page starts: the items dated before this instant (Unix milliseconds). It
/// travels in the address as `before=` (a time, not health information), so a "Show earlier"
/// link works without JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Before(i64);

impl Before {
    pub fn at_ms(ms: i64) -> Self {
        Self(ms)
    }

    /// From the address's `before=` value: a whole number of milliseconds.
    pub fn parse(raw: &str) -> Result<Self, crate::DomainError> {
        let raw = raw.trim();
        let bad = || {
            crate::DomainError::new(
                "The page to show is not valid. Go back to the newest items and use Show earlier.",
            )
        };
        if raw.is_empty() || raw.len() > 15 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        raw.parse::<i64>().map(Self).map_err(|_| bad())
    }

    pub fn ms(self) -> i64 {
        self.0
    }

    /// The value for the address.
    pub fn param(self) -> String {
        self.0.to_string()
    }
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next, older page starts; `None` when this page reaches the oldest item.
    pub earlier: Option<Before>,
}

impl<T> Page<T> {
    /// A list that fits in one page.
    pub fn whole(items: Vec<T>) -> Self {
        Self {
            items,
            earlier: None,
        }
    }
}

/// Where a page of dated rows ends, from [`cut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The rows reach the oldest one: this is the last page.
    Last,
    /// More rows are older than the page; the next page starts here.
    Earlier(Before),
    /// Every row of the page shares one time, and more rows have it too: the page is all the
    /// rows at this time (read them whole), and the next page starts before it.
    Crowded(i64),
}

/// Makes a page of `rows`, read newest first with one row more than `size`: the rows of the
/// oldest time that does not fit whole go to the next page, so a time (one collection, one
/// visit) is never split across two pages.
pub fn cut<T>(rows: &mut Vec<T>, size: usize, at: impl Fn(&T) -> Option<i64>) -> Cut {
    if rows.len() <= size {
        return Cut::Last;
    }
    let edge = at(&rows[size]);
    rows.truncate(size);
    rows.retain(|r| at(r) != edge);
    match rows.last().and_then(&at) {
        Some(oldest) => Cut::Earlier(Before(oldest)),
        None => {
            rows.clear();
            Cut::Crowded(edge.unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_never_splits_a_time() {
        let page = |times: &[i64], size| {
            let mut rows = times.to_vec();
            let c = cut(&mut rows, size, |t| Some(*t));
            (rows, c)
        };
        assert_eq!(page(&[9, 8, 7], 3), (vec![9, 8, 7], Cut::Last));
        assert_eq!(
            page(&[9, 8, 7, 6], 3),
            (vec![9, 8, 7], Cut::Earlier(Before(7)))
        );
        assert_eq!(
            page(&[9, 8, 7, 7], 3),
            (vec![9, 8], Cut::Earlier(Before(8)))
        );
        assert_eq!(page(&[9, 9, 9, 9], 3), (vec![], Cut::Crowded(9)));
        assert_eq!(page(&[], 3), (vec![], Cut::Last));
    }

    #[test]
    fn before_takes_only_whole_milliseconds() {
        assert_eq!(
            Before::parse("1789430400000").unwrap().ms(),
            1_789_430_400_000
        );
        assert_eq!(Before::parse(" 5 ").unwrap().param(), "5");
        for bad in ["", "-1", "1.5", "12a", "9999999999999999", "1e9"] {
            assert!(Before::parse(bad).is_err(), "{bad:?}");
        }
    }
}
