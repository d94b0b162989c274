//! Reading results: grouping, flags, release rules, object-level access and the audit trail.

use crate::common::*;
use backend::auth::session;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::storage::entity::{audit_event, observation, user_account};
use backend::{Error, PatientAccess, Portal, Principal};
use domain::records::{DateRange, Flag, ResultRow};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

const HBA1C: &str = "4548-4";

/// Dara signed in, and her record handle.
async fn dara_access(portal: &Portal) -> (Principal, PatientAccess) {
    let s = sign_in(portal, READY_USERNAME, DEMO_PASSWORD).await;
    let p = portal.principal(Some(&s.token)).await.unwrap();
    let access = portal.own_record(&p, &meta()).await.unwrap();
    (p, access)
}

/// Dara's latest result of a test.
async fn dara_observation(portal: &Portal, loinc: &str) -> observation::Model {
    let dara = portal.patient_by_mrn(DARA_MRN).await.unwrap();
    observation::Entity::find()
        .filter(observation::Column::PatientId.eq(dara.id))
        .filter(observation::Column::Code.eq(loinc))
        .order_by_desc(observation::Column::EffectiveAt)
        .one(&portal.db)
        .await
        .unwrap()
        .expect("Dara has this result")
}

fn all() -> DateRange {
    DateRange::all()
}

fn all_rows(days: &[domain::records::ResultDay]) -> Vec<&ResultRow> {
    days.iter()
        .flat_map(|d| &d.reports)
        .flat_map(|r| &r.rows)
        .collect()
}

async fn results_audit(portal: &Portal) -> Vec<audit_event::Model> {
    audit_rows(portal, "record.view").await
}

#[tokio::test]
async fn results_are_grouped_by_day_and_report() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (_, access) = dara_access(&portal).await;
    let days = portal.list_results(&access, &all()).await.unwrap();
    // Two earlier visits (fixtures/demo/riverside-history.json) and the latest one.
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-09-15", "2026-03-12", "2025-09-10"]);
    let day = &days[0];
    assert_eq!(day.date, "2026-09-15");
    assert_eq!(day.label, "15 September 2026");
    let names: Vec<&str> = day.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Albumin/Creatinine [Mass Ratio] in Urine",
            "CBC panel - Blood by Automated count",
            "Comprehensive metabolic 2000 panel - Serum or Plasma",
            "Hemoglobin A1c/Hemoglobin.total in Blood",
            "Lipid panel with direct LDL - Serum or Plasma",
        ],
        "reports in name order"
    );
    let sizes: Vec<usize> = day.reports.iter().map(|r| r.rows.len()).collect();
    assert_eq!(sizes, [2, 5, 14, 1, 4]);
    for r in &day.reports {
        assert_eq!(r.collected_at, "2026-09-15T09:00:00Z");
        assert_eq!(r.issued_at.as_deref(), Some("2026-09-15T09:30:00Z"));
    }
    // Laboratory results only: 26 on the latest day, 3 on each earlier one, no vital signs.
    assert_eq!(all_rows(&days[..1]).len(), 26);
    assert_eq!(all_rows(&days).len(), 32);
    assert!(all_rows(&days).iter().all(|r| r.name != "Body weight"));
}

#[tokio::test]
async fn hba1c_shows_its_value_range_and_a_high_flag() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (_, access) = dara_access(&portal).await;
    let days = portal.list_results(&access, &all()).await.unwrap();
    let rows = all_rows(&days[..1]);
    let a1c = rows
        .iter()
        .find(|r| r.name.starts_with("Hemoglobin A1c"))
        .expect("an HbA1c row");
    assert_eq!(a1c.value, "6.2");
    assert_eq!(a1c.unit.as_deref(), Some("%"));
    assert_eq!(a1c.range.as_deref(), Some("<5.7 %"));
    assert_eq!(a1c.flag, Flag::High);
    // The fixtures' flags: sodium, BUN, glucose, triglycerides and HbA1c high; HDL low.
    let high = rows.iter().filter(|r| r.flag == Flag::High).count();
    let low = rows.iter().filter(|r| r.flag == Flag::Low).count();
    assert_eq!((high, low), (5, 1));
    assert!(rows.iter().all(|r| r.range.is_some()));
}

#[tokio::test]
async fn a_patient_opens_the_detail_of_her_own_result() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (_, access) = dara_access(&portal).await;
    let o = dara_observation(&portal, HBA1C).await;
    let d = portal.result_detail(&access, &o.id).await.unwrap();
    assert_eq!(d.id, o.id);
    assert_eq!(d.loinc.as_deref(), Some(HBA1C));
    assert_eq!(d.value, "6.2");
    assert_eq!(d.range.as_deref(), Some("<5.7 %"));
    assert_eq!(d.flag, Flag::High);
    assert_eq!(d.collected, "15 September 2026");
    assert_eq!(d.released.as_deref(), Some("15 September 2026"));
    assert_eq!(
        d.report_name.as_deref(),
        Some("Hemoglobin A1c/Hemoglobin.total in Blood")
    );
    assert_eq!(d.status, "final");
    // Two earlier values, newest first, and the trend of all three, oldest first.
    let earlier: Vec<&str> = d.history.iter().map(|(_, v, _)| v.as_str()).collect();
    assert_eq!(earlier, ["7.9 %", "8.4 %"]);
    let trend: Vec<f64> = d.trend.points.iter().map(|p| p.value).collect();
    assert_eq!(trend, [8.4, 7.9, 6.2]);
    assert!(d.trend.points.iter().all(|p| p.flag == Flag::High));
    assert_eq!(d.trend.high, Some(5.6));
}

