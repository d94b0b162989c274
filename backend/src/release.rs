//! Release rules: when a result becomes visible to its patient. By default at its release
//! time (when the lab issued it). A patient may ask, per category, to see results only after
//! their clinician reviewed them, or some days after; a clinician may hold one result, a whole
//! report or a visit note with a documented reason and release it later. What is held does
//! not exist for the patient (404), and a held report's results are held with it.

use crate::access::{Kind, PatientAccess};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::records::ERROR_STATUS;
use crate::storage::entity::{
    diagnostic_report, document, observation, patient, release_preference,
};
use crate::{Error, Portal, Principal, Result};
use domain::records::{Holdable, RELEASE_CATEGORIES, ReleasePreferenceView, ReleaseRule};
use domain::session::Role;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
};

const DAY_MS: i64 = 86_400_000;
/// A hold's reason is documented: long enough to say why, short enough to stay a reason.
const REASON_MIN: usize = 10;
const REASON_MAX: usize = 500;

/// A row a clinician acts on: its id, its patient, and whether it is held now.
struct ClinicItem {
    id: String,
    patient_id: String,
    held: bool,
}

/// Who changes a result's release on the clinic's side.
pub enum ClinicActor<'a> {
    /// A signed-in clinician.
    Staff(&'a Principal),
    /// The `mhc` command line, run by the clinic's operator.
    CommandLine,
}

fn rule_of(p: &release_preference::Model) -> ReleaseRule {
    match (p.rule.as_str(), p.days) {
        ("after_review", _) => ReleaseRule::AfterReview,
        ("after_days", Some(d)) if d > 0 => ReleaseRule::AfterDays(d as u16),
        _ => ReleaseRule::Immediately,
    }
}

impl Portal {
    /// The condition an observation must meet to be shown through `access` now: this
    /// patient's, not entered in error, not held, released under the patient's rules, and
    /// not sensitive when the handle hides sensitive rows (a parent's grant of a teenager).
    pub(crate) async fn visible_results(&self, access: &PatientAccess) -> Result<Condition> {
        let now = self.now();
        let patient_id = access.patient_id();
        let mut c = Condition::all()
            .add(observation::Column::PatientId.eq(patient_id))
            .add(observation::Column::Status.ne(ERROR_STATUS))
            .add(observation::Column::HeldAt.is_null())
            .add(
                Condition::any()
                    .add(observation::Column::ReleasedAt.is_null())
                    .add(observation::Column::ReleasedAt.lte(now)),
            );
        let prefs = release_preference::Entity::find()
            .filter(release_preference::Column::PatientId.eq(patient_id))
            .all(&self.db)
            .await?;
        for p in prefs {
            let rule = match rule_of(&p) {
                ReleaseRule::Immediately => continue,
                ReleaseRule::AfterReview => {
                    Condition::all().add(observation::Column::ReviewedAt.is_not_null())
                }
                ReleaseRule::AfterDays(n) => {
                    let cutoff = now - n as i64 * DAY_MS;
                    Condition::any()
                        .add(observation::Column::ReleasedAt.lte(cutoff))
                        .add(
                            Condition::all()
                                .add(observation::Column::ReleasedAt.is_null())
                                .add(observation::Column::EffectiveAt.lte(cutoff)),
                        )
                }
            };
            c = c.add(
                Condition::any()
                    .add(observation::Column::Category.ne(p.category.clone()))
                    .add(rule),
            );
        }
        if access.hides_sensitive() {
            c = c.add(observation::Column::Sensitivity.is_null());
        }
        // A held report holds its results with it.
        let held_reports = Query::select()
            .column(diagnostic_report::Column::Id)
            .from(diagnostic_report::Entity)
            .and_where(diagnostic_report::Column::PatientId.eq(patient_id))
            .and_where(diagnostic_report::Column::HeldAt.is_not_null())
            .to_owned();
        c = c.add(
            Condition::any()
                .add(observation::Column::ReportId.is_null())
                .add(observation::Column::ReportId.not_in_subquery(held_reports)),
        );
        Ok(c)
    }

