//! The tamper-evident audit log: every row is hash-chained, and verification finds the first
//! row that was altered, removed or slipped in (SECURITY 23).

use crate::common::*;
use backend::audit::{self, Entry, Outcome, Verdict};
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};
use backend::storage::entity::audit_event;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

async fn chain(portal: &backend::Portal) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Seq)
        .all(&portal.db)
        .await
        .unwrap()
}

/// A portal with some real activity in its log: the demo seed, sign-ins and a failure.
async fn busy_portal() -> backend::Portal {
    let (portal, _) = portal().await;
    seed(&portal).await;
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    let _ = portal
        .sign_in(READY_USERNAME, "not-the-password-at-all", &meta())
        .await;
    sign_in(&portal, READY_USERNAME, DEMO_PASSWORD).await;
    portal
}

#[tokio::test]
async fn every_row_is_chained_to_the_one_before_and_the_log_verifies() {
    let portal = busy_portal().await;
    let rows = chain(&portal).await;
    assert!(rows.len() >= 4, "{}", rows.len());
    let mut prev = audit::GENESIS.to_owned();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, Some(i as i64 + 1));
        assert_eq!(r.prev_hash.as_deref(), Some(prev.as_str()));
        assert_eq!(r.hash.as_deref(), Some(audit::chain_hash(r).as_str()));
        prev = r.hash.clone().unwrap();
    }
    assert_eq!(
        audit::verify(&portal.db).await.unwrap(),
        Verdict::Intact {
            rows: rows.len() as u64
        }
    );
}

#[tokio::test]
async fn an_edited_row_is_reported_as_the_first_altered_one() {
    let portal = busy_portal().await;
    let rows = chain(&portal).await;
    let victim = &rows[rows.len() / 2];
    // Someone with database access turns a failed sign-in into a success, or rewrites who.
    audit_event::Entity::update_many()
        .col_expr(audit_event::Column::Outcome, Expr::value("ok"))
        .col_expr(audit_event::Column::Ip, Expr::value("198.51.100.1"))
        .filter(audit_event::Column::Id.eq(victim.id.clone()))
        .exec(&portal.db)
        .await
        .unwrap();
    match audit::verify(&portal.db).await.unwrap() {
        Verdict::Broken { seq, reason } => {
            assert_eq!(Some(seq), victim.seq);
            assert!(reason.contains("altered"), "{reason}");
        }
        v => panic!("tampering not found: {v:?}"),
    }
}

#[tokio::test]
async fn an_edit_that_also_recomputes_the_row_hash_breaks_the_next_link() {
    let portal = busy_portal().await;
    let rows = chain(&portal).await;
    let victim = rows[1].clone();
    let mut forged = victim.clone();
    forged.detail = Some("nothing happened".into());
    forged.hash = Some(audit::chain_hash(&forged));
    let mut am: audit_event::ActiveModel = victim.clone().into();
    am.detail = Set(forged.detail.clone());
    am.hash = Set(forged.hash.clone());
    am.update(&portal.db).await.unwrap();
    match audit::verify(&portal.db).await.unwrap() {
        Verdict::Broken { seq, reason } => {
            assert_eq!(seq, 3, "the row after the forged one no longer follows it");
            assert!(reason.contains("does not follow"), "{reason}");
        }
        v => panic!("tampering not found: {v:?}"),
    }
}

#[tokio::test]
async fn a_deleted_row_in_the_middle_is_reported_as_removed() {
    let portal = busy_portal().await;
    let rows = chain(&portal).await;
    let victim = &rows[2];
    audit_event::Entity::delete_by_id(victim.id.clone())
        .exec(&portal.db)
        .await
        .unwrap();
    match audit::verify(&portal.db).await.unwrap() {
        Verdict::Broken { seq, reason } => {
            assert_eq!(Some(seq), victim.seq);
            assert!(reason.contains("removed"), "{reason}");
        }
        v => panic!("deletion not found: {v:?}"),
    }
}

#[tokio::test]
async fn deleting_the_newest_rows_is_found_through_the_chain_head() {
    let portal = busy_portal().await;
    let rows = chain(&portal).await;
    for r in &rows[rows.len() - 2..] {
        audit_event::Entity::delete_by_id(r.id.clone())
            .exec(&portal.db)
            .await
            .unwrap();
    }
    match audit::verify(&portal.db).await.unwrap() {
        Verdict::Broken { seq, reason } => {
            assert_eq!(seq, rows.len() as i64 - 1);
            assert!(reason.contains("last rows were removed"), "{reason}");
        }
        v => panic!("deletion not found: {v:?}"),
    }
}

