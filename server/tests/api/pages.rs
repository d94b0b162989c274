//! Lists a page at a time over HTTP: for a patient with 10,000 results the results page and
//! its API answer stay small, "Show earlier" is a plain link, and a bad page is a 400.

use crate::helpers::spawn_app;
use backend::demo::labs::lab_history;
use backend::demo::{READY_MRN, READY_USERNAME};

/// The `before=` value of the page's "Show earlier" link.
fn earlier_link(html: &str) -> Option<String> {
    let at = html.find("before=")? + "before=".len();
    Some(
        html[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect(),
    )
}

#[tokio::test]
async fn ten_thousand_results_answer_a_small_page_with_a_link_to_earlier_ones() {
    let app = spawn_app().await;
    let clinic = backend::demo::default_clinic(&app.portal).await.unwrap();
    let history = lab_history(
        READY_MRN,
        "years",
        time::macros::date!(2023 - 01 - 01),
        1_000,
        10,
    );
    app.portal.import_bundle(&clinic, &history).await.unwrap();
    let dara = app.session_for(READY_USERNAME).await;

    let api = app.call("/api/results/list", "", Some(&dara)).await;
    assert_eq!(api.status, 200, "{}", api.body);
    assert!(
        api.body.len() < 50_000,
        "API answer {} bytes",
        api.body.len()
    );
    let page: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    let cursor = page["earlier"].as_i64().expect("an earlier page");

    let html = app.get("/results", Some(&dara)).await;
    assert_eq!(html.status, 200);
    assert!(html.body.len() < 100_000, "page {} bytes", html.body.len());
    assert!(html.body.contains("Show earlier"), "{}", html.body);
    assert_eq!(earlier_link(&html.body), Some(cursor.to_string()));

    // The link, followed without JavaScript, shows older results and links on again.
    let older = app
        .get(&format!("/results?before={cursor}"), Some(&dara))
        .await;
    assert_eq!(older.status, 200);
    assert!(older.body.contains("Back to the newest"));
    let next = earlier_link(&older.body).expect("more pages");
    assert!(next.parse::<i64>().unwrap() < cursor);

    // The date filter and the page travel together.
    let ranged = app
        .call(
            "/api/results/list",
            &format!("from=2024-01-01&to=2024-12-31&before={cursor}"),
            Some(&dara),
        )
        .await;
    assert_eq!(ranged.status, 200, "{}", ranged.body);
    let days: serde_json::Value = serde_json::from_str(&ranged.body).unwrap();
    for d in days["items"].as_array().unwrap() {
        assert!(d["date"].as_str().unwrap().starts_with("2024-"), "{d}");
    }

    for bad in ["soon", "-5", "1e12", "99999999999999999999"] {
        let r = app
            .call("/api/results/list", &format!("before={bad}"), Some(&dara))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(
            r.body.contains("Show earlier"),
            "says what to do: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn visits_come_a_page_at_a_time_too() {
    let app = spawn_app().await;
    let dara = app.session_for(READY_USERNAME).await;
    let r = app.call("/api/record/visits", "", Some(&dara)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(!page["items"].as_array().unwrap().is_empty());
    assert!(page["earlier"].is_null(), "the demo's visits fit one page");
    let r = app
        .call("/api/record/visits", "before=yesterday", Some(&dara))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}