    /// Whether the patient asked to delay any category of results.
    pub(crate) async fn release_preferences_set(&self, patient_id: &str) -> Result<bool> {
        Ok(release_preference::Entity::find()
            .filter(release_preference::Column::PatientId.eq(patient_id))
            .one(&self.db)
            .await?
            .is_some())
    }

    /// The patient's rule for every category.
    pub async fn release_preferences(
        &self,
        access: &PatientAccess,
    ) -> Result<Vec<ReleasePreferenceView>> {
        let prefs = release_preference::Entity::find()
            .filter(release_preference::Column::PatientId.eq(access.patient_id()))
            .all(&self.db)
            .await?;
        Ok(RELEASE_CATEGORIES
            .iter()
            .map(|(cat, label)| ReleasePreferenceView {
                category: (*cat).to_owned(),
                label: (*label).to_owned(),
                rule: prefs
                    .iter()
                    .find(|p| p.category == *cat)
                    .map(rule_of)
                    .unwrap_or(ReleaseRule::Immediately),
            })
            .collect())
    }

    /// Records the patient's own request for a category, and audits it.
    pub async fn set_release_preference(
        &self,
        access: &PatientAccess,
        category: &str,
        rule: ReleaseRule,
    ) -> Result<()> {
        if !RELEASE_CATEGORIES.iter().any(|(c, _)| *c == category) {
            return Err(Error::Invalid(
                "Choose laboratory or imaging results.".into(),
            ));
        }
        let now = self.now();
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        release_preference::Entity::delete_many()
            .filter(release_preference::Column::PatientId.eq(access.patient_id()))
            .filter(release_preference::Column::Category.eq(category))
            .exec(&txn)
            .await?;
        if rule != ReleaseRule::Immediately {
            release_preference::ActiveModel {
                patient_id: Set(access.patient_id().to_owned()),
                category: Set(category.to_owned()),
                rule: Set(rule.key().to_owned()),
                days: Set(match rule {
                    ReleaseRule::AfterDays(n) => Some(n as i32),
                    _ => None,
                }),
                updated_at: Set(now),
                updated_by: Set(access.actor().to_owned()),
            }
            .insert(&txn)
            .await?;
        }
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("record.release_preference", "results")
                .detail(format!("{category}: {}", rule.describe())),
        )
        .await?;
        sea_orm::TransactionSession::commit(txn).await?;
        Ok(())
    }

    /// Finds a result, report or visit note by its row id or FHIR id, for the clinic's side:
    /// a clinician finds only their own clinic's patients' rows.
    async fn clinic_item(
        &self,
        by: &ClinicActor<'_>,
        what: Holdable,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<(ClinicItem, Entry)> {
        let (base, clinic) = match by {
            ClinicActor::Staff(p) => match &p.kind {
                Kind::Staff {
                    user_id,
                    role: Role::Clinician,
                    clinic_id,
                    ..
                } => (
                    Entry::new("result", Outcome::Ok).actor(user_id.clone()),
                    Some(clinic_id.clone().ok_or(Error::NotFound)?),
                ),
                Kind::Anonymous => return Err(Error::Unauthenticated),
                _ => {
                    return Err(self
                        .deny(p, meta, "holds and reviews are for clinicians")
                        .await?);
                }
            },
            ClinicActor::CommandLine => (
                Entry::new("result", Outcome::Ok).label("mhc command line"),
                None,
            ),
        };
        let patients = clinic.map(|c| {
            Query::select()
                .column(patient::Column::Id)
                .from(patient::Entity)
                .and_where(patient::Column::ClinicId.eq(c))
                .to_owned()
        });
        macro_rules! find {
            ($e:ident) => {{
                let mut q = $e::Entity::find().filter(
                    Condition::any()
                        .add($e::Column::Id.eq(id))
                        .add($e::Column::FhirId.eq(id)),
                );
                if let Some(sub) = patients {
                    q = q.filter($e::Column::PatientId.in_subquery(sub));
                }
                q.one(&self.db).await?.map(|r| ClinicItem {
                    id: r.id,
                    patient_id: r.patient_id,
                    held: r.held_at.is_some(),
                })
            }};
        }
        let item = match what {
            Holdable::Result => find!(observation),
            Holdable::Report => find!(diagnostic_report),
            Holdable::Note => find!(document),
        }
        .ok_or(Error::NotFound)?;
        let entry = base
            .patient(item.patient_id.clone())
            .category(match what {
                Holdable::Note => "visits",
                Holdable::Result | Holdable::Report => "results",
            })
            .object(item.id.clone());
        Ok((item, entry))
    }

    /// Sets or clears the hold on one row, and audits it, in one transaction.
    async fn write_hold(
        &self,
        what: Holdable,
        item: &ClinicItem,
        hold: Option<(String, String)>,
        entry: Entry,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let (by, reason) = hold.clone().unzip();
        let at = hold.as_ref().map(|_| now);
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        macro_rules! set {
            ($e:ident) => {
                $e::Entity::update_many()
                    .col_expr($e::Column::HeldAt, Expr::value(at))
                    .col_expr($e::Column::HeldBy, Expr::value(by))
                    .col_expr($e::Column::HoldReason, Expr::value(reason.clone()))
                    .filter($e::Column::Id.eq(item.id.clone()))
                    .exec(&txn)
                    .await?
            };
        }
        match what {
            Holdable::Result => set!(observation),
            Holdable::Report => set!(diagnostic_report),
            Holdable::Note => set!(document),
        };
        let action = match (what, hold.is_some()) {
            (Holdable::Result, true) => "result.held",
            (Holdable::Result, false) => "result.released",
            (Holdable::Report, true) => "report.held",
            (Holdable::Report, false) => "report.released",
            (Holdable::Note, true) => "note.held",
            (Holdable::Note, false) => "note.released",
        };
        let mut entry = Entry { action, ..entry };
        if let Some(reason) = reason {
            entry = entry.detail(reason);
        }
        audit::record(&txn, now, meta, entry).await?;
        sea_orm::TransactionSession::commit(txn).await?;
        Ok(())
    }

    /// Holds one result, report (with its results) or visit note from its patient, with the
    /// documented reason (audited).
    pub async fn hold(
        &self,
        by: ClinicActor<'_>,
        what: Holdable,
        id: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let reason = domain::tidy(reason);
        let n = reason.chars().count();
        if !(REASON_MIN..=REASON_MAX).contains(&n) {
            return Err(Error::Invalid(format!(
                "Write the reason for holding this {} ({REASON_MIN} to {REASON_MAX} characters).",
                what.noun()
            )));
        }
        let (item, entry) = self.clinic_item(&by, what, id, meta).await?;
        if item.held {
            return Err(Error::Invalid(format!(
                "This {} is already held.",
                what.noun()
            )));
        }
        let by = entry
            .actor_user_id
            .clone()
            .or(entry.actor_label.clone())
            .unwrap_or_default();
        self.write_hold(what, &item, Some((by, reason)), entry, meta)
            .await
    }

    /// Ends a hold: the row becomes visible under the patient's own rules.
    pub async fn release(
        &self,
        by: ClinicActor<'_>,
        what: Holdable,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (item, entry) = self.clinic_item(&by, what, id, meta).await?;
        if !item.held {
            return Err(Error::Invalid(format!("This {} is not held.", what.noun())));
        }
        self.write_hold(what, &item, None, entry, meta).await
    }

    /// Records a clinician's review (what "after review" waits for).
    pub async fn review_result(
        &self,
        by: ClinicActor<'_>,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (o, entry) = self.clinic_item(&by, Holdable::Result, id, meta).await?;
        let now = self.now();
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        observation::Entity::update_many()
            .col_expr(observation::Column::ReviewedAt, Expr::value(now))
            .filter(observation::Column::Id.eq(o.id.clone()))
            .filter(observation::Column::ReviewedAt.is_null())
            .exec(&txn)
            .await?;
        let entry = Entry {
            action: "result.reviewed",
            ..entry
        };
        audit::record(&txn, now, meta, entry).await?;
        sea_orm::TransactionSession::commit(txn).await?;
        Ok(())
    }
}
