//! Secure messages, the patient's side. Messages are sent by a plain multipart form post to
//! `/messages/send` (so attachments travel with their message); reading happens here.

use crate::error::AppError;
use domain::care::{TeamView, ThreadRow, ThreadView};
use leptos::prelude::*;

/// The care teams the patient can write to, with their expected response times.
#[server(prefix = "/api", endpoint = "messages/teams")]
pub async fn care_teams() -> Result<Vec<TeamView>, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Messages, |c, access| async move {
        Ok(c.portal.care_teams(&access).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "messages/list")]
pub async fn list_threads() -> Result<Vec<ThreadRow>, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Messages, |c, access| async move {
        Ok(c.portal.patient_threads(&access).await?)
    })
    .await
}

/// One thread; opening it marks it read.
#[server(prefix = "/api", endpoint = "messages/thread")]
pub async fn get_thread(id: String) -> Result<ThreadView, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Messages, |c, access| async move {
        Ok(c.portal.patient_thread(&access, &id).await?)
    })
    .await
}

/// How many threads have a reply the patient has not opened (for the navigation).
#[server(prefix = "/api", endpoint = "messages/unread")]
pub async fn unread_count() -> Result<u64, AppError> {
    use super::ssr;
    use domain::proxy::Scope;
    ssr::with_record(Scope::Messages, |c, access| async move {
        Ok(c.portal.unread_threads(&access).await?)
    })
    .await
}
