//! Which imported rows are sensitive (hidden from a parent's grant for a 12 to 17 year old):
//! from the resource's `meta.security` labels, else from a shipped list of code prefixes.
//! The list is documented in docs/ACCESS.md; a match on any coding of the resource counts.
//! A clinician may also decide by hand, on one result or one message thread
//! (`/api/staff/sensitivity`); that decision outlasts a later import.

use crate::access::StaffAccess;
use crate::audit;
use crate::storage::entity::{message_thread, observation, patient};
use crate::{Error, Portal, Result};
use domain::proxy::Sensitivity;
use domain::records::Markable;
use domain::session::Role;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const ICD10_WHO: &str = "http://hl7.org/fhir/sid/icd-10";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// HL7 v3 ActCode sensitivity labels in `meta.security`.
const SECURITY_LABELS: &[(&str, Sensitivity)] = &[
    ("ETH", Sensitivity::SubstanceUse),
    ("ETHUD", Sensitivity::SubstanceUse),
    ("SUD", Sensitivity::SubstanceUse),
    ("PSY", Sensitivity::MentalHealth),
    ("PSYTHPN", Sensitivity::MentalHealth),
    ("MH", Sensitivity::MentalHealth),
    ("BH", Sensitivity::MentalHealth),
    ("HIV", Sensitivity::HivSti),
    ("STD", Sensitivity::HivSti),
    ("SEX", Sensitivity::Reproductive),
    ("SDV", Sensitivity::Reproductive),
    ("REPRO", Sensitivity::Reproductive),
    ("PREGNANCY", Sensitivity::Pregnancy),
    ("GDIS", Sensitivity::GenderIdentity),
    ("SOGI", Sensitivity::GenderIdentity),
];

/// Code prefixes per system. ICD-10 prefixes match whole categories (F10 covers F10.20);
/// LOINC and SNOMED entries are whole codes.
const CODES: &[(&str, &str, Sensitivity)] = &[
    // ICD-10: substance use, mental health, HIV and STIs, pregnancy, contraception and
    // reproductive care, gender identity.
    (ICD10, "F1", Sensitivity::SubstanceUse),
    (ICD10, "F2", Sensitivity::MentalHealth),
    (ICD10, "F3", Sensitivity::MentalHealth),
    (ICD10, "F4", Sensitivity::MentalHealth),
    (ICD10, "F5", Sensitivity::MentalHealth),
    (ICD10, "F60", Sensitivity::MentalHealth),
    (ICD10, "F64", Sensitivity::GenderIdentity),
    (ICD10, "B20", Sensitivity::HivSti),
    (ICD10, "Z21", Sensitivity::HivSti),
    (ICD10, "A5", Sensitivity::HivSti),
    (ICD10, "A60", Sensitivity::HivSti),
    (ICD10, "A63", Sensitivity::HivSti),
    (ICD10, "A64", Sensitivity::HivSti),
    (ICD10, "O", Sensitivity::Pregnancy),
    (ICD10, "Z3A", Sensitivity::Pregnancy),
    (ICD10, "Z32", Sensitivity::Pregnancy),
    (ICD10, "Z33", Sensitivity::Pregnancy),
    (ICD10, "Z34", Sensitivity::Pregnancy),
    (ICD10, "Z30", Sensitivity::Reproductive),
    (ICD10, "N9", Sensitivity::Reproductive),
    // LOINC: HIV, chlamydia, gonorrhoea, syphilis, herpes and trichomonas tests; hCG
    // (pregnancy) tests; depression and anxiety screening (PHQ-9, GAD-7); drug screens.
    (LOINC, "75622-1", Sensitivity::HivSti),
    (LOINC, "56888-1", Sensitivity::HivSti),
    (LOINC, "7917-8", Sensitivity::HivSti),
    (LOINC, "5221-7", Sensitivity::HivSti),
    (LOINC, "25836-8", Sensitivity::HivSti),
    (LOINC, "43304-5", Sensitivity::HivSti),
    (LOINC, "21613-5", Sensitivity::HivSti),
    (LOINC, "43305-2", Sensitivity::HivSti),
    (LOINC, "24111-7", Sensitivity::HivSti),
    (LOINC, "20507-0", Sensitivity::HivSti),
    (LOINC, "71793-4", Sensitivity::HivSti),
    (LOINC, "5291-0", Sensitivity::HivSti),
    (LOINC, "2106-3", Sensitivity::Pregnancy),
    (LOINC, "2118-8", Sensitivity::Pregnancy),
    (LOINC, "21198-7", Sensitivity::Pregnancy),
    (LOINC, "44249-1", Sensitivity::MentalHealth),
    (LOINC, "44261-6", Sensitivity::MentalHealth),
    (LOINC, "69737-5", Sensitivity::MentalHealth),
    (LOINC, "70274-6", Sensitivity::MentalHealth),
    (LOINC, "19659-2", Sensitivity::SubstanceUse),
    (LOINC, "46983-3", Sensitivity::SubstanceUse),
    // SNOMED CT: HIV infection, pregnancy, depressive and anxiety disorders, substance
    // abuse, gender dysphoria, contraception.
    (SNOMED, "86406008", Sensitivity::HivSti),
    (SNOMED, "77386006", Sensitivity::Pregnancy),
    (SNOMED, "35489007", Sensitivity::MentalHealth),
    (SNOMED, "197480006", Sensitivity::MentalHealth),
    (SNOMED, "370143000", Sensitivity::MentalHealth),
    (SNOMED, "66214007", Sensitivity::SubstanceUse),
    (SNOMED, "7200002", Sensitivity::SubstanceUse),
    (SNOMED, "93461009", Sensitivity::GenderIdentity),
    (SNOMED, "13197004", Sensitivity::Reproductive),
];

