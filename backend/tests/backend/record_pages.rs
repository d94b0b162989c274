//! The results and visits lists a page at a time: bounded, keyset-paginated, a collection
//! never split, and results in the lab's order without reading the stored FHIR per request.

use crate::common::*;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::records::{RESULTS_PAGE, VISITS_PAGE};
use backend::storage::entity::{observation, portal_meta};
use backend::{PatientAccess, Portal};
use domain::page::Before;
use domain::records::{DateRange, ResultDay};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

async fn dara(portal: &Portal) -> PatientAccess {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    portal.own_record(&p, &meta()).await.unwrap()
}

fn lab_bundle(tag: &str, first: time::Date, reports: usize, per_report: usize) -> Value {
    backend::demo::labs::lab_history(DARA_MRN, tag, first, reports, per_report)
}

async fn import(portal: &Portal, bundle: &Value) {
    let clinic = backend::demo::default_clinic(portal).await.unwrap();
    portal.import_bundle(&clinic, bundle).await.unwrap();
}

fn row_ids(days: &[ResultDay]) -> Vec<String> {
    days.iter()
        .flat_map(|d| &d.reports)
        .flat_map(|r| &r.rows)
        .map(|r| r.id.clone())
        .collect()
}

fn report_ids(days: &[ResultDay]) -> Vec<String> {
    days.iter()
        .flat_map(|d| &d.reports)
        .map(|r| r.id.clone())
        .collect()
}

/// Every page from the newest, following `earlier`.
async fn walk(portal: &Portal, a: &PatientAccess, range: &DateRange) -> Vec<Vec<ResultDay>> {
    let mut pages = vec![];
    let mut before = None;
    loop {
        let page = portal.results_page(a, range, before).await.unwrap();
        pages.push(page.items);
        match page.earlier {
            Some(b) => {
                assert!(
                    before.is_none_or(|old: Before| b < old),
                    "pages go back in time"
                );
                before = Some(b);
            }
            None => return pages,
        }
        assert!(pages.len() < 50, "the pages end");
    }
}

#[tokio::test]
async fn results_come_a_bounded_page_at_a_time_and_every_page_is_audited() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    import(
        &portal,
        &lab_bundle("bulk", time::macros::date!(2019 - 01 - 01), 90, 3),
    )
    .await;
    let a = dara(&portal).await;
    let whole = portal.list_results(&a, &DateRange::all()).await.unwrap();
    let total = row_ids(&whole).len();
    assert!(total > 2 * RESULTS_PAGE, "{total} results to page through");

    let audited = audit_rows(&portal, "record.view").await.len();
    let pages = walk(&portal, &a, &DateRange::all()).await;
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_eq!(
        audit_rows(&portal, "record.view").await.len(),
        audited + pages.len(),
        "each page read is audited"
    );
    for p in &pages {
        assert!(row_ids(p).len() <= RESULTS_PAGE, "{}", row_ids(p).len());
        assert!(!p.is_empty());
    }
    // The pages together are the whole list, in the same order, and no report is split.
    let paged: Vec<String> = pages.iter().flat_map(|p| row_ids(p)).collect();
    assert_eq!(paged, row_ids(&whole));
    let reports: Vec<String> = pages.iter().flat_map(|p| report_ids(p)).collect();
    let mut unique = reports.clone();
    unique.dedup();
    assert_eq!(reports, unique, "a report sits on one page only");
    assert_eq!(reports, report_ids(&whole));

    // With a date filter, pages stay inside it.
    let range = DateRange::parse("2019-01-10", "2019-03-20").unwrap();
    let filtered = walk(&portal, &a, &range).await;
    let days: Vec<String> = filtered.iter().flatten().map(|d| d.date.clone()).collect();
    assert_eq!(
        days.len(),
        70,
        "22 days of January, 28 of February, 20 of March"
    );
    assert!(
        days.iter()
            .all(|d| d.as_str() >= "2019-01-10" && d.as_str() <= "2019-03-20")
    );
    assert_eq!(
        filtered
            .iter()
            .map(|p| row_ids(p))
            .collect::<Vec<_>>()
            .concat(),
        row_ids(&portal.list_results(&a, &range).await.unwrap())
    );
}

#[tokio::test]
async fn one_collection_larger_than_a_page_is_shown_whole() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let big = RESULTS_PAGE + 20;
    import(
        &portal,
        &lab_bundle("big", time::macros::date!(2026 - 10 - 01), 1, big),
    )
    .await;
    let a = dara(&portal).await;
    let first = portal
        .results_page(&a, &DateRange::all(), None)
        .await
        .unwrap();
    assert_eq!(report_ids(&first.items).len(), 1);
    assert_eq!(first.items[0].reports[0].name, "Panel 0");
    assert_eq!(row_ids(&first.items).len(), big);
    // The lab's order (the reverse of the ids here), not the ids' order.
    let names: Vec<String> = first.items[0].reports[0]
        .rows
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(
        names.first().unwrap(),
        &format!("Test big-0-{:03}", big - 1)
    );
    assert_eq!(names.last().unwrap(), "Test big-0-000");
    // The older results follow on the next page.
    let next = portal
        .results_page(&a, &DateRange::all(), first.earlier)
        .await
        .unwrap();
    assert_eq!(next.items[0].date, "2026-09-15");
}

