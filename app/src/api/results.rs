//! Test results.

use crate::error::AppError;
use domain::page::Page;
use domain::records::{ResultDay, ResultDetail};
use leptos::prelude::*;

/// One page of released results, newest first, optionally between two dates (`YYYY-MM-DD`,
/// both included); `before` (from the previous page's `earlier`) asks for older ones.
#[server(prefix = "/api", endpoint = "results/list")]
pub async fn list_results(
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
) -> Result<Page<ResultDay>, AppError> {
    use super::record::ssr;
    let before = ssr::before(before)?;
    ssr::ranged(
        domain::proxy::Scope::Results,
        from,
        to,
        |p, a, r| async move { p.results_page(&a, &r, before).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "results/get")]
pub async fn get_result(id: String) -> Result<ResultDetail, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Results, |c, access| async move {
        if id.is_empty() || id.len() > 64 {
            return Err(AppError::NotFound);
        }
        Ok(c.portal.result_detail(&access, &id).await?)
    })
    .await
}
