//! The health record's sections: each list takes an optional date range (`YYYY-MM-DD`).

use crate::error::AppError;
use domain::records::{
    AllergyView, ImmunizationView, MedicationView, ProblemView, RecordHighlights, VisitView,
    VitalView,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::super::{Policy, ssr};
    use crate::error::AppError;
    use backend::{PatientAccess, Portal};
    use domain::records::DateRange;
    use std::future::Future;

    /// The range from the form's fields; a bad date is a 400 that says what to fix.
    pub fn range(from: Option<String>, to: Option<String>) -> Result<DateRange, AppError> {
        DateRange::parse(from.as_deref().unwrap_or(""), to.as_deref().unwrap_or(""))
            .map_err(|e| AppError::BadRequest(e.0))
    }

    /// A patient's own record, narrowed to a date range.
    pub async fn ranged<T, F, Fut>(
        from: Option<String>,
        to: Option<String>,
        read: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(Portal, PatientAccess, DateRange) -> Fut,
        Fut: Future<Output = backend::Result<T>>,
    {
        ssr::run(Policy::Patient, |c| async move {
            let range = range(from, to)?;
            let access = c.portal.own_record(&c.principal, &c.meta).await?;
            Ok(read(c.portal.clone(), access, range).await?)
        })
        .await
    }
}

#[server(prefix = "/api", endpoint = "record/medications")]
pub async fn list_medications(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<MedicationView>, AppError> {
    ssr::ranged(from, to, |p, a, r| async move {
        p.list_medications(&a, &r).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "record/allergies")]
pub async fn list_allergies(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<AllergyView>, AppError> {
    ssr::ranged(
        from,
        to,
        |p, a, r| async move { p.list_allergies(&a, &r).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "record/problems")]
pub async fn list_problems(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<ProblemView>, AppError> {
    ssr::ranged(
        from,
        to,
        |p, a, r| async move { p.list_problems(&a, &r).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "record/immunizations")]
pub async fn list_immunizations(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<ImmunizationView>, AppError> {
    ssr::ranged(from, to, |p, a, r| async move {
        p.list_immunizations(&a, &r).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "record/vitals")]
pub async fn list_vitals(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<VitalView>, AppError> {
    ssr::ranged(
        from,
        to,
        |p, a, r| async move { p.list_vitals(&a, &r).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "record/visits")]
pub async fn list_visits(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<VisitView>, AppError> {
    ssr::ranged(
        from,
        to,
        |p, a, r| async move { p.list_visits(&a, &r).await },
    )
    .await
}

/// The Home page's cards. "New" means released since the previous sign-in.
#[server(prefix = "/api", endpoint = "record/highlights")]
pub async fn home_highlights() -> Result<RecordHighlights, AppError> {
    use super::{Policy, ssr};
    ssr::run(Policy::Patient, |c| async move {
        let access = c.portal.own_record(&c.principal, &c.meta).await?;
        let since = c.portal.previous_sign_in(&c.principal).await?;
        Ok(c.portal.record_highlights(&access, since).await?)
    })
    .await
}