#[tokio::test]
async fn a_row_slipped_in_outside_the_chain_is_reported() {
    let portal = busy_portal().await;
    let mut fake = chain(&portal).await[0].clone();
    fake.id = "forged-row".into();
    fake.seq = None;
    fake.hash = None;
    fake.prev_hash = None;
    audit_event::ActiveModel::from(fake)
        .insert(&portal.db)
        .await
        .unwrap();
    match audit::verify(&portal.db).await.unwrap() {
        Verdict::Broken { reason, .. } => assert!(reason.contains("forged-row"), "{reason}"),
        v => panic!("insertion not found: {v:?}"),
    }
}

#[tokio::test]
async fn parallel_writers_keep_one_unbroken_chain() {
    let (portal, _) = portal().await;
    let mut tasks = vec![];
    for i in 0..24 {
        let p = portal.clone();
        tasks.push(tokio::spawn(async move {
            audit::record(
                &p.db,
                p.now(),
                &meta(),
                Entry::new("test.parallel", Outcome::Ok).detail(format!("writer {i}")),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        audit::verify(&portal.db).await.unwrap(),
        Verdict::Intact { rows: 24 }
    );
}

/// Stand-alone entries go through the group-commit writer, mixed with entries written inside
/// transactions: every acknowledged entry is in the one chain, each list's rows together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_committed_entries_are_all_in_one_unbroken_chain() {
    let (portal, _) = portal().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let p = portal.clone();
        tasks.spawn(async move {
            let e = Entry::new("test.grouped", Outcome::Ok).detail(format!("read {i}"));
            if i % 10 == 0 {
                audit::record(&p.db, p.now(), &meta(), e).await
            } else if i % 10 == 1 {
                let ids = [format!("p{i}a"), format!("p{i}b"), format!("p{i}c")];
                p.record_audit_list(
                    p.now(),
                    &meta(),
                    e,
                    "a list",
                    ids.iter().map(|s| s.as_str()),
                )
                .await
            } else {
                p.record_audit(p.now(), &meta(), e).await
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap().unwrap();
    }
    // 20 in transactions, 20 lists of three, 160 single entries.
    let rows = chain(&portal).await;
    assert_eq!(rows.len(), 20 + 60 + 160);
    assert_eq!(
        audit::verify(&portal.db).await.unwrap(),
        Verdict::Intact { rows: 240 }
    );
    for i in (1..200).step_by(10) {
        let seqs: Vec<i64> = rows
            .iter()
            .filter(|r| {
                let mine = [format!("p{i}a"), format!("p{i}b"), format!("p{i}c")];
                r.patient_id.as_ref().is_some_and(|p| mine.contains(p))
            })
            .map(|r| r.seq.unwrap())
            .collect();
        assert_eq!(seqs.len(), 3);
        assert_eq!(
            seqs[2] - seqs[0],
            2,
            "a list's entries are next to each other"
        );
    }
}

#[tokio::test]
async fn rows_written_before_the_chain_existed_are_chained_at_start_up() {
    let (portal, _) = portal().await;
    // An earlier schema's row: no position, no hashes.
    let legacy = audit_event::Model {
        id: "legacy-1".into(),
        at: 1,
        actor_user_id: None,
        actor_label: None,
        on_behalf_of: None,
        patient_id: None,
        action: "signin.ok".into(),
        category: None,
        object_id: None,
        outcome: "ok".into(),
        ip: None,
        user_agent: None,
        detail: None,
        seq: None,
        prev_hash: None,
        hash: None,
    };
    audit_event::ActiveModel::from(legacy)
        .insert(&portal.db)
        .await
        .unwrap();
    assert!(matches!(
        audit::verify(&portal.db).await.unwrap(),
        Verdict::Broken { .. }
    ));
    // A restart does not seal it: this database has had its chain from the start.
    backend::storage::migrate(&portal.db).await.unwrap();
    assert!(matches!(
        audit::verify(&portal.db).await.unwrap(),
        Verdict::Broken { .. }
    ));
    // A database from before the chain (no marker yet) gets its old rows chained, once.
    backend::storage::entity::portal_meta::Entity::delete_by_id("audit_chain_sealed".to_owned())
        .exec(&portal.db)
        .await
        .unwrap();
    backend::storage::migrate(&portal.db).await.unwrap();
    assert_eq!(
        audit::verify(&portal.db).await.unwrap(),
        Verdict::Intact { rows: 1 }
    );
}

#[tokio::test]
async fn a_row_with_a_made_up_position_below_one_is_outside_the_chain() {
    let portal = busy_portal().await;
    let mut fake = chain(&portal).await[0].clone();
    fake.id = "negative-row".into();
    fake.seq = Some(-5);
    audit_event::ActiveModel::from(fake)
        .insert(&portal.db)
        .await
        .unwrap();
    match audit::verify(&portal.db).await.unwrap() {
        Verdict::Broken { reason, .. } => assert!(reason.contains("negative-row"), "{reason}"),
        v => panic!("insertion not found: {v:?}"),
    }
}
