//! The record's HTTP surface: downloads (who may, headers, re-authentication for the full
//! export) and the EHR feed (`POST /fhir/import` with a clinic API token).

use crate::helpers::{Reply, spawn_app};
use axum::body::Body;
use axum::http::Request;
use backend::demo::{ACTIVATE_MRN, READY_USERNAME};
use backend::storage::entity::{api_token, audit_event, patient};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::time::Duration;

const DOWNLOADS: [(&str, &str); 4] = [
    ("/download/immunizations.pdf", "application/pdf"),
    (
        "/download/summary.pdf?from=2026-01-01&to=",
        "application/pdf",
    ),
    ("/download/summary.xml", "application/xml"),
    ("/download/record.json", "application/fhir+json"),
];

fn expect_attachment(r: &Reply, kind: &str) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["content-type"], kind);
    let disposition = r.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    assert_eq!(r.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn downloads_are_for_the_signed_in_patient_only() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let fen = app.session_for("fen.mocklin").await;
    for (path, kind) in DOWNLOADS {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 401, "{path} anonymous: {}", r.body);
        let r = app.get(path, Some(&fen)).await;
        assert_eq!(r.status, 403, "{path} as staff: {}", r.body);
        let r = app.get(path, Some(&dara)).await;
        expect_attachment(&r, kind);
        assert!(
            !r.body.contains("Stubfield"),
            "{path} holds only Dara's record"
        );
    }
    let downloads = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("record.download"))
        .count(&app.portal.db)
        .await
        .unwrap();
    assert_eq!(downloads, 4, "each download is audited once");
}

#[tokio::test]
async fn another_patient_downloads_only_their_own_record() {
    let app = spawn_app().await;
    app.activate(ACTIVATE_MRN, "emet.stubfield").await;
    let emet = app.session_for("emet.stubfield").await;
    let r = app.get("/download/record.json", Some(&emet)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Stubfield") && !r.body.contains("Dummett"));
    let r = app.get("/download/summary.xml", Some(&emet)).await;
    assert!(r.body.contains("Stubfield") && !r.body.contains("Dummett"));
}

#[tokio::test]
async fn the_whole_record_needs_the_password_confirmed_in_the_last_five_minutes() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    app.clock.advance(Duration::from_secs(6 * 60));
    let r = app.get("/download/record.json", Some(&dara)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("confirm your password"), "{}", r.body);
    // The PDFs need no confirmation.
    let r = app.get("/download/immunizations.pdf", Some(&dara)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn bad_dates_get_a_message_that_says_what_to_fix() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let r = app
        .get("/download/summary.pdf?from=15%2F09%2F2026", Some(&dara))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("like 2026-09-15"), "{}", r.body);
    let r = app
        .get(
            "/download/summary.pdf?from=2026-09-15&to=2026-01-01",
            Some(&dara),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("on or before"), "{}", r.body);
}

#[tokio::test]
async fn a_download_started_from_another_site_is_refused() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let req = Request::get("/download/immunizations.pdf")
        .header("host", "localhost:3000")
        .header("sec-fetch-site", "cross-site")
        .header(
            "cookie",
            format!("{}={dara}", backend::auth::session::COOKIE),
        )
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

async fn feed(app: &crate::helpers::TestApp, token: Option<&str>, kind: &str, body: &str) -> Reply {
    let mut req = Request::post("/fhir/import")
        .header("host", "localhost:3000")
        .header("content-type", kind);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    app.send(req.body(Body::from(body.to_owned())).unwrap())
        .await
}

fn new_patient_bundle(mrn: &str) -> String {
    serde_json::json!({
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{
            "fullUrl": "urn:uuid:0b4b3c52-6a50-4c3e-9a8e-0f1f7a6c0d11",
            "resource": {
                "resourceType": "Patient",
                "id": "feed-patient-1",
                "identifier": [{"system": "urn:example:mrn", "value": mrn}],
                "name": [{"family": "Feedwell", "given": ["Ada"]}],
                "birthDate": "1980-02-29"
            }
        }, {
            "resource": {
                "resourceType": "Immunization",
                "id": "feed-imm-1",
                "status": "completed",
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}], "text": "Influenza"},
                "patient": {"reference": "Patient/feed-patient-1"},
                "occurrenceDateTime": "2026-10-01"
            }
        }]
    })
    .to_string()
}

#[tokio::test]
async fn the_ehr_feed_imports_with_a_clinic_token_and_refuses_without_one() {
    let app = spawn_app().await;
    let clinic = backend::demo::default_clinic(&app.portal).await.unwrap();
    let (id, secret) = app
        .portal
        .create_api_token(&clinic, "EHR feed")
        .await
        .unwrap();
    // Only a hash is kept.
    let row = api_token::Entity::find_by_id(id.clone())
        .one(&app.portal.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.token_hash, secret);
    assert!(!row.token_hash.contains(&secret));

    let body = new_patient_bundle("FEED0001");
    let r = feed(&app, None, "application/fhir+json", &body).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.headers.contains_key("www-authenticate"));
    let r = feed(
        &app,
        Some("mhcfeed_not-a-real-token"),
        "application/fhir+json",
        &body,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = feed(&app, Some(&secret), "text/plain", &body).await;
    assert_eq!(r.status, 415, "{}", r.body);
    let r = feed(&app, Some(&secret), "application/fhir+json", "{not json").await;
    assert_eq!(r.status, 400, "{}", r.body);

    let r = feed(&app, Some(&secret), "application/fhir+json", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let summary: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(summary["imported"], true);
    assert_eq!(summary["created"]["Patient"], 1);
    assert_eq!(summary["created"]["Immunization"], 1);
    let again = feed(&app, Some(&secret), "application/fhir+json", &body).await;
    let again: serde_json::Value = serde_json::from_str(&again.body).unwrap();
    assert_eq!(again["unchanged"]["Immunization"], 1);

    // A bad resource refuses the whole call, with where and what.
    let broken = body.replace("\"completed\"", "null");
    let r = feed(
        &app,
        Some(&secret),
        "application/fhir+json",
        &broken.replace("FEED0001", "FEED0002"),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("feed-imm-1") && r.body.contains("status"),
        "{}",
        r.body
    );
    let none = patient::Entity::find()
        .filter(patient::Column::Mrn.eq("FEED0002"))
        .count(&app.portal.db)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing of a refused call is kept");

    // NDJSON works the same way.
    let ndjson = "{\"resourceType\":\"Patient\",\"id\":\"feed-patient-3\",\"identifier\":[{\"value\":\"FEED0003\"}],\"name\":[{\"family\":\"Lines\",\"given\":[\"Nora\"]}],\"birthDate\":\"1990-01-01\"}\n";
    let r = feed(&app, Some(&secret), "application/fhir+ndjson", ndjson).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A revoked token stops working on the next call.
    app.portal.revoke_api_token(&id).await.unwrap();
    let r = feed(&app, Some(&secret), "application/fhir+json", &body).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("import.feed"))
        .count(&app.portal.db)
        .await
        .unwrap();
    assert!(audited >= 6, "{audited}");
}
