//! Messages with attachments over HTTP (multipart form posts), attachment and calendar
//! downloads: who may send and fetch, size and type limits, and the download headers.

use crate::helpers::{Reply, TestApp, spawn_app};
use axum::body::Body;
use axum::http::Request;
use backend::demo::{ACTIVATE_MRN, READY_USERNAME};
use backend::storage::entity::{message, message_attachment};
use sea_orm::{EntityTrait, PaginatorTrait};

const BOUNDARY: &str = "----mhc-test-boundary";

fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_form(
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
    session: Option<&str>,
    site: &str,
) -> Reply {
    let mut req = Request::post(path)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("accept", "text/html")
        .header("host", "localhost:3000")
        .header("sec-fetch-site", site);
    if let Some(token) = session {
        req = req.header(
            "cookie",
            format!("{}={token}", backend::auth::session::COOKIE),
        );
    }
    app.send(req.body(Body::from(body)).unwrap()).await
}

async fn team(app: &TestApp) -> String {
    backend::storage::entity::care_team::Entity::find()
        .one(&app.portal.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

#[tokio::test]
async fn a_message_with_an_attachment_is_sent_by_form_post_and_served_only_to_its_people() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let team = team(&app).await;
    let body = multipart(
        &[
            ("team", &team),
            ("clinician", ""),
            ("topic", "question"),
            ("subject", "A rash"),
            ("body", "Photo attached."),
        ],
        &[("../rash photo.png", PNG)],
    );
    let r = post_form(&app, "/messages/send", body, Some(&dara), "same-origin").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.headers["location"].to_str().unwrap();
    assert!(
        to.starts_with("/messages/") && to.ends_with("?sent=1"),
        "{to}"
    );
    let file = message_attachment::Entity::find()
        .one(&app.portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.filename, "rash photo.png");
    let path = format!("/messages/attachment/{}", file.id);

    let r = app.get(&path, Some(&dara)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["content-type"], "image/png");
    let disposition = r.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"rash_photo.png\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''rash%20photo.png"),
        "{disposition}"
    );
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );

    assert_eq!(app.get(&path, None).await.status, 401);
    let fen = app.session_for("fen.mocklin").await;
    assert_eq!(app.get(&path, Some(&fen)).await.status, 200);
    let sam = app.session_for("sam.admin").await;
    assert_eq!(app.get(&path, Some(&sam)).await.status, 403);
    app.activate(ACTIVATE_MRN, "emet.stubfield").await;
    let emet = app.session_for("emet.stubfield").await;
    assert_eq!(app.get(&path, Some(&emet)).await.status, 404);
    // Emet cannot reply into Dara's thread either.
    let thread = to
        .trim_start_matches("/messages/")
        .trim_end_matches("?sent=1");
    let reply = multipart(&[("thread", thread), ("body", "hello")], &[]);
    let r = post_form(&app, "/messages/send", reply, Some(&emet), "same-origin").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        message::Entity::find().count(&app.portal.db).await.unwrap(),
        1
    );

    // The clinician answers through the staff form; a patient cannot use it.
    let answer = multipart(&[("thread", thread), ("body", "Looks like eczema.")], &[]);
    let r = post_form(
        &app,
        "/staff/messages/send",
        answer.clone(),
        Some(&dara),
        "same-origin",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = post_form(
        &app,
        "/staff/messages/send",
        answer,
        Some(&fen),
        "same-origin",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        message::Entity::find().count(&app.portal.db).await.unwrap(),
        2
    );
}

#[tokio::test]
async fn bad_attachments_and_cross_site_posts_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let team = team(&app).await;
    let fields = [
        ("team", team.as_str()),
        ("topic", "question"),
        ("subject", "Files"),
        ("body", "See attached."),
    ];
    let html = multipart(&fields, &[("page.pdf", b"<html><script>alert(1)</script>")]);
    let r = post_form(&app, "/messages/send", html, Some(&dara), "same-origin").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not a PDF, JPEG or PNG"), "{}", r.body);
    assert!(
        !r.body.contains("<script>alert"),
        "the page never echoes the upload"
    );

    let mut big = b"%PDF-".to_vec();
    big.resize(6 * 1024 * 1024, b'x');
    let r = post_form(
        &app,
        "/messages/send",
        multipart(&fields, &[("big.pdf", &big)]),
        Some(&dara),
        "same-origin",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("files can be at most 5.0 MB"), "{}", r.body);

    let mut huge = b"%PDF-".to_vec();
    huge.resize(crate_limit() + 1024, b'x');
    let r = post_form(
        &app,
        "/messages/send",
        multipart(&fields, &[("huge.pdf", &huge)]),
        Some(&dara),
        "same-origin",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("too large"), "{}", r.body);

    let ok = multipart(&fields, &[]);
    let r = post_form(&app, "/messages/send", ok, Some(&dara), "cross-site").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        message::Entity::find().count(&app.portal.db).await.unwrap(),
        0
    );
    assert_eq!(
        message_attachment::Entity::find()
            .count(&app.portal.db)
            .await
            .unwrap(),
        0
    );
}

fn crate_limit() -> usize {
    server::messages::BODY_LIMIT
}

#[tokio::test]
async fn a_visit_downloads_as_an_ics_file_for_its_patient_only() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let principal = app.portal.principal(Some(&dara)).await.unwrap();
    let access = app
        .portal
        .own_record(&principal, &Default::default())
        .await
        .unwrap();
    let kind = backend::storage::entity::visit_type::Entity::find()
        .all(&app.portal.db)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.name == "Follow-up visit")
        .unwrap()
        .id;
    let slots = app
        .portal
        .patient_slots(&access, &kind, None, None)
        .await
        .unwrap();
    let id = app
        .portal
        .book_appointment(&access, &slots[0].key, "")
        .await
        .unwrap();
    let path = format!("/calendar/{id}.ics");
    let r = app.get(&path, Some(&dara)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["content-type"], "text/calendar; charset=utf-8");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(r.body.starts_with("BEGIN:VCALENDAR\r\n"), "{}", r.body);
    assert!(
        r.body
            .contains("SUMMARY:Follow-up visit at Riverside Family Clinic")
    );
    app.activate(ACTIVATE_MRN, "emet.stubfield").await;
    let emet = app.session_for("emet.stubfield").await;
    assert_eq!(app.get(&path, Some(&emet)).await.status, 404);
    assert_eq!(app.get(&path, None).await.status, 401);
}