fn matches(system: &str, code: &str) -> Option<Sensitivity> {
    let system = if system == ICD10_WHO { ICD10 } else { system };
    CODES.iter().find_map(|(s, prefix, cat)| {
        let hit = if *s == ICD10 {
            code.starts_with(prefix)
        } else {
            code == *prefix
        };
        (*s == system && hit).then_some(*cat)
    })
}

fn codings(v: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    v.and_then(|c| c["coding"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["system"].as_str()?, c["code"].as_str()?)))
}

/// The sensitive category of a FHIR resource, if any: a `meta.security` label first, else
/// its code, its reason codes or (encounters) its diagnoses' codes named in `reasonCode`.
pub fn of(resource: &Value) -> Option<Sensitivity> {
    let labels = resource["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten();
    for l in labels {
        if l["system"].as_str() == Some(ACT_CODE)
            && let Some(code) = l["code"].as_str()
            && let Some((_, cat)) = SECURITY_LABELS.iter().find(|(c, _)| *c == code)
        {
            return Some(*cat);
        }
    }
    let mut fields = vec![
        resource.get("code"),
        resource.get("medicationCodeableConcept"),
    ];
    for key in ["reasonCode", "type", "category"] {
        if let Some(a) = resource[key].as_array() {
            fields.extend(a.iter().map(Some));
        }
    }
    fields
        .into_iter()
        .flat_map(codings)
        .find_map(|(system, code)| matches(system, code))
}

/// The stored form (`None` for an ordinary row).
pub fn stored(resource: &Value) -> Option<String> {
    of(resource).map(|s| s.as_str().to_owned())
}

impl Portal {
    /// A clinician marks one result or message thread of their clinic's patient as being of
    /// a sensitive category, or as none (audited). A parent of a 12 to 17 year old stops (or
    /// starts) seeing it at their next request.
    pub async fn mark_sensitivity(
        &self,
        staff: &StaffAccess,
        what: Markable,
        id: &str,
        category: Option<Sensitivity>,
    ) -> Result<()> {
        staff.require(&[Role::Clinician])?;
        let value = category.map(|c| c.as_str().to_owned());
        let (patient_id, row_id, data) = match what {
            Markable::Result => {
                let mine = Query::select()
                    .column(patient::Column::Id)
                    .from(patient::Entity)
                    .and_where(patient::Column::ClinicId.eq(staff.clinic_id()))
                    .to_owned();
                let o = observation::Entity::find_by_id(id.to_owned())
                    .filter(observation::Column::PatientId.in_subquery(mine))
                    .one(&self.db)
                    .await?
                    .ok_or(Error::NotFound)?;
                (o.patient_id, o.id, "results")
            }
            Markable::Thread => {
                let t = self.clinic_thread(staff, id).await?;
                (t.patient_id, t.id, "messages")
            }
        };
        let now = self.now();
        let txn = self.db.begin().await?;
        match what {
            Markable::Result => {
                observation::Entity::update_many()
                    .col_expr(observation::Column::Sensitivity, Expr::value(value.clone()))
                    .col_expr(
                        observation::Column::SensitivityBy,
                        Expr::value(staff.user_id()),
                    )
                    .filter(observation::Column::Id.eq(row_id.clone()))
                    .exec(&txn)
                    .await?;
            }
            Markable::Thread => {
                message_thread::Entity::update_many()
                    .col_expr(
                        message_thread::Column::Sensitivity,
                        Expr::value(value.clone()),
                    )
                    .col_expr(
                        message_thread::Column::SensitivityBy,
                        Expr::value(staff.user_id()),
                    )
                    .filter(message_thread::Column::Id.eq(row_id.clone()))
                    .exec(&txn)
                    .await?;
            }
        }
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("record.sensitivity")
                .patient(patient_id)
                .category(data)
                .object(row_id)
                .detail(value.unwrap_or_else(|| "none".into())),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_security_label_marks_a_resource() {
        let r = json!({"meta": {"security": [{"system": ACT_CODE, "code": "PSY"}]}});
        assert_eq!(of(&r), Some(Sensitivity::MentalHealth));
    }

    #[test]
    fn codes_from_the_list_mark_a_resource_and_others_do_not() {
        let hcg = json!({"code": {"coding": [{"system": LOINC, "code": "2106-3"}]}});
        assert_eq!(of(&hcg), Some(Sensitivity::Pregnancy));
        let icd = json!({"code": {"coding": [{"system": ICD10, "code": "F10.20"}]}});
        assert_eq!(of(&icd), Some(Sensitivity::SubstanceUse));
        let sodium = json!({"code": {"coding": [{"system": LOINC, "code": "2951-2"}]}});
        assert_eq!(of(&sodium), None);
        let asthma = json!({"code": {"coding": [{"system": ICD10, "code": "J45.909"}]}});
        assert_eq!(of(&asthma), None);
    }
}
