//! Test results.

use crate::error::AppError;
use domain::records::{ResultDay, ResultDetail};
use leptos::prelude::*;

/// Released results, optionally between two dates (`YYYY-MM-DD`, both included).
#[server(prefix = "/api", endpoint = "results/list")]
pub async fn list_results(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<ResultDay>, AppError> {
    super::record::ssr::ranged(
        domain::proxy::Scope::Results,
        from,
        to,
        |p, a, r| async move { p.list_results(&a, &r).await },
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
