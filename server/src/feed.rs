//! `POST /fhir/import`: the EHR feed. A clinic's system sends a FHIR R4 Bundle
//! (`application/fhir+json`) or Bulk Data NDJSON (`application/fhir+ndjson`) with
//! `Authorization: Bearer <token>`; the answer is the import summary as JSON.

use crate::web::WebState;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::Error;
use backend::feed::FeedBody;
use serde_json::json;
use std::sync::Arc;

static FEED_TURN: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The largest body a feed call may send (a day's batch of a small clinic fits easily).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"fhir-import\""),
        );
    }
    res
}

fn refused(status: StatusCode, message: &str) -> Response {
    answer(status, json!({ "imported": false, "errors": [message] }))
}

pub async fn import(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let meta = app::api::ssr::meta(&parts);
    let Some(token) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "Send the clinic's API token as 'Authorization: Bearer <token>' (create one with mhc token create).",
        );
    };
    // The token before the body: an unknown caller does not get to make us read 32 MB.
    let token = match state.portal.feed_token(token, &meta).await {
        Ok(t) => t,
        Err(Error::Unauthenticated) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "The API token is not known or was revoked.",
            );
        }
        Err(e) => {
            tracing::error!(detail = %e, "checking a feed token failed");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; nothing was imported. Try again later.",
            );
        }
    };
    let kind = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let ndjson = match kind.as_str() {
        "application/fhir+json" | "application/json" => false,
        "application/fhir+ndjson" | "application/ndjson" | "application/x-ndjson" => true,
        _ => {
            return refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send a Bundle as application/fhir+json, or NDJSON as application/fhir+ndjson.",
            );
        }
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "The body is larger than {} MB: split it into several calls.",
                    MAX_BODY / 1024 / 1024
                ),
            );
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return refused(StatusCode::BAD_REQUEST, "The body must be UTF-8 text.");
    };
    let bundle;
    let body = if ndjson {
        FeedBody::Ndjson(text)
    } else {
        bundle = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => v,
            Err(e) => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    &format!("The body is not JSON: {e}"),
                );
            }
        };
        FeedBody::Bundle(&bundle)
    };
    // One import at a time: a large import holds the write lock on SQLite.
    let _turn = FEED_TURN.acquire().await;
    match state.portal.feed_import_as(&token, body, &meta).await {
        Ok(s) => {
            let imported = s.errors.is_empty();
            answer(
                if imported {
                    StatusCode::OK
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                json!({
                    "imported": imported,
                    "created": s.created,
                    "updated": s.updated,
                    "unchanged": s.unchanged,
                    "rejected": s.rejected,
                    "skipped": s.skipped,
                    "errors": s.errors,
                }),
            )
        }
        Err(Error::Unauthenticated) => refused(
            StatusCode::UNAUTHORIZED,
            "The API token is not known or was revoked.",
        ),
        Err(Error::Invalid(m)) => refused(StatusCode::BAD_REQUEST, &m),
        Err(e) => {
            tracing::error!(detail = %e, "a feed import failed");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; nothing was imported. Try again later.",
            )
        }
    }
}
