//! `GET /download/…`: the patient's files (immunization PDF, health summary PDF, FHIR record),
//! sent as attachments that are never cached. Each goes through the access layer and is
//! audited by the backend as a download.

use crate::web::WebState;
use axum::extract::{Query, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::export::{Download, SummaryFormat};
use backend::{Error, PatientAccess, Portal, Principal};
use domain::proxy::Scope;
use domain::records::DateRange;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize, Default)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `attachment` with an RFC 6266 / RFC 5987 filename (ASCII and UTF-8 forms).
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn file(d: Download) -> Response {
    let mut res = (StatusCode::OK, d.bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(d.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&d.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut res = (status, message.to_owned()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

fn error_response(e: Error) -> Response {
    match e {
        Error::Unauthenticated => refuse(
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Sign in, then download again.",
        ),
        Error::Forbidden => refuse(
            StatusCode::FORBIDDEN,
            "Downloads are for the patient whose record it is.",
        ),
        Error::Refused(m) => refuse(StatusCode::FORBIDDEN, &m),
        Error::ReauthRequired => refuse(
            StatusCode::FORBIDDEN,
            "For your security, confirm your password on the Downloads and sharing page, then download your whole record within 5 minutes.",
        ),
        Error::Invalid(m) => refuse(StatusCode::BAD_REQUEST, &m),
        Error::NotFound => refuse(StatusCode::NOT_FOUND, "There is no record to download."),
        e => {
            tracing::error!(detail = %e, "a download failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Try again in a few minutes.",
            )
        }
    }
}

/// The caller and their own record, or the response that refuses them. A download started
/// from another site (a link planted elsewhere) is refused too.
async fn own(
    portal: &Portal,
    req: Request,
    scope: Option<Scope>,
) -> Result<(Principal, PatientAccess), Response> {
    // The parts only: the body is not shared across the awaits below.
    let (req, _) = req.into_parts();
    if req
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == "cross-site")
    {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Open your downloads from the portal's own pages.",
        ));
    }
    let meta = app::api::ssr::meta(&req);
    let token = app::api::ssr::cookie(&req.headers, backend::auth::session::COOKIE);
    let principal = portal
        .principal(token.as_deref())
        .await
        .map_err(error_response)?;
    // A part of the record (the immunization record) is open to a caregiver granted it;
    // whole-record downloads are for the patient only.
    let access = match scope {
        Some(scope) => portal.record(&principal, scope, &meta).await,
        None => portal.own_record(&principal, &meta).await,
    }
    .map_err(error_response)?;
    Ok((principal, access))
}

pub async fn immunizations(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    req: Request,
) -> Response {
    let portal = &state.portal;
    let (_, access) = match own(portal, req, Some(Scope::Immunizations)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match portal.immunization_record_pdf(&access).await {
        Ok(d) => file(d),
        Err(e) => error_response(e),
    }
}

/// The health summary as a PDF.
pub async fn summary(
    state: axum::Extension<Arc<WebState>>,
    q: Query<RangeQuery>,
    req: Request,
) -> Response {
    summary_as(state, q, req, SummaryFormat::Pdf).await
}

/// The health summary as a C-CDA R2.1 Continuity of Care Document.
pub async fn summary_ccda(
    state: axum::Extension<Arc<WebState>>,
    q: Query<RangeQuery>,
    req: Request,
) -> Response {
    summary_as(state, q, req, SummaryFormat::Ccda).await
}

async fn summary_as(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    Query(q): Query<RangeQuery>,
    req: Request,
    format: SummaryFormat,
) -> Response {
    let portal = &state.portal;
    let range = match DateRange::parse(
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
    ) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.0),
    };
    let (_, access) = match own(portal, req, None).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match portal.health_summary(&access, &range, format).await {
        Ok(d) => file(d),
        Err(e) => error_response(e),
    }
}

/// The whole record: a full export, so the password must have been confirmed in the last
/// 5 minutes (SECURITY 17).
pub async fn record(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    req: Request,
) -> Response {
    let portal = &state.portal;
    let (principal, access) = match own(portal, req, None).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match portal.export_fhir(&principal, &access).await {
        Ok(d) => file(d),
        Err(e) => error_response(e),
    }
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn filenames_follow_rfc_6266_in_ascii_and_utf_8() {
        assert_eq!(
            content_disposition("immunization-record-2026-12-01.pdf"),
            "attachment; filename=\"immunization-record-2026-12-01.pdf\"; filename*=UTF-8''immunization-record-2026-12-01.pdf"
        );
        assert_eq!(
            content_disposition("résumé \"x\".pdf"),
            "attachment; filename=\"r_sum___x_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22.pdf"
        );
    }
}