#[tokio::test]
async fn results_stored_before_their_position_get_it_once_at_start_up() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    import(
        &portal,
        &lab_bundle("old", time::macros::date!(2026 - 10 - 01), 2, 5),
    )
    .await;
    let a = dara(&portal).await;
    let before = portal.list_results(&a, &DateRange::all()).await.unwrap();
    // As a database from before the column: no positions, no marker.
    observation::Entity::update_many()
        .col_expr(
            observation::Column::ReportPosition,
            Expr::value(Option::<i32>::None),
        )
        .exec(&portal.db)
        .await
        .unwrap();
    portal_meta::Entity::delete_by_id("report_positions_filled".to_owned())
        .exec(&portal.db)
        .await
        .unwrap();
    let unordered = portal.list_results(&a, &DateRange::all()).await.unwrap();
    assert_ne!(
        row_ids(&unordered),
        row_ids(&before),
        "order came from the column"
    );

    backend::storage::migrate(&portal.db).await.unwrap();
    let missing = observation::Entity::find()
        .filter(observation::Column::ReportId.is_not_null())
        .filter(observation::Column::ReportPosition.is_null())
        .all(&portal.db)
        .await
        .unwrap();
    assert!(missing.is_empty(), "{} without a position", missing.len());
    assert_eq!(
        row_ids(&portal.list_results(&a, &DateRange::all()).await.unwrap()),
        row_ids(&before)
    );
}

#[tokio::test]
async fn a_report_sent_again_in_a_new_order_reorders_its_stored_results() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let mut bundle = lab_bundle("re", time::macros::date!(2026 - 10 - 01), 1, 4);
    import(&portal, &bundle).await;
    let a = dara(&portal).await;
    let first = row_ids(&portal.list_results(&a, &DateRange::all()).await.unwrap());
    let listed = bundle["entry"][0]["resource"]["result"]
        .as_array_mut()
        .unwrap();
    listed.reverse();
    import(&portal, &bundle).await;
    let again = row_ids(&portal.list_results(&a, &DateRange::all()).await.unwrap());
    let mut reversed = first[..4].to_vec();
    reversed.reverse();
    assert_eq!(again[..4], reversed[..]);
    assert_eq!(again[4..], first[4..]);
}

#[tokio::test]
async fn visits_come_a_page_at_a_time_each_with_what_was_decided() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let first = time::macros::date!(2010 - 01 - 04);
    let entries: Vec<Value> = (0..45)
        .map(|i| {
            let day = first + time::Duration::weeks(i);
            let at = format!("{}T15:00:00Z", domain::person::format_iso_date(day));
            json!({ "fullUrl": format!("urn:uuid:old-visit-{i}"), "resource": {
                "resourceType": "Encounter", "id": format!("old-visit-{i}"), "status": "finished",
                "type": [{ "text": "Check-up" }], "subject": { "identifier": { "value": DARA_MRN } },
                "period": { "start": at, "end": at }
            }})
        })
        .collect();
    import(
        &portal,
        &json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries }),
    )
    .await;
    let a = dara(&portal).await;
    let all = DateRange::all();
    let whole = portal.list_visits(&a, &all).await.unwrap();
    assert_eq!(whole.len(), 48);
    let mut pages = vec![];
    let mut before = None;
    loop {
        let page = portal.visits_page(&a, &all, before).await.unwrap();
        assert!(page.items.len() <= VISITS_PAGE);
        pages.push(page.items);
        match page.earlier {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(pages.len(), 3);
    let paged: Vec<_> = pages.concat();
    assert_eq!(
        paged, whole,
        "the same visits, described the same, in the same order"
    );
    // The demo's own visits, on the first page, keep their diagnoses and clinician.
    let march = pages[0]
        .iter()
        .find(|v| v.date.as_deref() == Some("2026-03-12"))
        .unwrap();
    assert_eq!(march.clinician.as_deref(), Some("Dr Fen Mocklin"));
    assert!(!march.diagnoses.is_empty());
    let narrowed = portal
        .visits_page(
            &a,
            &DateRange::parse("2010-01-01", "2010-12-31").unwrap(),
            None,
        )
        .await
        .unwrap();
    assert!(narrowed.items.len() <= VISITS_PAGE);
    assert!(
        narrowed.earlier.is_some(),
        "the visits of 2010 need more than one page"
    );
    assert!(
        narrowed
            .items
            .iter()
            .all(|v| v.date.as_deref().unwrap().starts_with("2010-"))
    );
}
