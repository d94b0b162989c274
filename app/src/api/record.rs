//! The health record's sections: each list takes an optional date range (`YYYY-MM-DD`).

use crate::error::AppError;
use domain::page::Page;
use domain::records::{
    AllergyView, ImmunizationView, MedicationView, ProblemView, RecordHighlights,
    ReleasePreferenceView, VisitView, VitalView,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::super::ssr;
    use crate::error::AppError;
    use backend::{PatientAccess, Portal};
    use domain::proxy::Scope;
    use domain::records::DateRange;
    use std::future::Future;

    /// The range from the form's fields; a bad date is a 400 that says what to fix.
    pub fn range(from: Option<String>, to: Option<String>) -> Result<DateRange, AppError> {
        DateRange::parse(from.as_deref().unwrap_or(""), to.as_deref().unwrap_or(""))
            .map_err(|e| AppError::BadRequest(e.0))
    }

    /// Where an older page starts, from the address's `before=` (empty for the newest).
    pub fn before(raw: Option<String>) -> Result<Option<domain::page::Before>, AppError> {
        raw.filter(|b| !b.trim().is_empty())
            .map(|b| domain::page::Before::parse(&b))
            .transpose()
            .map_err(|e| AppError::BadRequest(e.0))
    }

    /// One part of the record the session is on, narrowed to a date range.
    pub async fn ranged<T, F, Fut>(
        scope: Scope,
        from: Option<String>,
        to: Option<String>,
        read: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(Portal, PatientAccess, DateRange) -> Fut,
        Fut: Future<Output = backend::Result<T>>,
    {
        ssr::with_record(scope, |c, access| async move {
            let range = range(from, to)?;
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
    ssr::ranged(
        domain::proxy::Scope::Medications,
        from,
        to,
        |p, a, r| async move { p.list_medications(&a, &r).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "record/allergies")]
pub async fn list_allergies(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<AllergyView>, AppError> {
    ssr::ranged(
        domain::proxy::Scope::Clinical,
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
        domain::proxy::Scope::Clinical,
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
    ssr::ranged(
        domain::proxy::Scope::Immunizations,
        from,
        to,
        |p, a, r| async move { p.list_immunizations(&a, &r).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "record/vitals")]
pub async fn list_vitals(
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<VitalView>, AppError> {
    ssr::ranged(
        domain::proxy::Scope::Clinical,
        from,
        to,
        |p, a, r| async move { p.list_vitals(&a, &r).await },
    )
    .await
}

/// One page of visit summaries, newest first; `before` (the previous page's `earlier`) asks
/// for older ones.
#[server(prefix = "/api", endpoint = "record/visits")]
pub async fn list_visits(
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
) -> Result<Page<VisitView>, AppError> {
    let before = ssr::before(before)?;
    ssr::ranged(
        domain::proxy::Scope::Visits,
        from,
        to,
        |p, a, r| async move { p.visits_page(&a, &r, before).await },
    )
    .await
}

/// The Home page's cards. "New" means released since the previous sign-in.
#[server(prefix = "/api", endpoint = "record/highlights")]
pub async fn home_highlights() -> Result<RecordHighlights, AppError> {
    use super::{Policy, ssr};
    use domain::proxy::Scope;
    ssr::run(Policy::AnyRecord, |c| async move {
        let since = c.portal.previous_sign_in(&c.principal).await?;
        let results = c.part(Scope::Results).await?;
        let medications = c.part(Scope::Medications).await?;
        let visits = c.part(Scope::Visits).await?;
        let immunizations = c.part(Scope::Immunizations).await?;
        let parts = backend::records::HighlightParts {
            results: results.as_ref(),
            medications: medications.as_ref(),
            visits: visits.as_ref(),
            immunizations: immunizations.as_ref(),
        };
        Ok(c.portal.record_highlights(parts, since).await?)
    })
    .await
}

/// Sends the health summary (`format` `pdf` or `ccda`) for a date range to an email address
/// the patient typed; `confirm` must be `send` (the confirmation box), so nothing goes out
/// by a slip. Returns the sentence to show.
#[server(prefix = "/api", endpoint = "record/transmit")]
pub async fn transmit_summary(
    email: String,
    format: String,
    from: Option<String>,
    to: Option<String>,
    confirm: Option<String>,
) -> Result<String, AppError> {
    use super::ssr;
    ssr::with_own(|c, access| async move {
        let recipient =
            domain::account::Email::parse(&email).map_err(|e| AppError::BadRequest(e.0))?;
        let format = backend::export::SummaryFormat::parse(&format)?;
        let range = self::ssr::range(from, to)?;
        if confirm.as_deref() != Some("send") {
            return Err(AppError::BadRequest(
                "Tick the box to confirm that you want to send your health summary to this address."
                    .into(),
            ));
        }
        c.portal
            .transmit_summary(&c.principal, &access, &recipient, &range, format)
            .await?;
        Ok(format!(
            "Your health summary was sent to {}. It is listed in your Activity page.",
            recipient.as_str()
        ))
    })
    .await
}

/// The patient's rule for when new results of each category are shown.
#[server(prefix = "/api", endpoint = "record/release_preferences")]
pub async fn release_preferences() -> Result<Vec<ReleasePreferenceView>, AppError> {
    use super::ssr;
    ssr::with_own(|c, access| async move { Ok(c.portal.release_preferences(&access).await?) }).await
}

/// Sets when new results of `category` are shown: `rule` is `immediately`, `after_review`
/// or `after_days` (with `days`, 1 to 30).
#[server(prefix = "/api", endpoint = "record/release_preference")]
pub async fn set_release_preference(
    category: String,
    rule: String,
    days: Option<String>,
) -> Result<(), AppError> {
    use super::ssr;
    ssr::with_own(|c, access| async move {
        let rule = domain::records::ReleaseRule::parse(&rule, days.as_deref().unwrap_or(""))
            .map_err(|e| AppError::BadRequest(e.0))?;
        Ok(c.portal
            .set_release_preference(&access, &category, rule)
            .await?)
    })
    .await
}
