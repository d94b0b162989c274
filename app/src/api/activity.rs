//! The Activity page's access log.

use crate::error::AppError;
use domain::records::LogPage;
use leptos::prelude::*;

/// A page of the caller's access log. `sort` is a column (`when`, `who`, `what`, `data`,
/// `device`), `dir` is `asc` or `desc`, `page` counts from 1.
#[server(prefix = "/api", endpoint = "activity/log")]
pub async fn access_log(
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
) -> Result<LogPage, AppError> {
    use super::{Policy, ssr};
    use domain::records::LogSort;
    ssr::run(Policy::SignedIn, |c| async move {
        let range = super::record::ssr::range(from, to)?;
        let sort = match sort.as_deref() {
            None | Some("") => LogSort::When,
            Some(s) => LogSort::parse(s).map_err(|e| AppError::BadRequest(e.0))?,
        };
        let descending = match dir.as_deref() {
            None | Some("") | Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                return Err(AppError::BadRequest(
                    "The order must be asc or desc.".into(),
                ));
            }
        };
        let page = match page.as_deref() {
            None | Some("") => 1,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=100_000).contains(p))
                .ok_or_else(|| AppError::BadRequest("The page must be a number from 1.".into()))?,
        };
        Ok(c.portal
            .access_log(&c.principal, &range, sort, descending, page)
            .await?)
    })
    .await
}