#[tokio::test]
async fn another_patient_asking_for_her_result_gets_not_found_and_is_audited() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let emet = activate_emet(&portal).await;
    let p = portal.principal(Some(&emet.token)).await.unwrap();
    let access = portal.own_record(&p, &meta()).await.unwrap();
    assert_eq!(access.patient_id(), emet.patient_id);
    let dara_result = dara_observation(&portal, HBA1C).await;

    let e = err(portal.result_detail(&access, &dara_result.id).await);
    assert!(matches!(e, Error::NotFound), "{e:?}");
    // Exactly what a made-up id gets.
    let e = err(portal
        .result_detail(&access, "0190f0f0-0000-7000-8000-000000000000")
        .await);
    assert!(matches!(e, Error::NotFound), "{e:?}");

    let denied: Vec<_> = results_audit(&portal)
        .await
        .into_iter()
        .filter(|r| r.outcome == "denied")
        .collect();
    assert_eq!(denied.len(), 2);
    let row = denied
        .iter()
        .find(|r| r.object_id.as_deref() == Some(dara_result.id.as_str()))
        .expect("the attempt on Dara's result is logged");
    assert_eq!(row.actor_user_id.as_deref(), Some(emet.user_id.as_str()));
    assert_eq!(row.patient_id.as_deref(), Some(emet.patient_id.as_str()));
    assert_eq!(row.category.as_deref(), Some("results"));

    // And Emet's own list holds only his results.
    let mine = portal.list_results(&access, &all()).await.unwrap();
    let ids: Vec<String> = all_rows(&mine).iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 26);
    let owners = observation::Entity::find()
        .filter(observation::Column::Id.is_in(ids))
        .all(&portal.db)
        .await
        .unwrap();
    assert!(owners.iter().all(|o| o.patient_id == emet.patient_id));
}

#[tokio::test]
async fn a_result_released_in_the_future_stays_hidden_until_then() {
    let (portal, clock) = portal().await;
    seed(&portal).await;
    let (_, access) = dara_access(&portal).await;
    let held = dara_observation(&portal, HBA1C).await;
    let mut am: observation::ActiveModel = held.clone().into();
    am.released_at = Set(Some(start_ms() + DAY.as_millis() as i64));
    am.update(&portal.db).await.unwrap();

    let days = portal.list_results(&access, &all()).await.unwrap();
    assert_eq!(all_rows(&days).len(), 31);
    assert!(all_rows(&days).iter().all(|r| r.id != held.id));
    let e = err(portal.result_detail(&access, &held.id).await);
    assert!(matches!(e, Error::NotFound), "{e:?}");

    clock.advance(DAY);
    // A new session, as the old one has been idle for a day.
    let (_, access) = dara_access(&portal).await;
    let days = portal.list_results(&access, &all()).await.unwrap();
    assert!(all_rows(&days).iter().any(|r| r.id == held.id));
    let d = portal.result_detail(&access, &held.id).await.unwrap();
    assert_eq!(d.released.as_deref(), Some("26 November 2026"));
}

#[tokio::test]
async fn staff_are_refused_the_patient_record_function() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let staff = user_account::Entity::find()
        .filter(user_account::Column::Username.eq("fen.mocklin"))
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    // Staff cannot sign in with a password alone yet: open their session directly.
    let s = session::create(&portal.db, &portal, &staff.id, None, None)
        .await
        .unwrap();
    let p = portal.principal(Some(&s.token)).await.unwrap();
    assert!(p.is_staff(), "{p:?}");
    let e = err(portal.own_record(&p, &meta()).await);
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    let denied = audit_rows(&portal, "access.denied").await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].actor_user_id.as_deref(), Some(staff.id.as_str()));
    assert_eq!(denied[0].outcome, "denied");
}

#[tokio::test]
async fn anonymous_callers_must_sign_in_first() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let e = err(portal.own_record(&Principal::anonymous(), &meta()).await);
    assert!(matches!(e, Error::Unauthenticated), "{e:?}");
}

#[tokio::test]
async fn every_list_and_detail_view_is_audited_as_results() {
    let (portal, _) = portal().await;
    seed(&portal).await;
    let (p, access) = dara_access(&portal).await;
    let o = dara_observation(&portal, HBA1C).await;
    portal.list_results(&access, &all()).await.unwrap();
    portal.result_detail(&access, &o.id).await.unwrap();
    portal.list_results(&access, &all()).await.unwrap();

    let rows = results_audit(&portal).await;
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.category.as_deref(), Some("results"));
        assert_eq!(r.outcome, "ok");
        assert_eq!(r.actor_user_id.as_deref(), p.user_id());
        assert_eq!(r.patient_id.as_deref(), Some(access.patient_id()));
        assert_eq!(r.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(r.user_agent.as_deref(), Some("integration test"));
    }
    let details: Vec<_> = rows.iter().filter(|r| r.object_id.is_some()).collect();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].object_id.as_deref(), Some(o.id.as_str()));
}
