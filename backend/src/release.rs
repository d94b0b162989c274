//! Release rules: when a result becomes visible to its patient. By default at its release
//! time (when the lab issued it). A patient may ask, per category, to see results only after
//! their clinician reviewed them, or some days after; a clinician may hold one result with a
//! documented reason and release it later. Held results do not exist for the patient (404).

use crate::access::{Kind, PatientAccess};
use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::records::ERROR_STATUS;
use crate::storage::entity::{observation, release_preference};
use crate::{Error, Portal, Principal, Result};
use domain::records::{RELEASE_CATEGORIES, ReleasePreferenceView, ReleaseRule};
use domain::session::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
};

const DAY_MS: i64 = 86_400_000;
/// A hold's reason is documented: long enough to say why, short enough to stay a reason.
const REASON_MIN: usize = 10;
const REASON_MAX: usize = 500;

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

    /// Finds a result by its row id or FHIR id, for the clinic's side.
    async fn clinic_result(
        &self,
        by: &ClinicActor<'_>,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<(observation::Model, Entry)> {
        let base = match by {
            ClinicActor::Staff(p) => match &p.kind {
                Kind::Staff {
                    user_id,
                    role: Role::Clinician,
                    ..
                } => Entry::new("result", Outcome::Ok).actor(user_id.clone()),
                Kind::Anonymous => return Err(Error::Unauthenticated),
                _ => {
                    audit::record(
                        &self.db,
                        self.now(),
                        meta,
                        Entry::new("access.denied", Outcome::Denied)
                            .actor(p.user_id().unwrap_or_default().to_owned())
                            .detail("result release is for clinicians"),
                    )
                    .await?;
                    return Err(Error::Forbidden);
                }
            },
            ClinicActor::CommandLine => Entry::new("result", Outcome::Ok).label("mhc command line"),
        };
        let o = observation::Entity::find()
            .filter(
                Condition::any()
                    .add(observation::Column::Id.eq(id))
                    .add(observation::Column::FhirId.eq(id)),
            )
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        // Staff reach only their own clinic's patients.
        if let ClinicActor::Staff(p) = by
            && let Kind::Staff { clinic_id, .. } = &p.kind
        {
            let p = crate::storage::entity::patient::Entity::find_by_id(o.patient_id.clone())
                .one(&self.db)
                .await?;
            if p.map(|p| p.clinic_id) != *clinic_id {
                return Err(Error::NotFound);
            }
        }
        let entry = base
            .patient(o.patient_id.clone())
            .category("results")
            .object(o.id.clone());
        Ok((o, entry))
    }

    /// Holds one result from its patient, with the documented reason (audited).
    pub async fn hold_result(
        &self,
        by: ClinicActor<'_>,
        id: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let reason = domain::tidy(reason);
        let n = reason.chars().count();
        if !(REASON_MIN..=REASON_MAX).contains(&n) {
            return Err(Error::Invalid(format!(
                "Write the reason for holding this result ({REASON_MIN} to {REASON_MAX} characters)."
            )));
        }
        let (o, entry) = self.clinic_result(&by, id, meta).await?;
        if o.held_at.is_some() {
            return Err(Error::Invalid("This result is already held.".into()));
        }
        let now = self.now();
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let mut am: observation::ActiveModel = o.into();
        am.held_at = Set(Some(now));
        am.held_by = Set(entry.actor_user_id.clone().or(entry.actor_label.clone()));
        am.hold_reason = Set(Some(reason.clone()));
        am.update(&txn).await?;
        let entry = Entry {
            action: "result.held",
            ..entry
        }
        .detail(reason);
        audit::record(&txn, now, meta, entry).await?;
        sea_orm::TransactionSession::commit(txn).await?;
        Ok(())
    }

    /// Ends a hold: the result becomes visible under the patient's own rules.
    pub async fn release_result(
        &self,
        by: ClinicActor<'_>,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (o, entry) = self.clinic_result(&by, id, meta).await?;
        if o.held_at.is_none() {
            return Err(Error::Invalid("This result is not held.".into()));
        }
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        observation::Entity::update_many()
            .col_expr(
                observation::Column::HeldAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                observation::Column::HeldBy,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                observation::Column::HoldReason,
                Expr::value(Option::<String>::None),
            )
            .filter(observation::Column::Id.eq(o.id.clone()))
            .exec(&txn)
            .await?;
        let entry = Entry {
            action: "result.released",
            ..entry
        };
        audit::record(&txn, self.now(), meta, entry).await?;
        sea_orm::TransactionSession::commit(txn).await?;
        Ok(())
    }

    /// Records a clinician's review (what "after review" waits for).
    pub async fn review_result(
        &self,
        by: ClinicActor<'_>,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (o, entry) = self.clinic_result(&by, id, meta).await?;
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
