//! `POST /messages/send` and `POST /staff/messages/send`: a message with its attachments, as a
//! plain multipart form post (works without JavaScript; the files travel with their message
//! in one transaction). `GET /messages/attachment/{id}` serves an attachment as a download,
//! and `GET /calendar/{id}.ics` a visit as a calendar file.

use crate::downloads::content_disposition;
use crate::web::WebState;
use axum::extract::{FromRequest, Multipart, Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use backend::messaging::{INBOX_ROLES, Upload};
use backend::{Error, Portal, Principal, RequestMeta};
use domain::care::{ATTACHMENT_BYTES_MAX, ATTACHMENTS_MAX};
use domain::proxy::Scope;
use std::sync::Arc;

/// A body can hold the largest allowed attachments plus the text.
pub const BODY_LIMIT: usize = ATTACHMENTS_MAX * ATTACHMENT_BYTES_MAX + 256 * 1024;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small page that says why the message was not sent (the browser's Back button keeps what
/// was typed).
fn problem(status: StatusCode, message: &str, back: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Message not sent · My Health Connection</title><link rel=\"stylesheet\" href=\"{}\"></head><body><main id=\"main\"><h1>Your message was not sent</h1><p class=\"alert\" role=\"alert\">{}</p><p>Use your browser's Back button to correct it: what you typed is kept there. Or <a href=\"{}\">go back to your messages</a>.</p></main></body></html>",
        crate::assets::stylesheet(),
        escape(message),
        escape(back)
    );
    let mut res = (status, html).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn failed(e: Error, back: &str) -> Response {
    match e {
        Error::Invalid(m) => problem(StatusCode::BAD_REQUEST, &m, back),
        Error::Conflict(m) => problem(StatusCode::CONFLICT, &m, back),
        Error::Unauthenticated => problem(
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Sign in, then write your message again.",
            "/signin",
        ),
        Error::Refused(m) => problem(StatusCode::FORBIDDEN, &m, back),
        Error::Forbidden => problem(
            StatusCode::FORBIDDEN,
            "You do not have access to this inbox.",
            back,
        ),
        Error::NotFound => problem(
            StatusCode::NOT_FOUND,
            "We could not find that conversation.",
            back,
        ),
        e => {
            tracing::error!(detail = %e, "a message could not be sent");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Try again in a few minutes.",
                back,
            )
        }
    }
}

async fn caller(
    portal: &Portal,
    parts: &axum::http::request::Parts,
) -> Result<(Principal, RequestMeta), Error> {
    let meta = app::api::ssr::meta(parts);
    let token = app::api::ssr::cookie(&parts.headers, backend::auth::session::COOKIE);
    Ok((portal.principal(token.as_deref()).await?, meta))
}

/// The form's fields and files.
#[derive(Default)]
struct Form {
    fields: Vec<(String, String)>,
    files: Vec<Upload>,
}

impl Form {
    fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

async fn read_form(req: Request) -> Result<Form, Error> {
    let bad = |m: &str| Error::Invalid(m.to_owned());
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|_| bad("Send the message from the portal's message form."))?;
    let mut form = Form::default();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(bad(
                    "The attachments are too large together: attach at most 3 files of 5 MB each.",
                ));
            }
            Err(_) => {
                return Err(bad(
                    "The message did not arrive whole. Try sending it again.",
                ));
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let filename = field.file_name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(|_| {
                bad("The attachments are too large together: attach at most 3 files of 5 MB each.")
            })?;
            if form.files.len() > ATTACHMENTS_MAX {
                return Err(bad("Attach at most 3 files to one message."));
            }
            form.files.push(Upload {
                filename,
                bytes: bytes.to_vec(),
            });
        } else {
            let text = field
                .text()
                .await
                .map_err(|_| bad("The message did not arrive whole. Try sending it again."))?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

/// The patient's new message (no `thread`) or reply (with `thread`).
pub async fn patient_send(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    req: Request,
) -> Response {
    let portal = &state.portal;
    let (parts, body) = req.into_parts();
    let (principal, meta) = match caller(portal, &parts).await {
        Ok(c) => c,
        Err(e) => return failed(e, "/messages"),
    };
    let access = match portal.record(&principal, Scope::Messages, &meta).await {
        Ok(a) => a,
        Err(e) => return failed(e, "/messages"),
    };
    let form = match read_form(Request::from_parts(parts, body)).await {
        Ok(f) => f,
        Err(e) => return failed(e, "/messages"),
    };
    let thread = form.get("thread");
    let body = form.get("body");
    let (team, clinician, topic, subject) = (
        form.get("team"),
        form.get("clinician"),
        form.get("topic"),
        form.get("subject"),
    );
    let outcome = if thread.is_empty() {
        portal
            .start_thread(
                &access,
                &team,
                Some(&clinician),
                &topic,
                &subject,
                &body,
                form.files,
            )
            .await
    } else {
        portal
            .patient_reply(&access, &thread, &body, form.files)
            .await
            .map(|_| thread.clone())
    };
    match outcome {
        Ok(id) => Redirect::to(&format!("/messages/{id}?sent=1")).into_response(),
        Err(e) => failed(
            e,
            &if thread.is_empty() {
                "/messages".to_owned()
            } else {
                format!("/messages/{thread}")
            },
        ),
    }
}

/// A staff reply to a thread of the clinic's inbox.
pub async fn staff_send(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    req: Request,
) -> Response {
    let portal = &state.portal;
    let (parts, body) = req.into_parts();
    let back = "/staff/messages";
    let (principal, meta) = match caller(portal, &parts).await {
        Ok(c) => c,
        Err(e) => return failed(e, back),
    };
    let staff = match portal
        .staff_access(&principal, INBOX_ROLES, "reply to a message", &meta)
        .await
    {
        Ok(s) => s,
        Err(e) => return failed(e, back),
    };
    let form = match read_form(Request::from_parts(parts, body)).await {
        Ok(f) => f,
        Err(e) => return failed(e, back),
    };
    let (thread, body) = (form.get("thread"), form.get("body"));
    match portal.staff_reply(&staff, &thread, &body, form.files).await {
        Ok(()) => Redirect::to(&format!("/staff/messages/{thread}?sent=1")).into_response(),
        Err(e) => failed(e, &format!("/staff/messages/{thread}")),
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut res = (status, message.to_owned()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

fn download_failed(e: Error) -> Response {
    match e {
        Error::Unauthenticated => refuse(StatusCode::UNAUTHORIZED, "Sign in to open this file."),
        Error::Forbidden => refuse(StatusCode::FORBIDDEN, "This file is not yours to open."),
        Error::Refused(m) => refuse(StatusCode::FORBIDDEN, &m),
        Error::NotFound | Error::Invalid(_) => {
            refuse(StatusCode::NOT_FOUND, "We could not find that file.")
        }
        e => {
            tracing::error!(detail = %e, "a download failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Try again in a few minutes.",
            )
        }
    }
}

fn cross_site(parts: &axum::http::request::Parts) -> bool {
    parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == "cross-site")
}

fn attachment(content_type: &str, filename: &str, bytes: Vec<u8>) -> Response {
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Never rendered in the portal's origin, whatever its bytes.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; sandbox; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    res
}

/// An attachment, for the patient of the thread or staff of its clinic.
pub async fn attachment_download(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let portal = &state.portal;
    let (parts, _) = req.into_parts();
    if cross_site(&parts) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Open files from the portal's own pages.",
        );
    }
    let (principal, meta) = match caller(portal, &parts).await {
        Ok(c) => c,
        Err(e) => return download_failed(e),
    };
    let found = if principal.is_staff() {
        match portal
            .staff_access(&principal, INBOX_ROLES, "message attachment", &meta)
            .await
        {
            Ok(s) => portal.staff_attachment(&s, &id).await,
            Err(e) => Err(e),
        }
    } else {
        match portal.record(&principal, Scope::Messages, &meta).await {
            Ok(a) => portal.patient_attachment(&a, &id).await,
            Err(e) => Err(e),
        }
    };
    match found {
        Ok(a) => attachment(&a.content_type, &a.filename, a.content),
        Err(e) => download_failed(e),
    }
}

/// A visit as an .ics calendar file (the patient's own).
pub async fn calendar(
    axum::Extension(state): axum::Extension<Arc<WebState>>,
    Path(file): Path<String>,
    req: Request,
) -> Response {
    let portal = &state.portal;
    let (parts, _) = req.into_parts();
    if cross_site(&parts) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Open files from the portal's own pages.",
        );
    }
    let Some(id) = file.strip_suffix(".ics") else {
        return refuse(StatusCode::NOT_FOUND, "We could not find that file.");
    };
    let (principal, meta) = match caller(portal, &parts).await {
        Ok(c) => c,
        Err(e) => return download_failed(e),
    };
    let ics = match portal.record(&principal, Scope::Appointments, &meta).await {
        Ok(a) => portal.appointment_ics(&a, id).await,
        Err(e) => Err(e),
    };
    match ics {
        Ok(text) => attachment(
            "text/calendar; charset=utf-8",
            "appointment.ics",
            text.into_bytes(),
        ),
        Err(e) => download_failed(e),
    }
}
